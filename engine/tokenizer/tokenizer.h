// Tokenizers of GGUF language models: SentencePiece-style ("llama": score-driven merges with byte
// fallback), byte-level BPE ("gpt2": ranked merges after a family-specific pre-tokenizer) and BERT's
// WordPiece ("bert": greedy longest match after BERT's normalizer, uncased vocabularies).
//
// Built from GGUF metadata (tokenizer.ggml.*), from a Hugging Face folder (tokenizer.json +
// tokenizer_config.json) or from a VocabSpec filled in memory; a tokenizer writes its vocabulary back
// as GGUF metadata, so the converter can carry a Hugging Face tokenizer into a GGUF file.
//
// Behaviour follows llama.cpp (which Hugging Face tokenizers' outputs check): SPM escapes spaces as
// U+2581 and prefixes one when add_space_prefix is set; byte-level BPE maps bytes to printable code
// points; WordPiece tokens are stored in llama.cpp's "phantom space" spelling (a word-initial piece
// "abc" as "\u2581abc", a continuation "##abc" as "abc", control tokens as written) and match
// Hugging Face's BertNormalizer + BertPreTokenizer + WordPiece; user-defined (added, non-special) tokens written in the text are always recognised, control
// tokens only when parse_special is set. A Tokenizer is immutable after loading and safe to use from
// several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/flat_index.h"
#include "engine/tokenizer/pretokenizer.h"
#include "engine/util/status.h"

namespace hearth::gguf {
class File;
class Writer;
}  // namespace hearth::gguf

