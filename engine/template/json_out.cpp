// tojson: Python's json.dumps(x, ensure_ascii, indent, separators, sort_keys) over template values.
// Containers are laid out here (separators, indentation, key order); strings and floats are
// written by engine/util/json's serializer, which matches Python's escaping and float repr.
#include <algorithm>

#include "engine/template/interpreter.h"
#include "engine/util/json.h"

namespace hearth::jinja {
namespace {

struct JsonWriter {
    int indent;
    bool ensure_ascii;
    std::string_view item_sep, key_sep;
    bool sort_keys;
    std::string out;

    void newline(int depth) {
        out += '\n';
        out.append(size_t(indent) * size_t(depth), ' ');
    }

    // Python converts non-string keys: True → "true", None → "null", numbers by their repr.
    std::string key_text(const Value& k) {
        switch (k.kind()) {
            case Value::Kind::String: return k.as_string();
            case Value::Kind::Bool: return k.as_bool() ? "true" : "false";
            case Value::Kind::None: return "null";
            case Value::Kind::Int: return std::to_string(k.as_int());
            case Value::Kind::Float: return json::Value(k.as_double()).dump();
            default: fail("keys must be str, int, float, bool or None, not " + k.type_name());
        }
    }

    void write(const Value& v, int depth) {
        if (depth > 512) fail("tojson: value nests too deeply");
        switch (v.kind()) {
            case Value::Kind::None: out += "null"; return;
            case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
            case Value::Kind::Int: out += std::to_string(v.as_int()); return;
            case Value::Kind::Float: out += json::Value(v.as_double()).dump(); return;
            case Value::Kind::String: out += json::Value(v.as_string()).dump(-1, ensure_ascii); return;
            case Value::Kind::List:
            case Value::Kind::Tuple: {
                const List& items = v.items();
                if (items.empty()) { out += "[]"; return; }
                out += '[';
                for (size_t i = 0; i < items.size(); ++i) {
                    if (i) out += item_sep;
                    if (indent >= 0) newline(depth + 1);
                    write(items[i], depth + 1);
                }
                if (indent >= 0) newline(depth);
                out += ']';
                return;
            }
            case Value::Kind::Dict: {
                std::vector<std::pair<std::string, const Value*>> entries;
                for (const auto& [k, val] : v.entries()) entries.emplace_back(key_text(k), &val);
                if (sort_keys)
                    std::stable_sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.first < b.first; });
                if (entries.empty()) { out += "{}"; return; }
                out += '{';
                for (size_t i = 0; i < entries.size(); ++i) {
                    if (i) out += item_sep;
                    if (indent >= 0) newline(depth + 1);
                    out += json::Value(entries[i].first).dump(-1, ensure_ascii);
                    out += key_sep;
                    write(*entries[i].second, depth + 1);
                }
                if (indent >= 0) newline(depth);
                out += '}';
                return;
            }
            default: fail("Object of type " + v.type_name() + " is not JSON serializable");
        }
    }
};

}  // namespace

std::string to_json(const Value& v, int indent, bool ensure_ascii, std::string_view item_sep, std::string_view key_sep,
                    bool sort_keys) {
    JsonWriter w{indent, ensure_ascii, item_sep, key_sep, sort_keys, {}};
    w.write(v, 0);
    return std::move(w.out);
}

}  // namespace hearth::jinja
