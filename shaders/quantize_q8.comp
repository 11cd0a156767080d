#version 450
// Activations to 8-bit blocks for the integer matrix-vector shaders (mul_mv_q8.comp), one thread per
// block of 32 values of one token row:  d = max|x| / 127,  q_i = round(x_i / d),  s = d * sum q_i.
// A block is 10 words: the 32 q_i as signed bytes (element 4k+j in byte j of word k), then d and s
// as floats. s is the sum of the *quantized* values so that a weight offset m contributes m * s and
// the product is exactly W . dequant(q) (as llama.cpp's Q8_1 does). ncols is a multiple of 32
// (every quantized weight row is).
#define WG 64
#include "common.glsl"

layout(binding = 0) readonly buffer XBuf { float xb[]; };
layout(binding = 1) writeonly buffer QBuf { uint qb[]; };

layout(push_constant) uniform PC { uint x_off, x_stride, q_off, ncols, ntok; } pc;

void main() {
    const uint nb = pc.ncols / 32u;
    const uint i = linear_group() * WG + gl_LocalInvocationIndex;
    if (i >= nb * pc.ntok) return;
    const uint t = i / nb, b = i % nb;
    const uint xo = pc.x_off + t * pc.x_stride + b * 32u;
    float amax = 0.0;
    for (uint k = 0u; k < 32u; ++k) amax = max(amax, abs(xb[xo + k]));
    const float d = amax / 127.0, inv = amax > 0.0 ? 127.0 / amax : 0.0;
    int sum = 0;
    const uint qo = pc.q_off + i * 10u;
    for (uint w = 0u; w < 8u; ++w) {
        const ivec4 q = ivec4(roundEven(vec4(xb[xo + 4u * w], xb[xo + 4u * w + 1u], xb[xo + 4u * w + 2u], xb[xo + 4u * w + 3u]) * inv));
        sum += q.x + q.y + q.z + q.w;
        qb[qo + w] = (uint(q.x) & 0xffu) | ((uint(q.y) & 0xffu) << 8) | ((uint(q.z) & 0xffu) << 16) | (uint(q.w) << 24);
    }
    qb[qo + 8u] = floatBitsToUint(d);
    qb[qo + 9u] = floatBitsToUint(d * float(sum));
}
