// A prompt as CLIP's text encoder reads it in Stable Diffusion: the start token, the prompt's
// tokens, the end token, then the pad token up to the encoder's length (77), as diffusers calls
// CLIPTokenizer (padding="max_length", truncation=True). A longer prompt keeps its first
// length - 2 tokens and says so, as diffusers warns.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "engine/util/status.h"

namespace hearth::diffusion {

struct ClipPrompt {
    std::vector<int32_t> ids;  // exactly `length` ids
    int n_prompt = 0;          // prompt tokens kept (between the start and end tokens)
    int n_dropped = 0;         // prompt tokens cut off by truncation (0: none)
};

// The tokenizer must be CLIP's (Tokenizer::from_hf_dir of a pipeline's tokenizer/ folder): it needs
// start, end and pad tokens. length >= 2.
Result<ClipPrompt> clip_prompt(const tokenizer::Tokenizer& tok, std::string_view text, int length = 77);

}  // namespace hearth::diffusion
