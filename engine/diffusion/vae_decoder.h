// The decoder half of diffusers' AutoencoderKL (SD 1.x / 2.x VAEs): latents / scaling_factor →
// post_quant_conv → conv_in → mid block (resnet, single-head attention, resnet) → up blocks
// (layers_per_block + 1 resnets each, nearest 2× upsampling and a 3×3 conv between them) →
// group norm, SiLU, conv_out: an RGB image in [-1, 1]. Activations are pixel rows (backend.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/resnet_block.h"
#include "engine/diffusion/vae_attention.h"
#include "engine/util/status.h"

namespace hearth::diffusion {

struct VaeConfig {
    std::vector<int> block_out_channels;  // encoder order, e.g. 128, 256, 512, 512
    int layers_per_block = 2, norm_num_groups = 32, latent_channels = 4, out_channels = 3, in_channels = 3;
    float scaling_factor = 0.18215f;
    bool use_post_quant_conv = true, use_quant_conv = true, mid_block_add_attention = true;
    // diffusers' force_upcast (true for SD 1.x/2.x VAEs): F16 activations overflow in this VAE and
    // give black images, so on a GPU backend, whose matmul rounds activations to the weights'
    // F16, the VAE's weights are held in F32 (the host backends compute in F32 anyway).
    bool force_upcast = true;
};

Result<VaeConfig> read_vae_config(const std::string& path);  // vae/config.json, every field checked
VaeConfig sd15_vae_config();  // stable-diffusion-v1-5's vae/config.json

class VaeDecoder {
public:
    static constexpr Op kOps[] = {Op::Conv2d, Op::GroupNorm, Op::Upsample2x, Op::Activate, Op::AttentionQkv};  // what a backend must run
    // `dir`: a pipeline's vae/ folder (config.json and diffusion_pytorch_model.safetensors).
    static Result<std::unique_ptr<VaeDecoder>> open(const std::string& dir, Backend& be);
    // A decoder of `cfg` over given weights (the bench: DiffusionWeights::random).
    static Result<std::unique_ptr<VaeDecoder>> create(const VaeConfig& cfg, std::unique_ptr<DiffusionWeights> wt, Backend& be);
    ~VaeDecoder();
    uint64_t weight_bytes() const;

    // latents: channels × (h·w) as diffusers holds them ([4][h][w], already divided by nothing:
    // decode() divides by scaling_factor). Returns the image [3][8h][8w] (channel-major) in [-1, 1].
    Result<std::vector<float>> decode(const std::vector<float>& latents, int h, int w);
    // Bytes of activations decode() needs for an h×w latent (for the memory check before a run).
    uint64_t activation_bytes(int h, int w) const;
    uint64_t largest_tensor_bytes(int h, int w) const;  // the widest of them (one of decode()'s slots)

    // diffusers' AutoencoderKL.tiled_decode: latent tiles of `tile` × `tile` every
    // tile·(1 − overlap) latents, each decoded on its own (so activations are those of one tile),
    // then blended linearly over overlap·8·tile pixels with the tile above and the one to the left
    // and cropped. Not identical to decode(): group norm sees one tile at a time, as in diffusers.
    Result<std::vector<float>> decode_tiled(const std::vector<float>& latents, int h, int w, int tile, float overlap = 0.25f);
    // Frees decode()'s activations (the pipeline frees them between images when memory is short).
    void release_activations() { act_.reset(); }
    uint64_t held_bytes() const { return act_ ? act_->size() : 0; }  // activations allocated now

    const VaeConfig& config() const { return cfg_; }

private:
    struct UpBlock { std::vector<ResnetBlock> resnets; bool upsample = false; ConvLayer up_conv; };

    explicit VaeDecoder(Backend& be);
    Status load(DiffusionWeights& wt);
    Tensor scratch(int i, int64_t rows, int64_t cols) const;

    Backend& be_;
    VaeConfig cfg_;
    std::unique_ptr<DiffusionWeights> weights_;
    ConvLayer post_quant_, conv_in_, conv_out_;
    ResnetBlock mid1_, mid2_;
    VaeAttention mid_attn_;
    std::vector<UpBlock> up_;
    NormLayer norm_out_;
    BufferPtr act_;
    size_t slot_bytes_ = 0;  // each of the 5 activation slots in act_
};

}  // namespace hearth::diffusion
