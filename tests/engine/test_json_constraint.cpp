// Structured output (engine/sampling/json_schema.h, json_grammar.h, json_constraint.h): which
// schemas compile and what the errors say; which texts the matcher admits, byte by byte; random
// walks through the matcher always reach a text that Hearth's JSON parser reads and that a plain
// validator (written here, apart from the matcher) finds conforming, and never a dead end; the
// token constraint over a small vocabulary, with and without a reasoning prefix; and the sampler
// choosing only allowed tokens.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/sampling/json_constraint.h"
#include "engine/sampling/json_grammar.h"
#include "engine/sampling/json_schema.h"
#include "engine/sampling/rng.h"
#include "engine/sampling/sampler.h"
#include "engine/util/json.h"

using namespace hearth;

namespace {

std::shared_ptr<const JsonSchema> schema_of(const std::string& text) {
    auto doc = json::parse(text);
    EXPECT_TRUE(doc.ok()) << text;
    auto s = compile_json_schema(*doc);
    EXPECT_TRUE(s.ok()) << text << ": " << s.message();
    return s.ok() ? *s : nullptr;
}

// How many bytes of `text` the matcher takes (text.size() when all).
size_t taken(const JsonSchema& s, const std::string& text, bool* can_end = nullptr, bool* finished = nullptr) {
    JsonMatcher m(s);
    size_t i = 0;
    while (i < text.size() && m.feed(static_cast<unsigned char>(text[i]))) ++i;
    if (can_end) *can_end = m.can_end();
    if (finished) *finished = m.finished();
    return i;
}

// A validator for the subset, over the schema document itself (not the compiled nodes).
bool conforms(const json::Value& v, const json::Value& s, const json::Value& root) {
    if (s.is_bool()) return s.as_bool();
    if (const json::Value* ref = s.find("$ref")) {
        const std::string& r = ref->as_string();
        const json::Value* t = &root;
        if (r != "#") t = &root[r.substr(2, r.find('/', 2) - 2)][r.substr(r.find('/', 2) + 1)];
        return conforms(v, *t, root);
    }
    for (const char* k : {"anyOf", "oneOf"})
        if (const json::Value* b = s.find(k)) {
            for (const auto& x : b->as_array())
                if (conforms(v, x, root)) return true;
            return false;
        }
    if (s["nullable"].is_bool() && s["nullable"].as_bool() && v.is_null()) return true;
    if (const json::Value* e = s.find("enum")) {
        for (const auto& x : e->as_array())
            if (x.dump() == v.dump()) return true;
        return false;
    }
    if (const json::Value* c = s.find("const")) return c->dump() == v.dump();
    if (const json::Value* t = s.find("type")) {
        std::vector<json::Value> types = t->is_array() ? t->as_array() : std::vector<json::Value>{*t};
        bool ok = false;
        for (const auto& ty : types) {
            const std::string& n = ty.as_string();
            ok |= (n == "object" && v.is_object()) || (n == "array" && v.is_array()) || (n == "string" && v.is_string()) ||
                  (n == "number" && v.is_number()) || (n == "integer" && v.is_int()) || (n == "boolean" && v.is_bool()) ||
                  (n == "null" && v.is_null());
        }
        if (!ok) return false;
    }
    if (v.is_object()) {
        const json::Value* props = s.find("properties");
        for (const auto& [k, x] : v.as_object()) {
            const json::Value* p = props ? props->find(k) : nullptr;
            if (p) {
                if (!conforms(x, *p, root)) return false;
                continue;
            }
            const json::Value* add = s.find("additionalProperties");
            if (!add) { if (props) return false; continue; }  // Hearth's default: none beside declared ones
            if (!conforms(x, *add, root)) return false;
        }
        for (const auto& r : s["required"].as_array())
            if (!v.find(r.as_string())) return false;
    }
    if (v.is_array()) {
        if (s.find("minItems") && int64_t(v.size()) < s["minItems"].as_int()) return false;
        if (s.find("maxItems") && int64_t(v.size()) > s["maxItems"].as_int()) return false;
        if (const json::Value* it = s.find("items"))
            for (const auto& x : v.as_array())
                if (!conforms(x, *it, root)) return false;
    }
    if (v.is_string()) {
        int64_t cps = 0;
        for (unsigned char c : v.as_string()) cps += (c & 0xC0) != 0x80;
        if (s.find("minLength") && cps < s["minLength"].as_int()) return false;
        if (s.find("maxLength") && cps > s["maxLength"].as_int()) return false;
    }
    return true;
}

const char* kPerson = R"({"type": "object", "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 12},
    "age": {"type": "integer"},
    "score": {"type": ["number", "null"]},
    "tags": {"type": "array", "items": {"enum": ["a", "b\"q", 7, true, null]}, "minItems": 1, "maxItems": 3},
    "role": {"anyOf": [{"type": "string", "maxLength": 4}, {"type": "null"}, {"type": "object", "properties": {"x": {"const": 1}}, "required": ["x"]}]},
    "say \"hi\"": {"type": "boolean"}},
  "required": ["name", "age", "tags"]})";

