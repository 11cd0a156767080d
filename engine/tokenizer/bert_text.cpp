// BertNormalizer and BertPreTokenizer over Hearth's Unicode tables (unicode.h, unicode_nfc.h).
#include "engine/tokenizer/bert_text.h"

#include <algorithm>

#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/unicode_nfc.h"

namespace hearth::tokenizer {

namespace {

// Rust's char::is_whitespace (White_Space) plus tab/LF/CR, as Hugging Face's is_whitespace.
bool bert_space(uint32_t cp) { return is_whitespace(cp); }

}  // namespace

BertClass bert_class(uint32_t cp) {
    if (cp < 0x80) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return BertClass::kNone;  // white space, not control
        if (cp < 0x20 || cp == 0x7F) return BertClass::kControl;
        const bool punct = (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
        return punct ? BertClass::kPunct : BertClass::kNone;  // ASCII punctuation includes $+<=>^`|~ (symbols)
    }
    // Hugging Face's categories are of an older Unicode version: its view where it differs.
    const detail::BertClassRun* end = detail::kBertClassRuns + detail::kBertClassRunCount;
    const detail::BertClassRun* it = std::upper_bound(detail::kBertClassRuns, end, cp, [](uint32_t v, const detail::BertClassRun& r) { return v < r.lo; });
    if (it != detail::kBertClassRuns && cp <= (it - 1)->hi) return (it - 1)->cls;
    // is_control is the "other" categories but unassigned code points (Cn), which its crate keeps.
    const Category c = category(cp);
    if (c == Category::Cc || c == Category::Cf || c == Category::Co || c == Category::Cs) return BertClass::kControl;
    if (c == Category::Mn) return BertClass::kMark;
    return is_punct(c) ? BertClass::kPunct : BertClass::kNone;
}

bool is_bert_cjk(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::string bert_normalize(std::string_view text) {
    // clean_text and handle_chinese_chars, one code point at a time.
    std::string cleaned;
    cleaned.reserve(text.size() + 8);
    bool ascii = true;
    for (const CodePoint& c : decode_utf8(text)) {
        const uint32_t cp = c.cp;
        if (cp == 0 || cp == 0xFFFD || bert_class(cp) == BertClass::kControl) continue;
        if (bert_space(cp)) {
            cleaned += ' ';
        } else if (is_bert_cjk(cp)) {
            cleaned += ' ';
            append_utf8(cleaned, cp);
            cleaned += ' ';
            ascii = false;
        } else {
            append_utf8(cleaned, cp);
            ascii &= cp < 0x80;
        }
    }
    // strip_accents: NFD, then no nonspacing marks. Lower case comes last, as in Hugging Face, so
    // the U+0307 that lower-casing U+0130 yields stays (NFD has already taken U+0130 apart).
    if (!ascii) {
        const std::string decomposed = nfd(cleaned);
        cleaned.clear();
        for (const CodePoint& c : decode_utf8(decomposed)) {
            if (bert_class(c.cp) != BertClass::kMark) append_utf8(cleaned, c.cp);
        }
    }
    return lower_case(cleaned);
}

void bert_pre_tokenize(std::string_view text, std::vector<std::string_view>& words) {
    size_t start = std::string_view::npos;  // start of the word being read
    for (const CodePoint& c : decode_utf8(text)) {
        const bool space = bert_space(c.cp), punct = !space && bert_class(c.cp) == BertClass::kPunct;
        if (space || punct) {
            if (start != std::string_view::npos) words.push_back(text.substr(start, c.offset - start));
            start = std::string_view::npos;
            if (punct) words.push_back(text.substr(c.offset, c.len));
        } else if (start == std::string_view::npos) {
            start = c.offset;
        }
    }
    if (start != std::string_view::npos) words.push_back(text.substr(start));
}

}  // namespace hearth::tokenizer
