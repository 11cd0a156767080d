// Jinja's builtin filters (the ones chat templates use), with transformers' tojson.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "engine/template/format.h"
#include "engine/template/interpreter.h"
#include "engine/template/text.h"

namespace hearth::jinja {
namespace {

using A = const CallArgs&;
using I = Interpreter&;
using V = const Value&;

bool flag(A a, size_t i, std::string_view name, bool dflt) {
    const Value* v = a.get(i, name);
    return v ? truthy(*v) : dflt;
}

int64_t int_param(A a, size_t i, std::string_view name, int64_t dflt) {
    const Value* v = a.get(i, name);
    if (!v || v->is_none()) return dflt;
    if (!v->is_number()) fail("'" + std::string(name) + "' must be an integer, not " + v->type_name());
    return v->as_int();
}

// Jinja's make_attrgetter: "a.b.0" walks items/attributes; digit parts are integer indexes.
Value get_path(I in, const Value& obj, const std::string& path) {
    Value cur = obj;
    for (const std::string& part : text::split(path, ".", -1)) {
        const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        cur = in.get_item(cur, digits ? Value(int64_t(std::strtoll(part.c_str(), nullptr, 10))) : Value(part));
    }
    return cur;
}

Value attribute_of(I in, const Value& item, A a, size_t index) {
    const Value* attr = a.get(index, "attribute");
    if (!attr || attr->is_none()) return item;
    if (attr->is_int()) return in.get_item(item, *attr);
    return get_path(in, item, to_str(*attr));
}

// Sort key for sort/unique/min/max: strings fold case unless case_sensitive.
Value fold(const Value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_string()) return Value(text::lower(v.as_string()));
    return v;
}

Value f_abs(I, V v, A) {
    if (v.is_float()) return Value(std::fabs(v.as_double()));
    if (v.is_number()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    fail("bad operand type for abs(): '" + v.type_name() + "'");
}

Value f_attr(I in, V v, A a) {
    a.check("attr", 1, {"name"});
    const Value* name = a.get(0, "name");
    if (!name || !name->is_string()) fail("attr filter needs an attribute name");
    // Python getattr only: a dict's items are not attributes (its methods are).
    if (v.is_dict() || v.is_sequence() || v.is_string()) {
        Value m = bound_method(v, name->as_string());
        if (!m.is_undefined()) return m;
        return Value::undefined("'" + v.type_name() + " object' has no attribute '" + name->as_string() + "'");
    }
    return in.get_attr(v, name->as_string());
}

Value f_batch(I, V v, A a) {
    a.check("batch", 2, {"linecount", "fill_with"});
    const int64_t n = int_param(a, 0, "linecount", 0);
    if (n <= 0) fail("batch size must be positive");
    const Value* fill = a.get(1, "fill_with");
    List out, cur;
    for (Value& item : iterate(v)) {
        cur.push_back(std::move(item));
        if (int64_t(cur.size()) == n) out.emplace_back(std::move(cur)), cur = List();
    }
    if (!cur.empty()) {
        if (fill && !fill->is_none()) while (int64_t(cur.size()) < n) cur.push_back(*fill);
        out.emplace_back(std::move(cur));
    }
    return Value(std::move(out));
}

Value f_capitalize(I, V v, A) { return Value(text::capitalize(to_str(v))); }

Value f_center(I, V v, A a) {
    const std::string s = to_str(v);
    const int64_t width = int_param(a, 0, "width", 80);
    const int64_t len = int64_t(text::code_point_count(s));
    if (width <= len) return Value(s);
    const int64_t n = std::min<int64_t>(width - len, 1 << 20);
    const int64_t left = n / 2 + (n & width & 1);
    return Value(std::string(size_t(left), ' ') + s + std::string(size_t(n - left), ' '));
}

Value f_default(I, V v, A a) {
    a.check("default", 2, {"default_value", "boolean"});
    const Value* d = a.get(0, "default_value");
    const bool boolean = flag(a, 1, "boolean", false);
    if (v.is_undefined() || (boolean && !truthy(v))) return d ? *d : Value("");
    return v;
}

Value f_dictsort(I, V v, A a) {
    a.check("dictsort", 3, {"case_sensitive", "by", "reverse"});
    if (!v.is_dict()) fail("dictsort expects a mapping, not " + v.type_name());
    const bool cs = flag(a, 0, "case_sensitive", false);
    std::string by = "key";
    if (const Value* b = a.get(1, "by")) by = to_str(*b);
    if (by != "key" && by != "value") fail("You can only sort by either 'key' or 'value'");
    const bool rev = flag(a, 2, "reverse", false);
    List pairs;
    for (const auto& [k, val] : v.entries()) pairs.emplace_back(List{k, val}, true);
    const size_t pos = by == "key" ? 0 : 1;
    std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
        const int c = compare(fold(x.items()[pos], cs), fold(y.items()[pos], cs));
        return rev ? c > 0 : c < 0;
    });
    return Value(std::move(pairs));
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

Value f_escape(I, V v, A) { return Value(html_escape(to_str(v))); }

Value f_first(I, V v, A) {
    List items = iterate(v);
    if (items.empty()) return Value::undefined("No first item, sequence was empty.");
    return items.front();
}

Value f_last(I, V v, A) {
    List items = iterate(v);
    if (items.empty()) return Value::undefined("No last item, sequence was empty.");
    return items.back();
}

// Python float(str): optional whitespace, sign, digits, '.', exponent, inf/nan.
bool parse_float(const std::string& s, double* out) {
    const std::string t = text::strip(s, true, true);
    if (t.empty()) return false;
    std::string clean;
    for (char c : t) if (c != '_') clean += c;
    char* end = nullptr;
    *out = std::strtod(clean.c_str(), &end);
    return end && *end == 0 && clean.find_first_of("xXpP") == std::string::npos;
}

Value f_float(I, V v, A a) {
    const Value* d = a.get(0, "default");
    const Value dflt = d ? *d : Value(0.0);
    if (v.is_number()) return Value(v.as_double());
    if (v.is_string()) {
        double x;
        if (parse_float(v.as_string(), &x)) return Value(x);
    }
    return dflt;
}

Value f_int(I, V v, A a) {
    a.check("int", 2, {"default", "base"});
    const Value* d = a.get(0, "default");
    const Value dflt = d ? *d : Value(int64_t(0));
    const int64_t base = int_param(a, 1, "base", 10);
    if (v.is_float()) {
        const double x = v.as_double();
        if (!std::isfinite(x) || std::fabs(x) > 9.2e18) return dflt;
        return Value(int64_t(std::trunc(x)));
    }
    if (v.is_number()) return Value(v.as_int());
    if (v.is_string()) {
        std::string t = text::strip(v.as_string(), true, true);
        std::string clean;
        for (char c : t) if (c != '_') clean += c;
        if (!clean.empty()) {
            errno = 0;
            char* end = nullptr;
            const long long x = std::strtoll(clean.c_str(), &end, int(base));
            if (end && *end == 0 && errno == 0) return Value(int64_t(x));
        }
        double x;
        if (base == 10 && parse_float(v.as_string(), &x) && std::isfinite(x) && std::fabs(x) < 9.2e18)
            return Value(int64_t(std::trunc(x)));
    }
    return dflt;
}

Value f_indent(I, V v, A a) {
    a.check("indent", 3, {"width", "first", "blank"});
    std::string indention = "    ";
    if (const Value* w = a.get(0, "width")) {
        if (w->is_string()) indention = w->as_string();
        else indention = std::string(size_t(std::clamp<int64_t>(w->as_int(), 0, 1 << 16)), ' ');
    }
    const bool first = flag(a, 1, "first", false), blank = flag(a, 2, "blank", false);
    // As Jinja: s + "\n", then splitlines().
    std::string s = to_str(v) + "\n";
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c != '\n' && c != '\r' && c != '\v' && c != '\f' && c != '\x1c' && c != '\x1d' && c != '\x1e') continue;
        lines.push_back(s.substr(start, i - start));
        if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        start = i + 1;
    }
    if (start < s.size()) lines.push_back(s.substr(start));
    std::string rv;
    if (blank) {
        for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
    } else if (!lines.empty()) {
        rv = lines[0];
        for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : indention) + lines[i];
    }
    if (first) rv = indention + rv;
    return Value(std::move(rv));
}

