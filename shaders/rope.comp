#version 450
// RoPE in place on x (ntok rows of n_head * head_dim floats), one thread per rotated pair.
// pos is an I32 device tensor so a recorded command buffer can be replayed for the next token.
#define WG 64
#include "common.glsl"
#include "rope_common.glsl"

layout(binding = 0) buffer XBuf { float xb[]; };
layout(binding = 1) readonly buffer PBuf { int pos[]; };
layout(binding = 2) readonly buffer FBuf { float ff[]; };

layout(push_constant) uniform PC {
    uint x_off, x_stride, pos_off, ff_off, has_ff, n_head, head_dim, n_dims, neox, ntok;
    float freq_base, freq_scale, ext_factor, mag, corr0, corr1;
} pc;

void main() {
    const uint half_dims = pc.n_dims / 2u;
    const uint idx = gl_GlobalInvocationID.x, t = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (idx >= pc.n_head * half_dims || t >= pc.ntok) return;
    const uint h = idx / half_dims, i = idx % half_dims;
    const float f = pc.has_ff != 0u ? ff[pc.ff_off + i] : 1.0;
    const float th = float(pos[pc.pos_off + t]) *
                     rope_angle_per_pos(i, pc.n_dims, pc.freq_base, pc.freq_scale, pc.ext_factor, pc.corr0, pc.corr1, f);
    const float c = cos(th) * pc.mag, s = sin(th) * pc.mag;
    const uvec2 e = rope_pair(i, pc.n_dims, pc.neox) + pc.x_off + t * pc.x_stride + h * pc.head_dim;
    const float x0 = xb[e.x], x1 = xb[e.y];
    xb[e.x] = x0 * c - x1 * s;
    xb[e.y] = x0 * s + x1 * c;
}
