// AVX2+FMA+F16C versions of the row primitives (vec_ops.h). exp is a Cephes-style polynomial
// (range reduction by ln 2, degree-5 polynomial; about 2 ulp) — the scalar path uses std::exp.
#include <immintrin.h>
#include <type_traits>
#include <cmath>
#include <cstdint>

#include "engine/backend/cpu/vec_ops.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#include "engine/backend/cpu/simd_avx2.h"

namespace hearth::cpu {

using namespace avx2;

namespace {

inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // multiply by 2^n through the exponent bits
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

float sum_sq(const float* x, int64_t n) {
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 u = _mm256_loadu_ps(x + i), v = _mm256_loadu_ps(x + i + 8);
        a = _mm256_fmadd_ps(u, u, a); b = _mm256_fmadd_ps(v, v, b);
    }
    float s = hsum(_mm256_add_ps(a, b));
    for (; i < n; ++i) s += x[i] * x[i];
    return s;
}
void scale_mul(const float* x, float s, const float* w, float* y, int64_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), _mm256_loadu_ps(w + i)));
    for (; i < n; ++i) y[i] = x[i] * s * w[i];
}
void silu_mul(const float* g, const float* u, float* o, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 gv = _mm256_loadu_ps(g + i);
        const __m256 e = exp8(_mm256_sub_ps(zero, gv));
        _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
    for (; i < n; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}
void gelu_mul(const float* g, const float* u, float* o, int64_t n) {
    // x / (1 + exp(-2z)): exp8 clamps its argument, so huge |x| gives x or -0, never NaN.
    constexpr float k2 = 2.0f * 0.7978845608028654f;  // 2 sqrt(2/pi)
    const __m256 one = _mm256_set1_ps(1.0f), c3 = _mm256_set1_ps(0.044715f), mk2 = _mm256_set1_ps(-k2);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 z = _mm256_fmadd_ps(_mm256_mul_ps(c3, x), _mm256_mul_ps(x, x), x);  // x + 0.044715 x^3
        const __m256 e = exp8(_mm256_mul_ps(mk2, z));
        _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
    for (; i < n; ++i) {
        const float x = g[i];
        o[i] = x / (1.0f + std::exp(-k2 * (x + 0.044715f * x * x * x))) * u[i];
    }
}
void scale(float* x, float s, int64_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; ++i) x[i] *= s;
}
void add(const float* a, const float* b, float* o, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; ++i) o[i] = a[i] + b[i];
}
float dot(const float* a, const float* b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}
void axpy(float* y, const float* x, float s, int64_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(vs, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += s * x[i];
}
inline __m256 ld_f16(const f16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
float dot_f16(const float* q, const f16_t* k, int n) {
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), ld_f16(k + i), a);
        b = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), ld_f16(k + i + 8), b);
    }
    for (; i + 8 <= n; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), ld_f16(k + i), a);
    float s = hsum(_mm256_add_ps(a, b));
    for (; i < n; ++i) s += q[i] * h2f(k[i].bits);
    return s;
}
void scale_axpy_f16(float* acc, float a, float p, const f16_t* v, int n) {
    const __m256 va = _mm256_set1_ps(a), vp = _mm256_set1_ps(p);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(vp, ld_f16(v + i), _mm256_mul_ps(va, _mm256_loadu_ps(acc + i))));
    for (; i < n; ++i) acc[i] = acc[i] * a + p * h2f(v[i].bits);
}
void to_f16(const float* x, f16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; ++i) y[i].bits = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}
void from_f16(const f16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, ld_f16(x + i));
    for (; i < n; ++i) y[i] = h2f(x[i].bits);
}
float exp_sub_sum(float* x, float m, int64_t n) {
    const __m256 vm = _mm256_set1_ps(m);
    __m256 s = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        s = _mm256_add_ps(s, e);
    }
    float t = hsum(s);
    for (; i < n; ++i) t += (x[i] = std::exp(x[i] - m));
    return t;
}

// Tiles of F32 or of F16 (converted as read: vcvtph2ps gives the floats from_f16 would store).
inline __m256 ld8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 ld8(const f16_t* p) { return ld_f16(p); }

