#version 450
// Element-wise ops over 2-D F32 views (row strides in floats), one thread per element:
//   op 0 copy: out = a       op 1 add: out = a + b
//   op 2 silu_mul: out = silu(a) * b       op 3 scale_add: out = a + s * b (out aliases a)
//   op 4 gelu_mul: out = gelu_tanh(a) * b  op 5 scale: out = s * a (out aliases a)
// gelu_tanh(x) = 0.5 x (1 + tanh(z)), z = sqrt(2/pi) (x + 0.044715 x^3), evaluated as x / (1 + e^(-2z))
// (the same function; GLSL's tanh of a large argument may be NaN on some drivers, the exp form is not).
// out may alias a; grid x covers columns, y rows.
#define WG 256
#include "common.glsl"

layout(binding = 0) readonly buffer ABuf { float ab[]; };
layout(binding = 1) readonly buffer BBuf { float bbuf[]; };
layout(binding = 2) buffer OBuf { float ob[]; };

layout(push_constant) uniform PC { uint op, a_off, a_stride, b_off, b_stride, o_off, o_stride, ncols, nrows; float s; } pc;

void main() {
    const uint c = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (c >= pc.ncols || r >= pc.nrows) return;
    const float a = ab[pc.a_off + r * pc.a_stride + c];
    float v = a;
    if (pc.op == 1u) {
        v = a + bbuf[pc.b_off + r * pc.b_stride + c];
    } else if (pc.op == 2u) {
        v = a / (1.0 + exp(-a)) * bbuf[pc.b_off + r * pc.b_stride + c];
    } else if (pc.op == 3u) {
        v = a + pc.s * bbuf[pc.b_off + r * pc.b_stride + c];
    } else if (pc.op == 4u) {
        const float z2 = clamp(-1.5957691216057308 * (a + 0.044715 * a * a * a), -80.0, 80.0);  // -2z, clamped: no inf
        v = a / (1.0 + exp(z2)) * bbuf[pc.b_off + r * pc.b_stride + c];
    } else if (pc.op == 5u) {
        v = pc.s * a;
    }
    ob[pc.o_off + r * pc.o_stride + c] = v;
}
