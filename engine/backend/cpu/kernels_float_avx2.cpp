// AVX2+FMA kernels for float weights (F32, F16 via F16C, BF16 by shifting into the high half)
// against F32 activations. Generation reads the weights directly; prompt batches run a blocked GEMM
// (below) over weights converted to F32 once per call.
#include <immintrin.h>
#include <cstddef>
#include <cstdint>
#include <cstring>

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
            // The next tile's row r at this offset: R rows ahead, not kStreamAhead bytes, because
            // float rows are read R at a time straight from the file (not repacked into one
            // stream) and a 2048-column F16 row is itself 4 KiB, so kStreamAhead would land on the
            // row this tile reads next to it, already in cache.
            if (((i * F::kElt) & 63) == 0)
                _mm_prefetch(reinterpret_cast<const char*>(w + (r + R) * ws + i * F::kElt), _MM_HINT_T0);
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

// ---- GEMM (prompt batches). Tokens are packed 16 to a group (F32x16: k steps of 16 floats), so
// the micro-kernel broadcasts one weight of each of 6 rows against two vectors of 8 tokens:
// 12 accumulators, 12 FMAs per 2 vector loads + 6 broadcasts, everything in L1: the weights are
// converted to F32 once per call, kKC columns at a time (kRB rows x kKC floats = 48 KiB, L2), and
// the tokens' kKC-slice (16 KiB) is reused by every row sextet. Partial sums over k live in a
// per-call accumulator panel in the same token-lane layout; y is written once at the end.
constexpr int kMR = 6, kKC = 256, kRB = 48;

size_t gemm_scratch_f(int64_t, int64_t n) {
    const size_t groups = size_t((n + 15) / 16);
    return size_t(kRB) * kKC * 4 + groups * kRB * 16 * 4;
}

// c[r][0..15] (+)= sum_kk w[r][kk] * x[kk][0..15] for 6 rows.
inline void micro_f_6x16(const float* w, const float* x, int kc, float* c, bool first) {
    __m256 acc[kMR][2];
    for (int r = 0; r < kMR; ++r) {
        acc[r][0] = first ? _mm256_setzero_ps() : _mm256_load_ps(c + 16 * r);
        acc[r][1] = first ? _mm256_setzero_ps() : _mm256_load_ps(c + 16 * r + 8);
    }
    for (int kk = 0; kk < kc; ++kk) {
        const __m256 a0 = _mm256_load_ps(x + 16 * kk), a1 = _mm256_load_ps(x + 16 * kk + 8);
        for (int r = 0; r < kMR; ++r) {
            const __m256 b = _mm256_broadcast_ss(w + r * kKC + kk);
            acc[r][0] = _mm256_fmadd_ps(b, a0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(b, a1, acc[r][1]);
        }
    }
    for (int r = 0; r < kMR; ++r) {
        _mm256_store_ps(c + 16 * r, acc[r][0]);
        _mm256_store_ps(c + 16 * r + 8, acc[r][1]);
    }
}

template <GgmlType T>
void gemm_rows_f(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xp, int64_t n, float* y, size_t ldy,
                 uint8_t* scratch) {
    using F = FW<T>;
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
            for (; i + 8 <= kc; i += 8) _mm256_store_ps(out + i, F::load8(src + i * F::kElt));
            for (; i < kc; ++i) out[i] = F::load1(src + i * F::kElt);
        }
        for (int64_t g = 0; g < groups; ++g) {
            const float* xg = x + (g * k + kb) * 16;
            for (int m = 0; m < mrows; m += kMR)
                micro_f_6x16(panel + m * kKC, xg, kc, acc + (g * kRB + m) * 16, kb == 0);
        }
    }
    store_token_lane_sums(acc, kRB, nr, n, y, ldy);
}

template <GgmlType T>
constexpr MatKernel f_entry(const char* name, bool gemm) {
    MatKernel m;
    m.act = ActKind::F32;
    m.tile = tile_f<T>;
    m.max_rows = 4;
    m.max_toks = 3;
    if (gemm) {
        m.gemm_act = GemmAct::F32x16;
        m.gemm_rows = gemm_rows_f<T>;
        m.gemm_scratch = gemm_scratch_f;
        m.gemm_rows_max = kRB;
    }
    m.name = name;
    return m;
}

}  // namespace

extern const MatKernel kAvx2F32, kAvx2F16, kAvx2BF16;
const MatKernel kAvx2F32 = f_entry<GgmlType::F32>("F32 AVX2", true);
const MatKernel kAvx2F16 = f_entry<GgmlType::F16>("F16 AVX2", true);
const MatKernel kAvx2BF16 = f_entry<GgmlType::BF16>("BF16 AVX2", true);

}  // namespace hearth::cpu

#pragma GCC pop_options
