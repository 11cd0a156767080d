#version 450
// Tiled matrix-matrix product for prompt batches: each workgroup computes a 64-row x 64-token tile
// of y. Per step of 32 columns it dequantizes the weight tile and loads the activation tile into
// shared memory (16 KiB, under the 32 KiB lavapipe and most GPUs offer), then every thread
// accumulates a 4x4 micro-tile from shared memory. Edges (rows, tokens, columns not multiples of
// the tile) read zeros and skip their writes.
// FP16 (devices with shaderFloat16): the tiles are held in F16 and the 4x4 products are F16 vector
// multiplies (half the shared memory traffic; packed F16 math on GPUs that have it), accumulated
// in F32. Dequantized weights, activations and each product are rounded to F16 (relative error
// 2^-11 each, so at most ~1.5e-3 of sum |w x| in all), so this variant runs only where the device
// reports fp16 arithmetic; F16 cannot hold |values| above 65504.
#ifdef FP16
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define FT float16_t
#define FT4 f16vec4
#else
#define FT float
#define FT4 vec4
#endif
#define WG 256
#include "common.glsl"

layout(binding = 0) readonly buffer WBuf { uint wbuf[]; };
layout(binding = 1) readonly buffer XBuf { float xb[]; };
layout(binding = 2) writeonly buffer YBuf { float yb[]; };
layout(binding = 3) readonly buffer BBuf { float bb[]; };
#define BUF wbuf
#include "bytes.glsl"
#include "dequant.glsl"

layout(push_constant) uniform PC {
    uint w_off, w_stride;
    uint x_off, x_stride, y_off, y_stride, b_off;
    uint has_bias, nrows, ncols, ntok;
} pc;

#define BM 64u
#define BN 64u
#define BK 32u

shared FT ws[BK * BM];  // [k][m]
shared FT xs[BK * BN];  // [k][n]

void main() {
    const uint tid = gl_LocalInvocationIndex;
    const uint row0 = gl_WorkGroupID.x * BM, tok0 = gl_WorkGroupID.y * BN;
    const uint tx = tid % 16u, ty = tid / 16u;  // rows tx*4.., tokens ty*4..
    vec4 acc[4];  // acc[j][i]: token ty*4+j, row tx*4+i
    [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[j] = vec4(0.0);

    // this thread's share of the weight tile: row m, column group kg
    const uint lm = tid / 4u, lkg = tid % 4u;
    const uint wrow = row0 + lm;
    for (uint k0 = 0u; k0 < pc.ncols; k0 += BK) {
        vec4 a = vec4(0.0), b = vec4(0.0);
        const uint g = k0 / 8u + lkg;
        if (wrow < pc.nrows && g * 8u < pc.ncols) dq8(pc.w_off + wrow * pc.w_stride, g, pc.ncols, a, b);
        [[unroll]] for (uint i = 0u; i < 4u; ++i) {
            ws[(lkg * 8u + i) * BM + lm] = FT(a[i]);
            ws[(lkg * 8u + 4u + i) * BM + lm] = FT(b[i]);
        }
        [[unroll]] for (uint i = 0u; i < (BK * BN) / WG; ++i) {
            const uint idx = tid + i * WG, n = idx / BK, k = idx % BK;
            const uint t = tok0 + n, c = k0 + k;
            xs[k * BN + n] = FT((t < pc.ntok && c < pc.ncols) ? xb[pc.x_off + t * pc.x_stride + c] : 0.0);
        }
        barrier();
        [[unroll]] for (uint k = 0u; k < BK; ++k) {
            const FT4 wa = FT4(ws[k * BM + tx * 4u], ws[k * BM + tx * 4u + 1u], ws[k * BM + tx * 4u + 2u], ws[k * BM + tx * 4u + 3u]);
            [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[j] += vec4(wa * xs[k * BN + ty * 4u + j]);
        }
        barrier();
    }
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        const uint r = row0 + tx * 4u + i;
        if (r >= pc.nrows) continue;
        const float bias = pc.has_bias != 0u ? bb[pc.b_off + r] : 0.0;
        [[unroll]] for (uint j = 0u; j < 4u; ++j) {
            const uint t = tok0 + ty * 4u + j;
            if (t < pc.ntok) yb[pc.y_off + t * pc.y_stride + r] = acc[j][i] + bias;
        }
    }
}
