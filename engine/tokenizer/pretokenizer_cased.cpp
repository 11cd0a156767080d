// The pre-tokenizers that split words before a capital letter (Tekken, GPT-4o, Kimi-K2, Youtu,
// Tiny Aya, Granite multilingual): a word
// is [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ or [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+
// [\p{Ll}\p{Lm}\p{Lo}\p{M}]*, optionally led by one [^\r\n\p{L}\p{N}] character. The two classes
// overlap (Lm, Lo and marks are in both), which is what the backtracking below resolves.
#include "engine/tokenizer/pretokenizer_text.h"

#include <algorithm>

namespace hearth::tokenizer::pre {

namespace {

struct CasedRules {
    bool no_han;         // Kimi-K2: the classes exclude \p{Han} (Han runs are their own alternative)
    bool contractions;   // GPT-4o, Kimi-K2, ...: (?i:'s|'t|'re|'ve|'m|'ll|'d)? after a word
    size_t max_digits;   // \p{N}{1,max}
    bool punct_slash;    // ' ?[^\s\p{L}\p{N}]+[\r\n/]*' (Tekken, GPT-4o) rather than [\r\n]*
    Fold fold = Fold::Unicode;
    // Granite multilingual (llama.cpp's lookahead form): "upper" is ((?=[\p{L}\p{M}])[^a-z]) and
    // "lower" ((?=[\p{L}\p{M}])[^A-Z]), so every non-ASCII letter or mark is in both classes.
    bool ascii_case = false;
};

// The word alternatives; returns the match length or 0.
size_t match_cased_word(const Text& t, size_t p, size_t e, const CasedRules& r) {
    auto upper = [&](size_t k) {
        if (r.ascii_case) return t.has(k, kL | kM) && !(t.cp(k) >= 'a' && t.cp(k) <= 'z');
        return t.has(k, kUpper) && !(r.no_han && t.has(k, kHan));
    };
    auto lower = [&](size_t k) {
        if (r.ascii_case) return t.has(k, kL | kM) && !(t.cp(k) >= 'A' && t.cp(k) <= 'Z');
        return t.has(k, kLower) && !(r.no_han && t.has(k, kHan));
    };
    // U*W+ from s: greedy U* then at least one W, giving U characters back one by one. Only a
    // character in both classes can start W+ after giving back, and W+ then ends right after it.
    auto upper_then_lower = [&](size_t s) -> size_t {
        const size_t u = t.run(s, e, upper);
        if (u < e && lower(u)) return t.run(u, e, lower);
        for (size_t k = u; k > s; --k) {
            if (lower(k - 1)) return k;
        }
        return 0;
    };
    // U+W*
    auto upper_run = [&](size_t s) -> size_t {
        if (!upper(s)) return 0;
        return t.run(t.run(s, e, upper), e, lower);
    };
    // [^\r\n\p{L}\p{N}]? is greedy: each alternative first tries with the leading character.
    const bool lead = !is_crlf(t.cp(p)) && !t.has(p, kL | kN) && p + 1 < e;
    size_t end = 0;
    if (lead) end = upper_then_lower(p + 1);
    if (!end) end = upper_then_lower(p);
    if (!end && lead) end = upper_run(p + 1);
    if (!end) end = upper_run(p);
    if (!end) return 0;
    if (r.contractions && end < e) end += match_contraction(t, end, e, r.fold);
    return end - p;
}

size_t match_cased(const Text& t, size_t p, size_t e, const CasedRules& r) {
    if (r.no_han && t.has(p, kHan)) return t.run_mask(p, e, kHan) - p;  // [\p{Han}]+
    if (size_t n = match_cased_word(t, p, e, r)) return n;
    if (t.has(p, kN)) return std::min(t.run_mask(p, e, kN) - p, r.max_digits);
    // ' ?[^\s\p{L}\p{N}]+[\r\n/]*' (or [\r\n]*)
    size_t s = p;
    if (t.cp(p) == ' ' && p + 1 < e && t.other(p + 1)) s = p + 1;
    if (t.other(s)) {
        const size_t q = t.run_other(s, e);
        return t.run(q, e, [&](size_t k) { return is_crlf(t.cp(k)) || (r.punct_slash && t.cp(k) == '/'); }) - p;
    }
    if (t.has(p, kWs)) {
        if (size_t n = match_ws_newlines(t, p, e)) return n;
        return match_ws_tail(t, p, e);
    }
    return 0;
}

Pieces split_cased(const Text& t, const Pieces& pieces, CasedRules r) {
    return split(t, pieces, [r](const Text& x, size_t p, size_t e) { return match_cased(x, p, e, r); });
}

// Youtu's first regex: runs of Hangul, of CJK punctuation, of Bopomofo, of CJK/kana:
// [가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+
int youtu_class(uint32_t c) {
    if ((c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x3131 && c <= 0x318E)) return 1;
    if (c == 0xFF01 || c == 0x2026 || c == 0x201C || c == 0x201D || c == 0x2018 || c == 0x2019 || c == 0x2014 ||
        c == 0xFF1A || c == 0xFF1B || c == 0xFF0C || (c >= 0x3001 && c <= 0x303F) || (c >= 0xFE30 && c <= 0xFE4F))
        return 2;
    if (c >= 0x3105 && c <= 0x312F) return 3;
    if ((c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x30FF)) return 4;
    return 0;
}

// Tiny Aya's \d{1,3}(?=(?:\d{3})*\b): a digit run followed by a non-word character (or the end)
// is cut into threes from the right; the first group takes the remainder. A run followed by a word
// character (a letter, "123abc") never matches.
size_t match_digit_groups(const Text& t, size_t p, size_t e) {
    if (!t.has(p, kDigit)) return 0;
    const size_t q = t.run_mask(p, e, kDigit);
    if (q < e && t.has(q, kWord)) return 0;
    const size_t r = (q - p) % 3;
    return r == 0 ? 3 : r;
}

}  // namespace

Pieces split_tekken(const Text& t, Pieces pieces) { return split_cased(t, pieces, {false, false, 1, true}); }
Pieces split_gpt4o(const Text& t, Pieces pieces) { return split_cased(t, pieces, {false, true, 3, true}); }
Pieces split_kimi_k2(const Text& t, Pieces pieces) { return split_cased(t, pieces, {true, true, 3, false}); }

Pieces split_granite_multi(const Text& t, Pieces pieces) {
    CasedRules r{false, true, 3, true};
    r.fold = Fold::Ascii;
    r.ascii_case = true;
    return split_cased(t, pieces, r);
}

Pieces split_youtu(const Text& t, Pieces pieces) {
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) -> size_t {
        const int c = youtu_class(x.cp(p));
        return c ? x.run(p, e, [&](size_t k) { return youtu_class(x.cp(k)) == c; }) - p : 0;
    });
    CasedRules r{false, true, 1, true};
    r.fold = Fold::Ascii;
    return split_cased(t, pieces, r);
}

Pieces split_tiny_aya(const Text& t, Pieces pieces) {
    pieces = split(t, pieces, match_digit_groups);
    return split_cased(t, pieces, {false, true, 3, true});
}

}  // namespace hearth::tokenizer::pre
