// Python methods of str, dict and list values that chat templates call: message.content.split(…),
// tool.items(), content.strip('\n'), … Mutating methods (list.append, dict.update) are refused, as
// transformers' ImmutableSandboxedEnvironment refuses them.
#include <algorithm>

#include "engine/template/format.h"
#include "engine/template/interpreter.h"
#include "engine/template/text.h"

namespace hearth::jinja {
namespace {

using Fn = std::function<Value(Interpreter&, const CallArgs&)>;

std::string str_arg(const CallArgs& a, size_t i, std::string_view name, const char* method) {
    const Value* v = a.get(i, name);
    if (!v) fail(std::string(method) + "() missing required argument '" + std::string(name) + "'");
    if (!v->is_string()) fail(std::string(method) + "() argument must be str, not " + v->type_name());
    return v->as_string();
}

int64_t int_arg(const CallArgs& a, size_t i, std::string_view name, int64_t dflt) {
    const Value* v = a.get(i, name);
    if (!v || v->is_none()) return dflt;
    if (!v->is_int() && !v->is_bool()) fail("'" + v->type_name() + "' object cannot be interpreted as an integer");
    return v->as_int();
}

Value string_list(std::vector<std::string> parts) {
    List out;
    for (std::string& p : parts) out.emplace_back(std::move(p));
    return Value(std::move(out));
}

// startswith/endswith accept a str or a tuple of str.
bool affix_match(const std::string& s, const Value& affix, bool start, const char* method) {
    auto one = [&](const Value& v) {
        if (!v.is_string()) fail(std::string(method) + " first arg must be str or a tuple of str, not " + v.type_name());
        const std::string& a = v.as_string();
        if (a.size() > s.size()) return false;
        return start ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
    };
    if (affix.is_tuple()) {
        for (const Value& v : affix.items()) if (one(v)) return true;
        return false;
    }
    return one(affix);
}

Value string_method(const std::string& s, std::string_view name) {
    auto strip_fn = [s](bool left, bool right, const char* method) -> Fn {
        return [s, left, right, method](Interpreter&, const CallArgs& a) {
            a.check(method, 1, {"chars"});
            const Value* chars = a.get(0, "chars");
            if (!chars || chars->is_none()) return Value(text::strip(s, left, right));
            if (!chars->is_string()) fail(std::string(method) + " arg must be None or str");
            return Value(text::strip_chars(s, chars->as_string(), left, right));
        };
    };
    Fn fn;
    if (name == "strip") fn = strip_fn(true, true, "strip");
    else if (name == "lstrip") fn = strip_fn(true, false, "lstrip");
    else if (name == "rstrip") fn = strip_fn(false, true, "rstrip");
    else if (name == "split" || name == "rsplit") {
        const bool right = name == "rsplit";
        fn = [s, right](Interpreter&, const CallArgs& a) {
            a.check("split", 2, {"sep", "maxsplit"});
            const Value* sep = a.get(0, "sep");
            std::string sep_s;
            if (sep && !sep->is_none()) {
                if (!sep->is_string()) fail("must be str or None, not " + sep->type_name());
                sep_s = sep->as_string();
                if (sep_s.empty()) fail("empty separator");
            }
            const int64_t maxsplit = int_arg(a, 1, "maxsplit", -1);
            return string_list(right ? text::rsplit(s, sep_s, maxsplit) : text::split(s, sep_s, maxsplit));
        };
    } else if (name == "splitlines") {
        fn = [s](Interpreter&, const CallArgs& a) {
            a.check("splitlines", 1, {"keepends"});
            const Value* keep = a.get(0, "keepends");
            const bool keepends = keep && truthy(*keep);
            std::vector<std::string> lines;
            size_t start = 0;
            for (size_t i = 0; i < s.size(); ++i) {
                const char c = s[i];
                if (c != '\n' && c != '\r' && c != '\v' && c != '\f' && c != '\x1c' && c != '\x1d' && c != '\x1e') continue;
                size_t end = i + 1;
                if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') end = i + 2;
                lines.push_back(s.substr(start, (keepends ? end : i) - start));
                start = end;
                i = end - 1;
            }
            if (start < s.size()) lines.push_back(s.substr(start));
            return string_list(std::move(lines));
        };
    } else if (name == "startswith" || name == "endswith") {
        const bool start = name == "startswith";
        fn = [s, start](Interpreter&, const CallArgs& a) {
            if (a.positional.empty()) fail(std::string(start ? "startswith" : "endswith") + "() takes at least 1 argument");
            return Value(affix_match(s, a.positional[0], start, start ? "startswith" : "endswith"));
        };
    } else if (name == "upper") fn = [s](Interpreter&, const CallArgs&) { return Value(text::upper(s)); };
    else if (name == "lower") fn = [s](Interpreter&, const CallArgs&) { return Value(text::lower(s)); };
    else if (name == "title") fn = [s](Interpreter&, const CallArgs&) { return Value(text::title(s)); };
    else if (name == "capitalize") fn = [s](Interpreter&, const CallArgs&) { return Value(text::capitalize(s)); };
    else if (name == "replace") {
        fn = [s](Interpreter&, const CallArgs& a) {
            a.check("replace", 3, {"count"});
            return Value(text::replace(s, str_arg(a, 0, "old", "replace"), str_arg(a, 1, "new", "replace"),
                                       int_arg(a, 2, "count", -1)));
        };
    } else if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
        const bool right = name[0] == 'r';
        const bool raises = name.find("index") != std::string_view::npos;
        fn = [s, right, raises](Interpreter&, const CallArgs& a) {
            const int64_t r = text::find(s, str_arg(a, 0, "sub", "find"), right);
            if (r < 0 && raises) fail("substring not found");
            return Value(r);
        };
    } else if (name == "count") {
        fn = [s](Interpreter&, const CallArgs& a) { return Value(text::count(s, str_arg(a, 0, "sub", "count"))); };
    } else if (name == "join") {
        fn = [s](Interpreter&, const CallArgs& a) {
            if (a.positional.size() != 1) fail("join() takes exactly one argument");
            std::string out;
            bool first = true;
            for (const Value& v : iterate(a.positional[0])) {
                if (!v.is_string()) fail("sequence item: expected str instance, " + v.type_name() + " found");
                if (!first) out += s;
                first = false;
                out += v.as_string();
            }
            return Value(std::move(out));
        };
    } else if (name == "format") {
        fn = [s](Interpreter&, const CallArgs& a) { return Value(brace_format(s, a)); };
    } else if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "islower" ||
               name == "isupper" || name == "isnumeric" || name == "isdecimal") {
        const std::string which(name);
        fn = [s, which](Interpreter&, const CallArgs&) {
            if (s.empty()) return Value(false);
            bool cased = false;
            for (size_t i = 0; i < s.size();) {
                const uint32_t cp = text::decode(s, i);
                const bool digit = cp >= '0' && cp <= '9';
                const bool lower = cp >= 'a' && cp <= 'z', upper = cp >= 'A' && cp <= 'Z';
                cased = cased || lower || upper;
                if (which == "isspace" && !text::is_space(cp)) return Value(false);
                if ((which == "isdigit" || which == "isnumeric" || which == "isdecimal") && !digit) return Value(false);
                if (which == "isalpha" && !(lower || upper || cp >= 0x80)) return Value(false);
                if (which == "isalnum" && !(lower || upper || digit || cp >= 0x80)) return Value(false);
                if (which == "islower" && upper) return Value(false);
                if (which == "isupper" && lower) return Value(false);
            }
            if (which == "islower" || which == "isupper") return Value(cased);
            return Value(true);
        };
    } else if (name == "center" || name == "ljust" || name == "rjust") {
        const std::string which(name);
        fn = [s, which](Interpreter&, const CallArgs& a) {
            const int64_t width = int_arg(a, 0, "width", 0);
            std::string fill = " ";
            if (const Value* f = a.get(1, "fillchar")) fill = f->is_string() ? f->as_string() : " ";
            const int64_t len = int64_t(text::code_point_count(s));
            if (width <= len) return Value(s);
            const int64_t n = std::min<int64_t>(width - len, 1 << 20);
            auto rep = [&](int64_t k) { std::string r; for (int64_t i = 0; i < k; ++i) r += fill; return r; };
            if (which == "ljust") return Value(s + rep(n));
            if (which == "rjust") return Value(rep(n) + s);
            const int64_t left = n / 2 + (n & width & 1);
            return Value(rep(left) + s + rep(n - left));
        };
    } else if (name == "zfill") {
        fn = [s](Interpreter&, const CallArgs& a) {
            const int64_t width = int_arg(a, 0, "width", 0);
            const int64_t len = int64_t(text::code_point_count(s));
            if (width <= len) return Value(s);
            const size_t sign = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
            return Value(s.substr(0, sign) + std::string(size_t(std::min<int64_t>(width - len, 1 << 20)), '0') + s.substr(sign));
        };
    } else if (name == "partition" || name == "rpartition") {
        const bool right = name[0] == 'r';
        fn = [s, right](Interpreter&, const CallArgs& a) {
            const std::string sep = str_arg(a, 0, "sep", "partition");
            const size_t p = right ? s.rfind(sep) : s.find(sep);
            if (p == std::string::npos)
                return right ? Value(List{Value(""), Value(""), Value(s)}, true) : Value(List{Value(s), Value(""), Value("")}, true);
            return Value(List{Value(s.substr(0, p)), Value(sep), Value(s.substr(p + sep.size()))}, true);
        };
    } else if (name == "removeprefix" || name == "removesuffix") {
        const bool prefix = name == "removeprefix";
        fn = [s, prefix](Interpreter&, const CallArgs& a) {
            const std::string x = str_arg(a, 0, prefix ? "prefix" : "suffix", prefix ? "removeprefix" : "removesuffix");
            if (prefix && s.compare(0, x.size(), x) == 0 && x.size() <= s.size()) return Value(s.substr(x.size()));
            if (!prefix && x.size() <= s.size() && s.compare(s.size() - x.size(), x.size(), x) == 0)
                return Value(s.substr(0, s.size() - x.size()));
            return Value(s);
        };
    }
    if (!fn) return Value();
    return Value::callable("str." + std::string(name), std::move(fn));
}