Value f_items(I, V v, A) {
    if (v.is_undefined()) return Value(List{});
    if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, val] : v.entries()) out.emplace_back(List{k, val}, true);
    return Value(std::move(out));
}

Value f_join(I in, V v, A a) {
    a.check("join", 2, {"d", "attribute"});
    std::string sep;
    if (const Value* d = a.get(0, "d")) sep = to_str(*d);
    std::string out;
    bool first = true;
    for (const Value& item : iterate(v)) {
        if (!first) out += sep;
        first = false;
        out += to_str(attribute_of(in, item, a, 1));
    }
    return Value(std::move(out));
}

Value f_length(I, V v, A) { return Value(length(v)); }
Value f_list(I, V v, A) { return Value(iterate(v)); }
Value f_lower(I, V v, A) { return Value(text::lower(to_str(v))); }
Value f_upper(I, V v, A) { return Value(text::upper(to_str(v))); }
Value f_title(I, V v, A) {
    // Jinja's do_title: words split on runs of -, whitespace, ( { [ <; first letter upper, rest lower.
    const std::string s = to_str(v);
    std::string out;
    bool word_start = true;
    for (size_t i = 0; i < s.size();) {
        const size_t start = i;
        const uint32_t cp = text::decode(s, i);
        const bool sep = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || text::is_space(cp);
        std::string ch = s.substr(start, i - start);
        if (sep) { out += ch; word_start = true; continue; }
        out += word_start ? text::upper(ch) : text::lower(ch);
        word_start = false;
    }
    return Value(std::move(out));
}

