// Pre-tokenizers of byte-level BPE vocabularies: split text into the pieces that BPE then encodes
// one by one. Each kind is the regex (or sequence of regexes) of the model family's tokenizer.json,
// matched by hand-written code with Oniguruma's semantics (leftmost alternative, greedy quantifiers
// with backtracking), which is what Hugging Face tokenizers runs. In a sequence every regex splits
// each piece of the previous step again; matches and the text between them both become pieces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/util/status.h"

namespace hearth::tokenizer {

enum class PreKind {
    Gpt2,           // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    Llama3,         // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Qwen2,          // as Llama3 with \p{N} (single digits)
    DeepseekLlm,    // [\r\n] ; \s?[Latin/Greek/... letters]+ ; \s?[ASCII/fullwidth punctuation]+ ; \s+$ ; [CJK]+ ; \p{N}+
    DeepseekCoder,  // [\r\n] ; \s?\p{L}+ ; \s?\p{P}+ ; [CJK]+ ; \p{N}
    DeepseekV3,     // \p{N}{1,3} ; [CJK/kana]+ ; [punct][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
};

// tokenizer.ggml.pre names (as llama.cpp's converter writes them) to a kind; unknown names are an error.
Result<PreKind> pre_kind_from_name(std::string_view name);
// The canonical tokenizer.ggml.pre name written for a kind.
const char* pre_kind_name(PreKind kind);

// Splits `text` into consecutive non-empty pieces that together cover it exactly (views into `text`).
// Invalid UTF-8 bytes are classified as U+FFFD but kept byte for byte.
std::vector<std::string_view> pre_tokenize(PreKind kind, std::string_view text);

}  // namespace hearth::tokenizer
