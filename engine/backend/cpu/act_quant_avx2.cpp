// AVX2 activation quantizers (layouts in kernels.h). They compute exactly what the scalar versions
// compute (same max, same float multiply, round-to-nearest-even), so tests compare bit for bit.
#include <immintrin.h>
#include <cstdint>

#include "engine/backend/cpu/kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#include "engine/backend/cpu/simd_avx2.h"

namespace hearth::cpu {

using namespace avx2;

namespace {

inline float block_amax(const float* x, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Quantizes 32 floats with multiplier id into 32 int8 at q; returns the 4 int32 vectors' sum
// (lanes) through `sum` and the per-16 sums through s16 (optional).
inline void quant32(const float* x, __m256 id, int8_t* q, __m256i* sum_lo, __m256i* sum_hi) {
    __m256i v[4];
    for (int i = 0; i < 4; ++i) {
        const __m256 f = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), id),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v[i] = _mm256_cvtps_epi32(f);
    }
    *sum_lo = _mm256_add_epi32(v[0], v[1]);
    *sum_hi = _mm256_add_epi32(v[2], v[3]);
    // packs interleave 128-bit lanes; the permute restores element order
    const __m256i a = _mm256_packs_epi32(v[0], v[1]);
    const __m256i b = _mm256_packs_epi32(v[2], v[3]);
    __m256i p = _mm256_packs_epi16(a, b);
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), p);
}

}  // namespace

void quantize_act_q8_32_avx2(const float* x, uint8_t* dst, int64_t k) {
    int8_t* qs = reinterpret_cast<int8_t*>(dst);
    float* d = reinterpret_cast<float*>(dst + k);
    float* s = d + k / 32;
    for (int64_t b = 0; b < k / 32; ++b) {
        const float amax = block_amax(x + 32 * b, 32);
        const float id = amax > 0 ? 127.0f / amax : 0.0f;
        __m256i lo, hi;
        quant32(x + 32 * b, _mm256_set1_ps(id), qs + 32 * b, &lo, &hi);
        d[b] = _cvtsh_ss(_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT));  // F16 precision, as ggml's q8_0
        s[b] = d[b] * float(hsum_i32(_mm256_add_epi32(lo, hi)));
    }
}

void quantize_act_q8_K_avx2(const float* x, uint8_t* dst, int64_t k) {
    int8_t* qs = reinterpret_cast<int8_t*>(dst);
    float* d = reinterpret_cast<float*>(dst + k);
    int16_t* bsums = reinterpret_cast<int16_t*>(dst + k + 4 * (k / 256));
    for (int64_t b = 0; b < k / 256; ++b) {
        const float amax = block_amax(x + 256 * b, 256);
        const float id = amax > 0 ? 127.0f / amax : 0.0f;
        d[b] = amax / 127.0f;
        const __m256 vid = _mm256_set1_ps(id);
        for (int j = 0; j < 8; ++j) {
            __m256i lo, hi;
            quant32(x + 256 * b + 32 * j, vid, qs + 256 * b + 32 * j, &lo, &hi);
            bsums[16 * b + 2 * j] = int16_t(hsum_i32(lo));
            bsums[16 * b + 2 * j + 1] = int16_t(hsum_i32(hi));
        }
    }
}

}  // namespace hearth::cpu

#pragma GCC pop_options
