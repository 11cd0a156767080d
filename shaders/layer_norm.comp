#version 450
// LayerNorm (torch.nn.LayerNorm), one workgroup per row: the mean first, then the population
// variance of the deviations (two passes over the row: no cancellation of sum x^2 - n mean^2),
// y = (x - mean) / sqrt(var + eps) * w + b. y may alias x (each thread rewrites only its own elements,
// after both reductions).
#define WG 128
#include "common.glsl"

layout(binding = 0) readonly buffer XBuf { float xb[]; };
layout(binding = 1) readonly buffer WBuf { float wb[]; };
layout(binding = 2) readonly buffer BBuf { float bb[]; };
layout(binding = 3) buffer YBuf { float yb[]; };

layout(push_constant) uniform PC { uint x_off, x_stride, w_off, b_off, y_off, y_stride, ncols, nrows; float eps; } pc;

void main() {
    const uint r = linear_group();
    if (r >= pc.nrows) return;
    const uint tid = gl_LocalInvocationIndex;
    const uint xo = pc.x_off + r * pc.x_stride, yo = pc.y_off + r * pc.y_stride;
    float s = 0.0;
    for (uint c = tid; c < pc.ncols; c += WG) s += xb[xo + c];
    const float mean = wg_sum(s) / float(pc.ncols);
    float ss = 0.0;
    for (uint c = tid; c < pc.ncols; c += WG) {
        const float d = xb[xo + c] - mean;
        ss += d * d;
    }
    const float inv = inversesqrt(wg_sum(ss) / float(pc.ncols) + pc.eps);
    for (uint c = tid; c < pc.ncols; c += WG) yb[yo + c] = (xb[xo + c] - mean) * inv * wb[pc.w_off + c] + bb[pc.b_off + c];
}
