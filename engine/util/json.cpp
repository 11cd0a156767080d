#include "engine/util/json.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/util/utf8.h"

namespace hearth::json {

namespace {
const Array kEmptyArray;
const Object kEmptyObject;
const Value kNull;
}  // namespace

const Array& Value::as_array() const { return type_ == Type::Array ? *a_ : kEmptyArray; }
const Object& Value::as_object() const { return type_ == Type::Object ? *o_ : kEmptyObject; }
Array& Value::mutable_array() { return *a_; }
Object& Value::mutable_object() { return *o_; }

const Value* Value::find(std::string_view key) const {
    if (type_ != Type::Object) return nullptr;
    for (const auto& [k, v] : *o_) if (k == key) return &v;
    return nullptr;
}

const Value& Value::operator[](std::string_view key) const {
    const Value* v = find(key);
    return v ? *v : kNull;
}

void Value::set(std::string key, Value v) {
    for (auto& kv : *o_) {
        if (kv.first == key) { kv.second = std::move(v); return; }
    }
    o_->emplace_back(std::move(key), std::move(v));
}

void Value::push_back(Value v) { a_->push_back(std::move(v)); }

size_t Value::size() const {
    switch (type_) {
        case Type::Array: return a_->size();
        case Type::Object: return o_->size();
        case Type::String: return s_.size();
        default: return 0;
    }
}

bool operator==(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_int() && b.is_int()) return a.i_ == b.i_;
        return a.as_double() == b.as_double();
    }
    if (a.type_ != b.type_) return false;
    switch (a.type_) {
        case Value::Type::Null: return true;
        case Value::Type::Bool: return a.b_ == b.b_;
        case Value::Type::String: return a.s_ == b.s_;
        case Value::Type::Array: return *a.a_ == *b.a_;
        case Value::Type::Object: return *a.o_ == *b.o_;
        default: return false;
    }
}

// ---------------------------------------------------------------- serialization

namespace {

void append_utf16_escape(std::string& out, unsigned cp) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", cp);
    out += buf;
}

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i. Invalid bytes yield
// U+FFFD and advance by one (serialization must not fail on bad input).
unsigned next_code_point(std::string_view s, size_t& i) {
    uint32_t cp = 0;
    const size_t len = utf8_decode_at(s, i, &cp);
    if (len == 0) { ++i; return 0xFFFD; }
    i += len;
    return cp;
}

void dump_string(std::string& out, std::string_view s, bool ensure_ascii) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = s[i];
        switch (c) {
            case '"': out += "\\\""; ++i; continue;
            case '\\': out += "\\\\"; ++i; continue;
            case '\n': out += "\\n"; ++i; continue;
            case '\r': out += "\\r"; ++i; continue;
            case '\t': out += "\\t"; ++i; continue;
            case '\b': out += "\\b"; ++i; continue;
            case '\f': out += "\\f"; ++i; continue;
            default: break;
        }
        if (c < 0x20) { append_utf16_escape(out, c); ++i; continue; }
        if (c < 0x80) { out += char(c); ++i; continue; }
        if (!ensure_ascii) {  // as it is when well formed, else U+FFFD: the output is always UTF-8
            uint32_t cp = 0;
            const size_t len = utf8_decode_at(s, i, &cp);
            if (len) out.append(s.substr(i, len));
            else out += "\xEF\xBF\xBD";
            i += len ? len : 1;
            continue;
        }
        const unsigned cp = next_code_point(s, i);
        if (cp >= 0x10000) {
            const unsigned v = cp - 0x10000;
            append_utf16_escape(out, 0xD800 + (v >> 10));
            append_utf16_escape(out, 0xDC00 + (v & 0x3ff));
        } else {
            append_utf16_escape(out, cp);
        }
    }
    out += '"';
}

// Python's repr(float): shortest round-trip digits, scientific when exp < -4 or exp >= 16.
void dump_double(std::string& out, double d) {
    if (std::isnan(d)) { out += "NaN"; return; }
    if (std::isinf(d)) { out += d < 0 ? "-Infinity" : "Infinity"; return; }
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, r.ptr);  // e.g. "-1.2345e+17"
    bool neg = sci[0] == '-';
    if (neg) sci.erase(0, 1);
    const size_t e = sci.find('e');
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exp = std::stoi(sci.substr(e + 1));
    if (neg) out += '-';
    if (exp < -4 || exp >= 16) {
        out += digits[0];
        if (digits.size() > 1) { out += '.'; out.append(digits, 1); }
        std::snprintf(buf, sizeof buf, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
        out += buf;
    } else if (exp < 0) {
        out += "0.";
        out.append(size_t(-exp - 1), '0');
        out += digits;
    } else {
        const size_t int_len = size_t(exp) + 1;
        if (digits.size() <= int_len) {
            out += digits;
            out.append(int_len - digits.size(), '0');
            out += ".0";
        } else {
            out.append(digits, 0, int_len);
            out += '.';
            out.append(digits, int_len);
        }
    }
}

