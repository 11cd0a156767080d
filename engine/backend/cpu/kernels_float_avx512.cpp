// AVX-512 GEMM for float weights (F32, F16, BF16) against F32 activations: the prompt-batch and
// diffusion path (convolutions, attention scores), where the AVX2 kernel runs at half this width.
// Same packed activations as the AVX2 GEMM (GemmAct::F32x16: k steps of 16 tokens), so one zmm
// holds one step of a token group; generation (few tokens) keeps the AVX2 tiles, which are bound
// by reading the weights, not by arithmetic.
#include <immintrin.h>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/backend/cpu/kernels.h"
#include "engine/quant/fp16.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
// GCC 12's own AVX-512 conversion intrinsics start from _mm512_undefined_*, which its flow
// analysis reports as "may be used uninitialized" in every caller: a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace hearth::cpu {

namespace {

template <GgmlType T> struct FW16;
template <> struct FW16<GgmlType::F32> {
    static constexpr int kElt = 4;
    static inline __m512 load16(const uint8_t* p) { return _mm512_loadu_ps(p); }
    static inline float load1(const uint8_t* p) { float f; std::memcpy(&f, p, 4); return f; }
};
template <> struct FW16<GgmlType::F16> {
    static constexpr int kElt = 2;
    static inline __m512 load16(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static inline float load1(const uint8_t* p) { uint16_t h; std::memcpy(&h, p, 2); return f16_to_f32(f16_t{h}); }
};
template <> struct FW16<GgmlType::BF16> {
    static constexpr int kElt = 2;
    static inline __m512 load16(const uint8_t* p) {
        const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
        return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    }
    static inline float load1(const uint8_t* p) { uint16_t h; std::memcpy(&h, p, 2); return fp32_from_bits(uint32_t(h) << 16); }
};

// 12 rows × 2 token groups: 24 zmm accumulators, per k step 2 loads, 12 broadcasts, 24 FMAs.
// Weights converted to F32 once per call, kKC columns at a time (kRB × kKC floats = 48 KiB).
constexpr int kMR = 12, kKC = 256, kRB = 48;

size_t gemm_scratch_f512(int64_t, int64_t n) {
    const size_t groups = size_t((n + 15) / 16);
    return size_t(kRB) * kKC * 4 + groups * kRB * 16 * 4;
}

// c[g][r][0..15] (+)= Σ_kk w[r][kk] · x[g][kk][0..15] for 12 rows and G (1 or 2) groups whose
// packed k-slices are `xstride` floats apart; c's groups are cstride floats apart.
template <int G>
inline void micro_f512(const float* w, const float* x, size_t xstride, int kc, float* c, size_t cstride, bool first) {
    __m512 acc[G][kMR];
    for (int g = 0; g < G; ++g)
        for (int r = 0; r < kMR; ++r) acc[g][r] = first ? _mm512_setzero_ps() : _mm512_load_ps(c + g * cstride + 16 * r);
    for (int kk = 0; kk < kc; ++kk) {
        __m512 a[G];
        for (int g = 0; g < G; ++g) a[g] = _mm512_load_ps(x + g * xstride + 16 * kk);
        for (int r = 0; r < kMR; ++r) {
            const __m512 b = _mm512_set1_ps(w[r * kKC + kk]);
            for (int g = 0; g < G; ++g) acc[g][r] = _mm512_fmadd_ps(b, a[g], acc[g][r]);
        }
    }
    for (int g = 0; g < G; ++g)
        for (int r = 0; r < kMR; ++r) _mm512_store_ps(c + g * cstride + 16 * r, acc[g][r]);
}

template <GgmlType T>
void gemm_rows_f512(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xp, int64_t n, float* y, size_t ldy,
                    uint8_t* scratch) {
    using F = FW16<T>;
    const int64_t groups = (n + 15) / 16;
    const int mrows = (nr + kMR - 1) / kMR * kMR;
    float* panel = reinterpret_cast<float*>(scratch);
    float* acc = panel + kRB * kKC;  // [group][row][16]
    const float* x = reinterpret_cast<const float*>(xp);
    for (int64_t kb = 0; kb < k; kb += kKC) {
        const int kc = int(k - kb < kKC ? k - kb : kKC);
        for (int r = 0; r < mrows; ++r) {
            float* out = panel + r * kKC;
            if (r >= nr) { std::memset(out, 0, size_t(kc) * 4); continue; }
            const uint8_t* src = w + r * ws + kb * F::kElt;
            int i = 0;
            for (; i + 16 <= kc; i += 16) _mm512_store_ps(out + i, F::load16(src + i * F::kElt));
            for (; i < kc; ++i) out[i] = F::load1(src + i * F::kElt);
        }
        const size_t xstride = size_t(k) * 16, cstride = size_t(kRB) * 16;
        int64_t g = 0;
        for (; g + 2 <= groups; g += 2) {
            const float* xg = x + (g * k + kb) * 16;
            for (int m = 0; m < mrows; m += kMR)
                micro_f512<2>(panel + m * kKC, xg, xstride, kc, acc + (g * kRB + m) * 16, cstride, kb == 0);
        }
        for (; g < groups; ++g) {
            const float* xg = x + (g * k + kb) * 16;
            for (int m = 0; m < mrows; m += kMR) micro_f512<1>(panel + m * kKC, xg, xstride, kc, acc + (g * kRB + m) * 16, cstride, kb == 0);
        }
    }
    store_token_lane_sums(acc, kRB, nr, n, y, ldy);
}

MatKernel f512_entry(const MatKernel& avx2, GemmRowsFn gemm, const char* name) {
    MatKernel m = avx2;  // the generation tiles stay AVX2
    m.gemm_act = GemmAct::F32x16;
    m.gemm_rows = gemm;
    m.gemm_scratch = gemm_scratch_f512;
    m.gemm_rows_max = kRB;
    m.name = name;
    return m;
}

}  // namespace

extern const MatKernel kAvx2F32, kAvx2F16, kAvx2BF16;
extern const MatKernel kAvx512F32, kAvx512F16, kAvx512BF16;
// Built from the AVX2 entries, which are constant-initialized (constexpr), so before these.
const MatKernel kAvx512F32 = f512_entry(kAvx2F32, gemm_rows_f512<GgmlType::F32>, "F32 AVX-512");
const MatKernel kAvx512F16 = f512_entry(kAvx2F16, gemm_rows_f512<GgmlType::F16>, "F16 AVX-512");
const MatKernel kAvx512BF16 = f512_entry(kAvx2BF16, gemm_rows_f512<GgmlType::BF16>, "BF16 AVX-512");

}  // namespace hearth::cpu

#pragma GCC pop_options
