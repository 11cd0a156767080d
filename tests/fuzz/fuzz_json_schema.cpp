// Structured output (engine/sampling/json_schema, json_grammar): the JSON schema an API client
// sends in response_format, and the bytes a model then writes under it. The input is a schema and
// a text (split_parts). Properties checked, not only crashes: a text the matcher takes whole and
// calls complete is JSON Hearth's parser reads; after what it took, some byte may always come
// (unless the value is whole, or the schema requires nesting past the depth bound); and a walk
// from there that prefers closing bytes ends in JSON the parser reads.
#include <cstdlib>

#include "engine/sampling/json_grammar.h"
#include "engine/sampling/json_schema.h"
#include "engine/util/json.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

namespace {

// Some byte may come next, or the value is closed, or only the depth bound stands in the way.
// A closing byte where one may come, else the smallest that may.
int next_byte(const JsonMatcher& m) {
    static const std::string kClosing = "}]\"0ntf:,";
    for (char c : kClosing) {
        JsonMatcher p = m;
        if (p.feed(static_cast<unsigned char>(c))) return static_cast<unsigned char>(c);
    }
    for (int b = 0; b < 256; ++b) {
        JsonMatcher p = m;
        if (p.feed(static_cast<unsigned char>(b))) return b;
    }
    // Nothing may come: the value is whole (closed, or a root number at its length bound), or the
    // schema requires nesting past the depth bound. Anything else is a dead end.
    if (!m.can_end() && m.depth() < kMaxJsonDepth) std::abort();
    return -1;
}

void check_complete(const std::string& text) {
    if (!json::parse(text).ok()) std::abort();  // admitted as whole, but not JSON
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto parts = fuzz::split_parts(data, size, 2);
    auto doc = json::parse(parts[0]);
    if (!doc.ok()) return fuzz::refused(doc.message());
    auto schema = compile_json_schema(*doc);
    if (!schema.ok()) return fuzz::refused(schema.message());
    JsonMatcher m(**schema);
    std::string text;
    for (char c : parts[1]) {
        if (!m.feed(static_cast<unsigned char>(c))) break;
        text += c;
    }
    // The matcher may have been left mid-way by the refused byte: run it again on what it took.
    JsonMatcher again(**schema);
    if (!again.feed(text)) std::abort();
    if (again.can_end()) check_complete(text);
    // Walk on to the end, closing as soon as the schema lets it.
    for (int step = 0; step < 2000 && !again.finished(); ++step) {
        const int b = next_byte(again);
        if (b < 0) break;
        again.feed(static_cast<unsigned char>(b));
        text += char(b);
    }
    if (again.can_end()) check_complete(text);
    return 0;
}

std::vector<std::string> hearth::fuzz::seeds() {
    const std::string person = R"({"type": "object", "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 12, "description": "who"},
        "age": {"type": "integer"}, "score": {"type": ["number", "null"]},
        "tags": {"type": "array", "items": {"enum": ["a", "b\"q", 7, true, null]}, "minItems": 1, "maxItems": 3},
        "role": {"anyOf": [{"type": "string"}, {"type": "null"}, {"type": "object", "properties": {"x": {"const": 1}}}]},
        "say \"hi\"": {"type": "boolean"}}, "required": ["name", "age", "tags"]})";
    const std::string tree = R"({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
        "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}}, "required": ["v"]}}, "$ref": "#/$defs/node"})";
    return {
        join_parts({person, R"({"name": "Al", "age": -3, "tags": ["b\"q", 7], "role": null, "score": 1.5e-3})"}),
        join_parts({tree, R"({"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}, {"v": 4, "kids": []}]})"}),
        join_parts({R"({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}})",
                    "{\"zz\": \"\\u00e9\xc3\xa9\", \"a\": 2}"}),
        join_parts({R"({"type": "object"})", R"({"a": [1, -2.5e-3, "x", true, null, {}], "b": {"c": []}})"}),
        join_parts({R"({"type": "array", "items": {"type": ["string", "integer", "null"]}, "maxItems": 4, "nullable": true})", "[\"\", 0, null]"}),
        join_parts({R"({"enum": [1, 10, "red", {"a": 1}, [2]]})", "10"}),
        join_parts({R"({"oneOf": [{"type": "boolean"}, {"type": "array", "items": {"allOf": [{"type": "number"}]}}]})", "[1e5, -0.25]"}),
    };
}