Value f_map(I in, V v, A a) {
    List out;
    const bool by_attribute =
        a.positional.empty() && std::any_of(a.keyword.begin(), a.keyword.end(), [](auto& kv) { return kv.first == "attribute"; });
    if (by_attribute) {
        for (const Value& item : iterate(v)) {
            Value r = attribute_of(in, item, a, size_t(-1));
            if (r.is_undefined()) {
                for (const auto& [k, d] : a.keyword) if (k == "default") r = d;
            }
            out.push_back(std::move(r));
        }
        return Value(std::move(out));
    }
    if (a.positional.empty()) fail("map requires a filter argument");
    if (!a.positional[0].is_string()) fail("map filter needs a filter name or attribute=");
    const std::string name = a.positional[0].as_string();
    CallArgs rest;
    rest.positional.assign(a.positional.begin() + 1, a.positional.end());
    rest.keyword = a.keyword;
    for (const Value& item : iterate(v)) out.push_back(in.filter(name, item, rest));
    return Value(std::move(out));
}

// select/reject/selectattr/rejectattr share this: test name at `test_index` (absent: truthiness).
Value select_impl(I in, V v, A a, bool attr, bool keep) {
    size_t test_index = 0;
    std::string attribute;
    if (attr) {
        if (a.positional.empty() || !a.positional[0].is_string()) fail("selectattr/rejectattr need an attribute name");
        attribute = a.positional[0].as_string();
        test_index = 1;
    }
    std::string test_name;
    CallArgs test_args;
    if (a.positional.size() > test_index) {
        if (!a.positional[test_index].is_string()) fail("the test name must be a string");
        test_name = a.positional[test_index].as_string();
        test_args.positional.assign(a.positional.begin() + std::ptrdiff_t(test_index) + 1, a.positional.end());
        test_args.keyword = a.keyword;
    }
    List out;
    for (const Value& item : iterate(v)) {
        const Value subject = attr ? get_path(in, item, attribute) : item;
        const bool pass = test_name.empty() ? truthy(subject) : in.test(test_name, subject, test_args);
        if (pass == keep) out.push_back(item);
    }
    return Value(std::move(out));
}

Value f_select(I in, V v, A a) { return select_impl(in, v, a, false, true); }
Value f_reject(I in, V v, A a) { return select_impl(in, v, a, false, false); }
Value f_selectattr(I in, V v, A a) { return select_impl(in, v, a, true, true); }
Value f_rejectattr(I in, V v, A a) { return select_impl(in, v, a, true, false); }

