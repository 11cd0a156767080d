// Hugging Face checkpoint folder -> GGUF (hearth-cli convert, the model wizard's convert step).
//
// The output matches what llama.cpp's convert_hf_to_gguf.py writes for the same folder: tensor
// names, shapes, llama's q/k rows permuted per head, 1-D tensors in F32, llama3 RoPE scaling as a
// rope_freqs tensor, the metadata keys, the vocabulary (tokenizer.model when the checkpoint has a
// SentencePiece one, else tokenizer.json's byte-level BPE) and sampling defaults from
// generation_config.json (general.sampling.*). Tensors are produced one at a time while the
// file is written (gguf::Writer::add_tensor_lazy), row by row from the mapped safetensors, so the
// anonymous memory a conversion needs is about one output tensor whatever the model's size.
// Everything is validated before the first byte is written; the file appears only when complete.
#pragma once

#include <functional>
#include <string>

#include "engine/quant/types.h"
#include "engine/util/status.h"

namespace hearth::convert {

struct ConvertOptions {
    std::string hf_dir;
    std::string out_path;
    // Type of the 2-D weights: "F32", "F16", "BF16", "Q8_0", or "" = as llama.cpp's "auto": BF16
    // when the checkpoint stores BF16 weights, else F16.
    std::string type;
};

struct ConvertReport {
    std::string arch;            // GGUF architecture written
    GgmlType type = GgmlType::F16;  // the 2-D weights' type
    size_t n_tensors = 0;
    size_t n_shards = 0;
    int64_t n_params = 0;
    double peak_anon_mb = 0;     // largest RssAnon sampled after each tensor was produced
    double largest_tensor_mb = 0;  // largest output tensor
};

// Progress in [0, 1] by output bytes; returning false cancels (an error, no output file).
using ConvertProgress = std::function<bool(float)>;

Result<ConvertReport> convert_hf_to_gguf(const ConvertOptions& opt, const ConvertProgress& progress = {});

// The types --type accepts, for usage texts.
const char* convert_types();

}  // namespace hearth::convert
