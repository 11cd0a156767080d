// AVX2+FMA kernels for float weights (F32, F16 via F16C, BF16 by shifting into the high half)
// against F32 activations. Generation reads the weights directly; prompt batches convert a panel of
// rows to F32 once and run a 4-row × 3-token register tile over it (12 accumulators).
#include <immintrin.h>
#include <cstddef>
#include <cstdint>

#include "engine/backend/cpu/kernels.h"
#include "engine/quant/fp16.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#include "engine/backend/cpu/simd_avx2.h"

namespace hearth::cpu {

using namespace avx2;

namespace {

template <GgmlType T> struct FW;
template <> struct FW<GgmlType::F32> {
    static constexpr int kElt = 4;
    static inline __m256 load8(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
    static inline float load1(const uint8_t* p) { float f; std::memcpy(&f, p, 4); return f; }
};
template <> struct FW<GgmlType::F16> {
    static constexpr int kElt = 2;
    static inline __m256 load8(const uint8_t* p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static inline float load1(const uint8_t* p) { return h2f(load_u16(p)); }
};
template <> struct FW<GgmlType::BF16> {
    static constexpr int kElt = 2;
    static inline __m256 load8(const uint8_t* p) {
        const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    static inline float load1(const uint8_t* p) { return fp32_from_bits(uint32_t(load_u16(p)) << 16); }
};

template <GgmlType T, int R, int NT>
void tile_f_rt(int64_t k, const uint8_t* w, size_t ws, const uint8_t* xa, size_t xs, float* y, size_t ldy) {
    using F = FW<T>;
    __m256 acc[R][NT];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 xv[NT];
        for (int t = 0; t < NT; ++t) xv[t] = _mm256_loadu_ps(reinterpret_cast<const float*>(xa + t * xs) + i);
        for (int r = 0; r < R; ++r) {
            const __m256 wv = F::load8(w + r * ws + i * F::kElt);
            for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < NT; ++t) {
            float v = hsum(acc[r][t]);
            const float* xt = reinterpret_cast<const float*>(xa + t * xs);
            for (int64_t j = i; j < k; ++j) v += F::load1(w + r * ws + j * F::kElt) * xt[j];
            y[t * ldy + r] = v;
        }
}

template <GgmlType T>
void tile_f(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) {
    // nr 1..4, nt 1..3
#define HEARTH_CASE(R, N) if (nr == R && nt == N) return tile_f_rt<T, R, N>(k, w, ws, xa, xs, y, ldy)
    HEARTH_CASE(4, 1); HEARTH_CASE(3, 1); HEARTH_CASE(2, 1); HEARTH_CASE(1, 1);
    HEARTH_CASE(4, 2); HEARTH_CASE(3, 2); HEARTH_CASE(2, 2); HEARTH_CASE(1, 2);
    HEARTH_CASE(4, 3); HEARTH_CASE(3, 3); HEARTH_CASE(2, 3); HEARTH_CASE(1, 3);
#undef HEARTH_CASE
}

// ---- panel: rows converted to F32 (k floats each, 64-byte multiple)
size_t panel_bytes_f(int64_t k) { return (size_t(k) * 4 + 63) & ~size_t(63); }

template <GgmlType T>
void panel_decode_f(int64_t k, const uint8_t* w, size_t ws, int nr, uint8_t* panel) {
    using F = FW<T>;
    for (int r = 0; r < nr; ++r) {
        float* out = reinterpret_cast<float*>(panel + r * panel_bytes_f(k));
        int64_t i = 0;
        for (; i + 8 <= k; i += 8) _mm256_store_ps(out + i, F::load8(w + r * ws + i * F::kElt));
        for (; i < k; ++i) out[i] = F::load1(w + r * ws + i * F::kElt);
    }
}

void panel_tile_f(int64_t k, const uint8_t* panel, int nr, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) {
    const size_t pb = panel_bytes_f(k);
    for (int t0 = 0; t0 < nt; t0 += 3) {
        const int tn = nt - t0 < 3 ? nt - t0 : 3;
        for (int r0 = 0; r0 < nr; r0 += 4) {
            const int rn = nr - r0 < 4 ? nr - r0 : 4;
            tile_f<GgmlType::F32>(k, panel + r0 * pb, pb, rn, xa + t0 * xs, xs, tn, y + t0 * ldy + r0, ldy);
        }
    }
}

template <GgmlType T>
constexpr MatKernel f_entry(const char* name, bool panel) {
    MatKernel m;
    m.act = ActKind::F32;
    m.tile = tile_f<T>;
    m.max_rows = 4;
    m.max_toks = 3;
    if (panel) {
        m.panel_decode = panel_decode_f<T>;
        m.panel_tile = panel_tile_f;
        m.panel_bytes = panel_bytes_f;
        m.panel_toks = 1 << 20;
    }
    m.name = name;
    return m;
}

}  // namespace

extern const MatKernel kAvx2F32, kAvx2F16, kAvx2BF16;
const MatKernel kAvx2F32 = f_entry<GgmlType::F32>("F32 AVX2", false);
const MatKernel kAvx2F16 = f_entry<GgmlType::F16>("F16 AVX2", true);
const MatKernel kAvx2BF16 = f_entry<GgmlType::BF16>("BF16 AVX2", true);

}  // namespace hearth::cpu

#pragma GCC pop_options
