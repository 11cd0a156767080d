#version 450
// Nearest-neighbour upsampling of pixel rows (h*w rows of ncols channels) to oh*ow rows, one thread
// per output element. The source index follows torch's "nearest" exactly as nearest_source() in
// backend.cpp: identity, halving for exactly 2x, else min(floor(dst * (in / out as float)), in - 1);
// the host passes in/out as the same float, and a float multiply is correctly rounded in SPIR-V.
#define WG 256
#include "common.glsl"

layout(binding = 0) readonly buffer XBuf { float xb[]; };
layout(binding = 1) writeonly buffer YBuf { float yb[]; };

layout(push_constant) uniform PC { uint x_off, x_stride, y_off, y_stride, ncols, h, w, oh, ow; float sy, sx; } pc;

uint source(uint dst, uint n_in, uint n_out, float s) {
    if (n_out == n_in) return dst;
    if (n_out == 2u * n_in) return dst >> 1;
    return min(uint(floor(float(dst) * s)), n_in - 1u);
}

void main() {
    const uint c = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (c >= pc.ncols || r >= pc.oh * pc.ow) return;
    const uint sy = source(r / pc.ow, pc.h, pc.oh, pc.sy), sx = source(r % pc.ow, pc.w, pc.ow, pc.sx);
    yb[pc.y_off + r * pc.y_stride + c] = xb[pc.x_off + (sy * pc.w + sx) * pc.x_stride + c];
}
