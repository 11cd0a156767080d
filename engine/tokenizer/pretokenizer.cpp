#include "engine/tokenizer/pretokenizer.h"

#include <algorithm>
#include <cstdint>

#include "engine/tokenizer/unicode.h"

namespace hearth::tokenizer {

namespace {

// Per code point: the classes the regexes test, computed once per text.
enum : uint8_t {
    kL = 1 << 0,   // \p{L}
    kN = 1 << 1,   // \p{N}
    kP = 1 << 2,   // \p{P}
    kS = 1 << 3,   // \p{S}
    kM = 1 << 4,   // \p{M}
    kWs = 1 << 5,  // \s
};

struct Ch {
    uint32_t cp;
    uint8_t f;
};

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

bool is_crlf(uint32_t cp) { return cp == '\r' || cp == '\n'; }
bool ascii_letter(uint32_t cp) { return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'); }
// [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]: ASCII punctuation and symbols.
bool ascii_punct(uint32_t cp) {
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
}

// The text being split, as classified code points. Matchers get a position and the end of the
// current piece (a regex never sees past its piece) and return the match length, 0 for none.
class Text {
public:
    explicit Text(std::string_view s) : src_(s), cps_(decode_utf8(s)) {
        ch_.reserve(cps_.size());
        for (const CodePoint& c : cps_) {
            uint8_t f = 0;
            if (is_whitespace(c.cp)) f |= kWs;
            const Category cat = category(c.cp);
            if (is_letter(cat)) f |= kL;
            else if (is_number(cat)) f |= kN;
            else if (is_punct(cat)) f |= kP;
            else if (is_symbol(cat)) f |= kS;
            else if (is_mark(cat)) f |= kM;
            ch_.push_back({c.cp, f});
        }
    }
    size_t size() const { return ch_.size(); }
    uint32_t cp(size_t i) const { return ch_[i].cp; }
    uint8_t f(size_t i) const { return ch_[i].f; }
    bool has(size_t i, uint8_t mask) const { return (ch_[i].f & mask) != 0; }
    // [^\s\p{L}\p{N}]
    bool other(size_t i) const { return (ch_[i].f & (kWs | kL | kN)) == 0; }

    // First index >= i (below end) where pred fails.
    template <class Pred>
    size_t run(size_t i, size_t end, Pred pred) const {
        while (i < end && pred(i)) ++i;
        return i;
    }
    size_t run_mask(size_t i, size_t end, uint8_t mask) const {
        return run(i, end, [&](size_t k) { return has(k, mask); });
    }

    std::string_view bytes(size_t b, size_t e) const {
        const size_t ob = cps_[b].offset;
        const size_t oe = e < cps_.size() ? cps_[e].offset : src_.size();
        return src_.substr(ob, oe - ob);
    }

private:
    std::string_view src_;
    std::vector<CodePoint> cps_;
    std::vector<Ch> ch_;
};

struct Piece {
    size_t b, e;
};

// Applies one regex (a matcher) to every piece: matches and the gaps between them become pieces.
template <class Matcher>
std::vector<Piece> split(const Text& t, const std::vector<Piece>& in, Matcher match) {
    std::vector<Piece> out;
    out.reserve(in.size() * 2);
    for (const Piece& p : in) {
        size_t pos = p.b, gap = p.b;
        while (pos < p.e) {
            const size_t len = match(t, pos, p.e);
            if (len == 0) { ++pos; continue; }
            if (gap < pos) out.push_back({gap, pos});
            out.push_back({pos, pos + len});
            pos += len;
            gap = pos;
        }
        if (gap < p.e) out.push_back({gap, p.e});
    }
    return out;
}

// The whitespace tail shared by the GPT-2 family: \s+(?!\S)|\s+ at a whitespace position.
size_t match_ws_tail(const Text& t, size_t p, size_t e) {
    const size_t q = t.run_mask(p, e, kWs);
    if (q == e) return q - p;          // \s+ up to the end: (?!\S) holds
    if (q - p >= 2) return q - p - 1;  // leave the last space to prefix the next word
    return q - p;                      // plain \s+
}

// \s*[\r\n]+ at a whitespace position: ends right after the last \r or \n of the whitespace run.
size_t match_ws_newlines(const Text& t, size_t p, size_t e) {
    const size_t q = t.run_mask(p, e, kWs);
    for (size_t k = q; k > p; --k) {
        if (is_crlf(t.cp(k - 1))) return k - p;
    }
    return 0;
}

// 's|'t|'re|'ve|'m|'ll|'d, case-insensitively when `fold` (Unicode folding maps U+017F ſ to s).
size_t match_contraction(const Text& t, size_t p, size_t e, bool fold) {
    if (t.cp(p) != '\'' || p + 1 >= e) return 0;
    auto lower = [&](size_t i) -> uint32_t {
        uint32_t c = t.cp(i);
        if (!fold) return c;
        if (c >= 'A' && c <= 'Z') return c + 32;
        if (c == 0x17F) return 's';
        return c;
    };
    const uint32_t a = lower(p + 1);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (p + 2 >= e) return 0;
    const uint32_t b = lower(p + 2);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

size_t match_gpt2(const Text& t, size_t p, size_t e) {
    if (size_t n = match_contraction(t, p, e, false)) return n;
    // ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': the optional space only helps when the next
    // character starts one of the three runs (the classes are disjoint, so order does not matter).
    size_t s = p;
    if (t.cp(p) == ' ' && p + 1 < e && !t.has(p + 1, kWs)) s = p + 1;
    if (t.has(s, kL)) return t.run_mask(s, e, kL) - p;
    if (t.has(s, kN)) return t.run_mask(s, e, kN) - p;
    if (t.other(s)) return t.run(s, e, [&](size_t k) { return t.other(k); }) - p;
    return match_ws_tail(t, p, e);  // p is whitespace here
}

// Llama 3 (max_digits 3) and Qwen2 (max_digits 1).
size_t match_llama3(const Text& t, size_t p, size_t e, size_t max_digits) {
    if (size_t n = match_contraction(t, p, e, true)) return n;
    const uint32_t c = t.cp(p);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (t.has(p, kL)) return t.run_mask(p, e, kL) - p;
    if (!t.has(p, kN) && !is_crlf(c) && p + 1 < e && t.has(p + 1, kL)) return t.run_mask(p + 1, e, kL) - p;
    // \p{N}{1,max}
    if (t.has(p, kN)) return std::min(t.run_mask(p, e, kN) - p, max_digits);
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    size_t s = p;
    if (c == ' ' && p + 1 < e && t.other(p + 1)) s = p + 1;
    if (t.other(s)) {
        const size_t q = t.run(s, e, [&](size_t k) { return t.other(k); });
        return t.run(q, e, [&](size_t k) { return is_crlf(t.cp(k)); }) - p;
    }
    if (t.has(p, kWs)) {
        if (size_t n = match_ws_newlines(t, p, e)) return n;
        return match_ws_tail(t, p, e);
    }
    return 0;
}

// DeepSeek-V3's third regex.
size_t match_deepseek_v3_words(const Text& t, size_t p, size_t e) {
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
        return t.run(q, e, [&](size_t k) { return is_crlf(t.cp(k)); }) - p;
    }
    if (t.has(p, kWs)) {
        if (size_t n = match_ws_newlines(t, p, e)) return n;
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

Result<PreKind> pre_kind_from_name(std::string_view name) {
    // "default" and a missing name: llama.cpp falls back to a legacy regex list there; we use the
    // GPT-2 regex, which is what the ByteLevel pre-tokenizer of such vocabularies applies.
    if (name.empty() || name == "default" || name == "gpt-2" || name == "gpt2" || name == "phi-2" || name == "mpt" ||
        name == "olmo" || name == "jais") return PreKind::Gpt2;
    if (name == "llama-bpe" || name == "llama3" || name == "llama-v3" || name == "dbrx" || name == "smaug-bpe")
        return PreKind::Llama3;
    if (name == "qwen2" || name == "deepseek-r1-qwen" || name == "stablelm2" || name == "megrez") return PreKind::Qwen2;
    if (name == "deepseek-llm") return PreKind::DeepseekLlm;
    if (name == "deepseek-coder") return PreKind::DeepseekCoder;
    if (name == "deepseek-v3") return PreKind::DeepseekV3;
    return make_error("unsupported pre-tokenizer '" + std::string(name) +
                      "' (supported: default, gpt-2, llama-bpe, qwen2, deepseek-r1-qwen, deepseek-llm, deepseek-coder, deepseek-v3)");
}

const char* pre_kind_name(PreKind kind) {
    switch (kind) {
        case PreKind::Gpt2: return "gpt-2";
        case PreKind::Llama3: return "llama-bpe";
        case PreKind::Qwen2: return "qwen2";
        case PreKind::DeepseekLlm: return "deepseek-llm";
        case PreKind::DeepseekCoder: return "deepseek-coder";
        case PreKind::DeepseekV3: return "deepseek-v3";
    }
    return "gpt-2";
}

std::vector<std::string_view> pre_tokenize(PreKind kind, std::string_view text) {
    std::vector<std::string_view> out;
    if (text.empty()) return out;
    const Text t(text);
    std::vector<Piece> pieces{{0, t.size()}};
    switch (kind) {
        case PreKind::Gpt2:
            pieces = split(t, pieces, match_gpt2);
            break;
        case PreKind::Llama3:
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return match_llama3(x, p, e, 3); });
            break;
        case PreKind::Qwen2:
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return match_llama3(x, p, e, 1); });
            break;
        case PreKind::DeepseekLlm:
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
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return x.run_mask(p, e, kN) - p; });
            break;
        case PreKind::DeepseekCoder:
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
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t) -> size_t { return x.has(p, kN) ? 1 : 0; });
            break;
        case PreKind::DeepseekV3:
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return std::min<size_t>(x.run_mask(p, e, kN) - p, 3); });
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) {
                return match_run(x, p, e, [&](size_t k) { return in_ranges(kDeepseekV3Cjk, x.cp(k)); });
            });
            pieces = split(t, pieces, match_deepseek_v3_words);
            break;
    }
    out.reserve(pieces.size());
    for (const Piece& p : pieces) out.push_back(t.bytes(p.b, p.e));
    return out;
}

}  // namespace hearth::tokenizer
