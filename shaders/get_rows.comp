#version 450
// Embedding lookup: out[i] = table row ids[i] as F32; one workgroup per output row. A table larger
// than one storage-buffer binding is dispatched once per piece of rows [r0, r1): each dispatch
// writes only the rows whose id falls in its piece. Ids outside the table write zeros (the model
// validates token ids; this keeps a bad id from reading out of bounds).
#define WG 64
#include "common.glsl"

layout(binding = 0) readonly buffer WBuf { uint wbuf[]; };
layout(binding = 1) readonly buffer IBuf { int ids[]; };
layout(binding = 2) writeonly buffer OBuf { float ob[]; };
#define BUF wbuf
#include "bytes.glsl"
#include "dequant.glsl"

layout(push_constant) uniform PC {
    uint w_off, w_stride, ids_off, o_off, o_stride, ncols, n, r0, r1, total_rows, first_piece;
} pc;

void main() {
    const uint i = linear_group();
    if (i >= pc.n) return;
    const int id = ids[pc.ids_off + i];
    const bool inside = id >= int(pc.r0) && id < int(pc.r1);
    const bool invalid = id < 0 || id >= int(pc.total_rows);
    if (!inside && !(invalid && pc.first_piece != 0u)) return;
    const uint ngroups = (pc.ncols + 7u) / 8u;
    for (uint g = gl_LocalInvocationIndex; g < ngroups; g += WG) {
        vec4 a = vec4(0.0), b = vec4(0.0);
        if (inside) dq8(pc.w_off + uint(id - int(pc.r0)) * pc.w_stride, g, pc.ncols, a, b);
        const uint o = pc.o_off + i * pc.o_stride + g * 8u;
        [[unroll]] for (uint k = 0u; k < 8u; ++k)
            if (g * 8u + k < pc.ncols) ob[o + k] = k < 4u ? a[k] : b[k - 4u];
    }
}
