// RoPE angle per position of pair i, as engine/backend/host/rope_math.h defines it (ggml's
// rope_yarn): theta_i = base^(-2i/n_dims) / freq_factor_i, interpolated by freq_scale and, with
// YaRN, mixed with the extrapolated angle over the ramp [corr_low, corr_high]. Linear in the
// position, so re-rotating by -Δ is the same formula with position -Δ.
#pragma once

#include "kernels/kernels.h"

namespace hearth::kern {

__device__ __forceinline__ float rope_theta_per_pos(const RopeArgs& a, int i) {
    const float extrap = powf(a.freq_base, -2.0f * float(i) / float(a.n_dims)) / (a.freq_factors ? a.freq_factors[i] : 1.0f);
    const float interp = a.freq_scale * extrap;
    if (a.ext_factor == 0.0f) return interp;
    const float y = (float(i) - a.corr_low) / fmaxf(0.001f, a.corr_high - a.corr_low);
    const float mix = (1.0f - fminf(1.0f, fmaxf(0.0f, y))) * a.ext_factor;
    return interp * (1.0f - mix) + extrap * mix;
}

// Rotates the pair (x0, x1) of pair index i by position p with magnitude mag.
__device__ __forceinline__ void rope_rotate(float& x0, float& x1, const RopeArgs& a, int i, float p, float mag) {
    float s, c;
    sincosf(p * rope_theta_per_pos(a, i), &s, &c);
    c *= mag;
    s *= mag;
    const float r0 = x0 * c - x1 * s, r1 = x0 * s + x1 * c;
    x0 = r0;
    x1 = r1;
}

// Element indices of pair i within a head.
__device__ __forceinline__ void rope_pair(const RopeArgs& a, int i, int& e0, int& e1) {
    if (a.mode_neox) { e0 = i; e1 = i + a.n_dims / 2; }
    else { e0 = 2 * i; e1 = 2 * i + 1; }
}

}  // namespace hearth::kern
