#version 450
// Attention over plain q, k, v rows (Backend::attention_qkv: CLIP's causal self-attention, the
// UNet's self- and cross-attention), one workgroup per (head, query). Keys are visited in tiles of
// TILE = KPT * WG (each thread scores KPT keys: fewer workgroup reductions and barriers per key,
// which dominate on lavapipe) with an online softmax (running max m, running sum l, rescaled accumulator), as attention.comp
// does over the KV cache, so no n_q x n_kv score matrix is ever stored. All F32.
//   out[t][h] = sum_s softmax_s(scale * q[t][h] . k[s][h]) v[s][h],  s < n_kv (s <= t when causal)
#define WG 64
#define MAXD 512u  // a VAE middle block's single head of 512 channels
#define PER (MAXD / WG)
#define KPT 4u
#define TILE (KPT * WG)
#include "common.glsl"

layout(binding = 0) readonly buffer QBuf { float qb[]; };
layout(binding = 1) readonly buffer KBuf { float kb[]; };
layout(binding = 2) readonly buffer VBuf { float vb[]; };
layout(binding = 3) writeonly buffer OBuf { float ob[]; };

layout(push_constant) uniform PC {
    uint q_off, q_stride, k_off, k_stride, v_off, v_stride, o_off, o_stride, head_dim, n_q, n_kv, causal;
    float scale;
} pc;

shared float qs[MAXD];
shared float ps[TILE];

const float NEG = -1.0e30;  // finite "minus infinity": exp(NEG - m) is exactly 0, never NaN

void main() {
    const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (t >= pc.n_q) return;  // uniform over the workgroup
    const uint tid = gl_LocalInvocationIndex, d = pc.head_dim, hd = h * d;
    for (uint i = tid; i < d; i += WG) qs[i] = qb[pc.q_off + t * pc.q_stride + hd + i];
    barrier();
    const uint limit = pc.causal != 0u ? min(t + 1u, pc.n_kv) : pc.n_kv;
    float m = NEG, l = 0.0;
    float acc[PER];
    [[unroll]] for (uint i = 0u; i < PER; ++i) acc[i] = 0.0;
    for (uint s0 = 0u; s0 < limit; s0 += TILE) {
        float sc[KPT];
        float m_loc = NEG;
        [[unroll]] for (uint u = 0u; u < KPT; ++u) {
            const uint s = s0 + u * WG + tid;
            sc[u] = NEG;
            if (s < limit) {
                const uint ko = pc.k_off + s * pc.k_stride + hd;
                float dot_qk = 0.0;
                for (uint i = 0u; i < d; ++i) dot_qk += qs[i] * kb[ko + i];
                sc[u] = pc.scale * dot_qk;
            }
            m_loc = max(m_loc, sc[u]);
        }
        const float m_new = max(m, wg_max(m_loc));
        const float corr = exp(m - m_new);
        float p_loc = 0.0;
        [[unroll]] for (uint u = 0u; u < KPT; ++u) {
            const float p = s0 + u * WG + tid < limit ? exp(sc[u] - m_new) : 0.0;
            ps[u * WG + tid] = p;
            p_loc += p;
        }
        l = l * corr + wg_sum(p_loc);  // wg_sum's barriers also publish ps
        m = m_new;
        const uint n_tile = min(TILE, limit - s0);
        [[unroll]] for (uint i = 0u; i < PER; ++i) {
            const uint c = tid + i * WG;
            if (c >= d) break;
            float a = acc[i] * corr;
            for (uint j = 0u; j < n_tile; ++j) a += ps[j] * vb[pc.v_off + (s0 + j) * pc.v_stride + hd + c];
            acc[i] = a;
        }
        barrier();  // ps is rewritten by the next tile
    }
    const float inv = 1.0 / l;
    [[unroll]] for (uint i = 0u; i < PER; ++i) {
        const uint c = tid + i * WG;
        if (c < d) ob[pc.o_off + t * pc.o_stride + hd + c] = acc[i] * inv;
    }
}
