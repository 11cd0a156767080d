#include "engine/template/value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/template/text.h"
#include "engine/util/json.h"

namespace hearth::jinja {

void fail(const std::string& message) { throw TemplateError(message); }

const Value* CallArgs::get(size_t index, std::string_view name) const {
    if (index < positional.size()) return &positional[index];
    for (const auto& [k, v] : keyword) if (k == name) return &v;
    return nullptr;
}

void CallArgs::check(const char* function, size_t max_positional,
                     std::initializer_list<std::string_view> keywords) const {
    if (positional.size() > max_positional)
        fail(std::string(function) + "() takes at most " + std::to_string(max_positional) + " positional argument(s), " +
             std::to_string(positional.size()) + " given");
    for (const auto& [k, v] : keyword) {
        if (std::find(keywords.begin(), keywords.end(), k) == keywords.end())
            fail(std::string(function) + "() got an unexpected keyword argument '" + k + "'");
    }
}

void Value::measure(const Value& child) {
    depth_ = std::max(depth_, child.depth_ + 1);
    holds_namespace_ = holds_namespace_ || child.holds_namespace_;
}

Value::Value(List items, bool tuple)
    : kind_(tuple ? Kind::Tuple : Kind::List), depth_(1), list_(std::make_shared<List>(std::move(items))) {
    for (const Value& v : *list_) measure(v);
    if (depth_ > kMaxDepth) fail("value nests too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
}

Value::Value(Dict items) : kind_(Kind::Dict), depth_(1), dict_(std::make_shared<Dict>(std::move(items))) {
    for (const auto& [k, v] : *dict_) {
        measure(k);
        measure(v);
    }
    if (depth_ > kMaxDepth) fail("value nests too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
}

Value Value::namespace_object(Dict items) {
    for (const auto& [k, v] : items)
        if (v.holds_namespace()) fail("a namespace cannot hold another namespace");
    Value v(std::move(items));
    v.kind_ = Kind::Namespace;
    v.holds_namespace_ = true;
    return v;
}

Value Value::callable(std::string name, std::function<Value(Interpreter&, const CallArgs&)> fn,
                      std::shared_ptr<Dict> attributes) {
    Value v;
    v.kind_ = Kind::Callable;
    // Functions and loop objects may capture values (bound methods, loop.changed's memory), so they
    // count as holding a namespace: storing them in one could close a reference cycle.
    v.holds_namespace_ = true;
    v.callable_ = std::make_shared<Callable>(Callable{std::move(name), std::move(fn), std::move(attributes)});
    return v;
}

const List& Value::items() const {
    static const List empty;
    return list_ ? *list_ : empty;
}

const Dict& Value::entries() const {
    static const Dict empty;
    if (dict_) return *dict_;
    if (kind_ == Kind::Callable && callable_->attributes) return *callable_->attributes;
    return empty;
}

Dict& Value::namespace_entries() const { return *dict_; }

const Value* Value::find(const Value& key) const {
    for (const auto& [k, v] : entries()) if (equals(k, key)) return &v;
    return nullptr;
}

const Value* Value::find(std::string_view key) const {
    for (const auto& [k, v] : entries()) if (k.is_string() && k.as_string() == key) return &v;
    return nullptr;
}

std::string Value::type_name() const {
    switch (kind_) {
        case Kind::Undefined: return "Undefined";
        case Kind::None: return "NoneType";
        case Kind::Bool: return "bool";
        case Kind::Int: return "int";
        case Kind::Float: return "float";
        case Kind::String: return "str";
        case Kind::List: return "list";
        case Kind::Tuple: return "tuple";
        case Kind::Dict: return "dict";
        case Kind::Namespace: return "Namespace";
        case Kind::Callable: return callable_->call ? "function" : "object";
    }
    return "object";
}

bool truthy(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined:
        case Value::Kind::None: return false;
        case Value::Kind::Bool:
        case Value::Kind::Int: return v.as_int() != 0;
        case Value::Kind::Float: return v.as_double() != 0.0;
        case Value::Kind::String: return !v.as_string().empty();
        case Value::Kind::List:
        case Value::Kind::Tuple: return !v.items().empty();
        case Value::Kind::Dict: return !v.entries().empty();
        case Value::Kind::Namespace:
        case Value::Kind::Callable: return true;
    }
    return false;
}

bool equals(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
        return a.as_int() == b.as_int();
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case Value::Kind::Undefined:
        case Value::Kind::None: return true;
        case Value::Kind::String: return a.as_string() == b.as_string();
        case Value::Kind::List:
        case Value::Kind::Tuple: {
            const List &x = a.items(), &y = b.items();
            if (x.size() != y.size()) return false;
            for (size_t i = 0; i < x.size(); ++i) if (!equals(x[i], y[i])) return false;
            return true;
        }
        case Value::Kind::Dict: {  // order-insensitive, as Python dicts compare
            const Dict &x = a.entries(), &y = b.entries();
            if (x.size() != y.size()) return false;
            for (const auto& [k, v] : x) {
                const Value* other = b.find(k);
                if (!other || !equals(v, *other)) return false;
            }
            return true;
        }
        case Value::Kind::Namespace: return &a.entries() == &b.entries();
        case Value::Kind::Callable: return &a.callable_object() == &b.callable_object();
        default: return false;
    }
}

int compare(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) {
            const double x = a.as_double(), y = b.as_double();
            return x < y ? -1 : x > y ? 1 : 0;
        }
        const int64_t x = a.as_int(), y = b.as_int();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.is_string() && b.is_string()) {  // UTF-8 byte order is code point order
        const int c = a.as_string().compare(b.as_string());
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (a.kind() == b.kind() && a.is_sequence()) {
        const List &x = a.items(), &y = b.items();
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (equals(x[i], y[i])) continue;
            return compare(x[i], y[i]);
        }
        return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
    }
    fail("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

bool contains(const Value& container, const Value& item) {
    switch (container.kind()) {
        case Value::Kind::String:
            if (!item.is_string())
                fail("'in <string>' requires string as left operand, not " + item.type_name());
            return container.as_string().find(item.as_string()) != std::string::npos;
        case Value::Kind::List:
        case Value::Kind::Tuple:
            for (const Value& v : container.items()) if (equals(v, item)) return true;
            return false;
        case Value::Kind::Dict: return container.find(item) != nullptr;
        case Value::Kind::Undefined: return false;  // iterates as empty
        default: fail("argument of type '" + container.type_name() + "' is not iterable");
    }
}

std::string repr_float(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
    return json::Value(d).dump();  // the JSON writer prints floats exactly as Python's repr
}

std::string repr_string(std::string_view s) {
    const bool has_single = s.find('\'') != std::string_view::npos;
    const bool has_double = s.find('"') != std::string_view::npos;
    const char quote = has_single && !has_double ? '"' : '\'';
    std::string out(1, quote);
    for (size_t i = 0; i < s.size();) {
        const size_t start = i;
        const uint32_t cp = text::decode(s, i);
        if (cp == uint32_t(quote) || cp == '\\') { out += '\\'; out += char(cp); }
        else if (cp == '\n') out += "\\n";
        else if (cp == '\r') out += "\\r";
        else if (cp == '\t') out += "\\t";
        else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(cp));
            out += buf;
        } else {
            out.append(s.substr(start, i - start));
        }
    }
    out += quote;
    return out;
}

