// Hyperparameters of the llama-family architectures (llama, qwen2) read from GGUF metadata
// (`ARCH.*` keys, as llama.cpp writes them), with the RoPE settings they imply.
#pragma once

#include <string>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/util/status.h"

namespace hearth {

struct ModelHParams {
    std::string arch;        // "llama" | "qwen2"
    int n_vocab = 0;         // rows of token_embd (set when the tensors are checked)
    int n_ctx_train = 0;
    int n_embd = 0, n_layer = 0, n_ff = 0;
    int n_head = 0, n_kv_head = 0, head_dim = 0;
    float rms_eps = 1e-5f;
    RopeParams rope;         // freq_factors is left null here; the model points it at rope_freqs.weight
    std::string rope_scaling = "none";  // "none" | "linear" | "yarn"

    int q_dim() const { return n_head * head_dim; }
    int kv_dim() const { return n_kv_head * head_dim; }
};

bool is_supported_architecture(const std::string& arch);
Result<ModelHParams> read_hparams(const gguf::File& f);

}  // namespace hearth
