#include "engine/template/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/template/text.h"

namespace hearth::jinja {
namespace {

struct Spec {
    char fill = ' ';
    char align = 0;  // < > ^ =
    char sign = '-';
    bool alt = false;
    bool zero = false;
    int width = -1;
    int precision = -1;
    char type = 0;
};

std::string pad(std::string body, const Spec& sp, bool numeric) {
    const int len = int(text::code_point_count(body));
    if (sp.width <= len) return body;
    const size_t n = size_t(sp.width - len);
    char align = sp.align ? sp.align : numeric ? '>' : '<';
    char fill = sp.fill;
    if (sp.zero && !sp.align && numeric) { align = '='; fill = '0'; }
    if (align == '<') return body + std::string(n, fill);
    if (align == '>') return std::string(n, fill) + body;
    if (align == '^') return std::string(n / 2, fill) + body + std::string(n - n / 2, fill);
    // '=': padding after the sign
    size_t sign_len = !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ') ? 1 : 0;
    return body.substr(0, sign_len) + std::string(n, fill) + body.substr(sign_len);
}

std::string number(const Value& v, const Spec& sp, const char* function) {
    char type = sp.type;
    if (!v.is_number()) fail(std::string(function) + ": a number is required, not " + v.type_name());
    std::string body;
    char buf[512];
    if (type == 'd' || type == 'i' || type == 'x' || type == 'X' || type == 'o' || type == 'b' || type == 'c') {
        const int64_t i = v.is_float() ? int64_t(std::trunc(v.as_double())) : v.as_int();
        if (type == 'c') {
            std::string s;
            text::append_utf8(s, uint32_t(i));
            return pad(s, sp, false);
        }
        const uint64_t mag = i < 0 ? uint64_t(0) - uint64_t(i) : uint64_t(i);
        if (type == 'b') {
            for (uint64_t m = mag; m; m >>= 1) body += char('0' + (m & 1));
            if (body.empty()) body += '0';
            if (sp.alt) body += "b0";
            std::reverse(body.begin(), body.end());
        } else {
            std::snprintf(buf, sizeof buf, type == 'x' ? "%llx" : type == 'X' ? "%llX" : type == 'o' ? "%llo" : "%llu",
                          static_cast<unsigned long long>(mag));
            body = buf;
            if (sp.alt && type != 'd' && type != 'i') body = (type == 'o' ? "0o" : type == 'x' ? "0x" : "0X") + body;
        }
        if (i < 0) body = "-" + body;
        else if (sp.sign == '+' || sp.sign == ' ') body = std::string(1, sp.sign) + body;
        return pad(body, sp, true);
    }
    const double d = v.as_double();
    const int prec = sp.precision < 0 ? 6 : std::min(sp.precision, 100);
    if (type == '%') {
        std::snprintf(buf, sizeof buf, "%.*f%%", prec, d * 100);
    } else if (type == 0 && sp.precision < 0) {
        body = repr_float(d);
    } else {
        const char t = type == 0 ? 'g' : type;
        const char f[] = {'%', '.', '*', t, 0};
        std::snprintf(buf, sizeof buf, f, prec, d);
    }
    if (body.empty()) body = buf;
    if (body[0] != '-' && (sp.sign == '+' || sp.sign == ' ')) body = std::string(1, sp.sign) + body;
    return pad(body, sp, true);
}

std::string format_one(const Value& v, const Spec& sp, const char* function) {
    if (sp.type == 0 && !v.is_number()) {
        std::string s = sp.type == 'r' ? repr(v) : to_str(v);
        if (sp.precision >= 0) {
            std::vector<std::string> cps = text::code_points(s);
            if (cps.size() > size_t(sp.precision)) {
                s.clear();
                for (int i = 0; i < sp.precision; ++i) s += cps[size_t(i)];
            }
        }
        return pad(s, sp, false);
    }
    if (sp.type == 's' || sp.type == 'r') {
        Spec plain = sp;
        plain.type = 0;
        std::string s = sp.type == 'r' ? repr(v) : to_str(v);
        if (sp.precision >= 0) {
            std::vector<std::string> cps = text::code_points(s);
            if (cps.size() > size_t(sp.precision)) {
                s.clear();
                for (int i = 0; i < sp.precision; ++i) s += cps[size_t(i)];
            }
        }
        return pad(s, plain, false);
    }
    if (sp.type == 0 && v.is_bool()) return pad(to_str(v), sp, false);
    if (sp.type == 0 && !v.is_float()) {
        Spec d = sp;
        d.type = 'd';
        return number(v, d, function);
    }
    return number(v, sp, function);
}

int read_int(std::string_view s, size_t& i) {
    int n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        n = n * 10 + (s[i] - '0');
        if (n > 10000) fail("format width or precision too large");
        ++i;
    }
    return n;
}

}  // namespace

