#version 450
// Matrix-vector product for generation (1..4 tokens): one workgroup per weight row. Threads walk
// the row in groups of 8 elements, dequantizing as they go, and the partial dots are reduced with
// subgroup arithmetic (any subgroup size) or shared memory (common.glsl).
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

void main() {
    const uint r = linear_group();
    if (r >= pc.nrows) return;  // uniform per workgroup
    const uint tid = gl_LocalInvocationIndex;
    const uint rb = pc.w_off + r * pc.w_stride;
    const uint ngroups = (pc.ncols + 7u) / 8u;
    float acc[MAXT];
    [[unroll]] for (uint t = 0u; t < MAXT; ++t) acc[t] = 0.0;
    for (uint g = tid; g < ngroups; g += WG) {
        vec4 a, b;
        dq8(rb, g, pc.ncols, a, b);
        const uint e0 = g * 8u;
        [[unroll]] for (uint t = 0u; t < MAXT; ++t) {
            if (t >= pc.ntok) break;
            const uint xo = pc.x_off + t * pc.x_stride + e0;
            if (e0 + 8u <= pc.ncols) {
                acc[t] += dot(a, vec4(xb[xo], xb[xo + 1u], xb[xo + 2u], xb[xo + 3u])) +
                          dot(b, vec4(xb[xo + 4u], xb[xo + 5u], xb[xo + 6u], xb[xo + 7u]));
            } else {
                float s = 0.0;
                for (uint k = 0u; k < 8u && e0 + k < pc.ncols; ++k) s += (k < 4u ? a[k] : b[k - 4u]) * xb[xo + k];
                acc[t] += s;
            }
        }
    }
    [[unroll]] for (uint t = 0u; t < MAXT; ++t) {
        if (t >= pc.ntok) break;
        const float s = wg_sum(acc[t]);
        if (tid == 0u) yb[pc.y_off + t * pc.y_stride + r] = s + (pc.has_bias != 0u ? bb[pc.b_off + r] : 0.0);
    }
}