Value dict_method(const Value& d, std::string_view name) {
    Fn fn;
    if (name == "items") {
        fn = [d](Interpreter&, const CallArgs& a) {
            a.check("items", 0, {});
            List out;
            for (const auto& [k, v] : d.entries()) out.emplace_back(List{k, v}, true);
            return Value(std::move(out));
        };
    } else if (name == "keys") {
        fn = [d](Interpreter&, const CallArgs&) {
            List out;
            for (const auto& [k, v] : d.entries()) out.push_back(k);
            return Value(std::move(out));
        };
    } else if (name == "values") {
        fn = [d](Interpreter&, const CallArgs&) {
            List out;
            for (const auto& [k, v] : d.entries()) out.push_back(v);
            return Value(std::move(out));
        };
    } else if (name == "get") {
        fn = [d](Interpreter&, const CallArgs& a) {
            if (a.positional.empty() || a.positional.size() > 2) fail("get() takes 1 or 2 arguments");
            if (const Value* v = d.find(a.positional[0])) return *v;
            return a.positional.size() > 1 ? a.positional[1] : Value::none();
        };
    } else if (name == "copy") {
        fn = [d](Interpreter&, const CallArgs&) { return Value(Dict(d.entries())); };
    } else if (name == "update" || name == "pop" || name == "popitem" || name == "setdefault" || name == "clear") {
        const std::string n(name);
        fn = [n](Interpreter&, const CallArgs&) -> Value { fail("access to attribute '" + n + "' of 'dict' object is unsafe"); };
    }
    if (!fn) return Value();
    return Value::callable("dict." + std::string(name), std::move(fn));
}