void dump_value(std::string& out, const Value& v, int indent, int depth, bool ensure_ascii) {
    auto newline = [&](int d) {
        out += '\n';
        out.append(size_t(indent) * size_t(d), ' ');
    };
    switch (v.type()) {
        case Value::Type::Null: out += "null"; break;
        case Value::Type::Bool: out += v.as_bool() ? "true" : "false"; break;
        case Value::Type::Int: out += std::to_string(v.as_int()); break;
        case Value::Type::Float: dump_double(out, v.as_double()); break;
        case Value::Type::String: dump_string(out, v.as_string(), ensure_ascii); break;
        case Value::Type::Array: {
            const Array& a = v.as_array();
            if (a.empty()) { out += "[]"; break; }
            out += '[';
            for (size_t i = 0; i < a.size(); ++i) {
                if (i) out += indent >= 0 ? "," : ", ";
                if (indent >= 0) newline(depth + 1);
                dump_value(out, a[i], indent, depth + 1, ensure_ascii);
            }
            if (indent >= 0) newline(depth);
            out += ']';
            break;
        }
        case Value::Type::Object: {
            const Object& o = v.as_object();
            if (o.empty()) { out += "{}"; break; }
            out += '{';
            for (size_t i = 0; i < o.size(); ++i) {
                if (i) out += indent >= 0 ? "," : ", ";
                if (indent >= 0) newline(depth + 1);
                dump_string(out, o[i].first, ensure_ascii);
                out += ": ";
                dump_value(out, o[i].second, indent, depth + 1, ensure_ascii);
            }
            if (indent >= 0) newline(depth);
            out += '}';
            break;
        }
    }
}

}  // namespace

std::string Value::dump(int indent, bool ensure_ascii) const {
    std::string out;
    dump_value(out, *this, indent, 0, ensure_ascii);
    return out;
}

// ---------------------------------------------------------------- parsing

namespace {

constexpr int kMaxDepth = 512;  // hostile nesting must not overflow the stack

class Parser {
public:
    explicit Parser(std::string_view t) : t_(t) {}

    Result<Value> parse_document() {
        Value v;
        if (!parse_value(v, 0)) return make_error(err_);
        skip_ws();
        if (p_ != t_.size()) return fail_at("unexpected trailing characters");
        return v;
    }

private:
    std::string_view t_;
    size_t p_ = 0;
    std::string err_;

    Status fail_at(const std::string& what) {
        size_t line = 1, col = 1;
        for (size_t i = 0; i < p_ && i < t_.size(); ++i) {
            if (t_[i] == '\n') { ++line; col = 1; } else { ++col; }
        }
        return make_error("JSON: " + what + " at line " + std::to_string(line) + ", column " + std::to_string(col));
    }
    bool fail(const std::string& what) { err_ = fail_at(what).message(); return false; }

    void skip_ws() {
        while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\n' || t_[p_] == '\r' || t_[p_] == '\t')) ++p_;
    }

    bool literal(std::string_view word) {
        if (t_.substr(p_, word.size()) != word) return false;
        p_ += word.size();
        return true;
    }

    bool parse_value(Value& out, int depth) {
        if (depth > kMaxDepth) return fail("nesting deeper than 512 levels");
        skip_ws();
        if (p_ >= t_.size()) return fail("unexpected end of input");
        const char c = t_[p_];
        if (c == '{') return parse_object(out, depth);
        if (c == '[') return parse_array(out, depth);
        if (c == '"') {
            std::string s;
            if (!parse_string(s)) return false;
            out = Value(std::move(s));
            return true;
        }
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(out);
        if (literal("true")) { out = Value(true); return true; }
        if (literal("false")) { out = Value(false); return true; }
        if (literal("null")) { out = Value(); return true; }
        if (literal("NaN")) { out = Value(std::nan("")); return true; }
        if (literal("Infinity")) { out = Value(HUGE_VAL); return true; }
        return fail(std::string("unexpected character '") + c + "'");
    }

    bool parse_object(Value& out, int depth) {
        ++p_;  // {
        Object obj;
        skip_ws();
        if (p_ < t_.size() && t_[p_] == '}') { ++p_; out = Value(std::move(obj)); return true; }
        for (;;) {
            skip_ws();
            if (p_ >= t_.size() || t_[p_] != '"') return fail("expected a string key");
            std::string key;
            if (!parse_string(key)) return false;
            skip_ws();
            if (p_ >= t_.size() || t_[p_] != ':') return fail("expected ':'");
            ++p_;
            Value v;
            if (!parse_value(v, depth + 1)) return false;
            obj.emplace_back(std::move(key), std::move(v));
            skip_ws();
            if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
            if (p_ < t_.size() && t_[p_] == '}') { ++p_; break; }
            return fail("expected ',' or '}'");
        }
        out = Value(std::move(obj));
        return true;
    }

