// gemv_*_x8_n over two adjacent groups of 8 repacked rows at once with AVX-512 VNNI (issue #16's
// 8-sequence decode step): one 512-bit vector holds step i of both groups (group 0 in the low
// half, group 1 in the high half), so each token's activation bytes are broadcast once for 16 rows
// and each vpdpbusd does the work of two 256-bit ones. Up to 8 tokens per pass, so the weights of
// a group pair are read once for the whole batch of a decode step.
//
// Batch invariance: per lane, the integer block sums are the same exact sums as gemv_*_x8_n's,
// and the float work is the same operations in the same order (convert, multiply the two scales,
// two FMAs per block), so every result is bit-identical to gemv_*_x8_n's and hence to the GEMM
// micro-kernel's (repack_x8_avx2.cpp says why those agree). test_cpu_kernels checks it bit for bit.
//
// The kernel table's AVX-512 level offers them (kAvx512Q4_0 … below: the AVX2 entries plus
// gemv_x16_n) where the CPU has AVX-512 VNNI; elsewhere, or with HEARTH_CPU_ISA below avx512, the
// AVX2 entries run gemv_*_x8_n on each group.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/backend/cpu/cpu_features.h"
#include "engine/backend/cpu/kernels.h"

// GCC 12's AVX-512 headers build some intrinsics (cvtph, inserti64x4, cvtdq2ps) from an
// "undefined" vector and then warn that it may be used uninitialized: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define HEARTH_X16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace hearth::cpu {

namespace {

constexpr int kAhead = 4096;  // bytes prefetched ahead in each group's stream (as simd_avx2.h's kStreamAhead)

HEARTH_X16_TARGET inline void prefetch_pair(const uint8_t* p0, const uint8_t* p1, int bytes) {
    for (int o = 0; o < bytes; o += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(p0 + kAhead + o), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(p1 + kAhead + o), _MM_HINT_T0);
    }
}

// 32 bytes of group 0 in the low half, 32 of group 1 in the high half.
HEARTH_X16_TARGET inline __m512i load_pair(const uint8_t* p0, const uint8_t* p1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0))),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1)), 1);
}

// The 8 F16 header values of each group (scales or offsets) as 16 floats.
HEARTH_X16_TARGET inline __m512 load_f16_pair(const uint8_t* p0, const uint8_t* p1) {
    const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p0))),
                                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(p1)), 1);
    return _mm512_cvtph_ps(h);
}

