// Which Hugging Face tensors a llama / qwen2 / qwen3 / qwen3moe / Mixtral checkpoint holds, the GGUF name llama.cpp gives each
// (token_embd, blk.N.attn_q, ...), the shape config.json implies for it, and whether llama's q/k
// row permutation applies. Checking the checkpoint against this list is how a shape that disagrees
// with the config, a missing tensor or a stray one becomes an error naming the tensor and its file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/convert/hf_checkpoint.h"
#include "engine/convert/hf_config.h"
#include "engine/util/status.h"

namespace hearth::convert {

struct TensorPlan {
    std::string hf_name, gguf_name;
    std::vector<int64_t> shape;        // PyTorch order: [rows, cols], [n], or [experts, rows, cols] when stacked
    int64_t permute_head_dim = 0;      // > 0: rows are llama q/k outputs, permuted per head of this size
    const HfCheckpoint::Entry* src = nullptr;  // the (first) source tensor
    // Experts' matrices stacked into one tensor (llama.cpp's ffn_*_exps): one source per expert,
    // in expert order, each [rows, cols]; empty for a plain tensor.
    std::vector<const HfCheckpoint::Entry*> stack;
};

// The tensors to write, in GGUF order (token_embd, the blocks, output_norm, output).
Result<std::vector<TensorPlan>> plan_tensors(const HfConfig& cfg, const HfCheckpoint& ck);

std::string shape_text(const std::vector<int64_t>& shape);  // "[256, 128]"

}  // namespace hearth::convert
