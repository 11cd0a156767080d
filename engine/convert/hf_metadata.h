// The GGUF metadata of a converted checkpoint, keys and value types as llama.cpp's converter writes
// them: general.*, the architecture's hyperparameters, the vocabulary (tokenizer.json through the
// engine's tokenizer, padded to config.json's vocab_size), the chat template, and sampling
// defaults from generation_config.json as general.sampling.* (gguf-py's Metadata does the same).
#pragma once

#include <cstdint>
#include <string>

#include "engine/convert/hf_config.h"
#include "engine/gguf/gguf.h"
#include "engine/util/status.h"

namespace hearth::convert {

// general.* and ARCH.* keys. file_type: llama.cpp's LlamaFileType (0 F32, 1 F16, 7 Q8_0, 32 BF16).
void write_model_metadata(gguf::Writer& w, const HfConfig& cfg, const std::string& hf_dir, uint32_t file_type, int64_t n_params);

// tokenizer.* keys from HF_DIR's tokenizer.json / tokenizer_config.json / chat_template.jinja.
Status write_vocab_metadata(gguf::Writer& w, const HfConfig& cfg, const std::string& hf_dir);

// general.sampling.* from generation_config.json, when the file states them (absent file: nothing).
Status write_sampling_metadata(gguf::Writer& w, const std::string& hf_dir);

// llama.cpp's size label: "2.2M", "135M", "8.0B" (two significant digits at least).
std::string size_label(int64_t n_params);

// general.name for a checkpoint folder: its name, words capitalised ("smollm2-135m" -> "Smollm2 135m").
// A folder named for its role only ("model", "checkpoint", a hub cache's 40-hex snapshot)
// says nothing of the model: then the model card's first "# Title" (README.md, after its front
// matter) as written, else the hub cache's "models--Org--Name" as "Name", else the parent folder's name.
std::string model_name_for_folder(const std::string& hf_dir);
// That title alone: the first "# Title" of DIR/README.md after its front matter, "" when there is none
// (or it is over 80 bytes or holds control characters). Reads at most 64 KiB.
std::string model_card_title(const std::string& dir);

}  // namespace hearth::convert
