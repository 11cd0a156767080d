// Portable versions of the row primitives (vec_ops.h).
#include <cmath>

#include "engine/backend/cpu/vec_ops.h"

namespace hearth::cpu {

namespace {

float sum_sq(const float* x, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * x[i];
    return float(s);
}
void scale_mul(const float* x, float s, const float* w, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s * w[i];
}
void silu_mul(const float* g, const float* u, float* o, int64_t n) {
    for (int64_t i = 0; i < n; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}
void gelu_mul(const float* g, const float* u, float* o, int64_t n) {
    constexpr float k2 = 2.0f * 0.7978845608028654f;  // 2 sqrt(2/pi)
    for (int64_t i = 0; i < n; ++i) {
        const float x = g[i];
        o[i] = x / (1.0f + std::exp(-k2 * (x + 0.044715f * x * x * x))) * u[i];
    }
}
void scale(float* x, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] *= s;
}
void add(const float* a, const float* b, float* o, int64_t n) {
    for (int64_t i = 0; i < n; ++i) o[i] = a[i] + b[i];
}
float dot(const float* a, const float* b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}
void axpy(float* y, const float* x, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += s * x[i];
}
float dot_f16(const float* q, const f16_t* k, int n) {
    float s = 0;
    for (int i = 0; i < n; ++i) s += q[i] * f16_to_f32(k[i]);
    return s;
}
void scale_axpy_f16(float* acc, float a, float p, const f16_t* v, int n) {
    for (int i = 0; i < n; ++i) acc[i] = acc[i] * a + p * f16_to_f32(v[i]);
}
void to_f16(const float* x, f16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
}
void from_f16(const f16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(x[i]);
}
float exp_sub_sum(float* x, float m, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; ++i) s += (x[i] = std::exp(x[i] - m));
    return s;
}

void attn_scores(const float* q, const float* k, int hd, int cnt, float scale, float* s) {
    for (int j = 0; j < cnt; ++j) s[j] = scale * dot(q, k + int64_t(j) * hd, hd);
}
void attn_pv(float* acc, float alpha, const float* p, const float* v, int hd, int cnt) {
    if (alpha != 1.0f) for (int i = 0; i < hd; ++i) acc[i] *= alpha;
    for (int j = 0; j < cnt; ++j) axpy(acc, v + int64_t(j) * hd, p[j], hd);
}

// The F16 tile variants as their definition: each row converted, then the F32 primitive.
void attn_scores_f16(const float* q, const f16_t* k, int hd, int cnt, float scale, float* s) {
    float row[512];
    for (int j = 0; j < cnt; ++j) {
        from_f16(k + int64_t(j) * hd, row, hd);
        attn_scores(q, row, hd, 1, scale, s + j);
    }
}
void attn_pv_f16(float* acc, float alpha, const float* p, const f16_t* v, int hd, int cnt) {
    float row[512];
    if (alpha != 1.0f) for (int i = 0; i < hd; ++i) acc[i] *= alpha;
    for (int j = 0; j < cnt; ++j) {
        from_f16(v + int64_t(j) * hd, row, hd);
        axpy(acc, row, p[j], hd);
    }
}

void gelu_erf(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * float(M_SQRT1_2)));
}

const VecOps kScalar = {sum_sq, scale_mul, silu_mul, gelu_mul, scale, add, dot, axpy, dot_f16, scale_axpy_f16, to_f16, from_f16, exp_sub_sum,
                        attn_scores, attn_pv, attn_scores_f16, attn_pv_f16, gelu_erf};

}  // namespace

const VecOps& vec_ops_scalar() { return kScalar; }

const VecOps& vec_ops(IsaLevel isa) { return isa >= IsaLevel::Avx2 ? vec_ops_avx2() : vec_ops_scalar(); }

}  // namespace hearth::cpu
