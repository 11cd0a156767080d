// Hyperparameters of a model file, read from GGUF metadata (`ARCH.*` keys, as llama.cpp writes
// them): the sizes every architecture shares, the RoPE settings they imply, and per-layer values
// (sliding window, RoPE base) for architectures whose layers differ. The architecture itself is an
// enum (engine/model/arch/arch.h maps names to builders); `arch` keeps the file's spelling.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/util/status.h"

namespace hearth {

enum class Arch { Llama, Qwen2, Qwen3, Gemma3, Phi3, Qwen3Moe };

// What one layer does differently from the model-wide settings.
struct LayerHParams {
    int window = 0;               // sliding window (0: global attention)
    float rope_freq_base = 0.0f;  // 0: the model's
    float rope_freq_scale = 0.0f; // 0: the model's
};

struct ModelHParams {
    Arch arch_id = Arch::Llama;
    std::string arch;        // general.architecture as written ("llama", "qwen2", "gemma3", …)
    int n_vocab = 0;         // rows of token_embd (set when the tensors are checked)
    int n_ctx_train = 0;
    int n_embd = 0, n_layer = 0, n_ff = 0;
    int n_head = 0, n_kv_head = 0, head_dim = 0;
    float rms_eps = 1e-5f;
    RopeParams rope;         // freq_factors is left null here; the model points it at rope_freqs.weight
    std::string rope_scaling = "none";  // "none" | "linear" | "yarn"
    float embd_scale = 0.0f;  // token embeddings are multiplied by this (Gemma: sqrt(n_embd)); 0: not scaled
    float attn_scale = 0.0f;  // softmax scale of q·k; 0: 1/sqrt(head_dim)
    // {arch}.pooling_type of an embedding model (llama.cpp's numbering: 0 none, 1 mean, 2 cls,
    // 3 last, 4 rank); -1 when the file does not say (a generative model).
    int pooling_type = -1;
    // Mixture of experts ({arch}.expert_count > 0): each token's FFN is the sum of the outputs of
    // its n_expert_used best experts (by the router's softmax), weighted by those probabilities,
    // renormalized to sum to 1 over the chosen experts when expert_weights_norm (Mixtral, Qwen3-MoE).
    // n_ff_exp: an expert's hidden size ({arch}.expert_feed_forward_length, else feed_forward_length).
    int n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
    bool expert_weights_norm = true;
    std::vector<LayerHParams> layers;  // n_layer entries

    bool has_experts() const { return n_expert > 0; }
    // Columns of the FFN's gate/up scratch. Every architecture's layers have either a dense FFN
    // (without experts) or experts (arch.h's `experts` archs, when expert_count > 0), never both, so
    // the width is that of the one they have. With experts, n_ff binds no tensor and a file may name
    // any value there: it is not taken (a fuzzed Qwen3-MoE file's 67 M columns made the scratch 4.8 GB).
    // An architecture with dense layers beside expert ones would take the larger of the two.
    int64_t ffn_scratch_width() const { return has_experts() ? n_ff_exp : n_ff; }
    int q_dim() const { return n_head * head_dim; }
    int kv_dim() const { return n_kv_head * head_dim; }
    float attention_scale() const;
    // The RoPE parameters of layer l (the model's, with the layer's base and scale where it has its own).
    RopeParams rope_of(int l) const;
    int window_of(int l) const { return l >= 0 && size_t(l) < layers.size() ? layers[size_t(l)].window : 0; }
};

bool is_supported_architecture(const std::string& arch);
Result<ModelHParams> read_hparams(const gguf::File& f);

}  // namespace hearth
