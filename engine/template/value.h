// Runtime values of the Jinja interpreter. They follow Python's data model as far as chat templates
// can observe it: None/True/False, int and float arithmetic, str indexed by code point, list, tuple
// (printed with parentheses), dict (ordered, any hashable key), Jinja's namespace() objects, callables
// (builtins, macros, bound methods, the `loop` object) and Jinja's default Undefined.
//
// Containers have reference semantics like Python objects (copies share). Only namespaces are
// mutable: transformers renders in an ImmutableSandboxedEnvironment, so list.append and dict.update
// are refused there and real templates do not rely on them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::jinja {

// Errors inside the interpreter are thrown as TemplateError and caught at the public API
// (Template::render), which turns them into a Status with the template line. Nothing escapes.
class TemplateError : public std::runtime_error {
public:
    explicit TemplateError(const std::string& message) : std::runtime_error(message) {}
};
[[noreturn]] void fail(const std::string& message);

class Value;
class Interpreter;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<Value, Value>>;  // insertion order, unique keys

struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;

    // Python-style argument binding for builtins: the i-th parameter `name`, from position i or
    // by keyword; nullptr when not given. Unknown keywords and surplus positionals are errors
    // reported by check().
    const Value* get(size_t index, std::string_view name) const;
    void check(const char* function, size_t max_positional, std::initializer_list<std::string_view> keywords) const;
};

struct Callable {
    std::string name;
    std::function<Value(Interpreter&, const CallArgs&)> call;  // empty: not callable (a plain object)
    std::shared_ptr<Dict> attributes;                         // e.g. loop.index; may be null
};

class Value {
public:
    enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Namespace, Callable };

    Value() = default;  // Undefined
    static Value undefined(std::string hint = {}) { Value v; v.s_ = std::move(hint); return v; }
    static Value none() { Value v; v.kind_ = Kind::None; return v; }
    Value(bool b) : kind_(Kind::Bool), i_(b) {}
    Value(int v) : kind_(Kind::Int), i_(v) {}
    Value(int64_t v) : kind_(Kind::Int), i_(v) {}
    Value(double v) : kind_(Kind::Float), d_(v) {}
    Value(const char* s) : kind_(Kind::String), s_(s) {}
    Value(std::string s) : kind_(Kind::String), s_(std::move(s)) {}
    Value(std::string_view s) : kind_(Kind::String), s_(s) {}
    // Containers record their nesting depth and whether a namespace is inside; constructing one
    // deeper than kMaxDepth throws TemplateError (printing, comparing and freeing values recurse).
    Value(List items, bool tuple = false);
    Value(Dict items);
    static Value namespace_object(Dict items);
    static constexpr uint32_t kMaxDepth = 1000;
    static Value callable(std::string name, std::function<Value(Interpreter&, const CallArgs&)> fn,
                          std::shared_ptr<Dict> attributes = nullptr);

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::Undefined; }
    bool is_none() const { return kind_ == Kind::None; }
    bool is_bool() const { return kind_ == Kind::Bool; }
    bool is_int() const { return kind_ == Kind::Int; }
    bool is_float() const { return kind_ == Kind::Float; }
    bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
    bool is_string() const { return kind_ == Kind::String; }
    bool is_list() const { return kind_ == Kind::List; }
    bool is_tuple() const { return kind_ == Kind::Tuple; }
    bool is_sequence() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
    bool is_dict() const { return kind_ == Kind::Dict; }
    bool is_namespace() const { return kind_ == Kind::Namespace; }
    bool is_callable() const { return kind_ == Kind::Callable && callable_->call; }
    bool is_object() const { return kind_ == Kind::Callable; }

    int64_t as_int() const { return kind_ == Kind::Float ? int64_t(d_) : i_; }  // bools are 0/1
    double as_double() const { return kind_ == Kind::Float ? d_ : double(i_); }
    bool as_bool() const { return i_ != 0; }
    const std::string& as_string() const { return s_; }
    const std::string& undefined_hint() const { return s_; }
    const List& items() const;  // list or tuple items; empty otherwise
    const Dict& entries() const;  // dict or namespace entries; empty otherwise
    Dict& namespace_entries() const;  // mutable entries of a namespace
    const Callable& callable_object() const { return *callable_; }

    // Dict lookup (dicts, namespaces and attribute-carrying callables); nullptr when absent.
    const Value* find(const Value& key) const;
    const Value* find(std::string_view key) const;

    std::string type_name() const;  // Python's type name for messages: 'str', 'dict', 'NoneType'…
    uint32_t depth() const { return depth_; }
    // A namespace is (or is inside) this value. Namespaces are the only mutable values, so refusing
    // to store such a value in a namespace rules out reference cycles.
    bool holds_namespace() const { return holds_namespace_; }

private:
    void measure(const Value& child);

    Kind kind_ = Kind::Undefined;
    bool holds_namespace_ = false;
    uint32_t depth_ = 0;
    int64_t i_ = 0;
    double d_ = 0;
    std::string s_;  // string value, or the Undefined's hint ("'x' is undefined")
    std::shared_ptr<List> list_;
    std::shared_ptr<Dict> dict_;
    std::shared_ptr<Callable> callable_;
};

// Python semantics over Values (all throw TemplateError on type errors, as Python would raise).
bool truthy(const Value& v);
bool equals(const Value& a, const Value& b);        // ==, never throws (different types are unequal)
int compare(const Value& a, const Value& b);        // <, >, <=, >=: -1/0/1; throws for unorderable types
bool contains(const Value& container, const Value& item);  // `item in container`
std::string to_str(const Value& v);                 // str(v); Undefined prints as ""
std::string repr(const Value& v);                   // repr(v), as lists print their items
std::string repr_float(double d);                   // Python's repr(float)
std::string repr_string(std::string_view s);        // Python's repr(str): quotes and escapes

// Iteration as Python's iter(): strings by code point, dicts by key, Undefined as empty.
List iterate(const Value& v);
// len(): code points for strings; throws for values without a length (Undefined has 0).
int64_t length(const Value& v);

}  // namespace hearth::jinja
