// Internal to the pre-tokenizers (pretokenizer*.cpp): the text as classified code points, the
// split step that applies one regex to every piece, and the matchers several families share.
//
// A matcher gets a position and the end of the current piece (a regex never sees past its piece)
// and returns the match length, 0 for none (no regex of ours matches the empty string, except
// Superbpe's lookahead, which has a splitter of its own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/tokenizer/unicode.h"

namespace hearth::tokenizer::pre {

// Per code point: the classes the regexes test, computed once per text.
enum : uint16_t {
    kL = 1 << 0,       // \p{L}
    kN = 1 << 1,       // \p{N}
    kP = 1 << 2,       // \p{P}
    kS = 1 << 3,       // \p{S}
    kM = 1 << 4,       // \p{M}
    kWs = 1 << 5,      // \s
    kUpper = 1 << 6,   // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
    kLower = 1 << 7,   // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
    kHan = 1 << 8,     // \p{Han}
    kDigit = 1 << 9,   // \d (Oniguruma on Unicode text: \p{Nd})
    kWord = 1 << 10,   // \w as Oniguruma matches it (see is_word in pretokenizer.cpp)
};

class Text {
public:
    explicit Text(std::string_view s);
    size_t size() const { return ch_.size(); }
    uint32_t cp(size_t i) const { return ch_[i].cp; }
    bool has(size_t i, uint16_t mask) const { return (ch_[i].f & mask) != 0; }
    // [^\s\p{L}\p{N}]
    bool other(size_t i) const { return (ch_[i].f & (kWs | kL | kN)) == 0; }

    // First index >= i (below end) where pred fails.
    template <class Pred>
    size_t run(size_t i, size_t end, Pred pred) const {
        while (i < end && pred(i)) ++i;
        return i;
    }
    size_t run_mask(size_t i, size_t end, uint16_t mask) const {
        return run(i, end, [&](size_t k) { return has(k, mask); });
    }
    size_t run_other(size_t i, size_t end) const {
        return run(i, end, [&](size_t k) { return other(k); });
    }
    std::string_view bytes(size_t b, size_t e) const;

private:
    struct Ch {
        uint32_t cp;
        uint16_t f;
    };
    std::string_view src_;
    std::vector<CodePoint> cps_;
    std::vector<Ch> ch_;
};

struct Piece {
    size_t b, e;
};
using Pieces = std::vector<Piece>;

// Applies one regex (a matcher) to every piece: matches and the gaps between them become pieces.
template <class Matcher>
Pieces split(const Text& t, const Pieces& in, Matcher match) {
    Pieces out;
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

inline bool is_crlf(uint32_t cp) { return cp == '\r' || cp == '\n'; }
inline bool ascii_letter(uint32_t cp) { return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'); }
inline bool ascii_digit(uint32_t cp) { return cp >= '0' && cp <= '9'; }
// [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~] = [!-/:-@\[-`{-~]: ASCII punctuation and symbols.
inline bool ascii_punct(uint32_t cp) {
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
}

// \s+(?!\S)|\s+ at a whitespace position (GPT-2's regex lacks the final \s+, but there a single
// space before a non-space is left unmatched and becomes a piece of its own: the same split).
size_t match_ws_tail(const Text& t, size_t p, size_t e);
// \s*[\r\n]+ at a whitespace position: ends right after the last \r or \n of the whitespace run.
size_t match_ws_newlines(const Text& t, size_t p, size_t e);
// 's|'t|'re|'ve|'m|'ll|'d as written (Exact), as (?:'[sS]|'[tT]|...) (Ascii: llama.cpp's rewrite,
// used as is by a few families) or as (?i:'s|...) (Unicode: case folding also maps U+017F ſ to s).
enum class Fold { Exact, Ascii, Unicode };
size_t match_contraction(const Text& t, size_t p, size_t e, Fold fold);
// GPT-2's regex (above).
size_t match_gpt2(const Text& t, size_t p, size_t e);

// The families of pretokenizer_llama3.cpp, pretokenizer_deepseek.cpp and pretokenizer_cased.cpp:
// the whole sequence.
Pieces split_llama3(const Text& t, Pieces pieces);
Pieces split_qwen2(const Text& t, Pieces pieces);
Pieces split_seed_coder(const Text& t, Pieces pieces);
Pieces split_qwen35(const Text& t, Pieces pieces);
Pieces split_jais2(const Text& t, Pieces pieces);
Pieces split_ufakzeka(const Text& t, Pieces pieces);
Pieces split_laguna(const Text& t, Pieces pieces);
Pieces split_minicpm5(const Text& t, Pieces pieces);
Pieces split_exaone_moe(const Text& t, Pieces pieces);
Pieces split_spark2_5(const Text& t, Pieces pieces);
Pieces split_youtu(const Text& t, Pieces pieces);
Pieces split_tiny_aya(const Text& t, Pieces pieces);
Pieces split_granite_multi(const Text& t, Pieces pieces);
Pieces split_deepseek_llm(const Text& t, Pieces pieces);
Pieces split_deepseek_coder(const Text& t, Pieces pieces);
Pieces split_deepseek_v3(const Text& t, Pieces pieces);
Pieces split_tekken(const Text& t, Pieces pieces);
Pieces split_gpt4o(const Text& t, Pieces pieces);
Pieces split_kimi_k2(const Text& t, Pieces pieces);

}  // namespace hearth::tokenizer::pre
