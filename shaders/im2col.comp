#version 450
// conv2d's first half: unrolls the receptive field of output pixels p0 .. p0+np-1 into rows of a
// scratch matrix, col[p][(ky * kernel + kx) * cin + c] = x[pixel (oy*stride + ky - pad, ox*stride + kx - pad)][c]
// (zero outside the image), the column order of the re-laid kernel [out][ky][kx][in]; the backend's
// matmul then multiplies the kernel by these rows. One thread per element of the band.
#define WG 256
#include "common.glsl"

layout(binding = 0) readonly buffer XBuf { float xb[]; };
layout(binding = 1) writeonly buffer CBuf { float cb[]; };

layout(push_constant) uniform PC { uint x_off, x_stride, c_off, kc, cin, h, w, ow, kernel, stride, pad, p0, np; } pc;

void main() {
    const uint j = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (j >= pc.kc || r >= pc.np) return;
    const uint p = pc.p0 + r, oy = p / pc.ow, ox = p % pc.ow;
    const uint tap = j / pc.cin, c = j % pc.cin, ky = tap / pc.kernel, kx = tap % pc.kernel;
    const int iy = int(oy * pc.stride + ky) - int(pc.pad), ix = int(ox * pc.stride + kx) - int(pc.pad);
    float v = 0.0;
    if (iy >= 0 && ix >= 0 && iy < int(pc.h) && ix < int(pc.w)) v = xb[pc.x_off + (uint(iy) * pc.w + uint(ix)) * pc.x_stride + c];
    cb[pc.c_off + r * pc.kc + j] = v;
}
