// A WordPiece (BERT) tokenizer.json as a VocabSpec in llama.cpp's phantom-space spelling, the form
// its converter writes to GGUF (convert_hf_to_gguf.py, BertModel.set_vocab), so that a folder and the
// GGUF written from it tokenize identically. Used by Tokenizer::from_hf_dir (tokenizer_hf.cpp).
#pragma once

#include "engine/tokenizer/tokenizer.h"
#include "engine/util/json.h"
#include "engine/util/status.h"

namespace hearth::tokenizer {

// tokenizer.json with model.type "WordPiece". Only what Hearth reproduces exactly is accepted:
// continuing_subword_prefix "##", a BertNormalizer that cleans text, isolates CJK, strips accents
// and lower-cases (uncased vocabularies), the BertPreTokenizer, and a [CLS] $A [SEP]-shaped
// post-processor (TemplateProcessing or BertProcessing) or none. Anything else is an error naming it.
Result<VocabSpec> wordpiece_spec_from_json(const json::Value& tokenizer_json);

// The id count of a tokenizer.json (BPE or WordPiece): one past the largest id of model.vocab
// (an object text → id) and added_tokens, every id and entry checked. Gaps become unused tokens.
Result<size_t> tokenizer_json_id_count(const json::Value& vocab, const json::Value& added);

// llama.cpp's spelling of a WordPiece token: control tokens as written, "##abc" as "abc", any
// other "abc" as "\u2581abc".
std::string wordpiece_phantom_spelling(const std::string& hf_text, bool control);

}  // namespace hearth::tokenizer
