#version 450
// Softmax of each row in place, one workgroup per row (max subtracted for stability).
#define WG 128
#include "common.glsl"

layout(binding = 0) buffer XBuf { float xb[]; };
layout(push_constant) uniform PC { uint x_off, x_stride, ncols, nrows; } pc;

void main() {
    const uint r = linear_group();
    if (r >= pc.nrows) return;
    const uint tid = gl_LocalInvocationIndex, xo = pc.x_off + r * pc.x_stride;
    float mx = -3.0e38;
    for (uint c = tid; c < pc.ncols; c += WG) mx = max(mx, xb[xo + c]);
    mx = wg_max(mx);
    float s = 0.0;
    for (uint c = tid; c < pc.ncols; c += WG) s += exp(xb[xo + c] - mx);
    const float inv = 1.0 / wg_sum(s);
    for (uint c = tid; c < pc.ncols; c += WG) xb[xo + c] = exp(xb[xo + c] - mx) * inv;
}
