// Decoding one UTF-8 sequence strictly (Unicode's well-formed byte sequences: no overlong forms,
// no surrogates, nothing above U+10FFFF): the tokenizer's code points and JSON's check that its
// text is UTF-8 share it; and encoding one code point (the tokenizer, templates, JSON escapes and
// the documents' decoders).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth {

// The length of the well-formed sequence at s[i] with *cp set to its code point, or 0 when the
// bytes there are not one (or i is past the end).
inline size_t utf8_decode_at(std::string_view s, size_t i, uint32_t* cp) {
    if (i >= s.size()) return 0;
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((b0 & 0xE0) == 0xC0) { len = 2; v = b0 & 0x1F; min = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { len = 3; v = b0 & 0x0F; min = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { len = 4; v = b0 & 0x07; min = 0x10000; }
    else return 0;
    if (len > s.size() - i) return 0;
    for (size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        v = (v << 6) | (b & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

// Whether all of `s` is well-formed UTF-8.
inline bool utf8_valid(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        uint32_t cp;
        const size_t n = utf8_decode_at(s, i, &cp);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// Appends code point `cp` (≤ U+10FFFF) as UTF-8.
inline void utf8_append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

}  // namespace hearth
