#version 450
// GroupNorm (torch.nn.GroupNorm) over pixel rows x channels, channels split into groups of `per`
// consecutive channels. Two dispatches of this shader:
//   pass 0 (one workgroup per group): mean, then the population variance of the deviations over
//          all pixels and channels of the group, written as (mean, 1/sqrt(var + eps)) to stats[2g..];
//   pass 1 (one thread per element, grid like eltwise.comp): y = (x - mean) * rstd * w[c] + b[c].
// y may alias x (pass 1 reads each element before writing it; pass 0 only reads).
#define WG 256
#include "common.glsl"

layout(binding = 0) readonly buffer XBuf { float xb[]; };
layout(binding = 1) readonly buffer WBuf { float wb[]; };
layout(binding = 2) readonly buffer BBuf { float bb[]; };
layout(binding = 3) buffer YBuf { float yb[]; };
layout(binding = 4) buffer SBuf { float stats[]; };

layout(push_constant) uniform PC { uint pass, x_off, x_stride, w_off, b_off, y_off, y_stride, ncols, nrows, per; float eps; } pc;

void main() {
    if (pc.pass == 0u) {
        const uint g = linear_group(), tid = gl_LocalInvocationIndex;
        const uint n = pc.nrows * pc.per, c0 = g * pc.per;
        float s = 0.0;
        for (uint i = tid; i < n; i += WG) s += xb[pc.x_off + (i / pc.per) * pc.x_stride + c0 + i % pc.per];
        const float mean = wg_sum(s) / float(n);
        float ss = 0.0;
        for (uint i = tid; i < n; i += WG) {
            const float d = xb[pc.x_off + (i / pc.per) * pc.x_stride + c0 + i % pc.per] - mean;
            ss += d * d;
        }
        const float var = wg_sum(ss) / float(n);
        if (tid == 0u) {
            stats[2u * g] = mean;
            stats[2u * g + 1u] = inversesqrt(var + pc.eps);
        }
        return;
    }
    const uint c = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (c >= pc.ncols || r >= pc.nrows) return;
    const uint g = c / pc.per;
    const float x = xb[pc.x_off + r * pc.x_stride + c];
    yb[pc.y_off + r * pc.y_stride + c] = (x - stats[2u * g]) * stats[2u * g + 1u] * wb[pc.w_off + c] + bb[pc.b_off + c];
}
