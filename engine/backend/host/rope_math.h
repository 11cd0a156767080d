// RoPE angles as ggml's rope_yarn defines them (normal and NeoX pairings share the angles; only the
// element pairing differs). Kept in one place so every CPU-side path rotates identically.
#pragma once

#include <algorithm>
#include <cmath>

#include "engine/backend/backend.h"

namespace hearth::rope_math {

// YaRN correction range [low, high] of pair indices (ggml_rope_yarn_corr_dims).
inline void yarn_corr_dims(const RopeParams& p, double out[2]) {
    auto corr_dim = [&](double n_rot) {
        return p.n_dims * std::log(p.n_ctx_orig / (n_rot * 2 * M_PI)) / (2 * std::log(double(p.freq_base)));
    };
    const double start = std::floor(corr_dim(p.beta_fast));
    const double end = std::ceil(corr_dim(p.beta_slow));
    out[0] = std::max(0.0, start);
    out[1] = std::min(double(p.n_dims - 1), end);
}

// Angle multiplier of pair i (i = 0 .. n_dims/2-1): theta(pos) = pos * angle_per_pos(i).
// YaRN mixes interpolated and extrapolated angles; both are linear in pos, so the mix is too
// (which is what makes kv_shift a pure rotation by -discard).
inline double angle_per_pos(const RopeParams& p, int i, const float* freq_factors) {
    const double theta_extrap = std::pow(double(p.freq_base), -2.0 * i / p.n_dims) /
                                (freq_factors ? double(freq_factors[i]) : 1.0);
    const double theta_interp = p.freq_scale * theta_extrap;
    if (p.ext_factor == 0.0f) return theta_interp;
    double dims[2];
    yarn_corr_dims(p, dims);
    const double y = (i - dims[0]) / std::max(0.001, dims[1] - dims[0]);
    const double ramp_mix = (1 - std::min(1.0, std::max(0.0, y))) * p.ext_factor;
    return theta_interp * (1 - ramp_mix) + theta_extrap * ramp_mix;
}

// Magnitude factor applied with the rotation (ggml's mscale): attn_factor, times YaRN's
// 1 + 0.1 ln(1/freq_scale) when YaRN is on.
inline double magnitude(const RopeParams& p) {
    double m = p.attn_factor;
    if (p.ext_factor != 0.0f) m *= 1.0 + 0.1 * std::log(1.0 / p.freq_scale);
    return m;
}

// Rotates one head (p.head_dim floats) in place: angle = pos * angle_per_pos(i), scaled by mag.
inline void rotate_head(float* x, const RopeParams& p, double pos, const float* freq_factors, double mag) {
    const int half = p.n_dims / 2;
    for (int i = 0; i < half; ++i) {
        const double th = pos * angle_per_pos(p, i, freq_factors);
        const double c = std::cos(th) * mag, s = std::sin(th) * mag;
        const int a = p.mode == RopeMode::Normal ? 2 * i : i;
        const int b = p.mode == RopeMode::Normal ? 2 * i + 1 : i + half;
        const double x0 = x[a], x1 = x[b];
        x[a] = float(x0 * c - x1 * s);
        x[b] = float(x0 * s + x1 * c);
    }
}

}  // namespace hearth::rope_math
