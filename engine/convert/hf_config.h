// A Hugging Face config.json read for conversion: the architecture (LlamaForCausalLM,
// MistralForCausalLM and MixtralForCausalLM as GGUF "llama", Qwen2ForCausalLM as "qwen2",
// Qwen3ForCausalLM as "qwen3", Qwen3MoeForCausalLM as "qwen3moe", BertModel as "bert") and the hyperparameters GGUF
// stores. Both config layouts are read: RoPE settings at the top level (rope_theta, rope_scaling)
// and the newer rope_parameters object. Anything we cannot convert faithfully is an error that
// names the key, never a silent default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/util/json.h"
#include "engine/util/status.h"

namespace hearth::convert {

struct RopeScaling {
    std::string type;  // "" (none), "linear", "yarn" or "llama3"
    double factor = 1.0;
    // llama3 (frequency-dependent factors, written as the rope_freqs tensor)
    double low_freq_factor = 1.0, high_freq_factor = 4.0;
    int64_t original_context = 8192;
    // yarn: what llama.cpp's converter writes when the config has it (0 = absent)
    double yarn_ext_factor = 0, yarn_attn_factor = 0, yarn_beta_fast = 0, yarn_beta_slow = 0;
    bool has_yarn_ext = false, has_yarn_attn = false, has_yarn_beta_fast = false, has_yarn_beta_slow = false;
};

struct HfConfig {
    std::string hf_arch;    // "LlamaForCausalLM"
    std::string arch;       // GGUF general.architecture: "llama", "qwen2", "qwen3", "qwen3moe" or "bert"
    int64_t n_layer = 0, n_embd = 0, n_ff = 0, n_head = 0, n_head_kv = 0, n_vocab = 0;
    int64_t head_dim = 0;   // explicit or n_embd / n_head
    bool explicit_head_dim = false;  // config.json states head_dim (GGUF then gets key/value_length)
    int64_t n_ctx = 0;      // max_position_embeddings (0 = absent)
    double rope_theta = 0;  // 0 = absent (llama.cpp then writes no freq_base)
    double rms_eps = 0;     // 0 = absent
    bool tied_embeddings = false;
    RopeScaling rope;
    // BERT encoders (arch "bert"): their layer norm, segment count and the sentence-transformers
    // pooling (modules.json → its Pooling folder's config.json; 1 mean, 2 cls; required for BERT).
    double layer_norm_eps = 0;
    int64_t n_token_types = 0;
    int pooling = -1;
    // A mixture of experts (Mixtral, Qwen3-MoE; 0: dense): experts, how many a token takes, an
    // expert's hidden size, and whether the chosen experts' weights are renormalized.
    int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
    bool expert_weights_norm = true;
    json::Value raw;        // the whole file, for anything else
};

// Reads DIR/config.json. Errors name the file and the key.
Result<HfConfig> read_hf_config(const std::string& dir);

// llama3 RoPE scaling's per-frequency divisors (one per rotated pair: head_dim / 2 values), as
// llama.cpp's converter computes them for its rope_freqs tensor.
std::vector<float> llama3_rope_factors(const HfConfig& c);

}  // namespace hearth::convert
