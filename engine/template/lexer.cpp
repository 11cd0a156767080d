#include "engine/template/lexer.h"

#include <cstring>

#include "engine/template/text.h"

namespace hearth::jinja {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Python str.rstrip() for the ASCII whitespace that separates template tags.
std::string_view rstrip_ws(std::string_view s) {
    size_t n = s.size();
    while (n > 0 && is_ws(s[n - 1])) --n;
    return s.substr(0, n);
}

struct Lexer {
    std::string src;
    size_t pos = 0;
    int line = 1;
    bool line_starting = true;  // the previous match ended with a newline (for lstrip_blocks)
    std::vector<Token> tokens;

    Status error(const std::string& message, int at_line) const {
        return make_error("template syntax error at line " + std::to_string(at_line) + ": " + message);
    }

    void emit(Token::Type type, std::string value, int at_line) { tokens.push_back({type, std::move(value), at_line}); }

    void emit_text(std::string_view text) {
        if (!text.empty()) emit(Token::Type::Text, std::string(text), line);
    }

    void advance_to(size_t new_pos) {
        for (size_t i = pos; i < new_pos; ++i) if (src[i] == '\n') ++line;
        line_starting = new_pos > pos && src[new_pos - 1] == '\n';
        pos = new_pos;
    }

    // Applies `-`, `+` and lstrip_blocks to the text before a tag.
    std::string_view strip_before_tag(std::string_view text, char sign, bool is_variable) const {
        if (sign == '-') return rstrip_ws(text);
        if (sign == '+' || is_variable) return text;
        const size_t l_pos = text.rfind('\n') == std::string_view::npos ? 0 : text.rfind('\n') + 1;
        if (l_pos > 0 || line_starting) {
            std::string_view tail = text.substr(l_pos);
            bool all_ws = !tail.empty();
            for (char c : tail) if (!is_ws(c)) all_ws = false;
            if (all_ws) return text.substr(0, l_pos);
        }
        return text;
    }

    // After a block or comment end at `p` (just past `%}`/`#}`) with the sign before it: where the
    // next text starts. `-` eats all whitespace, `+` nothing, otherwise trim_blocks eats one newline.
    size_t after_block_end(size_t p, char sign) const {
        if (sign == '-') {
            while (p < src.size() && is_ws(src[p])) ++p;
        } else if (sign != '+' && p < src.size() && src[p] == '\n') {
            ++p;
        }
        return p;
    }

    // Matches `{%[-+]?\s*WORD\s*` at p; returns the position after the trailing whitespace or npos.
    size_t match_word_tag(size_t p, const char* word, char* sign) const {
        if (src.compare(p, 2, "{%") != 0) return std::string::npos;
        p += 2;
        *sign = 0;
        if (p < src.size() && (src[p] == '-' || src[p] == '+')) *sign = src[p++];
        while (p < src.size() && is_ws(src[p])) ++p;
        const size_t n = std::strlen(word);
        if (src.compare(p, n, word) != 0) return std::string::npos;
        p += n;
        if (p < src.size() && is_name_char(src[p])) return std::string::npos;
        while (p < src.size() && is_ws(src[p])) ++p;
        return p;
    }

    Status lex_raw(size_t after_begin) {
        // `{% raw %}` ends with `%}` or `-%}` (which eats the following whitespace); no trim_blocks.
        size_t p = after_begin;
        if (src.compare(p, 3, "-%}") == 0) {
            p += 3;
            while (p < src.size() && is_ws(src[p])) ++p;
        } else if (src.compare(p, 2, "%}") == 0) {
            p += 2;
        } else {
            return error("expected '%}' after 'raw'", line);
        }
        advance_to(p);
        for (size_t q = src.find("{%", pos); q != std::string::npos; q = src.find("{%", q + 1)) {
            char sign = 0;
            size_t e = match_word_tag(q, "endraw", &sign);
            if (e == std::string::npos) continue;
            char end_sign = 0;
            if (src.compare(e, 3, "-%}") == 0 || src.compare(e, 3, "+%}") == 0) {
                end_sign = src[e];
                e += 3;
            } else if (src.compare(e, 2, "%}") == 0) {
                e += 2;
            } else {
                continue;
            }
            emit_text(strip_before_tag(std::string_view(src).substr(pos, q - pos), sign, false));
            advance_to(after_block_end(e, end_sign));
            return {};
        }
        return error("missing end of raw directive", line);
    }

