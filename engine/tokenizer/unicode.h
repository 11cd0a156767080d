// Unicode support the tokenizers need, without ICU: lenient UTF-8 decoding that keeps byte offsets,
// general categories (generated tables, see tools/gen_unicode_tables.py), the White_Space property
// that regex \s means, and GPT-2's byte <-> code point mapping for byte-level BPE.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

// Unicode general categories, in the order the generated table uses.
enum class Category : uint8_t {
    Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No,
    Pc, Pd, Ps, Pe, Pi, Pf, Po, Sm, Sc, Sk, So,
    Zs, Zl, Zp, Cc, Cf, Cs, Co, Cn,
};

Category category(uint32_t cp);
const char* unicode_version();  // of the generated tables

// Regex class tests as Oniguruma (Hugging Face tokenizers) defines them for Unicode text.
inline bool is_letter(Category c) { return c <= Category::Lo; }                            // \p{L}
inline bool is_mark(Category c) { return c >= Category::Mn && c <= Category::Me; }         // \p{M}
inline bool is_number(Category c) { return c >= Category::Nd && c <= Category::No; }       // \p{N}
inline bool is_punct(Category c) { return c >= Category::Pc && c <= Category::Po; }        // \p{P}
inline bool is_symbol(Category c) { return c >= Category::Sm && c <= Category::So; }       // \p{S}
bool is_whitespace(uint32_t cp);                                                           // \s (White_Space)
bool is_han(uint32_t cp);                                                                  // \p{Han} (script)

// Lower case one code point at a time, as Rust's char::to_lowercase (Hugging Face tokenizers'
// Lowercase normalizer) does: no final-sigma context, U+0130 becomes "i" + U+0307. Bytes that are
// not valid UTF-8 are kept as they are.
std::string lower_case(std::string_view text);

// One decoded code point and where it sits in the source bytes.
struct CodePoint {
    uint32_t cp;      // U+FFFD for an invalid byte
    uint32_t offset;  // byte offset in the source
    uint32_t len;     // bytes it occupies (1..4)
};

// Decodes UTF-8 leniently: every byte of the input belongs to exactly one entry, an invalid or
// truncated sequence yields U+FFFD for its first byte and decoding resumes at the next byte.
std::vector<CodePoint> decode_utf8(std::string_view text);

// Length of the UTF-8 sequence a lead byte announces (1 for continuation/invalid bytes), as
// llama.cpp splits text into symbols.
inline size_t utf8_seq_len(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 1;
}

void append_utf8(std::string& out, uint32_t cp);

// Number of bytes at the start of `s` that form complete, valid UTF-8; `s` is valid iff it returns s.size().
size_t valid_utf8_prefix(std::string_view s);
bool is_valid_utf8(std::string_view s);

// GPT-2 byte-level encoding: each byte maps to one printable code point (printable Latin-1 bytes to
// themselves, the rest to U+0100 upwards); byte_level_encode turns raw bytes into that UTF-8 text.
uint32_t byte_to_cp(uint8_t b);
int byte_from_cp(uint32_t cp);  // -1 when cp is not one of the 256 mapped code points
std::string byte_level_encode(std::string_view bytes);
// Inverse: each code point of `text` back to its byte; code points outside the mapping are kept as
// their UTF-8 bytes (added tokens are stored as plain text).
std::string byte_level_decode(std::string_view text);

namespace detail {
struct CategoryRun {
    uint32_t start;
    uint8_t cat;
};
extern const CategoryRun kCategoryRuns[];
extern const size_t kCategoryRunCount;
extern const char* const kUnicodeVersion;
struct CodeRange {
    uint32_t lo, hi;  // inclusive
};
extern const CodeRange kHanRanges[];  // unicode_han.cpp, sorted
extern const size_t kHanRangeCount;
struct LowerPair {
    uint32_t cp, lower;
};
extern const LowerPair kLowerPairs[];  // unicode_lower_table.cpp, sorted by cp
extern const size_t kLowerPairCount;
}  // namespace detail

}  // namespace hearth::tokenizer
