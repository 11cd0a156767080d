// CLIP's text transformer (transformers' CLIPTextModel) as Stable Diffusion uses it: token and
// position embeddings, pre-norm layers of causal self-attention and an MLP (quick-GELU for SD 1.x,
// GELU for SD 2.x), and the final layer norm; its last hidden state is the UNet's context.
// Runs on any backend that has layer_norm, activate and attention_qkv (supports_op).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/model/encoder_layer.h"
#include "engine/util/status.h"

namespace hearth::diffusion {

class DiffusionWeights;

struct ClipTextConfig {
    int vocab_size = 0, hidden = 0, intermediate = 0, n_head = 0, n_layer = 0, max_positions = 0;
    Activation act = Activation::QuickGelu;
    float layer_norm_eps = 1e-5f;
};

// The text_encoder/config.json of a pipeline; every size is checked.
Result<ClipTextConfig> read_clip_text_config(const std::string& path);
// SD 1.x's text encoder (openai/clip-vit-large-patch14's text half).
ClipTextConfig sd15_clip_text_config();
// SD 2.x's text encoder (stabilityai/stable-diffusion-2-1's text_encoder/config.json): OpenCLIP
// ViT-H's text tower with 23 of its 24 layers (SD 2.x conditions on the penultimate layer).
ClipTextConfig sd21_clip_text_config();

class ClipTextEncoder {
public:
    static constexpr const Op (&kOps)[3] = kEncoderLayerOps;  // what a backend must run
    // `dir`: a pipeline's text_encoder/ folder (config.json and model.safetensors, F32/F16/BF16;
    // tensor names with or without "text_model."). Weights go to `be`, which must outlive this.
    static Result<std::unique_ptr<ClipTextEncoder>> open(const std::string& dir, Backend& be);
    // An encoder of `cfg` over given weights (the bench: DiffusionWeights::random).
    static Result<std::unique_ptr<ClipTextEncoder>> create(const ClipTextConfig& cfg, std::unique_ptr<DiffusionWeights> weights,
                                                           Backend& be);
    ~ClipTextEncoder();

    // The last hidden state, after the final layer norm: ids.size() rows of `hidden` floats.
    // ids: 1 .. max_positions token ids, each below vocab_size.
    Result<std::vector<float>> encode(const std::vector<int32_t>& ids);

    const ClipTextConfig& config() const { return cfg_; }
    uint64_t weight_bytes() const;

private:
    explicit ClipTextEncoder(Backend& be);

    Backend& be_;
    ClipTextConfig cfg_;
    std::unique_ptr<DiffusionWeights> weights_;
    Tensor tok_emb_, pos_emb_;
    std::vector<EncoderLayerWeights> layers_;
    LayerNormWeights final_ln_;
    EncoderActivations act_;
};

}  // namespace hearth::diffusion
