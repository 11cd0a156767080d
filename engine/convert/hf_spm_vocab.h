// The vocabulary of a checkpoint that ships a SentencePiece model (tokenizer.model: Llama 2,
// Mistral 7B v0.1-v0.3), assembled as llama.cpp's converter does (_create_vocab_sentencepiece and
// gguf-py's SpecialVocab): the pieces, scores and types; "[PADn]" up to config.json's vocab_size;
// added_tokens.json and tokenizer_config.json's added_tokens_decoder; special ids, add_bos/add_eos,
// add_prefix_space and the chat template from tokenizer_config.json (ids from config.json where
// the tokenizer files name none).
#pragma once

#include <string>

#include "engine/convert/hf_config.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/status.h"

namespace hearth::convert {

Result<tokenizer::VocabSpec> spm_vocab(const std::string& hf_dir, const HfConfig& cfg);

}  // namespace hearth::convert
