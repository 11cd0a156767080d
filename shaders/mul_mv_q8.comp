#version 450
// 8-bit matrix-vector product for generation (1..4 tokens) with quantized weights: the activations
// were quantized to 32-value blocks by quantize_q8.comp, and every block product is an integer dot
// product of signed bytes scaled once:
//   y[t][r] = sum_b  dx * (dlo * (wq . xq)[0..16) + dhi * (wq . xq)[16..32)) + m * sx   (+ bias[r])
// which is exactly W . dequant(xq): the only approximation is rounding x to 8 bits (as llama.cpp
// and Hearth's CPU backend do). Two variants:
//   USE_DOT  the packed 4x8-bit integer dot product instruction (SPIR-V OpSDot, VK 1.3 /
//            VK_KHR_shader_integer_dot_product), emitted through GL_EXT_spirv_intrinsics because
//            Debian 12's glslang (11.13) does not know GL_EXT_integer_dot_product
//   (else)   8-bit storage (activation bytes read as i8vec4) and 32-bit integer arithmetic
// One workgroup per NR weight rows, threads walk the row's 32-value blocks.
#ifdef USE_DOT
#extension GL_EXT_spirv_intrinsics : require
#else
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_8bit_storage : require
#endif
#define WG 64
#include "common.glsl"

layout(binding = 0) readonly buffer WBuf { uint wbuf[]; };
layout(binding = 1) readonly buffer XQBuf { uint xq[]; };
#ifndef USE_DOT
layout(binding = 1) readonly buffer XQ8Buf { i8vec4 xq8[]; };  // the same blocks, byte-wise
#endif
layout(binding = 2) writeonly buffer YBuf { float yb[]; };
layout(binding = 3) readonly buffer BBuf { float bb[]; };
#define BUF wbuf
#include "bytes.glsl"
#include "dequant.glsl"
#include "wq8.glsl"

layout(push_constant) uniform PC {
    uint w_off, w_stride;              // bytes
    uint xq_off, xq_stride;            // words (quantize_q8.comp blocks, 10 words each)
    uint y_off, y_stride, b_off;       // floats
    uint has_bias, nrows, ncols, ntok;
} pc;

#define MAXT 4
#define NR 4
#include "mv_reduce.glsl"

#ifdef USE_DOT
// OpSDot (4450) on two 32-bit integers holding 4 signed bytes each (packed vector format 0 =
// PackedVectorFormat4x8Bit); capabilities DotProduct (6019), DotProductInput4x8BitPacked (6018).
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot_4x8_packed(int a, int b, spirv_literal int packed_format);
#define XVEC uint
XVEC load_x(uint word) { return xq[word]; }
int dot4(uint w, XVEC x) { return sdot_4x8_packed(int(w), int(x), 0); }
#else
#define XVEC ivec4
XVEC load_x(uint word) { return ivec4(xq8[word]); }
int dot4(uint w, XVEC x) {  // GLSL has no integer dot()
    const ivec4 a = ivec4(bitfieldExtract(int(w), 0, 8), bitfieldExtract(int(w), 8, 8), bitfieldExtract(int(w), 16, 8), bitfieldExtract(int(w), 24, 8));
    return a.x * x.x + a.y * x.y + a.z * x.z + a.w * x.w;
}
#endif
int dot16(uvec4 w, XVEC x0, XVEC x1, XVEC x2, XVEC x3) { return dot4(w.x, x0) + dot4(w.y, x1) + dot4(w.z, x2) + dot4(w.w, x3); }

void main() {
    const uint row0 = linear_group() * NR;
    if (row0 >= pc.nrows) return;  // uniform per workgroup
    const uint tid = gl_LocalInvocationIndex;
    const uint nb = pc.ncols / 32u;
    float acc[NR][MAXT];
    [[unroll]] for (uint i = 0u; i < NR; ++i) [[unroll]] for (uint t = 0u; t < MAXT; ++t) acc[i][t] = 0.0;
    for (uint b = tid; b < nb; b += WG) {
        // the block of every row once, then each token's activation block once
        uvec4 lo[NR], hi[NR];
        float dlo[NR], dhi[NR], m[NR];
        [[unroll]] for (uint i = 0u; i < NR; ++i) {
            if (row0 + i >= pc.nrows) break;
            wq8(pc.w_off + (row0 + i) * pc.w_stride, b, lo[i], hi[i], dlo[i], dhi[i], m[i]);
        }
        [[unroll]] for (uint t = 0u; t < MAXT; ++t) {
            if (t >= pc.ntok) break;
            const uint xw = pc.xq_off + t * pc.xq_stride + b * 10u;
            XVEC x[8];
            [[unroll]] for (uint k = 0u; k < 8u; ++k) x[k] = load_x(xw + k);
            const float dx = uintBitsToFloat(xq[xw + 8u]), sx = uintBitsToFloat(xq[xw + 9u]);
            [[unroll]] for (uint i = 0u; i < NR; ++i) {
                if (row0 + i >= pc.nrows) break;
                acc[i][t] += dx * (dlo[i] * float(dot16(lo[i], x[0], x[1], x[2], x[3])) + dhi[i] * float(dot16(hi[i], x[4], x[5], x[6], x[7]))) +
                             m[i] * sx;
            }
        }
    }
    reduce_store(acc, row0);
}