    Status lex_string(size_t& p, int at_line) {
        const char quote = src[p++];
        std::string value;
        while (true) {
            if (p >= src.size()) return error("unterminated string literal", at_line);
            const char c = src[p];
            if (c == quote) { ++p; break; }
            if (c != '\\') { value += c; ++p; continue; }
            if (p + 1 >= src.size()) return error("unterminated string literal", at_line);
            const char e = src[p + 1];
            p += 2;
            // Python's unicode-escape decoding; unknown escapes keep their backslash.
            switch (e) {
                case 'n': value += '\n'; break;
                case 't': value += '\t'; break;
                case 'r': value += '\r'; break;
                case '\\': value += '\\'; break;
                case '\'': value += '\''; break;
                case '"': value += '"'; break;
                case 'a': value += '\a'; break;
                case 'b': value += '\b'; break;
                case 'f': value += '\f'; break;
                case 'v': value += '\v'; break;
                case '\n': break;  // line continuation
                case 'x': case 'u': case 'U': {
                    const int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    uint32_t cp = 0;
                    for (int k = 0; k < digits; ++k, ++p) {
                        const char h = p < src.size() ? src[p] : 0;
                        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                        if (d < 0) return error(std::string("truncated \\") + e + " escape in string literal", at_line);
                        cp = cp * 16 + uint32_t(d);
                    }
                    if (cp > 0x10ffff) return error("illegal Unicode character in string literal", at_line);
                    text::append_utf8(value, cp);
                    break;
                }
                default:
                    if (e >= '0' && e <= '7') {  // octal, up to three digits
                        uint32_t cp = uint32_t(e - '0');
                        for (int k = 0; k < 2 && p < src.size() && src[p] >= '0' && src[p] <= '7'; ++k, ++p)
                            cp = cp * 8 + uint32_t(src[p] - '0');
                        text::append_utf8(value, cp);
                    } else {
                        value += '\\';
                        value += e;
                    }
            }
        }
        emit(Token::Type::String, std::move(value), at_line);
        return {};
    }

    void lex_number(size_t& p, int at_line) {
        auto digits = [&](size_t q) {  // (\d+_)*\d+ starting at q; returns the end or q
            size_t r = q;
            while (r < src.size() && is_digit(src[r])) {
                while (r < src.size() && is_digit(src[r])) ++r;
                if (r + 1 < src.size() && src[r] == '_' && is_digit(src[r + 1])) ++r;
            }
            return r;
        };
        const size_t start = p;
        size_t q = digits(p);
        bool is_float = false;
        // A float may not start right after a '.' (so `x.0.1` is attribute access).
        const bool after_dot = start > 0 && src[start - 1] == '.';
        if (!after_dot) {
            size_t r = q;
            if (r + 1 < src.size() && src[r] == '.' && is_digit(src[r + 1])) { r = digits(r + 1); is_float = true; }
            if (r < src.size() && (src[r] == 'e' || src[r] == 'E')) {
                size_t s = r + 1;
                if (s < src.size() && (src[s] == '+' || src[s] == '-')) ++s;
                if (s < src.size() && is_digit(src[s])) { r = digits(s); is_float = true; }
            }
            if (is_float) q = r;
        }
        std::string spelled;
        for (size_t i = start; i < q; ++i) if (src[i] != '_') spelled += src[i];
        p = q;
        emit(is_float ? Token::Type::Float : Token::Type::Integer, std::move(spelled), at_line);
    }

