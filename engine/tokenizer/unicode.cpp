#include "engine/tokenizer/unicode.h"

#include <algorithm>
#include <array>

#include "engine/util/utf8.h"

namespace hearth::tokenizer {

namespace {

// Categories of U+0000..U+00FF, looked up directly (most text is mostly ASCII).
struct Latin1Table {
    std::array<Category, 256> cat;
    Latin1Table() {
        for (uint32_t cp = 0; cp < 256; ++cp) cat[cp] = Category::Cn;
        size_t i = 0;
        for (uint32_t cp = 0; cp < 256; ++cp) {
            while (i + 1 < detail::kCategoryRunCount && detail::kCategoryRuns[i + 1].start <= cp) ++i;
            cat[cp] = Category(detail::kCategoryRuns[i].cat);
        }
    }
};

const Latin1Table& latin1() {
    static const Latin1Table t;
    return t;
}

// GPT-2's bytes_to_unicode(): bytes that are printable and not space stay themselves, the other 68
// are numbered from U+0100 in byte order.
struct ByteMap {
    std::array<uint32_t, 256> to_cp{};
    std::array<int16_t, 324> from_cp{};  // code points 0..323 cover the whole image
    ByteMap() {
        from_cp.fill(-1);
        uint32_t next = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            to_cp[b] = keep ? b : next++;
            from_cp[to_cp[b]] = int16_t(b);
        }
    }
};

const ByteMap& byte_map() {
    static const ByteMap m;
    return m;
}

// Decodes one sequence at s[i]; returns its length and sets cp, or 0 when invalid.
size_t decode_one(std::string_view s, size_t i, uint32_t& cp) { return utf8_decode_at(s, i, &cp); }

}  // namespace

const char* unicode_version() { return detail::kUnicodeVersion; }

Category category(uint32_t cp) {
    if (cp < 256) return latin1().cat[cp];
    if (cp > 0x10FFFF) return Category::Cn;
    const auto* begin = detail::kCategoryRuns;
    const auto* end = detail::kCategoryRuns + detail::kCategoryRunCount;
    const auto* it = std::upper_bound(begin, end, cp, [](uint32_t v, const detail::CategoryRun& r) { return v < r.start; });
    return Category((it - 1)->cat);
}

bool is_whitespace(uint32_t cp) {
    // Unicode's White_Space property (stable since Unicode 6.3), which Oniguruma's \s matches.
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return false;
    switch (cp) {
        case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
            return true;
        default:
            return cp >= 0x2000 && cp <= 0x200A;
    }
}

bool is_han(uint32_t cp) {
    if (cp < 0x2E80) return false;  // below the first Han range (CJK radicals)
    const auto* begin = detail::kHanRanges;
    const auto* end = detail::kHanRanges + detail::kHanRangeCount;
    const auto* it = std::upper_bound(begin, end, cp, [](uint32_t v, const detail::CodeRange& r) { return v < r.lo; });
    return it != begin && cp <= (it - 1)->hi;
}

std::string lower_case(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    const auto* begin = detail::kLowerPairs;
    const auto* end = detail::kLowerPairs + detail::kLowerPairCount;
    for (const CodePoint& c : decode_utf8(text)) {
        if (c.cp < 0x80) {
            const char b = text[c.offset];
            out += (b >= 'A' && b <= 'Z') ? char(b + 32) : b;
            continue;
        }
        if (c.cp == 0xFFFD && !(c.len == 3 && text.substr(c.offset, 3) == "\xEF\xBF\xBD")) {
            out.append(text.substr(c.offset, c.len));  // an invalid byte, kept
            continue;
        }
        if (c.cp == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: two code points
            out += 'i';
            append_utf8(out, 0x307);
            continue;
        }
        const auto* it = std::lower_bound(begin, end, c.cp, [](const detail::LowerPair& p, uint32_t v) { return p.cp < v; });
        append_utf8(out, it != end && it->cp == c.cp ? it->lower : c.cp);
    }
    return out;
}

std::vector<CodePoint> decode_utf8(std::string_view text) {
    std::vector<CodePoint> out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        uint32_t cp = 0;
        size_t len = decode_one(text, i, cp);
        if (len == 0) { cp = 0xFFFD; len = 1; }
        out.push_back({cp, uint32_t(i), uint32_t(len)});
        i += len;
    }
    return out;
}

void append_utf8(std::string& out, uint32_t cp) { utf8_append(out, cp); }

size_t valid_utf8_prefix(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        uint32_t cp;
        const size_t len = decode_one(s, i, cp);
        if (len == 0) return i;
        i += len;
    }
    return i;
}

bool is_valid_utf8(std::string_view s) { return valid_utf8_prefix(s) == s.size(); }

uint32_t byte_to_cp(uint8_t b) { return byte_map().to_cp[b]; }

int byte_from_cp(uint32_t cp) { return cp < byte_map().from_cp.size() ? byte_map().from_cp[cp] : -1; }

std::string byte_level_encode(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char b : bytes) append_utf8(out, byte_to_cp(b));
    return out;
}

std::string byte_level_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const CodePoint& c : decode_utf8(text)) {
        const int b = byte_from_cp(c.cp);
        if (b >= 0) out += char(b);
        else out.append(text.substr(c.offset, c.len));
    }
    return out;
}

}  // namespace hearth::tokenizer
