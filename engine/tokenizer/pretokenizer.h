// Pre-tokenizers of byte-level BPE vocabularies: split text into the pieces that BPE then encodes
// one by one. Each kind is the regex (or sequence of regexes) that llama.cpp's BPE tokenizer uses
// for a family of tokenizer.ggml.pre names, as the family's tokenizer.json writes it, matched by
// hand-written code with Oniguruma's semantics (leftmost alternative, greedy quantifiers with
// backtracking), which is what Hugging Face tokenizers runs. In a sequence every regex splits each
// piece of the previous step again; matches and the text between them both become pieces.
//
// The matchers live in pretokenizer_*.cpp by family; pretokenizer_names.cpp maps the names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/util/status.h"

namespace hearth::tokenizer {

// W = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ | [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*
// (a word split before a capital: "camelCase" -> "camel", "Case"); C = (?i:'s|'t|'re|'ve|'m|'ll|'d);
// X = [^\r\n\p{L}\p{N}] (one character that may lead a word).
enum class PreKind {
    Gpt2,           // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
    Default,        // [\p{P}\$\+<=>\^~\|]+ ; GPT-2 ; \p{N}+ ; [0-9][0-9][0-9]   (llama.cpp's fallback set)
    Llama3,         // C|X?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Qwen2,          // as Llama3 with \p{N} (single digits)
    SeedCoder,      // as Qwen2 without [\r\n]* after punctuation
    DeepseekLlm,    // [\r\n] ; \s?[Latin/Greek/... letters]+ ; \s?[ASCII/fullwidth punctuation]+ ; \s+$ ; [CJK]+ ; \p{N}+
    DeepseekCoder,  // [\r\n] ; \s?\p{L}+ ; \s?\p{P}+ ; [CJK]+ ; \p{N}
    DeepseekV3,     // \p{N}{1,3} ; [CJK/kana]+ ; [punct][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Falcon,         // [\p{P}\$\+<=>\^~\|`]+ ; GPT-2 ; [0-9][0-9][0-9]
    Starcoder,      // \p{N} ; GPT-2   (single digits first)
    Bloom,          //  ?[^(\s|.,!?…。，、।۔،)]+
    Viking,         // Bloom ; \p{N}
    Tekken,         // X?W|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Gpt4o,          // X?W C?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
    KimiK2,         // [\p{Han}]+|X?W C? (W without Han)|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Chameleon,      // <sentinel:[0-9]+> ; (IMGIMG)([A-I]{1,4})Z ; ([\t\n]|    |  ) ; \p{N} ; [\p{P}!-/:-@\[-`{-~] ; GPT-2
    Superbpe,       // \p{N}+ ; (?=(\d{3})+(?!\d))   (digit runs cut into threes from the right)
    Qwen35,         // as Qwen2 with [\p{L}\p{M}]+ words and ' ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*'
    Jais2,          // as Llama3 with whitespace cut as \s{512}(?!\S)|\s{256}(?!\S)|...|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}
    Ufakzeka,       // as Qwen2 without the contractions
    Laguna,         // [^\n]+|[\n]+ ; Qwen2 (contractions as (?:'[sS]|...))
    Minicpm5,       // \p{N}{1,3} ; as Llama3 with \p{N}+
    ExaoneMoe,      // C|X?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+
    Spark2_5,       // DeepseekV3 with ' ?[\p{P}\p{S}]+|[\r\n]' in its third regex ; \p{N}
    Youtu,          // [Hangul]+|[CJK punctuation]+|[Bopomofo]+|[CJK/kana]+ ; as Tekken with (?:'[sS]|...)? after words
    TinyAya,        // \d{1,3}(?=(?:\d{3})*\b) ; Gpt4o
    GraniteMulti,   // as Gpt4o with llama.cpp's ((?=[\p{L}\p{M}])[^a-z]) / ((?=[\p{L}\p{M}])[^A-Z]) classes
    Clip,           // <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+
                    // (Hearth's name "clip"; the tokenizer also collapses and drops spaces and lower-cases)
};

// What a tokenizer.ggml.pre name means: its regex set and the flags llama.cpp sets with it (a
// vocabulary's own GGUF keys override add_bos; the others are llama.cpp's per-name choices).
struct PreSpec {
    PreKind kind = PreKind::Gpt2;
    bool add_bos = false;        // llama.cpp sets add_bos for the name
    bool ignore_merges = false;  // a word that is a token is taken whole
    bool clean_spaces = true;    // clean_up_tokenization_spaces when decoding
};

// tokenizer.ggml.pre names, with llama.cpp's exact spellings ("" and "default" are llama.cpp's
// default set), and "clip" for CLIP's text tokenizer (Stable Diffusion), which llama.cpp has no name for. Unknown names, and names whose vocabularies are not byte-level BPE over regex
// pieces (gemma4, whitespace, ...), are an error that names them.
Result<PreSpec> pre_spec_from_name(std::string_view name);
Result<PreKind> pre_kind_from_name(std::string_view name);
// The canonical tokenizer.ggml.pre name written for a kind.
const char* pre_kind_name(PreKind kind);
// Every name llama.cpp accepts, with its kind and flags (for tests and tools); "clip" is not listed.
struct PreName {
    const char* name;
    PreSpec spec;
};
const std::vector<PreName>& pre_names();

// Splits `text` into consecutive non-empty pieces that together cover it exactly (views into `text`).
// Invalid UTF-8 bytes are classified as U+FFFD but kept byte for byte.
std::vector<std::string_view> pre_tokenize(PreKind kind, std::string_view text);

}  // namespace hearth::tokenizer