const char* kTree = R"({"$defs": {"node": {"type": "object", "properties": {
    "v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
  "required": ["v"]}}, "$ref": "#/$defs/node"})";

const char* kOpen = R"({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string", "maxLength": 3}})";

}  // namespace

TEST(JsonSchema, UnsupportedOrContradictorySchemasAreErrorsThatSayWhere) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"type": "string", "pattern": "^a"})", "'pattern' is not supported (at #)"},
        {R"({"type": "object", "properties": {"x": {"type": "number", "minimum": 0}}})", "'minimum' is not supported (at #/properties/x)"},
        {R"({"type": "text"})", "is not a JSON Schema type"},
        {R"({"anyOf": [{"type": "string"}, {"enum": ["a"]}]})", "begins like another branch"},
        {R"({"anyOf": [{"type": "object"}, {"type": "object"}]})", "must begin differently"},
        {R"({"anyOf": [{"type": "integer"}, {"type": "number"}]})", "must begin differently"},
        {R"({"$ref": "#/$defs/missing"})", "points at nothing"},
        {R"({"$ref": "https://example.com/s.json"})", "only references inside the schema"},
        {R"({"type": "object", "properties": {"a": {}}, "required": ["b"]})", "'b' is not among 'properties'"},
        {R"({"type": "array", "minItems": 3, "maxItems": 2})", "'minItems' is above 'maxItems'"},
        {R"({"type": "string", "minLength": -1})", "'minLength' must be a non-negative integer"},
        {R"(false)", "no value would satisfy it"},
        {R"({"type": "array", "items": [{"type": "string"}]})", "tuple 'items'"},
        {R"({"allOf": [{"type": "string"}, {"maxLength": 2}]})", "'allOf' is supported only with one schema"},
        {R"({"$defs": {"a": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "null"}]}}, "$ref": "#/$defs/a"})", "refers to itself through 'anyOf'"},
        {R"(3)", "must be an object or a boolean"},
    };
    for (const auto& [text, want] : cases) {
        auto doc = json::parse(text);
        ASSERT_TRUE(doc.ok()) << text;
        auto s = compile_json_schema(*doc);
        ASSERT_FALSE(s.ok()) << text << " compiled";
        EXPECT_NE(s.message().find(want), std::string::npos) << text << " → " << s.message();
    }
    // 65 values: one over the bound. Nesting 70 levels deep: over the depth bound.
    std::string e = R"({"enum": [)";
    for (int i = 0; i < 65; ++i) e += (i ? "," : "") + std::to_string(i);
    EXPECT_FALSE(compile_json_schema(*json::parse(e + "]}")).ok());
    std::string deep;
    for (int i = 0; i < 70; ++i) deep += R"({"type": "array", "items": )";
    deep += "{}";
    for (int i = 0; i < 70; ++i) deep += "}";
    auto d = compile_json_schema(*json::parse(deep));
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.message().find("nests deeper"), std::string::npos) << d.message();
    // What compiles: annotations are ignored, a bare object type admits any keys, recursion works.
    for (const char* ok : {kPerson, kTree, kOpen, R"({"title": "t", "description": "d", "format": "date", "type": "string"})", "true", "{}"})
        EXPECT_TRUE(compile_json_schema(*json::parse(ok)).ok()) << ok;
}

TEST(JsonMatcher, AdmitsWhatTheSchemaAdmitsAndStopsAtTheFirstByteThatBreaksIt) {
    struct Case { const char* schema; std::string text; size_t taken; bool can_end, finished; };
    const std::string any = R"({"type": "object"})";
    const std::vector<Case> cases = {
        {any.c_str(), R"({"a": [1, -2.5e-3, 0, "x\u00e9\n", true, null, {}], "b": {"c": []}})", std::string::npos, true, true},
        {any.c_str(), R"({"a": 01})", 7, false, false},          // a leading zero takes no digit after it
        {any.c_str(), R"({"a": 1,})", 8, false, false},          // a trailing comma
        {any.c_str(), "[1]", 0, false, false},                   // the root is an object
        {any.c_str(), "{\"a\": \"\x01\"}", 7, false, false},     // a raw control byte in a string
        {any.c_str(), "{\"a\": \"\xC3\"}", 8, false, false},     // a cut UTF-8 sequence
        {any.c_str(), "{\"a\": \"\xED\xA0\x80\"}", 8, false, false},  // a surrogate in UTF-8
        {any.c_str(), R"({"a": "\uD83D"})", 10, false, false},   // ... or escaped
        {any.c_str(), R"({"a": "\u00e9\/"})", std::string::npos, true, true},
        {any.c_str(), "{} ", 2, true, true},                      // nothing after the closed value
        {kPerson, R"({"name": "Al", "age": 3, "tags": ["b\"q", 7]})", std::string::npos, true, true},
        {kPerson, R"({"age": 3, "tags": [null], "name": "x", "role": null, "say \"hi\"": false, "score": 1.5})", std::string::npos, true, true},
        {kPerson, R"({"name": "Al", "age": 3})", 23, false, false},       // '}' before the required tags
        {kPerson, R"({"name": "Al", "age": 3.5})", 23, false, false},     // an integer has no fraction
        {kPerson, R"({"nam": 1})", 5, false, false},                      // not a declared key
        {kPerson, R"({"name": "Al", "name": "B"})", 16, false, false},    // a key twice: no unused key begins with n
        {kPerson, R"({"name": ""})", 10, false, false},                   // minLength 1
        {kPerson, R"({"name": "abcdefghijklm"})", 22, false, false},      // maxLength 12
        {R"({"type": "string", "maxLength": 11})", "\"ééééééééééé\"", std::string::npos, true, true},  // 11 code points, 22 bytes
        {kPerson, R"({"tags": []})", 10, false, false},                   // minItems 1
        {kPerson, R"({"tags": [7, 7, 7, 7]})", 17, false, false},         // maxItems 3: no fourth comma
        {kPerson, R"({"tags": ["c"]})", 11, false, false},                // not an enum value
        {kPerson, R"({"role": {"x": 2}})", 15, false, false},             // const 1
        {kPerson, R"({"role": "abcde"})", 14, false, false},              // the string branch's maxLength 4
        {kPerson, R"({"role": 5})", 9, false, false},                     // no number branch
        {kTree, R"({"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}, {"v": 4, "kids": []}]})", std::string::npos, true, true},
        {kTree, R"({"v": 1, "kids": [{"kids": []}]})", 29, false, false},  // the nested node lacks v
        {kOpen, R"({"zz": "abc", "a": 2, "a": 3})", std::string::npos, true, true},  // undeclared keys: any (duplicates too)
        {kOpen, R"({"zz": 1})", 7, false, false},
        {R"({"enum": [1, 10, "red"]})", "1", std::string::npos, true, false},   // "10" may still come
        {R"({"enum": [1, 10, "red"]})", "10", std::string::npos, true, true},
        {R"({"enum": [1, 10, "red"]})", "12", 1, true, false},
        {R"({"type": "integer"})", "-0", std::string::npos, true, false},
        {R"({"type": "number"})", "1.", std::string::npos, false, false},       // a dot needs a digit
        {R"({"type": "number"})", "-2.5E+12", std::string::npos, true, false},
        {R"({"type": "number"})", "1e999", 4, true, false},                    // a double's range: 2 exponent digits
        {R"({"type": "number"})", "1e+", std::string::npos, false, false},
        {R"({"type": "boolean"})", "tru", std::string::npos, false, false},
        {R"({"type": "boolean"})", "false", std::string::npos, true, true},
        {R"({"enum": ["a", null], "nullable": true})", "null", std::string::npos, true, true},
    };
    for (const Case& c : cases) {
        auto s = schema_of(c.schema);
        ASSERT_TRUE(s);
        bool can_end = false, finished = false;
        const size_t want = c.taken == std::string::npos ? c.text.size() : c.taken;
        EXPECT_EQ(taken(*s, c.text, &can_end, &finished), want) << c.schema << "\n  " << c.text;
        if (want == c.text.size()) {
            EXPECT_EQ(can_end, c.can_end) << c.text;
            EXPECT_EQ(finished, c.finished) << c.text;
        }
    }
}

