// diffusers' UNet2DConditionModel of the SD 1.x / 2.x families: sinusoidal timestep embedding and
// its MLP; conv_in; down blocks (ResNet blocks with the time embedding, Transformer2D blocks of
// self-attention, cross-attention to the text and a GEGLU feed-forward, conv or linear
// proj_in/proj_out, stride-2 downsampling); the mid block; up blocks that concatenate the skip
// activations, upsample 2× (nearest) and convolve; group norm, SiLU, conv_out. Heads are read as
// diffusers reads them: num_attention_heads, or else attention_head_dim (SD 1.x's "8" is a head
// count), an int or one per block. Activations are pixel rows (backend.h); the skip activations
// live in their own arena, the rest in a few reusable slots.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/resnet_block.h"
#include "engine/util/status.h"

namespace hearth::diffusion {

struct UNetConfig {
    int in_channels = 4, out_channels = 4, layers_per_block = 2, norm_num_groups = 32, cross_attention_dim = 768;
    float norm_eps = 1e-5f;
    std::vector<int> block_out_channels;
    std::vector<bool> down_has_attention;  // per down block: CrossAttnDownBlock2D (true) or DownBlock2D
    std::vector<bool> up_has_attention;    // per up block: CrossAttnUpBlock2D or UpBlock2D
    std::vector<int> heads;                // per down block (up blocks use them reversed)
    std::vector<int> transformer_layers;   // per down block
    bool use_linear_projection = false, flip_sin_to_cos = true;
    int freq_shift = 0;
    int time_embed_dim() const { return block_out_channels.front() * 4; }
    int down_factor() const { return 1 << (int(block_out_channels.size()) - 1); }
};

// unet/config.json; settings that would change the network and are not implemented (class or
// addition embeddings, time_cond_proj_dim, dual or only-cross attention, scale-shift resnets …)
// are errors that name them.
Result<UNetConfig> read_unet_config(const std::string& path);
// The UNet of stable-diffusion-v1-5 (unet/config.json): 320/640/1280/1280 channels, 8 heads,
// cross-attention to 768-wide CLIP states, three attention stages down and up.
UNetConfig sd15_unet_config();
// The UNet of stabilityai/stable-diffusion-2-1 (and SD-Turbo): SD 1.5's blocks with 5/10/20/20
// heads (its config's attention_head_dim, read as diffusers does), linear proj_in/proj_out and
// cross-attention to 1024-wide OpenCLIP states.
UNetConfig sd21_unet_config();

class UNet {
public:
    static constexpr Op kOps[] = {Op::Conv2d, Op::GroupNorm, Op::Upsample2x, Op::Activate, Op::AttentionQkv, Op::LayerNorm, Op::Mul, Op::ConcatCols};  // what a backend must run
    // `dir`: a pipeline's unet/ folder (config.json and diffusion_pytorch_model.safetensors).
    static Result<std::unique_ptr<UNet>> open(const std::string& dir, Backend& be);
    // A UNet of `cfg` over given weights (open() reads both from a folder; the bench passes
    // DiffusionWeights::random and sd15_unet_config()).
    static Result<std::unique_ptr<UNet>> create(const UNetConfig& cfg, std::unique_ptr<DiffusionWeights> wt, Backend& be);
    ~UNet();
    uint64_t weight_bytes() const;

    // One prediction (noise, or v for v_prediction models): latents [in_channels][h][w] at
    // timestep t with the text encoder's output `context` (n_ctx rows of cross_attention_dim).
    // Returns [out_channels][h][w]. Any h and w: an odd side rounds up on the way down and the
    // upsamplers return to each skip's size, as diffusers does (forward_upsample_size).
    Result<std::vector<float>> predict(const std::vector<float>& latents, int h, int w, double t,
                                       const std::vector<float>& context, int n_ctx);

    const UNetConfig& config() const { return cfg_; }
    // Bytes of activations predict() holds for h×w latents and n_ctx context rows (the memory check
    // before a run), and freeing them (the pipeline does before the VAE decode when memory is short).
    uint64_t activation_bytes(int h, int w, int n_ctx) const;
    void release_activations();
    uint64_t held_bytes() const;  // activations allocated now

    struct Block {  // one BasicTransformerBlock
        NormLayer n1, n2, n3;
        Tensor q1, k1, v1, o1, o1b;  // self-attention
        Tensor q2, k2, v2, o2, o2b;  // cross-attention
        Tensor ff_val, ff_val_b, ff_gate, ff_gate_b, ff_out, ff_out_b;  // GEGLU halves, then down
    };
    struct Transformer { NormLayer norm; Tensor proj_in, proj_in_b, proj_out, proj_out_b; std::vector<Block> blocks; int heads = 1, ch = 0; };
    struct Stage {  // a down or up block
        std::vector<ResnetBlock> resnets;
        std::vector<Transformer> attns;  // empty, or one per resnet
        bool resample = false;           // a downsampler (down blocks) or upsampler (up blocks) follows
        ConvLayer resample_conv;
    };

private:
    explicit UNet(Backend& be);
    Status load(DiffusionWeights& wt);
    Status alloc(int h, int w, int n_ctx);
    // Bytes of each activation buffer for a size: alloc() allocates them, activation_bytes() sums them.
    struct BufferSizes { uint64_t slot = 0, skips = 0, vectors = 0, vector_stride = 0, context = 0; };
    BufferSizes sizes(int h, int w, int n_ctx) const;
    int max_channels() const { return *std::max_element(cfg_.block_out_channels.begin(), cfg_.block_out_channels.end()); }
    int resnet(const ResnetBlock& r, int x, int h, int w);
    void transformer(const Transformer& tr, int x, int h, int w, const Tensor& ctx);
    Tensor slot(int i, int64_t rows, int64_t cols) const;

    Backend& be_;
    UNetConfig cfg_;
    std::unique_ptr<DiffusionWeights> weights_;
    ConvLayer conv_in_, conv_out_;
    Tensor time_w1_, time_b1_, time_w2_, time_b2_;
    std::vector<Stage> down_, up_;
    ResnetBlock mid1_, mid2_;
    Transformer mid_attn_;
    NormLayer norm_out_;

    // Activations for the current size: slots, skip arena, small vectors.
    BufferPtr slots_buf_, skip_buf_, vec_buf_, ctx_buf_;
    size_t slot_bytes_ = 0;
    int alloc_h_ = 0, alloc_w_ = 0, alloc_ctx_ = 0;
    Tensor temb_, semb_, tbias_, ctx_;
};

}  // namespace hearth::diffusion
