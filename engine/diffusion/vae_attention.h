// The single-head attention of AutoencoderKL's mid block (encoder and decoder alike): group norm,
// q/k/v as linear or 1×1-conv projections, attention over every pixel, the output projection, and
// the residual. Current diffusers names (to_q …) or the older ones (query …) some VAEs still carry.
#pragma once

#include <string>

#include "engine/backend/backend.h"
#include "engine/diffusion/resnet_block.h"

namespace hearth::diffusion {

struct VaeAttention {
    NormLayer n;
    Tensor q, qb, k, kb, v, vb, o, ob;
};

// `prefix`: e.g. "decoder.mid_block.attentions.0." (with the dot).
Status load_vae_attention(DiffusionWeights& wt, const std::string& prefix, int ch, VaeAttention* out);

// X (pixels × ch) += attention(X); N, Q, K, V: scratch of pixels × ch at distinct addresses.
void run_vae_attention(Backend& be, const VaeAttention& a, int groups, float eps, const Tensor& X, const Tensor& N, const Tensor& Q,
                       const Tensor& K, const Tensor& V);

}  // namespace hearth::diffusion