TEST(JsonMatcher, BoundsOnWhitespaceNumbersAndDepth) {
    auto any = any_json_object_schema();
    EXPECT_EQ(taken(*any, std::string(kMaxJsonWhitespace, ' ') + "{}"), size_t(kMaxJsonWhitespace) + 2);
    EXPECT_EQ(taken(*any, std::string(kMaxJsonWhitespace + 1, '\n') + "{}"), size_t(kMaxJsonWhitespace));
    const std::string lead = R"({"n": )";
    EXPECT_EQ(taken(*any, lead + std::string(kMaxJsonNumber, '9') + "}"), lead.size() + kMaxJsonNumber + 1);
    EXPECT_EQ(taken(*any, lead + std::string(kMaxJsonNumber + 1, '9')), lead.size() + kMaxJsonNumber);
    // A number at the bound less one may not take a '.' it could not follow with a digit.
    EXPECT_EQ(taken(*any, lead + std::string(kMaxJsonNumber - 1, '9') + "."), lead.size() + kMaxJsonNumber - 1);
    std::string deep = R"({"a": )";
    for (int i = 0; i < kMaxJsonDepth; ++i) deep += "[";
    EXPECT_EQ(taken(*any, deep), deep.size() - 1);  // the object is one level: 63 arrays fit inside it
}

