#include "engine/sampling/json_schema.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

namespace hearth {
namespace {

// Keywords that only describe (JSON Schema's annotations, and the containers of definitions):
// they never change which texts are valid.
const std::set<std::string_view> kAnnotations = {
    "title", "description", "default", "examples", "example", "format", "$schema", "$id", "$comment", "$defs",
    "definitions", "deprecated", "readOnly", "writeOnly", "contentEncoding", "contentMediaType",
};
const std::set<std::string_view> kHandled = {
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "minLength",
    "maxLength", "enum", "const", "nullable", "anyOf", "oneOf", "allOf", "$ref",
};

// The kind a value starting with byte b has (for telling anyOf's branches apart).
uint8_t kind_of_first_byte(char b) {
    switch (b) {
    case '{': return kJsonObject;
    case '[': return kJsonArray;
    case '"': return kJsonString;
    case 't': case 'f': return kJsonBool;
    case 'n': return kJsonNull;
    default: return kJsonNumber | kJsonInteger;  // '-' or a digit
    }
}

std::string escaped_body(const std::string& s) {
    const std::string d = json::Value(s).dump();
    return d.substr(1, d.size() - 2);
}

class Compiler {
public:
    Compiler(const json::Value& doc, JsonSchema& out) : doc_(doc), out_(out) {}

    Result<const SchemaNode*> compile(const json::Value& s, const std::string& where, int depth) {
        if (depth > kMaxJsonDepth) return make_error("the JSON schema nests deeper than " + std::to_string(kMaxJsonDepth) + " levels (at " + where + ")");
        if (s.is_bool()) {
            if (s.as_bool()) return any();
            return make_error("the JSON schema at " + where + " is false: no value would satisfy it");
        }
        if (!s.is_object()) return make_error("the JSON schema at " + where + " must be an object or a boolean");
        HEARTH_RETURN_IF_ERROR(check_keywords(s, where));
        if (const json::Value* ref = s.find("$ref")) return resolve(*ref, where + "/$ref", depth);
        if (const json::Value* all = s.find("allOf")) {
            if (!all->is_array() || all->as_array().size() != 1 || s.as_object().size() != 1 + annotations(s))
                return make_error("'allOf' is supported only with one schema and nothing beside it (at " + where + ")");
            return compile(all->as_array()[0], where + "/allOf/0", depth + 1);
        }
        auto* n = make_node();
        if (Status st = fill(*n, s, where, depth); !st.ok()) return st;
        return static_cast<const SchemaNode*>(n);
    }

    const SchemaNode* any() {
        if (!any_) {
            any_ = make_node();
            any_->kinds = kJsonAnyKind;
            any_->additional = any_;
            any_->items = any_;
        }
        return any_;
    }

private:
    SchemaNode* make_node() {
        out_.nodes.push_back(std::make_unique<SchemaNode>());
        return out_.nodes.back().get();
    }

    static size_t annotations(const json::Value& s) {
        size_t n = 0;
        for (const auto& kv : s.as_object()) n += kAnnotations.count(kv.first);
        return n;
    }