// Four cells at a time: four running dot products, reduced together with two rounds of hadd.
// hd a multiple of 8 (attn_scores handles the rest); a last partial group of cells goes through
// dot() on the row as floats.
template <class T>
void attn_scores_tile(const float* q, const T* k, int hd, int cnt, float scale, float* s) {
    int j = 0;
    for (; j + 4 <= cnt; j += 4) {
        const T* k0 = k + int64_t(j) * hd;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < hd; i += 8) {
            const __m256 qv = _mm256_loadu_ps(q + i);
            a0 = _mm256_fmadd_ps(qv, ld8(k0 + i), a0);
            a1 = _mm256_fmadd_ps(qv, ld8(k0 + hd + i), a1);
            a2 = _mm256_fmadd_ps(qv, ld8(k0 + 2 * hd + i), a2);
            a3 = _mm256_fmadd_ps(qv, ld8(k0 + 3 * hd + i), a3);
        }
        const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        const __m128 r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        _mm_storeu_ps(s + j, _mm_mul_ps(r, _mm_set1_ps(scale)));
    }
    for (; j < cnt; ++j) {
        if constexpr (std::is_same_v<T, float>) {
            s[j] = scale * dot(q, k + int64_t(j) * hd, hd);
        } else {
            float row[512];
            from_f16(k + int64_t(j) * hd, row, hd);
            s[j] = scale * dot(q, row, hd);
        }
    }
}
void attn_scores(const float* q, const float* k, int hd, int cnt, float scale, float* s) {
    if (hd % 8 != 0) {
        for (int j = 0; j < cnt; ++j) s[j] = scale * dot(q, k + int64_t(j) * hd, hd);
        return;
    }
    attn_scores_tile(q, k, hd, cnt, scale, s);
}
void attn_scores_f16(const float* q, const f16_t* k, int hd, int cnt, float scale, float* s) {
    attn_scores_tile(q, k, hd, cnt, scale, s);
}

// The output row stays in registers 64 floats at a time while the tile's cells stream past.
template <class T>
void attn_pv_tile(float* acc, float alpha, const float* p, const T* v, int hd, int cnt) {
    const __m256 va = _mm256_set1_ps(alpha);
    for (int c = 0; c < hd; c += 64) {
        const int w = hd - c < 64 ? (hd - c) / 8 : 8;
        __m256 o[8];
        for (int i = 0; i < 8; ++i) o[i] = i < w ? _mm256_mul_ps(_mm256_loadu_ps(acc + c + 8 * i), va) : _mm256_setzero_ps();
        for (int j = 0; j < cnt; ++j) {
            const __m256 pj = _mm256_set1_ps(p[j]);
            const T* vj = v + int64_t(j) * hd + c;
            for (int i = 0; i < 8; ++i)
                if (i < w) o[i] = _mm256_fmadd_ps(pj, ld8(vj + 8 * i), o[i]);
        }
        for (int i = 0; i < w; ++i) _mm256_storeu_ps(acc + c + 8 * i, o[i]);
    }
}
void attn_pv(float* acc, float alpha, const float* p, const float* v, int hd, int cnt) {
    if (hd % 8 != 0) {
        if (alpha != 1.0f) for (int i = 0; i < hd; ++i) acc[i] *= alpha;
        for (int j = 0; j < cnt; ++j) axpy(acc, v + int64_t(j) * hd, p[j], hd);
        return;
    }
    attn_pv_tile(acc, alpha, p, v, hd, cnt);
}
void attn_pv_f16(float* acc, float alpha, const float* p, const f16_t* v, int hd, int cnt) { attn_pv_tile(acc, alpha, p, v, hd, cnt); }

void gelu_erf(float* x, int64_t n) {
    // q = erfc(|z|) = t (a1 + t (a2 + … a5 t)) exp(-z²), t = 1 / (1 + p |z|); 1 + erf(z) is 2 - q
    // for z >= 0 and q below it.
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    const __m256 rsqrt2 = _mm256_set1_ps(0.70710678118654752f), pp = _mm256_set1_ps(0.3275911f);
    const __m256 a1 = _mm256_set1_ps(0.254829592f), a2 = _mm256_set1_ps(-0.284496736f), a3 = _mm256_set1_ps(1.421413741f),
                 a4 = _mm256_set1_ps(-1.453152027f), a5 = _mm256_set1_ps(1.061405429f);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 z = _mm256_mul_ps(v, rsqrt2);
        const __m256 a = _mm256_and_ps(z, abs_mask);
        const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(pp, a, one));
        __m256 poly = _mm256_fmadd_ps(a5, t, a4);
        poly = _mm256_fmadd_ps(poly, t, a3);
        poly = _mm256_fmadd_ps(poly, t, a2);
        poly = _mm256_fmadd_ps(poly, t, a1);
        const __m256 q = _mm256_mul_ps(_mm256_mul_ps(poly, t), exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a))));
        const __m256 nonneg = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ);
        const __m256 one_plus_erf = _mm256_blendv_ps(q, _mm256_sub_ps(two, q), nonneg);
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), one_plus_erf));
    }
    for (; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

const VecOps kAvx2 = {sum_sq, scale_mul, silu_mul, gelu_mul, scale, add, dot, axpy, dot_f16, scale_axpy_f16, to_f16, from_f16, exp_sub_sum,
                      attn_scores, attn_pv, attn_scores_f16, attn_pv_f16, gelu_erf};

}  // namespace

const VecOps& vec_ops_avx2() { return kAvx2; }

}  // namespace hearth::cpu

#pragma GCC pop_options
