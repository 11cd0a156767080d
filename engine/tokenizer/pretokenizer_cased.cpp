// The pre-tokenizers that split words before a capital letter (Tekken, GPT-4o and Kimi-K2): a word
// is [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ or [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+
// [\p{Ll}\p{Lm}\p{Lo}\p{M}]*, optionally led by one [^\r\n\p{L}\p{N}] character. The two classes
// overlap (Lm, Lo and marks are in both), which is what the backtracking below resolves.
#include "engine/tokenizer/pretokenizer_text.h"

#include <algorithm>

namespace hearth::tokenizer::pre {

namespace {

struct CasedRules {
    bool no_han;         // Kimi-K2: the classes exclude \p{Han} (Han runs are their own alternative)
    bool contractions;   // GPT-4o, Kimi-K2: (?i:'s|'t|'re|'ve|'m|'ll|'d)? after a word
    size_t max_digits;   // \p{N}{1,max}
    bool punct_slash;    // ' ?[^\s\p{L}\p{N}]+[\r\n/]*' (Tekken, GPT-4o) rather than [\r\n]*
};

// The word alternatives; returns the match length or 0.
size_t match_cased_word(const Text& t, size_t p, size_t e, const CasedRules& r) {
    auto upper = [&](size_t k) { return t.has(k, kUpper) && !(r.no_han && t.has(k, kHan)); };
    auto lower = [&](size_t k) { return t.has(k, kLower) && !(r.no_han && t.has(k, kHan)); };
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
    if (r.contractions && end < e) end += match_contraction(t, end, e, true);
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

}  // namespace

Pieces split_tekken(const Text& t, Pieces pieces) { return split_cased(t, pieces, {false, false, 1, true}); }
Pieces split_gpt4o(const Text& t, Pieces pieces) { return split_cased(t, pieces, {false, true, 3, true}); }
Pieces split_kimi_k2(const Text& t, Pieces pieces) { return split_cased(t, pieces, {true, true, 3, false}); }

}  // namespace hearth::tokenizer::pre
