// The layers the UNet and the VAE share: a convolution with its bias, a group norm's affine pair,
// and diffusers' ResnetBlock2D (GN, SiLU, conv1 [+ the projected time embedding, UNet only],
// GN, SiLU, conv2, plus the input through a 1×1 conv when the channel count changes).
#pragma once

#include <string>

#include "engine/backend/backend.h"
#include "engine/diffusion/diffusion_weights.h"

namespace hearth::diffusion {

struct ConvLayer {
    Tensor w, b;
    int k = 3;
};
struct NormLayer {
    Tensor w, b;
};
struct ResnetBlock {
    NormLayer n1, n2;
    ConvLayer c1, c2, shortcut;
    Tensor time_w, time_b;  // UNet: time_emb_proj
    int cin = 0, cout = 0;
    bool has_shortcut = false;
};

Status load_conv(DiffusionWeights& wt, const std::string& name, int cout, int cin, int k, ConvLayer* out);
Status load_norm(DiffusionWeights& wt, const std::string& name, int ch, NormLayer* out);
// temb_dim 0: no time_emb_proj (the VAE).
Status load_resnet(DiffusionWeights& wt, const std::string& prefix, int cin, int cout, int temb_dim, ResnetBlock* out);

// A same-size convolution (padding k/2) at the given stride.
void run_conv(Backend& be, const ConvLayer& c, const Tensor& x, int h, int w, int stride, const Tensor& y);

// One block on h×w pixel rows. x: pixels × cin. a, b: scratch of pixels × max(cin, cout) each, at
// different addresses from x; the result is left in a (as pixels × cout). conv1_bias: the bias
// of conv1 with the time term folded in (UNet), or null for conv1's own (VAE).
void run_resnet(Backend& be, const ResnetBlock& r, int h, int w, int groups, float eps, const Tensor& x, Buffer* a_buf,
                size_t a_offset, Buffer* b_buf, size_t b_offset, const Tensor* conv1_bias);

}  // namespace hearth::diffusion