HEARTH_X16_TARGET inline int32_t load_i32(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

template <bool kHasMin, int NT>
HEARTH_X16_TARGET void gemv_q4_x16(int64_t k, const uint8_t* g0, size_t gstride, const uint8_t* xa, size_t xs, float* y,
                                   size_t ldy) {
    constexpr int kGroup = kHasMin ? 160 : 144, kQuants = kHasMin ? 32 : 16;
    const uint8_t* g1 = g0 + gstride;
    const int64_t nb = k / 32;
    const int8_t* xq[NT];
    const float* xd[NT];
    const float* xsum[NT];
    for (int t = 0; t < NT; ++t) {
        xq[t] = act_qs(xa + t * xs); xd[t] = act_d(xa + t * xs, k); xsum[t] = act_s(xa + t * xs, k);
    }
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p0 = g0 + b * kGroup;
        const uint8_t* p1 = g1 + b * kGroup;
        prefetch_pair(p0, p1, kGroup);
        const __m512 d = load_f16_pair(p0, p1);
        __m512i s[NT];
        for (int t = 0; t < NT; ++t) s[t] = _mm512_setzero_si512();
        for (int i = 0; i < 4; ++i) {
            const __m512i v = load_pair(p0 + kQuants + 32 * i, p1 + kQuants + 32 * i);
            const __m512i lo = _mm512_and_si512(v, m4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            for (int t = 0; t < NT; ++t) {
                s[t] = _mm512_dpbusd_epi32(s[t], lo, _mm512_set1_epi32(load_i32(xq[t] + 32 * b + 4 * i)));
                s[t] = _mm512_dpbusd_epi32(s[t], hi, _mm512_set1_epi32(load_i32(xq[t] + 32 * b + 16 + 4 * i)));
            }
        }
        __m512 c;
        if constexpr (kHasMin) c = load_f16_pair(p0 + 16, p1 + 16);
        else c = _mm512_mul_ps(_mm512_set1_ps(-8.0f), d);
        for (int t = 0; t < NT; ++t) {
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[t]), _mm512_mul_ps(_mm512_set1_ps(xd[t][b]), d), acc[t]);
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(xsum[t][b]), c, acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// Q8_0: gemv_q8_0_x8's integer block sum is sum((q + 128) qx) (the GEMM micro-kernel's unsigned
// weights). vpdpbusd multiplies unsigned by signed bytes into int32 with no 16-bit stage that
// could saturate, so q + 128 (q with its top bit flipped) goes in directly: the same exact sum
// with one XOR per step shared by every token, where the 8-row kernels sign-adjust the
// activations per token and add 128 sum(qx) afterwards.
template <int NT>
HEARTH_X16_TARGET void gemv_q8_0_x16(int64_t k, const uint8_t* g0, size_t gstride, const uint8_t* xa, size_t xs, float* y,
                                     size_t ldy) {
    const uint8_t* g1 = g0 + gstride;
    const int64_t nb = k / 32;
    const int8_t* xq[NT];
    const float* xd[NT];
    const float* xsum[NT];
    for (int t = 0; t < NT; ++t) {
        xq[t] = act_qs(xa + t * xs); xd[t] = act_d(xa + t * xs, k); xsum[t] = act_s(xa + t * xs, k);
    }
    const __m512i flip = _mm512_set1_epi8(char(0x80));
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p0 = g0 + b * 272;
        const uint8_t* p1 = g1 + b * 272;
        prefetch_pair(p0, p1, 272);
        const __m512 d = load_f16_pair(p0, p1);
        __m512i s[NT];
        for (int t = 0; t < NT; ++t) s[t] = _mm512_setzero_si512();
        for (int i = 0; i < 8; ++i) {
            const __m512i u = _mm512_xor_si512(load_pair(p0 + 16 + 32 * i, p1 + 16 + 32 * i), flip);  // q + 128
            for (int t = 0; t < NT; ++t) s[t] = _mm512_dpbusd_epi32(s[t], u, _mm512_set1_epi32(load_i32(xq[t] + 32 * b + 4 * i)));
        }
        const __m512 c = _mm512_mul_ps(_mm512_set1_ps(-128.0f), d);
        for (int t = 0; t < NT; ++t) {
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[t]), _mm512_mul_ps(_mm512_set1_ps(xd[t][b]), d), acc[t]);
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(xsum[t][b]), c, acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

using X16Fn = void (*)(int64_t, const uint8_t*, size_t, const uint8_t*, size_t, float*, size_t);

// Tokens in passes of 8 (then the rest), kernels[n - 1] for n tokens.
void run_x16(const X16Fn (&kernels)[8], int64_t k, const uint8_t* grp, size_t gstride, const uint8_t* xa, size_t xs, int nt,
             float* y, size_t ldy) {
    for (; nt >= 8; nt -= 8, xa += 8 * xs, y += 8 * ldy) kernels[7](k, grp, gstride, xa, xs, y, ldy);
    if (nt > 0) kernels[nt - 1](k, grp, gstride, xa, xs, y, ldy);
}

template <bool kHasMin>
constexpr X16Fn kQ4[8] = {gemv_q4_x16<kHasMin, 1>, gemv_q4_x16<kHasMin, 2>, gemv_q4_x16<kHasMin, 3>, gemv_q4_x16<kHasMin, 4>,
                          gemv_q4_x16<kHasMin, 5>, gemv_q4_x16<kHasMin, 6>, gemv_q4_x16<kHasMin, 7>, gemv_q4_x16<kHasMin, 8>};
constexpr X16Fn kQ8[8] = {gemv_q8_0_x16<1>, gemv_q8_0_x16<2>, gemv_q8_0_x16<3>, gemv_q8_0_x16<4>,
                          gemv_q8_0_x16<5>, gemv_q8_0_x16<6>, gemv_q8_0_x16<7>, gemv_q8_0_x16<8>};

void gemv_q4_0_x16_n(int64_t k, const uint8_t* grp, size_t gstride, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) {
    run_x16(kQ4<false>, k, grp, gstride, xa, xs, nt, y, ldy);
}
void gemv_q4_1_x16_n(int64_t k, const uint8_t* grp, size_t gstride, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) {
    run_x16(kQ4<true>, k, grp, gstride, xa, xs, nt, y, ldy);
}
void gemv_q8_0_x16_n(int64_t k, const uint8_t* grp, size_t gstride, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) {
    run_x16(kQ8, k, grp, gstride, xa, xs, nt, y, ldy);
}

MatKernel x16_entry(const MatKernel& avx2, decltype(MatKernel::gemv_x16_n) x16, const char* name) {
    MatKernel m = avx2;  // everything else stays AVX2
    m.gemv_x16_n = x16;
    m.name = name;
    return m;
}

}  // namespace

extern const MatKernel kAvx2Q4_0, kAvx2Q4_1, kAvx2Q8_0;
extern const MatKernel kAvx512Q4_0, kAvx512Q4_1, kAvx512Q8_0;
// Built from the AVX2 entries, which are constant-initialized (constexpr), so before these.
const MatKernel kAvx512Q4_0 = x16_entry(kAvx2Q4_0, gemv_q4_0_x16_n, "Q4_0 AVX-512 VNNI");
const MatKernel kAvx512Q4_1 = x16_entry(kAvx2Q4_1, gemv_q4_1_x16_n, "Q4_1 AVX-512 VNNI");
const MatKernel kAvx512Q8_0 = x16_entry(kAvx2Q8_0, gemv_q8_0_x16_n, "Q8_0 AVX-512 VNNI");

}  // namespace hearth::cpu
