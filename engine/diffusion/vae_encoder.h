// The encoder half of diffusers' AutoencoderKL (SD 1.x / 2.x VAEs): an RGB image in [-1, 1] →
// conv_in → down blocks (layers_per_block resnets, then a 3×3 stride-2 convolution padded only
// after the last row and column, as diffusers' Downsample2D pads (0, 1, 0, 1)) → mid block
// (resnet, single-head attention, resnet) → group norm, SiLU, conv_out → quant_conv: the
// diagonal Gaussian's mean and log-variance. The pipeline's latents are mean × scaling_factor
// (image-to-image starts from them).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/resnet_block.h"
#include "engine/diffusion/vae_attention.h"
#include "engine/diffusion/vae_decoder.h"
#include "engine/util/status.h"

namespace hearth::diffusion {

struct VaeEncoding {
    int h = 0, w = 0;                   // latent size (image / 8)
    std::vector<float> mean, logvar;    // [latent_channels][h][w] each, before scaling_factor
};

class VaeEncoder {
public:
    static constexpr Op kOps[] = {Op::Conv2d, Op::GroupNorm, Op::Activate, Op::AttentionQkv};  // what a backend must run
    // `dir`: a pipeline's vae/ folder (the same file the decoder reads).
    static Result<std::unique_ptr<VaeEncoder>> open(const std::string& dir, Backend& be);
    static Result<std::unique_ptr<VaeEncoder>> create(const VaeConfig& cfg, std::unique_ptr<DiffusionWeights> wt, Backend& be);
    ~VaeEncoder();

    // image: [in_channels][height][width] in [-1, 1]; height and width multiples of 8.
    Result<VaeEncoding> encode(const std::vector<float>& image, int height, int width);
    uint64_t activation_bytes(int height, int width) const;
    uint64_t weight_bytes() const;
    const VaeConfig& config() const { return cfg_; }

private:
    struct DownBlock { std::vector<ResnetBlock> resnets; bool downsample = false; ConvLayer down_conv; };

    explicit VaeEncoder(Backend& be);
    Status load(DiffusionWeights& wt);
    Tensor scratch(int i, int64_t rows, int64_t cols) const;

    Backend& be_;
    VaeConfig cfg_;
    std::unique_ptr<DiffusionWeights> weights_;
    ConvLayer conv_in_, conv_out_, quant_;
    std::vector<DownBlock> down_;
    ResnetBlock mid1_, mid2_;
    VaeAttention mid_attn_;
    NormLayer norm_out_;
    BufferPtr act_;
    size_t slot_bytes_ = 0;
};

}  // namespace hearth::diffusion
