#version 450
// Second pass of split attention (attention.comp with SPLIT): one workgroup per (head, token)
// combines the n_split partial results (m_s, l_s, acc_s) of its cells:
//   M = max m_s,  L = sum l_s e^(m_s - M),  out = sum acc_s e^(m_s - M) / L
// Empty splits (no visible cells) carry m = -1e30, l = 0 and add nothing.
#define WG 64
#include "common.glsl"

layout(binding = 0) readonly buffer Part { float part[]; };
layout(binding = 1) writeonly buffer OBuf { float ob[]; };

layout(push_constant) uniform PC { uint o_off, o_stride, n_head, head_dim, n_split, ntok; } pc;

void main() {
    const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y;
    if (t >= pc.ntok) return;
    const uint hd = pc.head_dim, rec = hd + 2u;
    const uint base = (t * pc.n_head + h) * pc.n_split * rec;
    float mx = -1.0e30;
    for (uint s = 0u; s < pc.n_split; ++s) mx = max(mx, part[base + s * rec]);
    float l = 0.0;
    for (uint s = 0u; s < pc.n_split; ++s) l += part[base + s * rec + 1u] * exp(part[base + s * rec] - mx);
    const float inv = l > 0.0 ? 1.0 / l : 0.0;  // no visible cell at all: zeros, as the one-pass shader
    const uint oo = pc.o_off + t * pc.o_stride + h * hd;
    for (uint d = gl_LocalInvocationIndex; d < hd; d += WG) {
        float a = 0.0;
        for (uint s = 0u; s < pc.n_split; ++s) a += part[base + s * rec + 2u + d] * exp(part[base + s * rec] - mx);
        ob[oo + d] = a * inv;
    }
}
