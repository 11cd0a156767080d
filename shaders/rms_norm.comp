#version 450
// RMSNorm, one workgroup per row: y = x / sqrt(mean(x^2) + eps) * w. y may alias x (each thread
// reads its own elements before writing them back).
#define WG 128
#include "common.glsl"

layout(binding = 0) readonly buffer XBuf { float xb[]; };
layout(binding = 1) readonly buffer WBuf { float wb[]; };
layout(binding = 2) buffer YBuf { float yb[]; };

layout(push_constant) uniform PC { uint x_off, x_stride, w_off, y_off, y_stride, ncols, nrows; float eps; } pc;

void main() {
    const uint r = linear_group();
    if (r >= pc.nrows) return;
    const uint tid = gl_LocalInvocationIndex;
    const uint xo = pc.x_off + r * pc.x_stride, yo = pc.y_off + r * pc.y_stride;
    float ss = 0.0;
    for (uint c = tid; c < pc.ncols; c += WG) ss += xb[xo + c] * xb[xo + c];
    const float inv = inversesqrt(wg_sum(ss) / float(pc.ncols) + pc.eps);
    for (uint c = tid; c < pc.ncols; c += WG) yb[yo + c] = xb[xo + c] * inv * wb[pc.w_off + c];
}