    Result<const SchemaNode*> resolve(const json::Value& ref, const std::string& where, int depth) {
        if (!ref.is_string()) return make_error("'$ref' must be a string (at " + where + ")");
        const std::string& r = ref.as_string();
        // A node still being filled is returned too: properties and items only keep the pointer.
        if (auto it = by_ref_.find(r); it != by_ref_.end()) return static_cast<const SchemaNode*>(it->second);
        if (r.empty() || r[0] != '#') return make_error("only references inside the schema ('#…') are supported, not '" + r + "' (at " + where + ")");
        const json::Value* target = &doc_;
        size_t i = 1;
        while (i < r.size()) {
            if (r[i] != '/') return make_error("the $ref '" + r + "' is not a JSON pointer (at " + where + ")");
            const size_t end = std::min(r.find('/', i + 1), r.size());
            std::string seg = r.substr(i + 1, end - i - 1);
            for (size_t p = 0; (p = seg.find('~', p)) != std::string::npos; ++p) {
                if (p + 1 < seg.size() && seg[p + 1] == '1') seg.replace(p, 2, "/");
                else if (p + 1 < seg.size() && seg[p + 1] == '0') seg.replace(p, 2, "~");
            }
            if (target->is_object()) {
                target = target->find(seg);
            } else if (target->is_array() && !seg.empty() && seg.find_first_not_of("0123456789") == std::string::npos &&
                       seg.size() < 9 && std::stoul(seg) < target->as_array().size()) {
                target = &target->as_array()[std::stoul(seg)];
            } else {
                target = nullptr;
            }
            if (!target) return make_error("the $ref '" + r + "' points at nothing in the schema (at " + where + ")");
            i = end;
        }
        // Made before it is filled, so a recursive schema (a tree of nodes) refers to itself.
        if (!target->is_object() || target->find("$ref") || target->find("allOf")) {
            auto c = compile(*target, r, depth + 1);
            if (c.ok()) by_ref_[r] = const_cast<SchemaNode*>(*c);
            return c;
        }
        SchemaNode* n = make_node();
        by_ref_[r] = n;
        if (Status st = check_keywords(*target, r); !st.ok()) return st;
        filling_.insert(n);
        Status st = fill(*n, *target, r, depth + 1);
        filling_.erase(n);
        if (!st.ok()) return st;
        return static_cast<const SchemaNode*>(n);
    }

    static Status check_keywords(const json::Value& s, const std::string& where) {
        for (const auto& kv : s.as_object())
            if (!kHandled.count(kv.first) && !kAnnotations.count(kv.first))
                return make_error("the JSON schema keyword '" + kv.first + "' is not supported (at " + where + ")");
        return {};
    }

    static Result<int64_t> count(const json::Value& s, const char* key, const std::string& where, int64_t dflt) {
        const json::Value* v = s.find(key);
        if (!v) return dflt;
        if (!v->is_int() || v->as_int() < 0) return make_error(std::string("'") + key + "' must be a non-negative integer (at " + where + ")");
        return v->as_int();
    }

