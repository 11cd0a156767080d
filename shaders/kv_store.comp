#version 450
// Writes k and v (ntok rows of n_kv_head * head_dim floats) into the cells pos[t] of one layer,
// one thread per pair of elements (so an F16 cache is written a whole word at a time, no races).
#define WG 64
#include "common.glsl"
#include "kv_common.glsl"

layout(binding = 0) readonly buffer KIn { float kin[]; };
layout(binding = 1) readonly buffer VIn { float vin[]; };
layout(binding = 2) readonly buffer PBuf { int pos[]; };
layout(binding = 3) buffer KCache { uint kc[]; };
layout(binding = 4) buffer VCache { uint vc[]; };

layout(push_constant) uniform PC { uint k_off, k_stride, v_off, v_stride, pos_off, n_kv_head, head_dim, n_ctx, ntok; } pc;

void main() {
    const uint pairs = pc.n_kv_head * pc.head_dim / 2u;
    const uint idx = gl_GlobalInvocationID.x, t = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (idx >= pairs || t >= pc.ntok) return;
    const int p = pos[pc.pos_off + t];
    if (p < 0 || p >= int(pc.n_ctx)) return;
    const uint h = (2u * idx) / pc.head_dim, d = (2u * idx) % pc.head_dim;
    const uint e = kv_elem(uint(p), h, pc.n_kv_head, pc.head_dim) + d;
    const uint ko = pc.k_off + t * pc.k_stride + 2u * idx, vo = pc.v_off + t * pc.v_stride + 2u * idx;
    KV_WRITE2(kc, e, vec2(kin[ko], kin[ko + 1u]));
    KV_WRITE2(vc, e, vec2(vin[vo], vin[vo + 1u]));
}
