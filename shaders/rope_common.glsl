// RoPE angle per position of pair i, as ggml's rope_yarn (and engine/backend/host/rope_math.h):
// theta_extrap = base^(-2i/n_dims) / freq_factor; theta_interp = freq_scale * theta_extrap; with
// YaRN (ext_factor != 0) the two are mixed by a ramp over the correction range [corr0, corr1].
float rope_angle_per_pos(uint i, uint n_dims, float freq_base, float freq_scale, float ext_factor,
                         float corr0, float corr1, float ff) {
    const float theta_extrap = pow(freq_base, -2.0 * float(i) / float(n_dims)) / ff;
    const float theta_interp = freq_scale * theta_extrap;
    if (ext_factor == 0.0) return theta_interp;
    const float y = (float(i) - corr0) / max(0.001, corr1 - corr0);
    const float ramp_mix = (1.0 - clamp(y, 0.0, 1.0)) * ext_factor;
    return theta_interp * (1.0 - ramp_mix) + theta_extrap * ramp_mix;
}
// Elements rotated together by pair i (< n_dims/2): llama pairs neighbours, NeoX pairs halves.
uvec2 rope_pair(uint i, uint n_dims, uint neox) {
    return neox != 0u ? uvec2(i, i + n_dims / 2u) : uvec2(2u * i, 2u * i + 1u);
}