    Status fill(SchemaNode& n, const json::Value& s, const std::string& where, int depth) {
        const json::Value* branches = s.find("anyOf");
        if (!branches) branches = s.find("oneOf");
        if (branches) {
            if (s.find("anyOf") && s.find("oneOf")) return make_error("'anyOf' and 'oneOf' together are not supported (at " + where + ")");
            if (s.as_object().size() - annotations(s) - (s.find("nullable") ? 1 : 0) != 1)
                return make_error("'anyOf'/'oneOf' is supported only with nothing beside it but 'nullable' (at " + where + ")");
            if (!branches->is_array() || branches->as_array().empty())
                return make_error("'anyOf'/'oneOf' must be a non-empty array (at " + where + ")");
            const auto& arr = branches->as_array();
            for (size_t i = 0; i < arr.size(); ++i) {
                const std::string w = where + (s.find("anyOf") ? "/anyOf/" : "/oneOf/") + std::to_string(i);
                auto b = compile(arr[i], w, depth + 1);
                if (!b.ok()) return b.status();
                if (filling_.count(const_cast<SchemaNode*>(*b)))
                    return make_error("the JSON schema refers to itself through 'anyOf' without an object or array between (at " + w + ")");
                if (Status st = merge(n, **b, w); !st.ok()) return st;
            }
            if (s["nullable"].is_bool() && s["nullable"].as_bool()) {
                SchemaNode null_node;
                null_node.kinds = kJsonNull;
                if (Status st = merge(n, null_node, where); !st.ok()) return st;
            }
            return check_literal_starts(n, where);
        }

        // The kinds: "type", else what the other keywords imply, else any.
        if (const json::Value* t = s.find("type")) {
            std::vector<json::Value> names = t->is_array() ? t->as_array() : std::vector<json::Value>{*t};
            if (names.empty()) return make_error("'type' must name at least one type (at " + where + ")");
            for (const auto& name : names) {
                const std::string nm = name.is_string() ? name.as_string() : "";
                if (nm == "object") n.kinds |= kJsonObject;
                else if (nm == "array") n.kinds |= kJsonArray;
                else if (nm == "string") n.kinds |= kJsonString;
                else if (nm == "number") n.kinds |= kJsonNumber;
                else if (nm == "integer") n.kinds |= kJsonInteger;
                else if (nm == "boolean") n.kinds |= kJsonBool;
                else if (nm == "null") n.kinds |= kJsonNull;
                else return make_error("'type' " + name.dump() + " is not a JSON Schema type (at " + where + ")");
            }
        } else {
            if (s.find("properties") || s.find("required") || s.find("additionalProperties")) n.kinds |= kJsonObject;
            if (s.find("items") || s.find("minItems") || s.find("maxItems")) n.kinds |= kJsonArray;
            if (s.find("minLength") || s.find("maxLength")) n.kinds |= kJsonString;
            if (!n.kinds && !s.find("enum") && !s.find("const")) n.kinds = kJsonAnyKind;
        }
        if ((n.kinds & kJsonNumber) && (n.kinds & kJsonInteger)) n.kinds &= uint8_t(~kJsonInteger);
        if (s["nullable"].is_bool() && s["nullable"].as_bool()) n.kinds |= kJsonNull;

        // enum / const: the value is one of these texts (and nothing else, "type" then only documents).
        if (const json::Value* e = s.find("enum")) {
            if (!e->is_array() || e->as_array().empty()) return make_error("'enum' must be a non-empty array (at " + where + ")");
            for (const auto& v : e->as_array()) n.literals.push_back(v.dump());
        }
        if (const json::Value* c = s.find("const")) n.literals.push_back(c->dump());
        if (!n.literals.empty()) {
            n.kinds = s["nullable"].is_bool() && s["nullable"].as_bool() ? kJsonNull : 0;
            std::sort(n.literals.begin(), n.literals.end());
            n.literals.erase(std::unique(n.literals.begin(), n.literals.end()), n.literals.end());
            if (n.kinds == kJsonNull)  // nullable beside an enum that lists null already: one null
                n.literals.erase(std::remove(n.literals.begin(), n.literals.end(), "null"), n.literals.end());
            if (n.literals.size() > kMaxSchemaKeys)
                return make_error("'enum' holds more than " + std::to_string(kMaxSchemaKeys) + " values (at " + where + ")");
            if (n.kinds) return check_literal_starts(n, where);
            return {};
        }

        if (n.kinds & kJsonObject) {
            const json::Value* props = s.find("properties");
            if (props && !props->is_object()) return make_error("'properties' must be an object (at " + where + ")");
            if (props) {
                if (props->as_object().size() > kMaxSchemaKeys)
                    return make_error("an object schema declares more than " + std::to_string(kMaxSchemaKeys) + " properties (at " + where + ")");
                for (const auto& [k, v] : props->as_object()) {
                    auto p = compile(v, where + "/properties/" + k, depth + 1);
                    if (!p.ok()) return p.status();
                    n.keys.push_back(escaped_body(k));
                    n.props.push_back(*p);
                }
            }
            if (const json::Value* req = s.find("required")) {
                if (!req->is_array()) return make_error("'required' must be an array of property names (at " + where + ")");
                for (const auto& r : req->as_array()) {
                    if (!r.is_string()) return make_error("'required' must be an array of property names (at " + where + ")");
                    const auto it = std::find(n.keys.begin(), n.keys.end(), escaped_body(r.as_string()));
                    if (it == n.keys.end())
                        return make_error("the required property '" + r.as_string() + "' is not among 'properties' (at " + where + ")");
                    n.required |= uint64_t(1) << (it - n.keys.begin());
                }
            }
            const json::Value* add = s.find("additionalProperties");
            if (!add) {
                n.additional = n.keys.empty() ? any() : nullptr;
            } else if (add->is_bool() && !add->as_bool()) {
                n.additional = nullptr;
            } else {
                auto a = compile(*add, where + "/additionalProperties", depth + 1);
                if (!a.ok()) return a.status();
                n.additional = *a;
            }
        }
        if (n.kinds & kJsonArray) {
            if (const json::Value* it = s.find("items")) {
                if (it->is_array()) return make_error("tuple 'items' (an array of schemas) is not supported (at " + where + ")");
                auto i = compile(*it, where + "/items", depth + 1);
                if (!i.ok()) return i.status();
                n.items = *i;
            } else {
                n.items = any();
            }
            HEARTH_RETURN_IF_ERROR(bounds(s, "minItems", "maxItems", where, &n.min_items, &n.max_items));
        }
        if (n.kinds & kJsonString) HEARTH_RETURN_IF_ERROR(bounds(s, "minLength", "maxLength", where, &n.min_length, &n.max_length));
        return {};
    }