    bool parse_array(Value& out, int depth) {
        ++p_;  // [
        Array arr;
        skip_ws();
        if (p_ < t_.size() && t_[p_] == ']') { ++p_; out = Value(std::move(arr)); return true; }
        for (;;) {
            Value v;
            if (!parse_value(v, depth + 1)) return false;
            arr.push_back(std::move(v));
            skip_ws();
            if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
            if (p_ < t_.size() && t_[p_] == ']') { ++p_; break; }
            return fail("expected ',' or ']'");
        }
        out = Value(std::move(arr));
        return true;
    }

    bool hex4(unsigned& v) {
        if (p_ + 4 > t_.size()) return fail("truncated \\u escape");
        v = 0;
        for (int k = 0; k < 4; ++k) {
            const char h = t_[p_++];
            v <<= 4;
            if (h >= '0' && h <= '9') v |= unsigned(h - '0');
            else if (h >= 'a' && h <= 'f') v |= unsigned(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') v |= unsigned(h - 'A' + 10);
            else return fail("bad hex digit in \\u escape");
        }
        return true;
    }

    bool parse_string(std::string& s) {
        ++p_;  // opening quote
        for (;;) {
            // copy the run of plain bytes at once (tokenizer.json is mostly plain text); JSON text is
            // UTF-8 (RFC 8259), so a byte that does not start a well-formed sequence is an error
            size_t q = p_;
            while (q < t_.size() && t_[q] != '"' && t_[q] != '\\' && static_cast<unsigned char>(t_[q]) >= 0x20) {
                if (static_cast<unsigned char>(t_[q]) < 0x80) {
                    ++q;
                    continue;
                }
                uint32_t cp = 0;
                const size_t len = utf8_decode_at(t_, q, &cp);
                if (len == 0) {
                    p_ = q;
                    return fail("invalid UTF-8 in a string");
                }
                q += len;
            }
            s.append(t_.data() + p_, q - p_);
            p_ = q;
            if (p_ >= t_.size()) return fail("unterminated string");
            const char c = t_[p_];
            if (c == '"') { ++p_; return true; }
            if (c != '\\') return fail("control character in string");
            if (++p_ >= t_.size()) return fail("unterminated escape");
            const char e = t_[p_++];
            switch (e) {
                case '"': s += '"'; break;
                case '\\': s += '\\'; break;
                case '/': s += '/'; break;
                case 'b': s += '\b'; break;
                case 'f': s += '\f'; break;
                case 'n': s += '\n'; break;
                case 'r': s += '\r'; break;
                case 't': s += '\t'; break;
                case 'u': {
                    unsigned cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp < 0xDC00 && p_ + 6 <= t_.size() && t_[p_] == '\\' && t_[p_ + 1] == 'u') {
                        const size_t save = p_;
                        p_ += 2;
                        unsigned lo = 0;
                        if (!hex4(lo)) return false;
                        if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        else p_ = save;  // lone high surrogate: keep it (as U+FFFD below)
                    }
                    if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;
                    utf8_append(s, cp);
                    break;
                }
                default: return fail(std::string("bad escape '\\") + e + "'");
            }
        }
    }

    bool parse_number(Value& out) {
        const size_t start = p_;
        if (t_[p_] == '-') ++p_;
        bool is_float = false;
        while (p_ < t_.size()) {
            const char c = t_[p_];
            if (c >= '0' && c <= '9') { ++p_; continue; }
            if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') { is_float = true; ++p_; continue; }
            break;
        }
        const char* b = t_.data() + start;
        const char* e = t_.data() + p_;
        if (!is_float) {
            int64_t v;
            auto r = std::from_chars(b, e, v);
            if (r.ec == std::errc() && r.ptr == e) { out = Value(v); return true; }
            // out of int64 range: fall through to double
        }
        double d;
        auto r = std::from_chars(b, e, d);
        if (r.ec != std::errc() || r.ptr != e) { p_ = start; return fail("bad number"); }
        out = Value(d);
        return true;
    }
};

}  // namespace

Result<Value> parse(std::string_view text) { return Parser(text).parse_document(); }

Result<Value> parse_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return make_error(path + ": cannot open: " + std::strerror(errno));
    std::ostringstream ss;
    ss << f.rdbuf();
    if (f.bad()) return make_error(path + ": read error");
    auto r = parse(ss.str());
    if (!r) return make_error(path + ": " + r.message());
    return r;
}

}  // namespace hearth::json
