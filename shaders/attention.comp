#version 450
// Causal attention over one layer of the paged KV cache, one workgroup per (query token, head).
// The cells 0..pos[t] are visited in tiles of WG cells with an online softmax (running max m,
// running sum l, rescaled accumulator), so no n x n_kv score matrix exists beyond one tile.
//   out[t][h] = sum_c softmax_c(scale * q[t][h] . K[c][kh]) V[c][kh],  kh = h / (n_head / n_kv_head)
// n_kv is not a parameter: the query position bounds the cells, which keeps the recorded command
// buffer identical from one generated token to the next (so it is replayed, not re-recorded).
//
// SPLIT (flash-decoding, for generation over a long context): workgroup (h, s, t) covers only the
// cells [lo + s * chunk, lo + (s + 1) * chunk) of the n visible ones (lo: the window's first cell, or 0) and writes its unnormalized partial
// result (m, l, acc[head_dim]) to a scratch buffer; attention_merge.comp combines the splits. The
// number of splits follows n_ctx (not n), so the grid, too, is the same for every token.
// Sliding window (window > 0, a local layer): query position p sees cells max(0, p-window+1) .. p.
// PAGED (Backend::attention_paged): token t belongs to the sequence whose block table is row
// seqs[t] of `tabs`; its logical cell c is read from physical cell tabs[row][c / 32] * 32 + c % 32.
// FP16_MATH (F16 cache on devices with shaderFloat16): q . k and p * v are F16 multiplies of the
// cached F16 values (q and p rounded to F16), accumulated in F32; the softmax stays F32.
#ifdef FP16_MATH
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
#define WG 64
#define MAXD 256u
#include "common.glsl"
#include "kv_common.glsl"

layout(binding = 0) readonly buffer QBuf { float qb[]; };
layout(binding = 1) readonly buffer KCache { uint kc[]; };
layout(binding = 2) readonly buffer VCache { uint vc[]; };
layout(binding = 3) readonly buffer PBuf { int pos[]; };
layout(binding = 4) writeonly buffer OBuf { float ob[]; };  // SPLIT: the partials
#ifdef PAGED
layout(binding = 5) readonly buffer TBuf { int tabs[]; };
layout(binding = 6) readonly buffer SBuf { int seqs[]; };
#endif

layout(push_constant) uniform PC {
    uint q_off, q_stride, o_off, o_stride, pos_off, n_head, n_kv_head, head_dim, n_ctx, ntok;
    float scale;
    uint chunk, n_split;  // SPLIT only
    uint window;          // 0: global attention
#ifdef PAGED
    uint tab_off, tab_stride, seq_off;  // in ints
#endif
} pc;

#ifdef FP16_MATH
shared f16vec2 qs[MAXD / 2];
#define QK_DOT(e, d) float(dot(unpackFloat2x16(kc[((e) + (d)) >> 1]), qs[(d) >> 1]))
#define PV(p, e) float(float16_t(p) * unpackFloat2x16(vc[(e) >> 1])[(e) & 1u])
#else
shared float qs[MAXD];
#define QK_DOT(e, d) dot(KV_READ2(kc, (e) + (d)), vec2(qs[d], qs[(d) + 1u]))
#define PV(p, e) ((p) * KV_READ(vc, e))
#endif
shared float ps[WG];

const float NEG = -1.0e30;  // finite "minus infinity": exp(NEG - m) is exactly 0, never NaN

void main() {
#ifdef SPLIT
    const uint h = gl_WorkGroupID.x, s = gl_WorkGroupID.y, t = gl_WorkGroupID.z;
#else
    const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
#endif
    if (t >= pc.ntok) return;
    const uint tid = gl_LocalInvocationIndex, hd = pc.head_dim;
    const uint kh = h / (pc.n_head / pc.n_kv_head);
    const int p = pos[pc.pos_off + t];
    const uint n_vis = uint(clamp(p + 1, 0, int(pc.n_ctx)));
    const uint lo = pc.window > 0u ? uint(max(p - int(pc.window) + 1, 0)) : 0u;
#ifdef SPLIT
    // chunks counted from the window's first cell (lo = 0 for a global layer); the host sizes n_split
    // so that n_split * chunk covers the window
    const uint first = min(lo + s * pc.chunk, n_vis), n = min(first + pc.chunk, n_vis);
#else
    const uint first = min(lo, n_vis), n = n_vis;
#endif
#ifdef PAGED
    const uint trow = pc.tab_off + uint(seqs[pc.seq_off + t]) * pc.tab_stride;
#define PHYS(c) ((uint(tabs[trow + ((c) >> 5)]) << 5) | ((c) & 31u))
#else
#define PHYS(c) (c)
#endif
    const uint qo = pc.q_off + t * pc.q_stride + h * hd;
#ifdef FP16_MATH
    for (uint d = tid; d < hd / 2u; d += WG) qs[d] = f16vec2(qb[qo + 2u * d], qb[qo + 2u * d + 1u]);
#else
    for (uint d = tid; d < hd; d += WG) qs[d] = qb[qo + d];
#endif
    barrier();

    float m = NEG, l = 0.0;
    float acc[MAXD / WG];
    [[unroll]] for (uint k = 0u; k < MAXD / WG; ++k) acc[k] = 0.0;
    for (uint c0 = first; c0 < n; c0 += WG) {
        const uint c = c0 + tid;
        float sc = NEG;
        if (c < n) {
            const uint e = kv_elem(PHYS(c), kh, pc.n_kv_head, hd);
            float dotv = 0.0;
            for (uint d = 0u; d < hd; d += 2u) dotv += QK_DOT(e, d);
            sc = dotv * pc.scale;
        }
        const float m_new = max(m, wg_max(sc));
        const float pj = c < n ? exp(sc - m_new) : 0.0;
        const float corr = exp(m - m_new);
        l = l * corr + wg_sum(pj);
        ps[tid] = pj;
        barrier();
        const uint cnt = min(uint(WG), n - c0);
        [[unroll]] for (uint k = 0u; k < MAXD / WG; ++k) {
            const uint d = tid + k * WG;
            if (d < hd) {
                float a = acc[k] * corr;
                for (uint j = 0u; j < cnt; ++j) a += PV(ps[j], kv_elem(PHYS(c0 + j), kh, pc.n_kv_head, hd) + d);
                acc[k] = a;
            }
        }
        barrier();
        m = m_new;
    }
#ifdef SPLIT
    // partial record (t, h, s): m, l, then head_dim unnormalized sums
    const uint ro = ((t * pc.n_head + h) * pc.n_split + s) * (hd + 2u);
    if (tid == 0u) {
        ob[ro] = m;
        ob[ro + 1u] = l;
    }
    [[unroll]] for (uint k = 0u; k < MAXD / WG; ++k) {
        const uint d = tid + k * WG;
        if (d < hd) ob[ro + 2u + d] = acc[k];
    }
#else
    const uint oo = pc.o_off + t * pc.o_stride + h * hd;
    [[unroll]] for (uint k = 0u; k < MAXD / WG; ++k) {
        const uint d = tid + k * WG;
        if (d < hd) ob[oo + d] = n > first ? acc[k] / l : 0.0;
    }
#endif
}
