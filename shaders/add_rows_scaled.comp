#version 450
// y[ids[r]] += w[r] * x[r] for the rows r of x (Backend::add_rows_scaled): one expert's outputs,
// weighted by the router, added into the rows of the tokens that chose it. The ids of one dispatch
// are distinct, so no two invocations write the same element. The arithmetic is eltwise's
// scale_add (op 3). Grid x covers columns, y (and z) the rows of x.
#define WG 256
#include "common.glsl"

layout(binding = 0) buffer YBuf { float yb[]; };
layout(binding = 1) readonly buffer XBuf { float xbuf[]; };
layout(binding = 2) readonly buffer IBuf { int ids[]; };
layout(binding = 3) readonly buffer WBuf { float wb[]; };

layout(push_constant) uniform PC { uint y_off, y_stride, x_off, x_stride, ids_off, w_off, ncols, nrows; } pc;

void main() {
    const uint c = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (c >= pc.ncols || r >= pc.nrows) return;
    const uint row = uint(ids[pc.ids_off + r]);
    const uint o = pc.y_off + row * pc.y_stride + c;
    yb[o] = yb[o] + wb[pc.w_off + r] * xbuf[pc.x_off + r * pc.x_stride + c];
}