std::string percent_format(std::string_view fmt, const Value& args) {
    std::vector<Value> list;
    const bool mapping = args.is_dict();
    if (args.is_tuple()) list = args.items();
    else list.push_back(args);
    size_t next = 0;
    bool used_mapping = false;
    std::string out;
    for (size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') { out += fmt[i]; continue; }
        if (++i >= fmt.size()) fail("incomplete format");
        const Value* arg = nullptr;
        if (fmt[i] == '(') {
            const size_t close = fmt.find(')', i);
            if (close == std::string_view::npos) fail("incomplete format key");
            if (!mapping) fail("format requires a mapping");
            const Value* v = args.find(fmt.substr(i + 1, close - i - 1));
            if (!v) fail("format key '" + std::string(fmt.substr(i + 1, close - i - 1)) + "' not found");
            arg = v;
            used_mapping = true;
            i = close + 1;
        }
        Spec sp;
        sp.align = '>';
        for (; i < fmt.size(); ++i) {
            const char c = fmt[i];
            if (c == '-') sp.align = '<';
            else if (c == '0') sp.zero = true;
            else if (c == '+' || c == ' ') sp.sign = c;
            else if (c == '#') sp.alt = true;
            else break;
        }
        if (sp.zero && sp.align == '<') sp.zero = false;
        if (sp.zero) sp.align = 0;
        if (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') sp.width = read_int(fmt, i);
        if (i < fmt.size() && fmt[i] == '.') { ++i; sp.precision = read_int(fmt, i); }
        if (i >= fmt.size()) fail("incomplete format");
        const char conv = fmt[i];
        if (conv == '%') { out += '%'; continue; }
        if (!arg) {
            if (mapping && list.size() == 1 && !args.is_tuple()) {
                if (next >= 1) fail("not enough arguments for format string");
                arg = &args;
                next = 1;
            } else {
                if (next >= list.size()) fail("not enough arguments for format string");
                arg = &list[next++];
            }
        }
        if (std::string_view("sdirfFeEgGxXoc").find(conv) == std::string_view::npos)
            fail(std::string("unsupported format character '") + conv + "'");
        sp.type = conv == 'i' ? 'd' : conv;
        if (conv == 'd' && !arg->is_number()) fail("%d format: a real number is required, not " + arg->type_name());
        out += format_one(*arg, sp, "format");
    }
    if (!used_mapping && !mapping && next < list.size()) fail("not all arguments converted during string formatting");
    return out;
}

std::string brace_format(std::string_view fmt, const CallArgs& args) {
    std::string out;
    size_t auto_index = 0;
    for (size_t i = 0; i < fmt.size(); ++i) {
        const char c = fmt[i];
        if (c == '}') {
            if (i + 1 < fmt.size() && fmt[i + 1] == '}') { out += '}'; ++i; continue; }
            fail("single '}' encountered in format string");
        }
        if (c != '{') { out += c; continue; }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') { out += '{'; ++i; continue; }
        const size_t close = fmt.find('}', i);
        if (close == std::string_view::npos) fail("single '{' encountered in format string");
        std::string_view field = fmt.substr(i + 1, close - i - 1);
        i = close;
        std::string_view spec;
        if (const size_t colon = field.find(':'); colon != std::string_view::npos) {
            spec = field.substr(colon + 1);
            field = field.substr(0, colon);
        }
        char conversion = 0;
        if (const size_t bang = field.find('!'); bang != std::string_view::npos) {
            if (bang + 1 < field.size()) conversion = field[bang + 1];
            field = field.substr(0, bang);
        }
        const Value* arg = nullptr;
        if (field.empty()) {
            if (auto_index >= args.positional.size()) fail("replacement index " + std::to_string(auto_index) + " out of range");
            arg = &args.positional[auto_index++];
        } else if (field[0] >= '0' && field[0] <= '9') {
            size_t k = 0;
            const int idx = read_int(field, k);
            if (size_t(idx) >= args.positional.size()) fail("replacement index " + std::to_string(idx) + " out of range");
            arg = &args.positional[size_t(idx)];
        } else {
            for (const auto& [k, v] : args.keyword) if (k == field) arg = &v;
            if (!arg) fail("format key '" + std::string(field) + "' not found");
        }
        Value v = conversion == 'r' ? Value(repr(*arg)) : conversion == 's' ? Value(to_str(*arg)) : *arg;
        Spec sp;
        size_t k = 0;
        if (spec.size() >= 2 && std::string_view("<>^=").find(spec[1]) != std::string_view::npos) {
            sp.fill = spec[0];
            sp.align = spec[1];
            k = 2;
        } else if (!spec.empty() && std::string_view("<>^=").find(spec[0]) != std::string_view::npos) {
            sp.align = spec[0];
            k = 1;
        }
        if (k < spec.size() && (spec[k] == '+' || spec[k] == '-' || spec[k] == ' ')) sp.sign = spec[k++];
        if (k < spec.size() && spec[k] == '#') { sp.alt = true; ++k; }
        if (k < spec.size() && spec[k] == '0') { sp.zero = true; ++k; }
        if (k < spec.size() && spec[k] >= '0' && spec[k] <= '9') sp.width = read_int(spec, k);
        if (k < spec.size() && spec[k] == '.') { ++k; sp.precision = read_int(spec, k); }
        if (k < spec.size()) sp.type = spec[k++];
        if (k != spec.size()) fail("invalid format specifier '" + std::string(spec) + "'");
        out += format_one(v, sp, "format");
    }
    return out;
}

}  // namespace hearth::jinja
