// Unicode Normalization Forms C and D, for tokenizer.json files whose normalizer asks for them (the
// Qwen family: NFC; BERT's accent stripping: NFD). Tables are generated
// (tools/gen_unicode_tables.py); Hangul is computed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::tokenizer {

// NFD (canonical decomposition and ordering) of the valid UTF-8 runs of `text`, invalid bytes kept
// as they are: the first step of BERT's accent stripping.
std::string nfd(std::string_view text);
// NFC of the valid UTF-8 runs of `text`; invalid bytes are kept as they are (and act as boundaries).
std::string nfc(std::string_view text);
// True when nfc(text) == text is certain without normalizing (the common case: no combining marks,
// no decomposable or combinable characters).
bool nfc_quick_check(std::string_view text);

namespace detail {
struct CccRun {
    uint32_t first, last;
    uint8_t ccc;
};
struct Decomposition {
    uint32_t cp, a, b;  // b = 0 for a singleton
};
struct Composition {
    uint32_t a, b, composite;
};
extern const CccRun kCccRuns[];
extern const size_t kCccRunCount;
extern const Decomposition kDecompositions[];
extern const size_t kDecompositionCount;
extern const Composition kCompositions[];
extern const size_t kCompositionCount;
extern const uint32_t kCompositionSeconds[];
extern const size_t kCompositionSecondCount;
}  // namespace detail

}  // namespace hearth::tokenizer
