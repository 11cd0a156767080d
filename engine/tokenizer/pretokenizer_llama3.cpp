// The Llama 3 family of pre-tokenizers: one regex of the shape
//   C|[^\r\n\p{L}\p{N}]?WORD|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+TAIL|\s*[\r\n]+|\s+(?!\S)|\s+
// with variations per family (contractions and how they fold, what a word is, how many digits
// stay together, what may follow punctuation, how whitespace runs are cut), described by Rules.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "engine/tokenizer/pretokenizer_text.h"

namespace hearth::tokenizer::pre {

namespace {

enum class PunctTail { Newlines, None, OneNewline };  // [\r\n]* | nothing | [\r\n/]?
enum class Word { Letters, LettersMarks, SpacedLetters };

struct Rules {
    bool contractions = true;
    Fold fold = Fold::Unicode;
    Word word = Word::Letters;
    size_t max_digits = 3;
    PunctTail tail = PunctTail::Newlines;
    bool cascade_spaces = false;  // Jais-2: \s{512}(?!\S)|\s{256}(?!\S)|...|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}
};

constexpr size_t kAnyDigits = std::numeric_limits<size_t>::max();

// The end of WORD starting at s, or s when none starts there.
size_t word_end(const Text& t, size_t s, size_t e, Word w) {
    switch (w) {
        case Word::Letters:
            return t.run_mask(s, e, kL);
        case Word::LettersMarks:  // [\p{L}\p{M}]+
            return t.run_mask(s, e, kL | kM);
        case Word::SpacedLetters: {  // (?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+: single spaces join letters
            if (s >= e || !t.has(s, kL)) return s;
            size_t k = s + 1;
            while (k < e) {
                if (t.has(k, kL | kM)) ++k;
                else if (t.cp(k) == ' ' && k + 1 < e && t.has(k + 1, kL)) k += 2;
                else break;
            }
            return k;
        }
    }
    return s;
}

// The whitespace run a position is in, remembered while the split walks through it: Jais-2's
// cascade takes a long run 512 characters at a time, and scanning the rest of the run again at
// each step would make a long run quadratic.
struct WsRun {
    size_t begin = 1, end = 0;  // [begin, end): whitespace, ending at a non-space or the piece's end
    size_t piece_end = 0;
    size_t nl_end = 0;          // just after the run's last \r or \n; begin when it has none
};

const WsRun& ws_run(const Text& t, size_t p, size_t e, WsRun& c) {
    if (p >= c.begin && p < c.end && e == c.piece_end) return c;
    c.begin = p;
    c.end = t.run_mask(p, e, kWs);
    c.piece_end = e;
    c.nl_end = p;
    for (size_t k = p; k < c.end; ++k) {
        if (is_crlf(t.cp(k))) c.nl_end = k + 1;
    }
    return c;
}

// Jais-2's cascade at a whitespace position (no \r or \n ahead in the run): the largest of 512,
// 256, ..., 4 spaces that is followed by more whitespace or the piece's end, else 2 or 1 on the
// same condition, else 1.
size_t match_cascade_spaces(const WsRun& run, size_t p) {
    const size_t r = run.end - p;
    auto fits = [&](size_t n) { return r > n || (r == n && run.end == run.piece_end); };
    for (size_t n = 512; n >= 4; n /= 2) {
        if (fits(n)) return n;
    }
    if (fits(2)) return 2;
    return 1;  // \s{1}(?!\S) or \s{1}
}

size_t match_rules(const Text& t, size_t p, size_t e, const Rules& r, WsRun& cache) {
    if (r.contractions) {
        if (size_t n = match_contraction(t, p, e, r.fold)) return n;
    }
    const uint32_t c = t.cp(p);
    // [^\r\n\p{L}\p{N}]?WORD: the optional character is tried first.
    if (!is_crlf(c) && !t.has(p, kL | kN) && p + 1 < e) {
        const size_t q = word_end(t, p + 1, e, r.word);
        if (q > p + 1) return q - p;
    }
    if (const size_t q = word_end(t, p, e, r.word); q > p) return q - p;
    // \p{N}{1,k}
    if (t.has(p, kN)) return std::min(t.run_mask(p, e, kN) - p, r.max_digits);
    // ' ?[^\s\p{L}\p{N}]+TAIL' (Qwen3.5's class also leaves out marks)
    const uint16_t not_punct = r.word == Word::LettersMarks ? (kWs | kL | kN | kM) : (kWs | kL | kN);
    auto punct = [&](size_t k) { return !t.has(k, not_punct); };
    size_t s = p;
    if (c == ' ' && p + 1 < e && punct(p + 1)) s = p + 1;
    if (punct(s)) {
        const size_t q = t.run(s, e, punct);
        switch (r.tail) {
            case PunctTail::Newlines: return t.run(q, e, [&](size_t k) { return is_crlf(t.cp(k)); }) - p;
            case PunctTail::None: return q - p;
            case PunctTail::OneNewline: return q - p + (q < e && is_crlf(t.cp(q)) ? 1 : 0);  // '/' is in the run already
        }
    }
    if (t.has(p, kWs)) {
        const WsRun& run = ws_run(t, p, e, cache);
        if (run.nl_end > p) return run.nl_end - p;  // \s*[\r\n]+ (and \s*[\r\n]): up to the last \r or \n
        if (r.cascade_spaces) return match_cascade_spaces(run, p);
        // \s+(?!\S)|\s+: the whole run at the piece's end, else all but its last character
        const size_t n = run.end - p;
        return run.end == e || n == 1 ? n : n - 1;
    }
    return 0;
}

Pieces split_rules(const Text& t, const Pieces& pieces, const Rules& r) {
    WsRun cache;
    return split(t, pieces, [&](const Text& x, size_t p, size_t e) { return match_rules(x, p, e, r, cache); });
}

Rules with_digits(size_t n) {
    Rules r;
    r.max_digits = n;
    return r;
}

}  // namespace

Pieces split_llama3(const Text& t, Pieces pieces) { return split_rules(t, pieces, with_digits(3)); }
Pieces split_qwen2(const Text& t, Pieces pieces) { return split_rules(t, pieces, with_digits(1)); }

Pieces split_seed_coder(const Text& t, Pieces pieces) {
    Rules r = with_digits(1);
    r.tail = PunctTail::None;  // ' ?[^\s\p{L}\p{N}\r\n]+'
    return split_rules(t, pieces, r);
}

Pieces split_qwen35(const Text& t, Pieces pieces) {
    Rules r = with_digits(1);
    r.word = Word::LettersMarks;
    return split_rules(t, pieces, r);
}

Pieces split_jais2(const Text& t, Pieces pieces) {
    Rules r = with_digits(3);
    r.cascade_spaces = true;
    return split_rules(t, pieces, r);
}

Pieces split_ufakzeka(const Text& t, Pieces pieces) {  // Qwen2 without the contractions
    Rules r = with_digits(1);
    r.contractions = false;
    return split_rules(t, pieces, r);
}

Pieces split_laguna(const Text& t, Pieces pieces) {
    // [^\n]+|[\n]+: lines and runs of line feeds, then Qwen2's regex as llama.cpp writes it.
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) {
        const bool nl = x.cp(p) == '\n';
        return x.run(p, e, [&](size_t k) { return (x.cp(k) == '\n') == nl; }) - p;
    });
    Rules r = with_digits(1);
    r.fold = Fold::Ascii;
    return split_rules(t, pieces, r);
}

Pieces split_minicpm5(const Text& t, Pieces pieces) {
    pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return std::min<size_t>(x.run_mask(p, e, kN) - p, 3); });
    return split_rules(t, pieces, with_digits(kAnyDigits));
}

Pieces split_exaone_moe(const Text& t, Pieces pieces) {
    Rules r = with_digits(1);
    r.word = Word::SpacedLetters;
    r.tail = PunctTail::OneNewline;
    return split_rules(t, pieces, r);
}

}  // namespace hearth::tokenizer::pre
