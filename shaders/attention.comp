#version 450
// Causal attention over one layer of the paged KV cache, one workgroup per (query token, head).
// The cells 0..pos[t] are visited in tiles of WG cells with an online softmax (running max m,
// running sum l, rescaled accumulator), so no n x n_kv score matrix exists beyond one tile.
//   out[t][h] = sum_c softmax_c(scale * q[t][h] . K[c][kh]) V[c][kh],  kh = h / (n_head / n_kv_head)
// n_kv is not a parameter: the query position bounds the cells, which keeps the recorded command
// buffer identical from one generated token to the next (so it is replayed, not re-recorded).
#define WG 64
#define MAXD 256u
#include "common.glsl"
#include "kv_common.glsl"

layout(binding = 0) readonly buffer QBuf { float qb[]; };
layout(binding = 1) readonly buffer KCache { uint kc[]; };
layout(binding = 2) readonly buffer VCache { uint vc[]; };
layout(binding = 3) readonly buffer PBuf { int pos[]; };
layout(binding = 4) writeonly buffer OBuf { float ob[]; };

layout(push_constant) uniform PC {
    uint q_off, q_stride, o_off, o_stride, pos_off, n_head, n_kv_head, head_dim, n_ctx, ntok;
    float scale;
} pc;

shared float qs[MAXD];
shared float ps[WG];

const float NEG = -1.0e30;  // finite "minus infinity": exp(NEG - m) is exactly 0, never NaN

void main() {
    const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (t >= pc.ntok) return;
    const uint tid = gl_LocalInvocationIndex, hd = pc.head_dim;
    const uint kh = h / (pc.n_head / pc.n_kv_head);
    const int p = pos[pc.pos_off + t];
    const uint n = uint(clamp(p + 1, 0, int(pc.n_ctx)));
    const uint qo = pc.q_off + t * pc.q_stride + h * hd;
    for (uint d = tid; d < hd; d += WG) qs[d] = qb[qo + d];
    barrier();

    float m = NEG, l = 0.0;
    float acc[MAXD / WG];
    [[unroll]] for (uint k = 0u; k < MAXD / WG; ++k) acc[k] = 0.0;
    for (uint c0 = 0u; c0 < n; c0 += WG) {
        const uint c = c0 + tid;
        float s = NEG;
        if (c < n) {
            const uint e = kv_elem(c, kh, pc.n_kv_head, hd);
            float dotv = 0.0;
            for (uint d = 0u; d < hd; d += 2u) dotv += dot(KV_READ2(kc, e + d), vec2(qs[d], qs[d + 1u]));
            s = dotv * pc.scale;
        }
        const float m_new = max(m, wg_max(s));
        const float pj = c < n ? exp(s - m_new) : 0.0;
        const float corr = exp(m - m_new);
        l = l * corr + wg_sum(pj);
        ps[tid] = pj;
        barrier();
        const uint cnt = min(uint(WG), n - c0);
        [[unroll]] for (uint k = 0u; k < MAXD / WG; ++k) {
            const uint d = tid + k * WG;
            if (d < hd) {
                float a = acc[k] * corr;
                for (uint j = 0u; j < cnt; ++j) a += ps[j] * KV_READ(vc, kv_elem(c0 + j, kh, pc.n_kv_head, hd) + d);
                acc[k] = a;
            }
        }
        barrier();
        m = m_new;
    }
    const uint oo = pc.o_off + t * pc.o_stride + h * hd;
    [[unroll]] for (uint k = 0u; k < MAXD / WG; ++k) {
        const uint d = tid + k * WG;
        if (d < hd) ob[oo + d] = n > 0u ? acc[k] / l : 0.0;
    }
}