std::string repr(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::String: return repr_string(v.as_string());
        case Value::Kind::Undefined: return "Undefined";
        default: return to_str(v);
    }
}

std::string to_str(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined: return "";
        case Value::Kind::None: return "None";
        case Value::Kind::Bool: return v.as_bool() ? "True" : "False";
        case Value::Kind::Int: return std::to_string(v.as_int());
        case Value::Kind::Float: return repr_float(v.as_double());
        case Value::Kind::String: return v.as_string();
        case Value::Kind::List:
        case Value::Kind::Tuple: {
            const bool tuple = v.is_tuple();
            std::string out = tuple ? "(" : "[";
            const List& items = v.items();
            for (size_t i = 0; i < items.size(); ++i) {
                if (i) out += ", ";
                out += repr(items[i]);
            }
            if (tuple && items.size() == 1) out += ',';
            out += tuple ? ")" : "]";
            return out;
        }
        case Value::Kind::Dict:
        case Value::Kind::Namespace: {
            std::string out = v.is_namespace() ? "<Namespace {" : "{";
            bool first = true;
            for (const auto& [k, val] : v.entries()) {
                if (!first) out += ", ";
                first = false;
                out += repr(k) + ": " + repr(val);
            }
            out += v.is_namespace() ? "}>" : "}";
            return out;
        }
        case Value::Kind::Callable: return "<" + v.callable_object().name + ">";
    }
    return "";
}

List iterate(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined: return {};
        case Value::Kind::String: {
            List out;
            for (std::string& cp : text::code_points(v.as_string())) out.emplace_back(std::move(cp));
            return out;
        }
        case Value::Kind::List:
        case Value::Kind::Tuple: return v.items();
        case Value::Kind::Dict: {
            List out;
            for (const auto& [k, val] : v.entries()) out.push_back(k);
            return out;
        }
        default: fail("'" + v.type_name() + "' object is not iterable");
    }
}

int64_t length(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined: return 0;
        case Value::Kind::String: return int64_t(text::code_point_count(v.as_string()));
        case Value::Kind::List:
        case Value::Kind::Tuple: return int64_t(v.items().size());
        case Value::Kind::Dict: return int64_t(v.entries().size());
        default: fail("object of type '" + v.type_name() + "' has no len()");
    }
}

}  // namespace hearth::jinja
