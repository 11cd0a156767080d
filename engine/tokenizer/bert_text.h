// BERT's text rules for uncased WordPiece vocabularies, as Hugging Face tokenizers' BertNormalizer
// (clean_text, handle_chinese_chars, strip_accents, lowercase: all on) and BertPreTokenizer apply
// them. The WordPiece matching itself is Tokenizer::encode_wpm_word (tokenizer_wpm.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

// In order: drops U+0000, U+FFFD (also what an invalid UTF-8 byte decodes to) and control
// characters (Cc, Cf, Co, Cs; tab, LF and CR count as white space); turns white space into ' ';
// puts spaces around CJK ideographs; NFD, then drops nonspacing marks (Mn); lower-cases per code point.
std::string bert_normalize(std::string_view text);

// Splits normalized text into words: white space separates (and is dropped), each punctuation
// character (ASCII punctuation or Unicode P*) is a word of its own. Views into `text`.
void bert_pre_tokenize(std::string_view text, std::vector<std::string_view>& words);

// The CJK ideograph blocks BERT isolates (Google's original tokenization.py; Hugging Face's
// is_chinese_char). Hangul, kana and CJK punctuation are not among them.
bool is_bert_cjk(uint32_t cp);

// How BERT's rules treat a code point that is not white space: dropped as a control character,
// dropped as a nonspacing mark (after NFD), isolated as punctuation, or kept in the word.
enum class BertClass : uint8_t { kNone, kControl, kMark, kPunct };
BertClass bert_class(uint32_t cp);

namespace detail {
// Where Hugging Face's (older) category tables disagree with Hearth's; generated from Hugging Face
// by tools/fixtures/gen_bert_unicode_table.py (bert_unicode_table.cpp), sorted.
struct BertClassRun {
    uint32_t lo, hi;  // inclusive
    BertClass cls;
};
extern const BertClassRun kBertClassRuns[];
extern const size_t kBertClassRunCount;
}  // namespace detail

}  // namespace hearth::tokenizer
