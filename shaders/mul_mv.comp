#version 450
// Matrix-vector product for generation (1..4 tokens): one workgroup per 4 weight rows. Threads walk
// the row in groups of 8 elements, dequantizing as they go, and the partial dots are reduced with
// subgroup arithmetic (any subgroup size) or shared memory (mv_reduce.glsl).
//   y[t][r] = sum_c W[r][c] * x[t][c] (+ bias[r])
#define WG 64
#include "common.glsl"

layout(binding = 0) readonly buffer WBuf { uint wbuf[]; };
layout(binding = 1) readonly buffer XBuf { float xb[]; };
layout(binding = 2) writeonly buffer YBuf { float yb[]; };
layout(binding = 3) readonly buffer BBuf { float bb[]; };
#define BUF wbuf
#include "bytes.glsl"
#include "dequant.glsl"

layout(push_constant) uniform PC {
    uint w_off, w_stride;  // bytes
    uint x_off, x_stride, y_off, y_stride, b_off;  // floats
    uint has_bias, nrows, ncols, ntok;
} pc;

#define MAXT 4
#define NR 4  // rows per workgroup: fewer, fuller workgroups (per-workgroup cost dominates on CPU drivers)
#include "mv_reduce.glsl"

void main() {
    const uint row0 = linear_group() * NR;
    if (row0 >= pc.nrows) return;  // uniform per workgroup
    const uint tid = gl_LocalInvocationIndex;
    const uint ngroups = (pc.ncols + 7u) / 8u;
    float acc[NR][MAXT];
    [[unroll]] for (uint i = 0u; i < NR; ++i) [[unroll]] for (uint t = 0u; t < MAXT; ++t) acc[i][t] = 0.0;
    for (uint g = tid; g < ngroups; g += WG) {
        const uint e0 = g * 8u;
        vec4 xa[MAXT], xb4[MAXT];
        [[unroll]] for (uint t = 0u; t < MAXT; ++t) {
            if (t >= pc.ntok) break;
            const uint xo = pc.x_off + t * pc.x_stride + e0;
            if (e0 + 8u <= pc.ncols) {
                xa[t] = vec4(xb[xo], xb[xo + 1u], xb[xo + 2u], xb[xo + 3u]);
                xb4[t] = vec4(xb[xo + 4u], xb[xo + 5u], xb[xo + 6u], xb[xo + 7u]);
            } else {
                float v[8];
                for (uint k = 0u; k < 8u; ++k) v[k] = e0 + k < pc.ncols ? xb[xo + k] : 0.0;
                xa[t] = vec4(v[0], v[1], v[2], v[3]);
                xb4[t] = vec4(v[4], v[5], v[6], v[7]);
            }
        }
        [[unroll]] for (uint i = 0u; i < NR; ++i) {
            if (row0 + i >= pc.nrows) break;
            vec4 a, b;
            dq8(pc.w_off + (row0 + i) * pc.w_stride, g, pc.ncols, a, b);
            [[unroll]] for (uint t = 0u; t < MAXT; ++t) {
                if (t >= pc.ntok) break;
                acc[i][t] += dot(a, xa[t]) + dot(b, xb4[t]);
            }
        }
    }
    reduce_store(acc, row0);
}
