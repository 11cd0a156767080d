// Jinja's builtin tests (`x is defined`, `x is string`, `x is equalto 3`, …) with Python's type
// rules: bools are numbers but not integers, strings are iterable and sequences, and the default
// Undefined counts as iterable and sequence (it defines __iter__, __len__ and __getitem__).
#include <cmath>

#include "engine/template/interpreter.h"
#include "engine/template/text.h"

namespace hearth::jinja {
namespace {

using A = const CallArgs&;
using I = Interpreter&;
using V = const Value&;

const Value& arg0(A a, const char* test) {
    if (a.positional.empty()) {
        if (!a.keyword.empty()) return a.keyword[0].second;
        fail(std::string("test '") + test + "' needs an argument");
    }
    return a.positional[0];
}

bool t_boolean(I, V v, A) { return v.is_bool(); }
bool t_callable(I, V v, A) { return v.is_callable(); }
bool t_defined(I, V v, A) { return !v.is_undefined(); }
bool t_undefined(I, V v, A) { return v.is_undefined(); }
bool t_divisibleby(I, V v, A a) {
    const Value& n = arg0(a, "divisibleby");
    if (!v.is_number() || !n.is_number()) fail("divisibleby needs numbers");
    if (v.is_float() || n.is_float()) {
        if (n.as_double() == 0) fail("float modulo by zero");
        return std::fmod(v.as_double(), n.as_double()) == 0;
    }
    if (n.as_int() == 0) fail("integer modulo by zero");
    return v.as_int() % n.as_int() == 0;
}
bool t_eq(I, V v, A a) { return equals(v, arg0(a, "eq")); }
bool t_ne(I, V v, A a) { return !equals(v, arg0(a, "ne")); }
bool t_lt(I, V v, A a) { return compare(v, arg0(a, "lt")) < 0; }
bool t_le(I, V v, A a) { return compare(v, arg0(a, "le")) <= 0; }
bool t_gt(I, V v, A a) { return compare(v, arg0(a, "gt")) > 0; }
bool t_ge(I, V v, A a) { return compare(v, arg0(a, "ge")) >= 0; }
bool t_escaped(I, V, A) { return false; }
bool t_even(I, V v, A) {
    if (!v.is_number()) fail("even needs a number");
    return v.is_float() ? std::fmod(v.as_double(), 2.0) == 0 : v.as_int() % 2 == 0;
}
bool t_odd(I in, V v, A a) { return !t_even(in, v, a); }
bool t_false(I, V v, A) { return v.is_bool() && !v.as_bool(); }
bool t_true(I, V v, A) { return v.is_bool() && v.as_bool(); }
bool t_filter(I, V v, A) { return v.is_string() && builtin_filters().count(v.as_string()) > 0; }
bool t_test(I, V v, A) { return v.is_string() && builtin_tests().count(v.as_string()) > 0; }
bool t_float(I, V v, A) { return v.is_float(); }
bool t_in(I, V v, A a) { return contains(arg0(a, "in"), v); }
bool t_integer(I, V v, A) { return v.is_int(); }
bool t_iterable(I, V v, A) { return v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined(); }
bool t_lower(I, V v, A) {
    const std::string s = to_str(v);
    return text::lower(s) == s && text::upper(s) != s;
}
bool t_upper(I, V v, A) {
    const std::string s = to_str(v);
    return text::upper(s) == s && text::lower(s) != s;
}
bool t_mapping(I, V v, A) { return v.is_dict(); }
bool t_none(I, V v, A) { return v.is_none(); }
bool t_number(I, V v, A) { return v.is_number(); }
bool t_sameas(I, V v, A a) {
    const Value& o = arg0(a, "sameas");
    if (v.kind() != o.kind()) return false;
    switch (v.kind()) {
        case Value::Kind::None:
        case Value::Kind::Undefined: return true;
        case Value::Kind::Bool:
        case Value::Kind::Int:
        case Value::Kind::Float:
        case Value::Kind::String: return equals(v, o);  // interned/small values are the same object in CPython
        case Value::Kind::List:
        case Value::Kind::Tuple: return &v.items() == &o.items();
        case Value::Kind::Dict:
        case Value::Kind::Namespace: return &v.entries() == &o.entries();
        case Value::Kind::Callable: return &v.callable_object() == &o.callable_object();
    }
    return false;
}
bool t_sequence(I, V v, A) { return v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined(); }
bool t_string(I, V v, A) { return v.is_string(); }

}  // namespace

const std::map<std::string, TestFn, std::less<>>& builtin_tests() {
    static const std::map<std::string, TestFn, std::less<>> tests = {
        {"boolean", t_boolean}, {"callable", t_callable}, {"defined", t_defined}, {"divisibleby", t_divisibleby},
        {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq}, {"ne", t_ne}, {"!=", t_ne},
        {"lt", t_lt}, {"lessthan", t_lt}, {"<", t_lt}, {"le", t_le}, {"<=", t_le},
        {"gt", t_gt}, {"greaterthan", t_gt}, {">", t_gt}, {"ge", t_ge}, {">=", t_ge},
        {"escaped", t_escaped}, {"even", t_even}, {"odd", t_odd}, {"false", t_false}, {"true", t_true},
        {"filter", t_filter}, {"test", t_test}, {"float", t_float}, {"in", t_in}, {"integer", t_integer},
        {"iterable", t_iterable}, {"lower", t_lower}, {"upper", t_upper}, {"mapping", t_mapping},
        {"none", t_none}, {"number", t_number}, {"sameas", t_sameas}, {"sequence", t_sequence},
        {"string", t_string}, {"undefined", t_undefined},
    };
    return tests;
}

}  // namespace hearth::jinja
