#version 450
// Context shift helper for one layer's K or V buffer, in two passes through an F32 scratch buffer
// (so moving cells down never overwrites a cell not yet read):
//   dir 0: cells [cell0, cell0+count) -> scratch[j][head][dim], K rotated by `delta` positions
//   dir 1: scratch -> cells [cell0, cell0+count)
// PAGED (Backend::kv_shift_paged): cell numbers are a sequence's logical cells, each at physical
// cell tabs[tab_off + cell / 32] * 32 + cell % 32.
// One thread per element pair; the rotation has no magnitude factor (the key already carries it).
#define WG 64
#include "common.glsl"
#include "kv_common.glsl"
#include "rope_common.glsl"

layout(binding = 0) buffer Cache { uint cache[]; };
layout(binding = 1) buffer Scratch { float scratch[]; };
layout(binding = 2) readonly buffer FBuf { float ff[]; };
#ifdef PAGED
layout(binding = 3) readonly buffer TBuf { int tabs[]; };
#endif

layout(push_constant) uniform PC {
    uint dir, rotate, cell0, count, n_kv_head, head_dim, n_dims, neox, has_ff, ff_off;
    float delta, freq_base, freq_scale, ext_factor, corr0, corr1;
#ifdef PAGED
    uint tab_off;
#endif
} pc;

void main() {
    const uint pairs = pc.n_kv_head * pc.head_dim / 2u;
    const uint idx = gl_GlobalInvocationID.x, j = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (idx >= pairs || j >= pc.count) return;
    const uint h = (2u * idx) / pc.head_dim, i = ((2u * idx) % pc.head_dim) / 2u;  // pair i of head h
#ifdef PAGED
    const uint lc = pc.cell0 + j, cell = (uint(tabs[pc.tab_off + (lc >> 5)]) << 5) | (lc & 31u);
#else
    const uint cell = pc.cell0 + j;
#endif
    const uint base = kv_elem(cell, h, pc.n_kv_head, pc.head_dim);
    const uint sbase = (j * pc.n_kv_head + h) * pc.head_dim;
    if (pc.dir == 1u) {
        KV_WRITE2(cache, base + 2u * i, vec2(scratch[sbase + 2u * i], scratch[sbase + 2u * i + 1u]));
        return;
    }
    const uint half_dims = pc.n_dims / 2u;
    if (pc.rotate != 0u && i < half_dims) {
        const uvec2 e = rope_pair(i, pc.n_dims, pc.neox);
        const float f = pc.has_ff != 0u ? ff[pc.ff_off + i] : 1.0;
        const float th = pc.delta * rope_angle_per_pos(i, pc.n_dims, pc.freq_base, pc.freq_scale, pc.ext_factor, pc.corr0, pc.corr1, f);
        const float c = cos(th), s = sin(th);
        const float x0 = KV_READ(cache, base + e.x), x1 = KV_READ(cache, base + e.y);
        scratch[sbase + e.x] = x0 * c - x1 * s;
        scratch[sbase + e.y] = x0 * s + x1 * c;
    } else if (pc.rotate == 0u || i >= half_dims) {
        // pairs past n_dims/2 (or V) are copied: elements 2i, 2i+1 in both pairings
        const vec2 v = KV_READ2(cache, base + 2u * i);
        scratch[sbase + 2u * i] = v.x;
        scratch[sbase + 2u * i + 1u] = v.y;
    }
}