// Random walks: at every step some byte is allowed (or the value is closed), and every finished
// walk is JSON Hearth's parser reads and that conforms to the schema.
TEST(JsonMatcher, RandomWalksAlwaysEndInConformingJson) {
    const std::vector<std::string> schemas = {kPerson, kTree, kOpen, R"({"type": "object"})",
                                              R"({"type": "array", "items": {"type": ["string", "integer", "null"]}, "maxItems": 4})"};
    Rng rng(2026);
    for (const std::string& text : schemas) {
        auto doc = json::parse(text);
        auto s = schema_of(text);
        ASSERT_TRUE(s);
        int finished = 0;
        for (int walk = 0; walk < 300; ++walk) {
            JsonMatcher m(*s);
            std::string out;
            for (int step = 0; step < 4000 && !m.finished(); ++step) {
                std::vector<int> ok;
                for (int b = 0; b < 256; ++b) {
                    JsonMatcher probe = m;
                    if (probe.feed(static_cast<unsigned char>(b))) ok.push_back(b);
                }
                ASSERT_FALSE(ok.empty()) << "a dead end after: " << out;
                // Lean towards closing as the walk grows, or it may nest for ever.
                int pick = ok[size_t(rng.uniform() * double(ok.size()))];
                const double close_bias = std::min(0.9, step / 200.0);
                if (rng.uniform() < close_bias)
                    for (int b : ok)
                        if (b == '}' || b == ']' || b == '"' || b == 'n') { pick = b; break; }
                ASSERT_TRUE(m.feed(static_cast<unsigned char>(pick)));
                out += char(pick);
            }
            if (!m.finished()) continue;
            ++finished;
            auto v = json::parse(out);
            ASSERT_TRUE(v.ok()) << out << ": " << v.message();
            EXPECT_TRUE(conforms(*v, *doc, *doc)) << text << "\n  " << out;
        }
        EXPECT_GE(finished, 250) << text;
    }
}

namespace {
// A vocabulary of pieces; the last is the end of generation.
std::shared_ptr<const VocabPieces> small_vocab(std::vector<std::string> pieces) {
    std::vector<uint8_t> eog(pieces.size(), 0);
    pieces.push_back("");
    eog.push_back(1);
    return make_vocab_pieces(std::move(pieces), std::move(eog));
}
}  // namespace

