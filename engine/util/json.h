// A small JSON value, parser and serializer: tokenizer.json (10+ MB, so the parser is linear and
// allocation-light), chat-template variables and `tojson`, test vectors. No Qt here (engine room).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/util/status.h"

namespace hearth::json {

class Value;
using Array = std::vector<Value>;
// Objects keep insertion order (tojson and tokenizer.json's vocab order matter).
using Object = std::vector<std::pair<std::string, Value>>;

class Value {
public:
    enum class Type { Null, Bool, Int, Float, String, Array, Object };

    Value() = default;
    Value(std::nullptr_t) {}
    Value(bool b) : type_(Type::Bool), b_(b) {}
    Value(int v) : type_(Type::Int), i_(v) {}
    Value(int64_t v) : type_(Type::Int), i_(v) {}
    Value(double v) : type_(Type::Float), d_(v) {}
    Value(const char* s) : type_(Type::String), s_(s) {}
    Value(std::string s) : type_(Type::String), s_(std::move(s)) {}
    Value(std::string_view s) : type_(Type::String), s_(s) {}
    Value(Array a) : type_(Type::Array), a_(std::make_shared<Array>(std::move(a))) {}
    Value(Object o) : type_(Type::Object), o_(std::make_shared<Object>(std::move(o))) {}
    static Value array() { return Value(Array{}); }
    static Value object() { return Value(Object{}); }

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::Null; }
    bool is_bool() const { return type_ == Type::Bool; }
    bool is_int() const { return type_ == Type::Int; }
    bool is_number() const { return type_ == Type::Int || type_ == Type::Float; }
    bool is_string() const { return type_ == Type::String; }
    bool is_array() const { return type_ == Type::Array; }
    bool is_object() const { return type_ == Type::Object; }

    bool as_bool() const { return b_; }
    int64_t as_int() const { return type_ == Type::Float ? int64_t(d_) : i_; }
    double as_double() const { return type_ == Type::Int ? double(i_) : d_; }
    const std::string& as_string() const { return s_; }
    const Array& as_array() const;    // empty array if not an array
    const Object& as_object() const;  // empty object if not an object
    Array& mutable_array();           // the value must be an array
    Object& mutable_object();         // the value must be an object (copy-on-write is not done: values share)

    // Object access: nullptr when absent or not an object.
    const Value* find(std::string_view key) const;
    const Value& operator[](std::string_view key) const;  // null Value when absent
    void set(std::string key, Value v);                    // object: replace or append
    void push_back(Value v);                               // array
    size_t size() const;                                   // array/object length, string bytes

    // Serialization. indent < 0: compact with ", " and ": " separators as Python's json.dumps does;
    // ensure_ascii false keeps non-ASCII UTF-8 as is.
    std::string dump(int indent = -1, bool ensure_ascii = false) const;

    friend bool operator==(const Value& a, const Value& b);

private:
    Type type_ = Type::Null;
    bool b_ = false;
    int64_t i_ = 0;
    double d_ = 0;
    std::string s_;
    std::shared_ptr<Array> a_;
    std::shared_ptr<Object> o_;
};

Result<Value> parse(std::string_view text);
Result<Value> parse_file(const std::string& path);

}  // namespace hearth::json