    // Lexes the inside of a `{{ … }}` or `{% … %}` tag starting at pos.
    Status lex_tag(bool is_variable, int begin_line) {
        std::vector<char> balance;
        size_t p = pos;
        auto sync = [&](size_t q) {
            for (size_t i = p; i < q; ++i) if (src[i] == '\n') ++line;
            p = q;
        };
        while (true) {
            while (p < src.size() && is_ws(src[p])) sync(p + 1);
            if (p >= src.size())
                return error(is_variable ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'",
                             begin_line);
            if (balance.empty()) {
                if (is_variable) {
                    if (src.compare(p, 3, "-}}") == 0) {
                        size_t e = p + 3;
                        while (e < src.size() && is_ws(src[e])) ++e;
                        emit(Token::Type::VariableEnd, "", line);
                        pos = p; advance_to(e);
                        return {};
                    }
                    if (src.compare(p, 2, "}}") == 0) {
                        emit(Token::Type::VariableEnd, "", line);
                        pos = p; advance_to(p + 2);
                        return {};
                    }
                } else {
                    char sign = 0;
                    size_t e = std::string::npos;
                    if (src.compare(p, 3, "-%}") == 0 || src.compare(p, 3, "+%}") == 0) { sign = src[p]; e = p + 3; }
                    else if (src.compare(p, 2, "%}") == 0) e = p + 2;
                    if (e != std::string::npos) {
                        emit(Token::Type::BlockEnd, "", line);
                        pos = p; advance_to(after_block_end(e, sign));
                        return {};
                    }
                }
            }
            const char c = src[p];
            const int tok_line = line;
            if (is_digit(c)) { lex_number(p, tok_line); continue; }
            if (is_name_start(c)) {
                size_t q = p;
                while (q < src.size() && is_name_char(src[q])) ++q;
                emit(Token::Type::Name, src.substr(p, q - p), tok_line);
                p = q;
                continue;
            }
            if (c == '\'' || c == '"') {
                size_t q = p;
                HEARTH_RETURN_IF_ERROR(lex_string(q, tok_line));
                sync(q);
                continue;
            }
            static const char* const two[] = {"//", "**", "==", "!=", ">=", "<="};
            std::string op;
            for (const char* t : two) if (src.compare(p, 2, t) == 0) op = t;
            if (op.empty()) {
                if (std::strchr("+-/*%~[](){}><=.:|,;", c) == nullptr)
                    return error(std::string("unexpected character '") + c + "'", tok_line);
                op = std::string(1, c);
            }
            if (op == "(" || op == "[" || op == "{") balance.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
            if (op == ")" || op == "]" || op == "}") {
                if (balance.empty()) return error("unexpected '" + op + "'", tok_line);
                if (balance.back() != op[0])
                    return error("unexpected '" + op + "', expected '" + std::string(1, balance.back()) + "'", tok_line);
                balance.pop_back();
            }
            emit(Token::Type::Operator, op, tok_line);
            p += op.size();
        }
    }

    Status run() {
        while (pos < src.size()) {
            // The earliest tag start.
            size_t start = std::string::npos;
            for (size_t q = src.find('{', pos); q != std::string::npos; q = src.find('{', q + 1)) {
                if (q + 1 < src.size() && (src[q + 1] == '{' || src[q + 1] == '%' || src[q + 1] == '#')) { start = q; break; }
            }
            if (start == std::string::npos) {
                emit_text(std::string_view(src).substr(pos));
                advance_to(src.size());
                break;
            }
            const char kind = src[start + 1];
            size_t p = start + 2;
            char sign = 0;
            if (p < src.size() && (src[p] == '-' || src[p] == '+')) sign = src[p++];
            const std::string_view text = std::string_view(src).substr(pos, start - pos);
            emit_text(strip_before_tag(text, sign, kind == '{'));
            advance_to(start);
            const int tag_line = line;

            if (kind == '#') {
                size_t q = src.find("#}", p);
                if (q == std::string::npos) return error("missing end of comment tag", tag_line);
                char end_sign = 0;
                if (q > p && (src[q - 1] == '-' || src[q - 1] == '+')) end_sign = src[q - 1];
                advance_to(after_block_end(q + 2, end_sign));
                continue;
            }
            if (kind == '%') {
                char raw_sign = 0;
                const size_t r = match_word_tag(start, "raw", &raw_sign);
                if (r != std::string::npos) {
                    HEARTH_RETURN_IF_ERROR(lex_raw(r));
                    continue;
                }
            }
            emit(kind == '{' ? Token::Type::VariableBegin : Token::Type::BlockBegin, "", tag_line);
            advance_to(p);
            HEARTH_RETURN_IF_ERROR(lex_tag(kind == '{', tag_line));
        }
        emit(Token::Type::End, "", line);
        return {};
    }
};

}  // namespace

Result<std::vector<Token>> tokenize(std::string_view source) {
    Lexer lx;
    // Newlines are normalized to \n and one trailing newline is dropped (keep_trailing_newline off).
    lx.src.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\r') {
            lx.src += '\n';
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            lx.src += source[i];
        }
    }
    if (!lx.src.empty() && lx.src.back() == '\n') lx.src.pop_back();
    Status st = lx.run();
    if (!st.ok()) return st;
    return std::move(lx.tokens);
}

}  // namespace hearth::jinja
