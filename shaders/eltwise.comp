#version 450
// Element-wise ops over 2-D F32 views (row strides in floats), one thread per element:
//   op 0 copy: out = a       op 1 add: out = a + b
//   op 2 silu_mul: out = silu(a) * b       op 3 scale_add: out = a + s * b (out aliases a)
//   op 4 gelu_mul: out = gelu_tanh(a) * b  op 5 scale: out = s * a (out aliases a)
//   op 6 mul: out = a * b        op 7 gelu (erf): out = 0.5 a (1 + erf(a / sqrt 2))
//   op 8 quick_gelu: out = a sigma(1.702 a)  op 9 silu: out = a sigma(a)   (7-9: Backend::activate, in place)
// GLSL has no erf: erf_approx is Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), odd-extended.
// gelu_tanh(x) = 0.5 x (1 + tanh(z)), z = sqrt(2/pi) (x + 0.044715 x^3), evaluated as x / (1 + e^(-2z))
// (the same function; GLSL's tanh of a large argument may be NaN on some drivers, the exp form is not).
// out may alias a; grid x covers columns, y rows.
#define WG 256
#include "common.glsl"

layout(binding = 0) readonly buffer ABuf { float ab[]; };
layout(binding = 1) readonly buffer BBuf { float bbuf[]; };
layout(binding = 2) buffer OBuf { float ob[]; };

layout(push_constant) uniform PC { uint op, a_off, a_stride, b_off, b_stride, o_off, o_stride, ncols, nrows; float s; } pc;

float erf_approx(float x) {
    const float ax = abs(x), t = 1.0 / (1.0 + 0.3275911 * ax);
    const float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(x) * (1.0 - poly * exp(-ax * ax));
}
// a sigma(k a) as a / (1 + e^(-k a)) with the exponent clamped: no inf / inf for very negative a
float x_sigmoid(float a, float k) { return a / (1.0 + exp(clamp(-k * a, -80.0, 80.0))); }

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
    } else if (pc.op == 6u) {
        v = a * bbuf[pc.b_off + r * pc.b_stride + c];
    } else if (pc.op == 7u) {
        v = 0.5 * a * (1.0 + erf_approx(a * 0.7071067811865476));
    } else if (pc.op == 8u) {
        v = x_sigmoid(a, 1.702);
    } else if (pc.op == 9u) {
        v = x_sigmoid(a, 1.0);
    }
    ob[pc.o_off + r * pc.o_stride + c] = v;
}