Value min_max(I in, V v, A a, bool want_max) {
    a.check(want_max ? "max" : "min", 2, {"case_sensitive", "attribute"});
    const bool cs = flag(a, 0, "case_sensitive", false);
    List items = iterate(v);
    if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
    size_t best = 0;
    for (size_t i = 1; i < items.size(); ++i) {
        const int c = compare(fold(attribute_of(in, items[i], a, 1), cs), fold(attribute_of(in, items[best], a, 1), cs));
        if (want_max ? c > 0 : c < 0) best = i;
    }
    return items[best];
}

Value f_max(I in, V v, A a) { return min_max(in, v, a, true); }
Value f_min(I in, V v, A a) { return min_max(in, v, a, false); }

Value f_pprint(I, V v, A) { return Value(repr(v)); }

Value f_replace(I, V v, A a) {
    a.check("replace", 3, {"old", "new", "count"});
    const Value* o = a.get(0, "old");
    const Value* n = a.get(1, "new");
    if (!o || !n) fail("replace filter needs old and new strings");
    return Value(text::replace(to_str(v), to_str(*o), to_str(*n), int_param(a, 2, "count", -1)));
}

Value f_reverse(I, V v, A) {
    if (v.is_string()) {
        std::vector<std::string> cps = text::code_points(v.as_string());
        std::string out;
        for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
        return Value(std::move(out));
    }
    List items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
}

Value f_round(I, V v, A a) {
    a.check("round", 2, {"precision", "method"});
    const int64_t precision = int_param(a, 0, "precision", 0);
    std::string method = "common";
    if (const Value* m = a.get(1, "method")) method = to_str(*m);
    if (method != "common" && method != "ceil" && method != "floor")
        fail("method must be common, ceil or floor");
    if (!v.is_number()) fail("type " + v.type_name() + " doesn't define __round__ method");
    if (method == "common" && !v.is_float()) return Value(v.as_int());  // Python round(int, n) stays an int
    const double scale = std::pow(10.0, double(precision));
    const double x = v.as_double() * scale;
    double r;
    if (method == "ceil") r = std::ceil(x);
    else if (method == "floor") r = std::floor(x);
    else {
        r = std::nearbyint(x);  // round half to even, as Python's round
    }
    return Value(r / scale);
}

Value f_safe(I, V v, A) { return v.is_string() ? v : Value(to_str(v)); }

Value f_sort(I in, V v, A a) {
    a.check("sort", 3, {"reverse", "case_sensitive", "attribute"});
    const bool rev = flag(a, 0, "reverse", false), cs = flag(a, 1, "case_sensitive", false);
    List items = iterate(v);
    std::vector<std::pair<Value, size_t>> keyed;
    for (size_t i = 0; i < items.size(); ++i) keyed.emplace_back(fold(attribute_of(in, items[i], a, 2), cs), i);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
        const int c = compare(x.first, y.first);
        return rev ? c > 0 : c < 0;
    });
    List out;
    for (const auto& k : keyed) out.push_back(items[k.second]);
    return Value(std::move(out));
}

Value f_string(I, V v, A) { return Value(to_str(v)); }

Value f_sum(I in, V v, A a) {
    a.check("sum", 2, {"attribute", "start"});
    Value total = a.get(1, "start") ? *a.get(1, "start") : Value(int64_t(0));
    for (const Value& item : iterate(v)) {
        const Value x = attribute_of(in, item, a, 0);
        if (!x.is_number() || !total.is_number()) fail("unsupported operand type(s) for +: '" + total.type_name() + "' and '" + x.type_name() + "'");
        if (total.is_float() || x.is_float()) total = Value(total.as_double() + x.as_double());
        else total = Value(total.as_int() + x.as_int());
    }
    return total;
}

Value f_tojson(I, V v, A a) {
    // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
    a.check("tojson", 4, {"ensure_ascii", "indent", "separators", "sort_keys"});
    const bool ensure_ascii = flag(a, 0, "ensure_ascii", false);
    int indent = -1;
    if (const Value* i = a.get(1, "indent"); i && !i->is_none()) {
        if (!i->is_number()) fail("tojson indent must be an integer");
        indent = int(std::clamp<int64_t>(i->as_int(), 0, 64));
    }
    std::string item_sep = indent >= 0 ? "," : ", ", key_sep = ": ";
    if (const Value* s = a.get(2, "separators"); s && !s->is_none()) {
        if (!s->is_sequence() || s->items().size() != 2 || !s->items()[0].is_string() || !s->items()[1].is_string())
            fail("tojson separators must be a pair of strings");
        item_sep = s->items()[0].as_string();
        key_sep = s->items()[1].as_string();
    }
    return Value(to_json(v, indent, ensure_ascii, item_sep, key_sep, flag(a, 3, "sort_keys", false)));
}