Value list_method(const Value& l, std::string_view name) {
    Fn fn;
    if (name == "index") {
        fn = [l](Interpreter&, const CallArgs& a) {
            if (a.positional.empty()) fail("index() takes at least 1 argument");
            const List& items = l.items();
            for (size_t i = 0; i < items.size(); ++i) if (equals(items[i], a.positional[0])) return Value(int64_t(i));
            fail(repr(a.positional[0]) + " is not in list");
        };
    } else if (name == "count") {
        fn = [l](Interpreter&, const CallArgs& a) {
            if (a.positional.size() != 1) fail("count() takes exactly one argument");
            int64_t n = 0;
            for (const Value& v : l.items()) n += equals(v, a.positional[0]);
            return Value(n);
        };
    } else if (l.is_list() && (name == "append" || name == "extend" || name == "insert" || name == "pop" ||
                               name == "remove" || name == "clear" || name == "sort" || name == "reverse")) {
        const std::string n(name);
        fn = [n](Interpreter&, const CallArgs&) -> Value { fail("access to attribute '" + n + "' of 'list' object is unsafe"); };
    }
    if (!fn) return Value();
    return Value::callable("list." + std::string(name), std::move(fn));
}

}  // namespace

Value bound_method(const Value& obj, std::string_view name) {
    if (obj.is_string()) return string_method(obj.as_string(), name);
    if (obj.is_dict()) return dict_method(obj, name);
    if (obj.is_sequence()) return list_method(obj, name);
    return Value();
}

}  // namespace hearth::jinja
