// A SentencePiece model file (tokenizer.model: the ModelProto protobuf of Llama 2, Mistral 7B and
// other SentencePiece vocabularies) read into a VocabSpec the way llama.cpp's converter reads it with
// the sentencepiece library: piece texts, scores, and types (unknown, control, unused and byte kept;
// every other piece Normal). A small protobuf reader of the three fields we need; lengths are
// checked, so a truncated or hostile file is an error naming it.
#pragma once

#include <string>

#include "engine/tokenizer/tokenizer.h"
#include "engine/util/status.h"

namespace hearth::tokenizer {

// spec.model = "llama"; tokens, scores and types filled; nothing else set.
Result<VocabSpec> read_sentencepiece_model(const std::string& path);

}  // namespace hearth::tokenizer
