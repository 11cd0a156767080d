// Row-level vector primitives used by the CPU backend's non-matmul ops (norms, activations,
// attention over the F16 KV cache), with a portable version and an AVX2 version chosen at run time.
#pragma once

#include <cstdint>

#include "engine/backend/cpu/cpu_features.h"
#include "engine/quant/fp16.h"

namespace hearth::cpu {

struct VecOps {
    // sum of x[i]^2
    float (*sum_sq)(const float* x, int64_t n);
    // y[i] = x[i] * s * w[i]
    void (*scale_mul)(const float* x, float s, const float* w, float* y, int64_t n);
    // o[i] = g[i] / (1 + exp(-g[i])) * u[i]   (o may alias g)
    void (*silu_mul)(const float* g, const float* u, float* o, int64_t n);
    // o[i] = gelu_tanh(g[i]) * u[i]   (o may alias g). gelu_tanh(x) = 0.5 x (1 + tanh(z)) with
    // z = sqrt(2/pi) (x + 0.044715 x^3), computed as x / (1 + exp(-2z)) (the same function).
    void (*gelu_mul)(const float* g, const float* u, float* o, int64_t n);
    // x[i] *= s
    void (*scale)(float* x, float s, int64_t n);
    // o[i] = a[i] + b[i]
    void (*add)(const float* a, const float* b, float* o, int64_t n);
    // dot of two F32 rows
    float (*dot)(const float* a, const float* b, int64_t n);
    // y[i] += s * x[i]
    void (*axpy)(float* y, const float* x, float s, int64_t n);
    // dot of F32 q with an F16 row
    float (*dot_f16)(const float* q, const f16_t* k, int n);
    // acc[i] = acc[i] * a + p * v[i] for an F16 row v
    void (*scale_axpy_f16)(float* acc, float a, float p, const f16_t* v, int n);
    // F32 <-> F16 rows (round to nearest even, bit-identical to fp16.h)
    void (*to_f16)(const float* x, f16_t* y, int64_t n);
    void (*from_f16)(const f16_t* x, float* y, int64_t n);
    // In place: x[i] = exp(x[i] - m); returns the sum
    float (*exp_sub_sum)(float* x, float m, int64_t n);
    // Attention over one tile of cnt cached cells (rows of hd floats, contiguous):
    // s[j] = scale * dot(q, k + j * hd)
    void (*attn_scores)(const float* q, const float* k, int hd, int cnt, float scale, float* s);
    // acc[i] = acc[i] * alpha + sum_j p[j] * v[j * hd + i]
    void (*attn_pv)(float* acc, float alpha, const float* p, const float* v, int hd, int cnt);
    // The same two over an F16 tile, converted as they read it: bit-identical to from_f16 into a
    // float tile and then attn_scores / attn_pv (so a query sees the same arithmetic whichever its
    // attention takes), without writing the tile. For hd a multiple of 8, at most 512.
    void (*attn_scores_f16)(const float* q, const f16_t* k, int hd, int cnt, float scale, float* s);
    void (*attn_pv_f16)(float* acc, float alpha, const float* p, const f16_t* v, int hd, int cnt);
    // In place: x[i] = 0.5 x (1 + erf(x / sqrt 2)), torch's default GELU (BERT, SD 2.x's text
    // encoder). The AVX2 version takes erfc from Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7),
    // so the negative tail, where 1 + erf cancels, keeps its small values.
    void (*gelu_erf)(float* x, int64_t n);
};

const VecOps& vec_ops(IsaLevel isa);
const VecOps& vec_ops_scalar();
const VecOps& vec_ops_avx2();  // only when the CPU has AVX2+FMA+F16C

}  // namespace hearth::cpu
