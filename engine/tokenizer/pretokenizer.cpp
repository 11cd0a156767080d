// The classified text, the matchers shared by several families, the GPT-2 family's sequences
// (GPT-2, default, Falcon, StarCoder, Chameleon, SuperBPE, BLOOM, Viking) and the dispatch over
// every kind.
#include "engine/tokenizer/pretokenizer.h"

#include <algorithm>

#include "engine/tokenizer/pretokenizer_text.h"

namespace hearth::tokenizer {

namespace pre {

namespace {

// Oniguruma's \w on Unicode text, measured with Hugging Face tokenizers over every assigned code
// point: letters, marks, decimal and letter numbers, connector punctuation, the Latin-1 superscripts
// and fractions (² ³ ¹ ¼ ½ ¾), and the circled/squared Latin letters (Alphabetic symbols).
bool is_word(uint32_t cp, Category cat) {
    if (is_letter(cat) || is_mark(cat) || cat == Category::Nd || cat == Category::Nl || cat == Category::Pc) return true;
    if (cp < 0x100) return cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0xBC && cp <= 0xBE);
    return (cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
           (cp >= 0x1F170 && cp <= 0x1F189);
}

}  // namespace

Text::Text(std::string_view s) : src_(s), cps_(decode_utf8(s)) {
    ch_.reserve(cps_.size());
    for (const CodePoint& c : cps_) {
        uint16_t f = 0;
        if (is_whitespace(c.cp)) f |= kWs;
        const Category cat = category(c.cp);
        if (is_letter(cat)) f |= kL;
        else if (is_number(cat)) f |= kN;
        else if (is_punct(cat)) f |= kP;
        else if (is_symbol(cat)) f |= kS;
        else if (is_mark(cat)) f |= kM;
        if (cat == Category::Lu || cat == Category::Lt || cat == Category::Lm || cat == Category::Lo || is_mark(cat)) f |= kUpper;
        if (cat == Category::Ll || cat == Category::Lm || cat == Category::Lo || is_mark(cat)) f |= kLower;
        if (cat == Category::Nd) f |= kDigit;
        if (is_word(c.cp, cat)) f |= kWord;
        if (is_han(c.cp)) f |= kHan;
        ch_.push_back({c.cp, f});
    }
}

std::string_view Text::bytes(size_t b, size_t e) const {
    const size_t ob = cps_[b].offset;
    const size_t oe = e < cps_.size() ? cps_[e].offset : src_.size();
    return src_.substr(ob, oe - ob);
}

size_t match_ws_tail(const Text& t, size_t p, size_t e) {
    const size_t q = t.run_mask(p, e, kWs);
    if (q == e) return q - p;          // \s+ up to the end: (?!\S) holds
    if (q - p >= 2) return q - p - 1;  // leave the last space to prefix the next word
    return q - p;                      // plain \s+
}

size_t match_ws_newlines(const Text& t, size_t p, size_t e) {
    const size_t q = t.run_mask(p, e, kWs);
    for (size_t k = q; k > p; --k) {
        if (is_crlf(t.cp(k - 1))) return k - p;
    }
    return 0;
}

size_t match_contraction(const Text& t, size_t p, size_t e, Fold fold) {
    if (t.cp(p) != '\'' || p + 1 >= e) return 0;
    auto lower = [&](size_t i) -> uint32_t {
        uint32_t c = t.cp(i);
        if (fold == Fold::Exact) return c;
        if (c >= 'A' && c <= 'Z') return c + 32;
        if (c == 0x17F && fold == Fold::Unicode) return 's';
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
    if (size_t n = match_contraction(t, p, e, Fold::Exact)) return n;
    // ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': the optional space only helps when the next
    // character starts one of the three runs (the classes are disjoint, so order does not matter).
    size_t s = p;
    if (t.cp(p) == ' ' && p + 1 < e && !t.has(p + 1, kWs)) s = p + 1;
    if (t.has(s, kL)) return t.run_mask(s, e, kL) - p;
    if (t.has(s, kN)) return t.run_mask(s, e, kN) - p;
    if (t.other(s)) return t.run_other(s, e) - p;
    return match_ws_tail(t, p, e);  // p is whitespace here
}

}  // namespace pre

namespace {

using namespace pre;

// [\p{P}\$\+<=>\^~\|]+ (llama.cpp's default set) and the same with ` (Falcon).
size_t match_punct_run(const Text& t, size_t p, size_t e, bool backtick) {
    auto in = [&](size_t k) {
        const uint32_t c = t.cp(k);
        return t.has(k, kP) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '~' ||
               c == '|' || (backtick && c == '`');
    };
    return t.run(p, e, in) - p;
}

// [0-9][0-9][0-9]
size_t match_three_ascii_digits(const Text& t, size_t p, size_t e) {
    return p + 3 <= e && ascii_digit(t.cp(p)) && ascii_digit(t.cp(p + 1)) && ascii_digit(t.cp(p + 2)) ? 3 : 0;
}

size_t match_one_number(const Text& t, size_t p, size_t) { return t.has(p, kN) ? 1 : 0; }

// BLOOM: ' ?[^(\s|.,!?…。，、।۔،)]+' (the brackets and bar are literal members of the class).
bool bloom_word_char(const Text& t, size_t k) {
    if (t.has(k, kWs)) return false;
    switch (t.cp(k)) {
        case '(': case ')': case '|': case '.': case ',': case '!': case '?':
        case 0x2026: case 0x3002: case 0xFF0C: case 0x3001: case 0x0964: case 0x06D4: case 0x060C:
            return false;
        default:
            return true;
    }
}

size_t match_bloom(const Text& t, size_t p, size_t e) {
    size_t s = p;
    if (t.cp(p) == ' ' && p + 1 < e && bloom_word_char(t, p + 1)) s = p + 1;
    if (!bloom_word_char(t, s)) return 0;
    return t.run(s, e, [&](size_t k) { return bloom_word_char(t, k); }) - p;
}

// Chameleon's special-text regexes.
size_t match_literal(const Text& t, size_t p, size_t e, std::string_view lit) {
    if (e - p < lit.size()) return 0;
    for (size_t i = 0; i < lit.size(); ++i) {
        if (t.cp(p + i) != static_cast<unsigned char>(lit[i])) return 0;
    }
    return lit.size();
}

// <sentinel:[0-9]+>
size_t match_sentinel(const Text& t, size_t p, size_t e) {
    const size_t n = match_literal(t, p, e, "<sentinel:");
    if (!n) return 0;
    const size_t q = t.run(p + n, e, [&](size_t k) { return ascii_digit(t.cp(k)); });
    return q > p + n && q < e && t.cp(q) == '>' ? q + 1 - p : 0;
}

// (IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z: the letters A-I are never Z, so the {1,4} run must be
// followed directly by the Z (a fifth letter fails the match).
size_t match_image_token(const Text& t, size_t p, size_t e) {
    const size_t n = match_literal(t, p, e, "IMGIMG");
    if (!n) return 0;
    size_t q = p + n;
    while (q < e && q < p + n + 4 && t.cp(q) >= 'A' && t.cp(q) <= 'I') ++q;
    return q > p + n && q < e && t.cp(q) == 'Z' ? q + 1 - p : 0;
}

// ([\t\n]|    |  )
size_t match_chameleon_space(const Text& t, size_t p, size_t e) {
    if (t.cp(p) == '\t' || t.cp(p) == '\n') return 1;
    if (match_literal(t, p, e, "    ")) return 4;
    if (match_literal(t, p, e, "  ")) return 2;
    return 0;
}

// (?=(\d{3})+(?!\d)) within each piece: an empty match before every position from which a run of
// digits whose length is a multiple of three reaches the next non-digit (or the piece's end). Each
// empty match cuts the piece there.
Pieces split_digit_groups(const Text& t, const Pieces& in) {
    Pieces out;
    out.reserve(in.size());
    for (const Piece& p : in) {
        size_t start = p.b;
        for (size_t k = p.b; k < p.e; ++k) {
            const size_t run = t.run_mask(k, p.e, kDigit) - k;
            if (k > start && run >= 3 && run % 3 == 0) {
                out.push_back({start, k});
                start = k;
            }
        }
        out.push_back({start, p.e});
    }
    return out;
}

// CLIP: <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+
// (its text is lower-cased first, so the contractions are matched as written).
size_t match_clip(const Text& t, size_t p, size_t e) {
    if (size_t n = match_literal(t, p, e, "<|startoftext|>")) return n;
    if (size_t n = match_literal(t, p, e, "<|endoftext|>")) return n;
    if (size_t n = match_contraction(t, p, e, Fold::Exact)) return n;
    if (t.has(p, kL)) return t.run_mask(p, e, kL) - p;
    if (t.has(p, kN)) return 1;
    if (t.other(p)) return t.run_other(p, e) - p;
    return 0;  // white space: left between the matches
}

}  // namespace

std::vector<std::string_view> pre_tokenize(PreKind kind, std::string_view text) {
    std::vector<std::string_view> out;
    if (text.empty()) return out;
    const Text t(text);
    Pieces pieces{{0, t.size()}};
    switch (kind) {
        case PreKind::Gpt2:
            pieces = split(t, pieces, match_gpt2);
            break;
        case PreKind::Default:
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return match_punct_run(x, p, e, false); });
            pieces = split(t, pieces, match_gpt2);
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return x.run_mask(p, e, kN) - p; });
            pieces = split(t, pieces, match_three_ascii_digits);
            break;
        case PreKind::Falcon:
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return match_punct_run(x, p, e, true); });
            pieces = split(t, pieces, match_gpt2);
            pieces = split(t, pieces, match_three_ascii_digits);
            break;
        case PreKind::Starcoder:
            pieces = split(t, pieces, match_one_number);
            pieces = split(t, pieces, match_gpt2);
            break;
        case PreKind::Chameleon:
            pieces = split(t, pieces, match_sentinel);
            pieces = split(t, pieces, match_image_token);
            pieces = split(t, pieces, match_chameleon_space);
            pieces = split(t, pieces, match_one_number);
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t) -> size_t {
                return x.has(p, kP) || ascii_punct(x.cp(p)) ? 1 : 0;
            });
            pieces = split(t, pieces, match_gpt2);
            break;
        case PreKind::Superbpe:
            pieces = split(t, pieces, [](const Text& x, size_t p, size_t e) { return x.run_mask(p, e, kN) - p; });
            pieces = split_digit_groups(t, pieces);
            break;
        case PreKind::Bloom:
            pieces = split(t, pieces, match_bloom);
            break;
        case PreKind::Viking:
            pieces = split(t, pieces, match_bloom);
            pieces = split(t, pieces, match_one_number);
            break;
        case PreKind::Llama3: pieces = split_llama3(t, std::move(pieces)); break;
        case PreKind::Qwen2: pieces = split_qwen2(t, std::move(pieces)); break;
        case PreKind::SeedCoder: pieces = split_seed_coder(t, std::move(pieces)); break;
        case PreKind::Qwen35: pieces = split_qwen35(t, std::move(pieces)); break;
        case PreKind::Jais2: pieces = split_jais2(t, std::move(pieces)); break;
        case PreKind::Ufakzeka: pieces = split_ufakzeka(t, std::move(pieces)); break;
        case PreKind::Laguna: pieces = split_laguna(t, std::move(pieces)); break;
        case PreKind::Minicpm5: pieces = split_minicpm5(t, std::move(pieces)); break;
        case PreKind::ExaoneMoe: pieces = split_exaone_moe(t, std::move(pieces)); break;
        case PreKind::Spark2_5: pieces = split_spark2_5(t, std::move(pieces)); break;
        case PreKind::Youtu: pieces = split_youtu(t, std::move(pieces)); break;
        case PreKind::TinyAya: pieces = split_tiny_aya(t, std::move(pieces)); break;
        case PreKind::GraniteMulti: pieces = split_granite_multi(t, std::move(pieces)); break;
        case PreKind::DeepseekLlm:
            pieces = split_deepseek_llm(t, std::move(pieces));
            break;
        case PreKind::DeepseekCoder:
            pieces = split_deepseek_coder(t, std::move(pieces));
            break;
        case PreKind::DeepseekV3:
            pieces = split_deepseek_v3(t, std::move(pieces));
            break;
        case PreKind::Tekken:
            pieces = split_tekken(t, std::move(pieces));
            break;
        case PreKind::Gpt4o:
            pieces = split_gpt4o(t, std::move(pieces));
            break;
        case PreKind::KimiK2:
            pieces = split_kimi_k2(t, std::move(pieces));
            break;
        case PreKind::Clip:
            pieces = split(t, pieces, match_clip);
            break;
    }
    out.reserve(pieces.size());
    for (const Piece& p : pieces) out.push_back(t.bytes(p.b, p.e));
    return out;
}

}  // namespace hearth::tokenizer