namespace hearth::tokenizer {

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t { Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

enum class VocabType { Spm, Bpe, Wpm };  // tokenizer.ggml.model "llama" / "gpt2" / "bert"

// Everything a vocabulary is made of, as GGUF metadata holds it. Loaders fill one; so can tests and
// the converter. Unset optionals take the defaults llama.cpp uses for the model/pre-tokenizer.
struct VocabSpec {
    std::string model = "gpt2";          // "llama" (SentencePiece), "gpt2" (byte-level BPE) or "bert" (WordPiece)
    std::string pre;                     // tokenizer.ggml.pre (BPE only); "" = default
    std::vector<std::string> tokens;     // token text by id (byte-level text for gpt2, phantom spelling for bert)
    std::vector<float> scores;           // SPM merge scores; empty = all 0
    std::vector<int32_t> types;          // TokenType by id; empty = all Normal
    std::vector<std::string> merges;     // BPE merges "left right", rank = index
    std::vector<uint8_t> lstrip, rstrip; // per id, from Hugging Face added tokens; empty = none
    // -1 = none / default. bert: bos is [CLS], eos [SEP] (defaults: those texts, [UNK], [PAD]).
    int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1;
    std::optional<bool> add_bos, add_eos, add_space_prefix, ignore_merges, clean_spaces;
    std::optional<bool> nfc;             // NFC-normalize text before pre-tokenizing (default: qwen2 family)
    std::string end_of_word_suffix;      // BPE: appended to a word's last character before merging ("</w>", CLIP)
    int32_t max_word_chars = 100;        // WordPiece: a longer word is [UNK] (not stored in GGUF; 100 everywhere)
    std::string name;                    // general.name (a few per-model rules depend on it)
    std::string chat_template;           // tokenizer.chat_template, carried along
};

class Tokenizer {
public:
    static Result<std::unique_ptr<Tokenizer>> from_spec(VocabSpec spec);
    static Result<std::unique_ptr<Tokenizer>> from_gguf(const gguf::File& file);
    // A folder holding tokenizer.json (+ tokenizer_config.json, optional), or CLIP's vocab.json +
    // merges.txt + tokenizer_config.json as Stable Diffusion pipelines ship it.
    static Result<std::unique_ptr<Tokenizer>> from_hf_dir(const std::string& dir);
    // A directory (Hugging Face folder) or a GGUF file.
    static Result<std::unique_ptr<Tokenizer>> from_path(const std::string& path);

    // Writes tokenizer.ggml.* (and tokenizer.chat_template when known) so from_gguf rebuilds this vocabulary.
    Status write_gguf_metadata(gguf::Writer& w) const;

    // Text to token ids. add_special: prepend BOS / append EOS as the vocabulary's add_bos/add_eos
    // flags say. parse_special: control tokens written in the text (e.g. "<|im_start|>") become
    // their ids; user-defined tokens are always recognised. Invalid UTF-8 is encoded byte by byte.
    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

    // The bytes a token stands for. Control/unknown tokens give "" unless `special`, then their text.
    // A piece may be a fragment of a UTF-8 sequence (byte tokens); see Utf8Stream.
    std::string token_to_piece(int32_t id, bool special = false) const;
    // Concatenated pieces; drops the leading space SPM added (add_space_prefix) and applies the
    // vocabulary's clean-up of spaces before punctuation where the model family does that.
    std::string decode(const std::vector<int32_t>& ids, bool special = false) const;

    bool is_eog(int32_t id) const;      // end of generation: eos, eot, eom and known end-of-turn tokens
    bool is_control(int32_t id) const;  // control or unknown type (not printed by default)
    int32_t n_vocab() const { return int32_t(spec_.tokens.size()); }
    const std::string& token_text(int32_t id) const;  // raw vocabulary text ("" when out of range)
    int32_t find_token(std::string_view text) const;  // id of an exact vocabulary text, -1 when none
    TokenType token_type(int32_t id) const;

    int32_t bos_id() const { return bos_; }
    int32_t eos_id() const { return eos_; }
    int32_t eot_id() const { return eot_; }
    int32_t unk_id() const { return unk_; }
    int32_t pad_id() const { return pad_; }
    bool add_bos() const { return add_bos_; }
    bool add_eos() const { return add_eos_; }
    bool add_space_prefix() const { return add_space_prefix_; }
    bool normalizes_nfc() const { return nfc_; }
    VocabType type() const { return type_; }
    PreKind pre_kind() const { return pre_; }
    const std::vector<int32_t>& eog_ids() const { return eog_; }
    const std::string& chat_template() const { return spec_.chat_template; }
    const VocabSpec& spec() const { return spec_; }
    // Things tolerated while loading (e.g. an out-of-range pad id that was dropped).
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    Tokenizer() = default;
    Status build();

    struct Fragment {
        int32_t token;     // >= 0: a special token; -1: raw text
        size_t off, len;   // raw text range
    };
    std::vector<Fragment> split_special(std::string_view text, bool parse_special) const;
    void encode_spm(std::string_view text, std::vector<int32_t>& out) const;       // tokenizer_spm.cpp
    void encode_bpe_word(std::string_view word, std::vector<int32_t>& out) const;  // tokenizer_bpe.cpp
    void encode_wpm(std::string_view text, std::vector<int32_t>& out) const;       // tokenizer_wpm.cpp
    void encode_wpm_word(std::string_view word, std::vector<int32_t>& out) const;  // tokenizer_wpm.cpp
    int32_t lookup(std::string_view text) const;

    VocabSpec spec_;                    // as loaded; spec_.tokens is the token text by id
    VocabType type_ = VocabType::Bpe;
    PreKind pre_ = PreKind::Gpt2;
    std::vector<float> score_;
    std::vector<uint32_t> attr_;        // attribute bits (tokenizer.cpp)
    std::vector<std::string> piece_;    // token_to_piece(id, special=true), precomputed
    TextIndex to_id_;                   // text -> id over spec_.tokens
    MergeIndex merges_;                 // (left id, right id) -> rank, merged id
    std::vector<int32_t> special_;      // control/user-defined/unknown ids, longest text first
    int32_t byte_token_[256];           // token of each byte (SPM <0xXX>, BPE byte-level char), -1 none
    std::vector<int32_t> eog_;
    std::vector<uint8_t> is_eog_;
    std::vector<std::string> warnings_;
    int32_t bos_ = -1, eos_ = -1, eot_ = -1, eom_ = -1, unk_ = -1, pad_ = -1;
    bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false, ignore_merges_ = false, clean_spaces_ = false;
    bool nfc_ = false;
    bool clip_text_ = false;            // CLIP: spaces collapsed and dropped, text lower-cased (pre "clip")
    size_t wpm_max_token_bytes_ = 0;    // WordPiece: longest token text, bounds the longest-match search
    bool spm_space_alias_ = false;      // SPM: a literal U+2581 in the text reads as a space (tokenizer.cpp)
};

}  // namespace hearth::tokenizer