TEST(JsonConstraint, TokensAreAllowedByTheirBytesAndTheEndOnlyWhenWhole) {
    const std::vector<std::string> pieces = {"{", "}", "\"", "ok", "\":", " true", "OK", "</think>", "</thi", "nk>\n{", "", "x"};
    auto vocab = small_vocab(pieces);
    const int eos = int(vocab->piece.size()) - 1;
    auto schema = schema_of(R"({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]})");
    JsonConstraint c(JsonAnswer{schema, "", ""}, vocab, false);
    auto allowed = [&] {
        std::vector<float> logits(vocab->piece.size(), 0.0f);
        const int n = c.restrict(logits.data(), int(logits.size()));
        std::string s;
        for (size_t i = 0; i < logits.size(); ++i) {
            EXPECT_EQ(logits[i] != -INFINITY, c.allows(int32_t(i))) << i;
            if (logits[i] != -INFINITY) s += "[" + (int(i) == eos ? std::string("EOS") : vocab->piece[i]) + "]";
        }
        EXPECT_EQ(size_t(n), std::count(s.begin(), s.end(), '['));
        return s;
    };
    EXPECT_EQ(allowed(), "[{]");
    for (const char* p : {"{", "\"", "ok", "\":"}) c.accept(int32_t(std::find(pieces.begin(), pieces.end(), p) - pieces.begin()));
    EXPECT_EQ(allowed(), "[ true]");  // a control token (empty piece) never
    c.accept(5);
    EXPECT_FALSE(c.finished());
    EXPECT_EQ(allowed(), "[}]");
    c.accept(1);
    EXPECT_TRUE(c.finished());
    EXPECT_EQ(allowed(), "[EOS]");  // closed: only the end (the caller ends the answer before asking)

    // A reasoning model: free until </think> (here split over two tokens), then JSON.
    JsonConstraint r(JsonAnswer{schema, "", ""}, vocab, true);
    EXPECT_TRUE(r.allows(6));   // "OK": still reasoning
    EXPECT_TRUE(r.allows(eos));
    r.accept(6);
    r.accept(8);                // "</thi"
    EXPECT_TRUE(r.allows(9));   // "nk>\n{": the tag ends, and "\n{" begins the object
    r.accept(9);
    EXPECT_FALSE(r.allows(6));
    EXPECT_FALSE(r.allows(eos));
    EXPECT_TRUE(r.allows(2));
    JsonConstraint r2(JsonAnswer{schema, "", ""}, vocab, true);
    r2.accept(8);
    EXPECT_TRUE(r2.allows(11));
    EXPECT_TRUE(r2.allows(7));  // a whole "</think>" with nothing after it
}

TEST(JsonConstraint, SamplerChoosesOnlyAllowedTokens) {
    // Pieces of one byte each; logits favour refused tokens. Greedy takes the best allowed one,
    // sampling (any seed) never a refused one, and the text is the object the schema asks for.
    std::vector<std::string> pieces;
    for (int b = 32; b < 127; ++b) pieces.push_back(std::string(1, char(b)));
    auto vocab = small_vocab(pieces);
    auto schema = schema_of(R"({"type": "object", "properties": {"a": {"enum": ["yes", "no"]}}, "required": ["a"]})");
    for (float temp : {0.0f, 0.7f, 1.5f}) {
        for (uint64_t seed = 1; seed <= 20; ++seed) {
            SamplingParams p;
            p.temperature = temp, p.seed = seed, p.top_k = 0, p.top_p = 1.0f, p.min_p = 0.0f;
            Sampler sampler(p);
            JsonConstraint c(JsonAnswer{schema, "", ""}, vocab, false);
            Rng rng(seed * 7);
            std::string text;
            for (int step = 0; step < 200 && !c.finished(); ++step) {
                std::vector<float> logits(vocab->piece.size());
                for (auto& l : logits) l = float(rng.normal() * 2);
                logits['x' - 32] = 50.0f;  // the model wants "x" every time
                const int32_t t = sampler.sample(logits.data(), int(logits.size()), &c);
                ASSERT_GE(t, 0);
                ASSERT_NE(t, 'x' - 32);
                c.accept(t);
                text += vocab->piece[size_t(t)];
            }
            ASSERT_TRUE(c.finished()) << text;
            auto v = json::parse(text);
            ASSERT_TRUE(v.ok()) << text;
            const std::string a = (*v)["a"].as_string();
            EXPECT_TRUE(a == "yes" || a == "no") << text;
        }
    }
}