Value f_trim(I, V v, A a) {
    a.check("trim", 1, {"chars"});
    const Value* chars = a.get(0, "chars");
    if (chars && !chars->is_none()) return Value(text::strip_chars(to_str(v), to_str(*chars), true, true));
    return Value(text::strip(to_str(v), true, true));
}

Value f_truncate(I, V v, A a) {
    a.check("truncate", 4, {"length", "killwords", "end", "leeway"});
    const std::string s = to_str(v);
    const int64_t len = int_param(a, 0, "length", 255);
    const bool killwords = flag(a, 1, "killwords", false);
    std::string end = "...";
    if (const Value* e = a.get(2, "end")) end = to_str(*e);
    const int64_t leeway = int_param(a, 3, "leeway", 5);
    std::vector<std::string> cps = text::code_points(s);
    const int64_t n = int64_t(cps.size()), end_len = int64_t(text::code_point_count(end));
    if (n <= len + leeway) return Value(s);
    std::string head;
    for (int64_t i = 0; i < std::max<int64_t>(0, len - end_len) && i < n; ++i) head += cps[size_t(i)];
    if (killwords) return Value(head + end);
    const size_t sp = head.rfind(' ');
    if (sp != std::string::npos) head = head.substr(0, sp);
    return Value(head + end);
}

Value f_unique(I in, V v, A a) {
    a.check("unique", 2, {"case_sensitive", "attribute"});
    const bool cs = flag(a, 0, "case_sensitive", false);
    List out, seen;
    for (const Value& item : iterate(v)) {
        const Value key = fold(attribute_of(in, item, a, 1), cs);
        bool dup = false;
        for (const Value& s : seen) if (equals(s, key)) { dup = true; break; }
        if (dup) continue;
        seen.push_back(key);
        out.push_back(item);
    }
    return Value(std::move(out));
}

Value f_wordcount(I, V v, A) { return Value(int64_t(text::split(to_str(v), "", -1).size())); }

Value f_format(I, V v, A a) {
    if (!a.keyword.empty() && !a.positional.empty()) fail("can't handle positional and keyword arguments at the same time");
    if (!a.keyword.empty()) {
        Dict d;
        for (const auto& [k, x] : a.keyword) d.emplace_back(Value(k), x);
        return Value(percent_format(to_str(v), Value(std::move(d))));
    }
    return Value(percent_format(to_str(v), Value(List(a.positional.begin(), a.positional.end()), true)));
}

}  // namespace

const std::map<std::string, FilterFn, std::less<>>& builtin_filters() {
    static const std::map<std::string, FilterFn, std::less<>> filters = {
        {"abs", f_abs},           {"attr", f_attr},         {"batch", f_batch},
        {"capitalize", f_capitalize}, {"center", f_center}, {"count", f_length},
        {"d", f_default},         {"default", f_default},   {"dictsort", f_dictsort},
        {"e", f_escape},          {"escape", f_escape},     {"first", f_first},
        {"float", f_float},       {"forceescape", f_escape}, {"format", f_format},
        {"indent", f_indent},     {"int", f_int},           {"items", f_items},
        {"join", f_join},         {"last", f_last},         {"length", f_length},
        {"list", f_list},         {"lower", f_lower},       {"map", f_map},
        {"max", f_max},           {"min", f_min},           {"pprint", f_pprint},
        {"reject", f_reject},     {"rejectattr", f_rejectattr}, {"replace", f_replace},
        {"reverse", f_reverse},   {"round", f_round},       {"safe", f_safe},
        {"select", f_select},     {"selectattr", f_selectattr}, {"sort", f_sort},
        {"string", f_string},     {"sum", f_sum},           {"title", f_title},
        {"tojson", f_tojson},     {"trim", f_trim},         {"truncate", f_truncate},
        {"unique", f_unique},     {"upper", f_upper},       {"wordcount", f_wordcount},
    };
    return filters;
}

}  // namespace hearth::jinja