    // A lower and an upper bound (absent: 0 and none, -1).
    static Status bounds(const json::Value& s, const char* lo_key, const char* hi_key, const std::string& where, int64_t* lo, int64_t* hi) {
        auto l = count(s, lo_key, where, 0);
        if (!l.ok()) return l.status();
        auto h = count(s, hi_key, where, -1);
        if (!h.ok()) return h.status();
        if (*h >= 0 && *l > *h) return make_error(std::string("'") + lo_key + "' is above '" + hi_key + "' (at " + where + ")");
        *lo = *l, *hi = *h;
        return {};
    }

    // anyOf: the union of the branches, each kind given by one branch only.
    static Status merge(SchemaNode& n, const SchemaNode& b, const std::string& where) {
        const uint8_t number_kinds = kJsonNumber | kJsonInteger;
        const uint8_t a_kinds = uint8_t((n.kinds & number_kinds ? number_kinds : 0) | (n.kinds & ~number_kinds));
        const uint8_t b_kinds = uint8_t((b.kinds & number_kinds ? number_kinds : 0) | (b.kinds & ~number_kinds));
        if (a_kinds & b_kinds)
            return make_error("the branches of 'anyOf'/'oneOf' must begin differently (an object, an array, a string, a number, "
                              "true/false, null), as each byte is decided without looking ahead; two admit the same kind (at " + where + ")");
        n.kinds |= b.kinds;
        n.literals.insert(n.literals.end(), b.literals.begin(), b.literals.end());
        if (n.literals.size() > kMaxSchemaKeys)
            return make_error("'anyOf'/'oneOf' holds more than " + std::to_string(kMaxSchemaKeys) + " enum values (at " + where + ")");
        if (b.kinds & kJsonObject) n.keys = b.keys, n.props = b.props, n.required = b.required, n.additional = b.additional;
        if (b.kinds & kJsonArray) n.items = b.items, n.min_items = b.min_items, n.max_items = b.max_items;
        if (b.kinds & kJsonString) n.min_length = b.min_length, n.max_length = b.max_length;
        return {};
    }

    static Status check_literal_starts(const SchemaNode& n, const std::string& where) {
        for (const std::string& l : n.literals)
            if (kind_of_first_byte(l[0]) & n.kinds)
                return make_error("an enum value " + l + " begins like another branch of the schema's types (at " + where + ")");
        return {};
    }

    const json::Value& doc_;
    JsonSchema& out_;
    SchemaNode* any_ = nullptr;
    std::map<std::string, SchemaNode*> by_ref_;
    std::set<SchemaNode*> filling_;
};

}  // namespace

Result<std::shared_ptr<const JsonSchema>> compile_json_schema(const json::Value& schema) {
    auto out = std::make_shared<JsonSchema>();
    Compiler c(schema, *out);
    auto root = c.compile(schema, "#", 0);
    if (!root.ok()) return root.status();
    out->root = *root;
    return std::shared_ptr<const JsonSchema>(std::move(out));
}

std::shared_ptr<const JsonSchema> any_json_object_schema() {
    auto out = std::make_shared<JsonSchema>();
    Compiler c(json::Value(), *out);
    const SchemaNode* any = c.any();
    out->nodes.push_back(std::make_unique<SchemaNode>());
    SchemaNode* root = out->nodes.back().get();
    root->kinds = kJsonObject;
    root->additional = any;
    root->items = any;
    out->root = root;
    return out;
}

}  // namespace hearth
