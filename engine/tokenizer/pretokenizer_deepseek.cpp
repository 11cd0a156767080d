// The DeepSeek pre-tokenizers (LLM, Coder, V3 and the names that share V3's set, Spark 2.5): explicit
// letter, punctuation and CJK classes transcribed from their tokenizer.json files.
#include <algorithm>
#include <iterator>

#include "engine/tokenizer/pretokenizer_text.h"

namespace hearth::tokenizer::pre {

namespace {

struct Range {
    uint32_t lo, hi;
};

template <size_t N>
bool in_ranges(const Range (&r)[N], uint32_t cp) {
    for (const Range& x : r) if (cp >= x.lo && cp <= x.hi) return true;
    return false;
}

// DeepSeek-LLM's letter class, transcribed from the regex in its tokenizer.json
// ([A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓ…𞤀-𞥃]: the cased letters of Unicode), sorted, for binary search.
constexpr Range kDeepseekLetters[] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA}, {0x1BC, 0x1BF},
    {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F},
    {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481},
    {0x48A, 0x52F}, {0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D},
    {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC},
    {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102},
    {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
    {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3},
    {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF},
    {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3},
    {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

bool deepseek_letter(uint32_t cp) {
    const auto* end = std::end(kDeepseekLetters);
    const auto* it = std::upper_bound(std::begin(kDeepseekLetters), end, cp, [](uint32_t v, const Range& r) { return v < r.lo; });
    return it != std::begin(kDeepseekLetters) && cp <= (it - 1)->hi;
}

// DeepSeek-LLM's punctuation class [!-/:-~！-／：-～‘-‟　-。].
constexpr Range kDeepseekPunct[] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002},
};
// [一-龥ࠀ-一가-퟿] (DeepSeek-LLM and -Coder).
constexpr Range kDeepseekCjk[] = {{0x4E00, 0x9FA5}, {0x800, 0x4E00}, {0xAC00, 0xD7FF}};
// [一-龥぀-ゟ゠-ヿ] (DeepSeek-V3).
constexpr Range kDeepseekV3Cjk[] = {{0x4E00, 0x9FA5}, {0x3040, 0x309F}, {0x30A0, 0x30FF}};

// DeepSeek-V3's third regex; `spark` is Spark 2.5's variant: ' ?[\p{P}\p{S}]+' without the
// newlines after it, and [\r\n] (one character) in place of \s*[\r\n]+.
size_t match_deepseek_v3_words(const Text& t, size_t p, size_t e, bool spark) {
    const uint32_t c = t.cp(p);
    // [ASCII punct][A-Za-z]+
    if (ascii_punct(c) && p + 1 < e && ascii_letter(t.cp(p + 1))) {
        return t.run(p + 1, e, [&](size_t k) { return ascii_letter(t.cp(k)); }) - p;
    }
    // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
    if (t.has(p, kL | kM)) return t.run_mask(p, e, kL | kM) - p;
    if (!is_crlf(c) && !t.has(p, kP | kS) && p + 1 < e && t.has(p + 1, kL | kM)) return t.run_mask(p + 1, e, kL | kM) - p;
    // ' ?[\p{P}\p{S}]+[\r\n]*'
    size_t s = p;
    if (c == ' ' && p + 1 < e && t.has(p + 1, kP | kS)) s = p + 1;
    if (t.has(s, kP | kS)) {
        const size_t q = t.run_mask(s, e, kP | kS);
        if (spark) return q - p;
        return t.run(q, e, [&](size_t k) { return is_crlf(t.cp(k)); }) - p;
    }
    if (spark && is_crlf(c)) return 1;
    if (t.has(p, kWs)) {
        if (size_t n = spark ? 0 : match_ws_newlines(t, p, e)) return n;
        return match_ws_tail(t, p, e);
    }
    return 0;
}

// \s?[class]+ where `in` tests the class.
template <class In>
size_t match_opt_ws_run(const Text& t, size_t p, size_t e, In in) {
    if (in(t.cp(p))) return t.run(p, e, [&](size_t k) { return in(t.cp(k)); }) - p;
    if (t.has(p, kWs) && p + 1 < e && in(t.cp(p + 1))) return t.run(p + 1, e, [&](size_t k) { return in(t.cp(k)); }) - p;
    return 0;
}

template <class In>
size_t match_run(const Text& t, size_t p, size_t e, In in) {
    return t.run(p, e, [&](size_t k) { return in(k); }) - p;
}

}  // namespace

Pieces split_deepseek_llm(const Text& t, Pieces pieces) {
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t) -> size_t { return is_crlf(x.cp(p)) ? 1 : 0; });
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return match_opt_ws_run(x, p, e, deepseek_letter); });
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) {
        return match_opt_ws_run(x, p, e, [](uint32_t c) { return in_ranges(kDeepseekPunct, c); });
    });
    // \s+$: only a whitespace run that reaches the end of its piece
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) -> size_t {
        const size_t q = x.run_mask(p, e, kWs);
        return q == e ? q - p : 0;
    });
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) {
        return match_run(x, p, e, [&](size_t k) { return in_ranges(kDeepseekCjk, x.cp(k)); });
    });
    return split(t, pieces, [](const Text& x, size_t p, size_t e) { return x.run_mask(p, e, kN) - p; });
}

Pieces split_deepseek_coder(const Text& t, Pieces pieces) {
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t) -> size_t { return is_crlf(x.cp(p)) ? 1 : 0; });
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) -> size_t {
        if (x.has(p, kL)) return x.run_mask(p, e, kL) - p;
        if (x.has(p, kWs) && p + 1 < e && x.has(p + 1, kL)) return x.run_mask(p + 1, e, kL) - p;
        return 0;
    });
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) -> size_t {
        if (x.has(p, kP)) return x.run_mask(p, e, kP) - p;
        if (x.has(p, kWs) && p + 1 < e && x.has(p + 1, kP)) return x.run_mask(p + 1, e, kP) - p;
        return 0;
    });
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) {
        return match_run(x, p, e, [&](size_t k) { return in_ranges(kDeepseekCjk, x.cp(k)); });
    });
    return split(t, pieces, [](const Text& x, size_t p, size_t) -> size_t { return x.has(p, kN) ? 1 : 0; });
}

Pieces split_deepseek_v3(const Text& t, Pieces pieces) {
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return std::min<size_t>(x.run_mask(p, e, kN) - p, 3); });
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) {
        return match_run(x, p, e, [&](size_t k) { return in_ranges(kDeepseekV3Cjk, x.cp(k)); });
    });
    return split(t, pieces, [](const Text& x, size_t p, size_t e) { return match_deepseek_v3_words(x, p, e, false); });
}

Pieces split_spark2_5(const Text& t, Pieces pieces) {
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return std::min<size_t>(x.run_mask(p, e, kN) - p, 3); });
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) {
        return match_run(x, p, e, [&](size_t k) { return in_ranges(kDeepseekV3Cjk, x.cp(k)); });
    });
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return match_deepseek_v3_words(x, p, e, true); });
    return split(t, pieces, [](const Text& x, size_t p, size_t) -> size_t { return x.has(p, kN) ? 1 : 0; });
}

}  // namespace hearth::tokenizer::pre
