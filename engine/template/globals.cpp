// Global functions visible to templates: Jinja's range, namespace, dict, joiner, cycler and
// transformers' raise_exception and strftime_now.
#include "engine/template/interpreter.h"

namespace hearth::jinja {
namespace {

constexpr int64_t kMaxRange = 100000;  // the sandbox's MAX_RANGE

Value range_fn(Interpreter&, const CallArgs& a) {
    if (!a.keyword.empty()) fail("range() takes no keyword arguments");
    if (a.positional.empty() || a.positional.size() > 3) fail("range expected 1 to 3 arguments");
    for (const Value& v : a.positional)
        if (!v.is_int() && !v.is_bool()) fail(std::string("'").append(v.type_name()).append("' object cannot be interpreted as an integer"));
    int64_t start = 0, stop, step = 1;
    if (a.positional.size() == 1) stop = a.positional[0].as_int();
    else {
        start = a.positional[0].as_int();
        stop = a.positional[1].as_int();
        if (a.positional.size() == 3) step = a.positional[2].as_int();
    }
    if (step == 0) fail("range() arg 3 must not be zero");
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (int64_t(out.size()) >= kMaxRange)
            fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        out.emplace_back(i);
    }
    return Value(std::move(out));
}

Dict dict_from_args(const CallArgs& a, const char* function) {
    Dict d;
    if (a.positional.size() > 1) fail(std::string(function) + "() takes at most one positional argument");
    if (!a.positional.empty()) {
        const Value& src = a.positional[0];
        if (src.is_dict()) d = src.entries();
        else if (src.is_sequence()) {
            for (const Value& pair : src.items()) {
                if (!pair.is_sequence() || pair.items().size() != 2) fail(std::string(function) + "(): expected key/value pairs");
                d.emplace_back(pair.items()[0], pair.items()[1]);
            }
        } else {
            fail(std::string(function) + "(): cannot convert '" + src.type_name() + "' to a mapping");
        }
    }
    for (const auto& [k, v] : a.keyword) {
        bool replaced = false;
        for (auto& [dk, dv] : d) if (dk.is_string() && dk.as_string() == k) { dv = v; replaced = true; }
        if (!replaced) d.emplace_back(Value(k), v);
    }
    return d;
}

Value namespace_fn(Interpreter&, const CallArgs& a) { return Value::namespace_object(dict_from_args(a, "namespace")); }
Value dict_fn(Interpreter&, const CallArgs& a) { return Value(dict_from_args(a, "dict")); }

Value raise_exception_fn(Interpreter&, const CallArgs& a) {
    if (a.positional.empty()) fail("raise_exception() needs a message");
    fail(to_str(a.positional[0]));
}

Value strftime_now_fn(Interpreter& in, const CallArgs& a) {
    if (a.positional.size() != 1 || !a.positional[0].is_string()) fail("strftime_now() takes one format string");
    return Value(format_time(in.now(), a.positional[0].as_string()));
}

Value joiner_fn(Interpreter&, const CallArgs& a) {
    std::string sep = ", ";
    if (const Value* s = a.get(0, "sep")) sep = to_str(*s);
    auto used = std::make_shared<bool>(false);
    return Value::callable("joiner", [sep, used](Interpreter&, const CallArgs&) {
        if (!*used) { *used = true; return Value(""); }
        return Value(sep);
    });
}

Value cycler_fn(Interpreter&, const CallArgs& a) {
    if (a.positional.empty()) fail("cycler() needs at least one item");
    auto items = std::make_shared<List>(a.positional);
    auto pos = std::make_shared<size_t>(0);
    auto attrs = std::make_shared<Dict>();
    attrs->emplace_back(Value("next"), Value::callable("cycler.next", [items, pos](Interpreter&, const CallArgs&) {
        Value v = (*items)[*pos];
        *pos = (*pos + 1) % items->size();
        return v;
    }));
    attrs->emplace_back(Value("reset"), Value::callable("cycler.reset", [pos](Interpreter&, const CallArgs&) {
        *pos = 0;
        return Value::none();
    }));
    return Value::callable("cycler", nullptr, attrs);
}

}  // namespace

void add_builtin_globals(Scope& globals) {
    globals.set("range", Value::callable("range", range_fn));
    globals.set("namespace", Value::callable("namespace", namespace_fn));
    globals.set("dict", Value::callable("dict", dict_fn));
    globals.set("joiner", Value::callable("joiner", joiner_fn));
    globals.set("cycler", Value::callable("cycler", cycler_fn));
    globals.set("raise_exception", Value::callable("raise_exception", raise_exception_fn));
    globals.set("strftime_now", Value::callable("strftime_now", strftime_now_fn));
}

}  // namespace hearth::jinja
