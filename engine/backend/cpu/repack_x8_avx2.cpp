// Q4_0, Q4_1 and Q8_0 weights repacked 8 rows at a time for generation (matrix x one token), and the
// kernels over that layout (kernels.h: repack_*_x8, gemv_*_x8).
//
// Q4_0: a group of 8 rows, per 32-element block b (144 bytes, the same as 8 Q4_0 blocks):
//   16 bytes  the 8 rows' F16 scales d
//   128 bytes 4 steps i of 32 bytes; in step i, bytes 4r..4r+3 are row r's quant bytes 4i..4i+3
//             (low nibbles: elements 4i..4i+3, high nibbles: elements 16+4i..16+4i+3)
// so one 32-byte load holds 4 bytes of each of the 8 rows, one vpmaddubsw against 4 broadcast
// activation bytes gives all 8 rows' partial sums in their own lanes, and the scale, conversion
// and FMA work is paid once per 8 rows instead of once per row. The stream is also purely
// sequential (one matrix region, no row interleaving), which the prefetcher handles best.
// Q8_0 likewise (272 bytes = 8 blocks): 16 bytes of scales, then 8 steps of 32 bytes holding 4
// quant bytes of each row (row r's bytes 4i..4i+3 at 4r in step i).
// Q4_1 (160 bytes = 8 blocks): 16 bytes of the 8 rows' F16 scales d, 16 bytes of their F16 offsets
// m, then Q4_0's 4 steps of quant bytes. SmolLM2's published Q4_1 file is read at the memory
// bandwidth this way; the file-layout tile reads 4 interleaved row streams and stalls on them.
#include <immintrin.h>
#include <cstdint>
#include <cstring>

#include "engine/backend/cpu/cpu_features.h"
#include "engine/backend/cpu/kernels.h"

namespace hearth::cpu {

namespace {

// Blocks of BB bytes: H F16 header fields (the scale, and the offset for Q4_1), then BB - 2 H
// quant bytes, moved in 4-byte steps. Header field j of the 8 rows goes to bytes 16 j..16 j + 15.
template <int BB, int H>
void repack_x8(int64_t k, const uint8_t* w, size_t ws, uint8_t* out) {
    constexpr int steps = (BB - 2 * H) / 4;
    const int64_t nb = k / 32;
    for (int64_t b = 0; b < nb; ++b) {
        uint8_t* o = out + b * 8 * BB;
        for (int r = 0; r < 8; ++r) {
            const uint8_t* blk = w + size_t(r) * ws + b * BB;
            for (int j = 0; j < H; ++j) std::memcpy(o + 16 * j + 2 * r, blk + 2 * j, 2);
            for (int i = 0; i < steps; ++i) std::memcpy(o + 16 * H + 32 * i + 4 * r, blk + 2 * H + 4 * i, 4);
        }
    }
}

}  // namespace

void repack_q4_0_x8(int64_t k, const uint8_t* w, size_t ws, uint8_t* out) { repack_x8<18, 1>(k, w, ws, out); }
void repack_q4_1_x8(int64_t k, const uint8_t* w, size_t ws, uint8_t* out) { repack_x8<20, 2>(k, w, ws, out); }
void repack_q8_0_x8(int64_t k, const uint8_t* w, size_t ws, uint8_t* out) { repack_x8<34, 1>(k, w, ws, out); }

}  // namespace hearth::cpu

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#include "engine/backend/cpu/simd_avx2.h"

namespace hearth::cpu {

using namespace avx2;

namespace {

// The 4-bit x8 generation loop of Q4_0 and Q4_1 (the same interleaved quant bytes; a block
// contributes a dx sum(q qx) plus an offset term c s, s = dx sum(qx) the activation block sum):
// Q4_0 (144-byte groups: 8 scales, quants) has value d (q - 8), so a = d, c = -8 d; Q4_1 (160-byte
// groups: 8 scales, 8 minimums, quants) has value d q + m, so a = d, c = m.
// Batch invariance: per block the two FMAs are exactly those of the GEMM micro-kernel
// (gemm_q8_avx2.h: acc = fma(isum, dx a, acc); acc = fma(s, c, acc), the same integer isum), so a
// token's result is bit-identical whether it is multiplied alone here or in a prompt batch there.
template <bool kHasMin>
inline void gemv_q4_x8(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y) {
    constexpr int kGroup = kHasMin ? 160 : 144, kQuants = kHasMin ? 32 : 16;
    const int64_t nb = k / 32;
    const int8_t* xq = act_qs(xa);
    const float* xd = act_d(xa, k);
    const float* xs = act_s(xa, k);
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * kGroup;
        prefetch_stream<kGroup>(p);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        const int8_t* x = xq + 32 * b;
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
        for (int i = 0; i < 4; ++i) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kQuants + 32 * i));
            uint32_t xlo, xhi;
            std::memcpy(&xlo, x + 4 * i, 4);
            std::memcpy(&xhi, x + 16 + 4 * i, 4);
            // two chains of 4: each int16 lane sums at most 8 products 15*127 (no saturation)
            s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(_mm256_and_si256(v, m4), _mm256_set1_epi32(int(xlo))));
            s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), _mm256_set1_epi32(int(xhi))));
        }
        const __m256i p32 = _mm256_madd_epi16(_mm256_add_epi16(s0, s1), ones);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32), _mm256_mul_ps(_mm256_broadcast_ss(xd + b), d), acc);
        __m256 c;
        if constexpr (kHasMin) c = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
        else c = _mm256_mul_ps(_mm256_set1_ps(-8.0f), d);
        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(xs + b), c, acc);
    }
    _mm256_storeu_ps(y, acc);
}

// gemv_q4_x8 for NT tokens at once (a batch of sequences' decode steps): each step's weight bytes
// are loaded and split into nibbles once and used by every token, the rest per token exactly as
// gemv_q4_x8 does it (the same integer block sums, the same two FMAs), so each token's result is
// bit-identical to gemv_q4_x8's. y: token t's 8 results at y + t ldy.
template <bool kHasMin, int NT>
inline void gemv_q4_x8_multi(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, float* y, size_t ldy) {
    constexpr int kGroup = kHasMin ? 160 : 144, kQuants = kHasMin ? 32 : 16;
    const int64_t nb = k / 32;
    const int8_t* xq[NT];
    const float* xd[NT];
    const float* xsum[NT];
    for (int t = 0; t < NT; ++t) {
        xq[t] = act_qs(xa + t * xs); xd[t] = act_d(xa + t * xs, k); xsum[t] = act_s(xa + t * xs, k);
    }
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * kGroup;
        prefetch_stream<kGroup>(p);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        // one int16 chain per token: at most 8 products 15*127 per lane, as gemv_q4_x8's two chains summed
        __m256i s[NT];
        for (int t = 0; t < NT; ++t) s[t] = _mm256_setzero_si256();
        for (int i = 0; i < 4; ++i) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kQuants + 32 * i));
            const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            for (int t = 0; t < NT; ++t) {
                uint32_t xlo, xhi;
                std::memcpy(&xlo, xq[t] + 32 * b + 4 * i, 4);
                std::memcpy(&xhi, xq[t] + 32 * b + 16 + 4 * i, 4);
                s[t] = _mm256_add_epi16(s[t], _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(int(xlo))),
                                                               _mm256_maddubs_epi16(hi, _mm256_set1_epi32(int(xhi)))));
            }
        }
        __m256 c;
        if constexpr (kHasMin) c = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
        else c = _mm256_mul_ps(_mm256_set1_ps(-8.0f), d);
        for (int t = 0; t < NT; ++t) {
            const __m256i p32 = _mm256_madd_epi16(s[t], ones);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32), _mm256_mul_ps(_mm256_broadcast_ss(xd[t] + b), d), acc[t]);
            acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(xsum[t] + b), c, acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

// The same with AVX-VNNI's vpdpbusd (unsigned nibbles x signed activations, summed into int32 in
// one instruction, no int16 stage): the same exact integer block sums, so the same results bit for
// bit, in about half the integer instructions. Used when the CPU has AVX-VNNI.
template <bool kHasMin, int NT>
__attribute__((target("avx2,fma,f16c,avxvnni"))) void gemv_q4_x8_multi_vnni(int64_t k, const uint8_t* grp, const uint8_t* xa,
                                                                              size_t xs, float* y, size_t ldy) {
    constexpr int kGroup = kHasMin ? 160 : 144, kQuants = kHasMin ? 32 : 16;
    const int64_t nb = k / 32;
    const int8_t* xq[NT];
    const float* xd[NT];
    const float* xsum[NT];
    for (int t = 0; t < NT; ++t) {
        xq[t] = act_qs(xa + t * xs); xd[t] = act_d(xa + t * xs, k); xsum[t] = act_s(xa + t * xs, k);
    }
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * kGroup;
        prefetch_stream<kGroup>(p);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        __m256i s[NT];
        for (int t = 0; t < NT; ++t) s[t] = _mm256_setzero_si256();
        for (int i = 0; i < 4; ++i) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kQuants + 32 * i));
            const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            for (int t = 0; t < NT; ++t) {
                int32_t xlo, xhi;
                std::memcpy(&xlo, xq[t] + 32 * b + 4 * i, 4);
                std::memcpy(&xhi, xq[t] + 32 * b + 16 + 4 * i, 4);
                s[t] = _mm256_dpbusd_avx_epi32(s[t], lo, _mm256_set1_epi32(xlo));
                s[t] = _mm256_dpbusd_avx_epi32(s[t], hi, _mm256_set1_epi32(xhi));
            }
        }
        __m256 c;
        if constexpr (kHasMin) c = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
        else c = _mm256_mul_ps(_mm256_set1_ps(-8.0f), d);
        for (int t = 0; t < NT; ++t) {
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[t]), _mm256_mul_ps(_mm256_broadcast_ss(xd[t] + b), d), acc[t]);
            acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(xsum[t] + b), c, acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

const bool kHaveAvxVnni = cpu_features().avx_vnni;

template <bool kHasMin>
void gemv_q4_x8_n(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) {
    if (kHaveAvxVnni) {
        for (; nt >= 4; nt -= 4, xa += 4 * xs, y += 4 * ldy) gemv_q4_x8_multi_vnni<kHasMin, 4>(k, grp, xa, xs, y, ldy);
        switch (nt) {
            case 3: return gemv_q4_x8_multi_vnni<kHasMin, 3>(k, grp, xa, xs, y, ldy);
            case 2: return gemv_q4_x8_multi_vnni<kHasMin, 2>(k, grp, xa, xs, y, ldy);
            case 1: return gemv_q4_x8_multi_vnni<kHasMin, 1>(k, grp, xa, xs, y, ldy);
            default: return;
        }
    }
    for (; nt >= 4; nt -= 4, xa += 4 * xs, y += 4 * ldy) gemv_q4_x8_multi<kHasMin, 4>(k, grp, xa, xs, y, ldy);
    switch (nt) {
        case 3: return gemv_q4_x8_multi<kHasMin, 3>(k, grp, xa, xs, y, ldy);
        case 2: return gemv_q4_x8_multi<kHasMin, 2>(k, grp, xa, xs, y, ldy);
        case 1: return gemv_q4_x8_multi<kHasMin, 1>(k, grp, xa, xs, y, ldy);
        default: return;
    }
}

}  // namespace

void gemv_q4_0_x8(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y) { gemv_q4_x8<false>(k, grp, xa, y); }
void gemv_q4_1_x8(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y) { gemv_q4_x8<true>(k, grp, xa, y); }
void gemv_q4_0_x8_n(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) {
    gemv_q4_x8_n<false>(k, grp, xa, xs, nt, y, ldy);
}
void gemv_q4_1_x8_n(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) {
    gemv_q4_x8_n<true>(k, grp, xa, xs, nt, y, ldy);
}

// Signed weights: vpmaddubsw on |w| and the activations with w's sign (|w| <= 128, |x| <= 127: the
// pair sums fit int16), one vpmaddwd per step. Batch invariance, as gemv_q4_x8: the GEMM
// micro-kernel multiplies q + 128 (unsigned) and corrects with c = -128 d, so here the integer sum
// becomes sum((q + 128) qx) = sum(q qx) + 128 sum(qx) (exact) and the same two FMAs follow.
void gemv_q8_0_x8(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y) {
    const int64_t nb = k / 32;
    const int8_t* xq = act_qs(xa);
    const float* xd = act_d(xa, k);
    const float* xs = act_s(xa, k);
    const __m256i ones = _mm256_set1_epi16(1), ones8 = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * 272;
        prefetch_stream<272>(p);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        const int8_t* x = xq + 32 * b;
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
        for (int i = 0; i < 8; i += 2) {
            const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 + 32 * i));
            const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 48 + 32 * i));
            uint32_t x0, x1;
            std::memcpy(&x0, x + 4 * i, 4);
            std::memcpy(&x1, x + 4 * i + 4, 4);
            const __m256i p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(v0, v0), _mm256_sign_epi8(_mm256_set1_epi32(int(x0)), v0));
            const __m256i p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(v1, v1), _mm256_sign_epi8(_mm256_set1_epi32(int(x1)), v1));
            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(p0, ones));
            s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(p1, ones));
        }
        // 128 sum(qx): the 32 activation bytes summed (pairs, then quads, then across lanes)
        const __m256i xq32 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x))), ones);
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(xq32), _mm256_extracti128_si256(xq32, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
        const __m256i isum = _mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_slli_epi32(_mm256_broadcastd_epi32(h), 7));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(_mm256_broadcast_ss(xd + b), d), acc);
        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(xs + b), _mm256_mul_ps(_mm256_set1_ps(-128.0f), d), acc);
    }
    _mm256_storeu_ps(y, acc);
}

namespace {
// gemv_q8_0_x8 for NT tokens: each step's weight bytes loaded (and their magnitudes taken) once for
// every token; per token the same integer sums and FMAs as gemv_q8_0_x8 (bit-identical results).
template <int NT>
inline void gemv_q8_0_x8_multi(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, float* y, size_t ldy) {
    const int64_t nb = k / 32;
    const int8_t* xq[NT];
    const float* xd[NT];
    const float* xsum[NT];
    for (int t = 0; t < NT; ++t) {
        xq[t] = act_qs(xa + t * xs); xd[t] = act_d(xa + t * xs, k); xsum[t] = act_s(xa + t * xs, k);
    }
    const __m256i ones = _mm256_set1_epi16(1), ones8 = _mm256_set1_epi8(1);
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * 272;
        prefetch_stream<272>(p);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        __m256i s[NT];
        for (int t = 0; t < NT; ++t) s[t] = _mm256_setzero_si256();
        for (int i = 0; i < 8; ++i) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 + 32 * i));
            const __m256i av = _mm256_sign_epi8(v, v);
            for (int t = 0; t < NT; ++t) {
                uint32_t x0;
                std::memcpy(&x0, xq[t] + 32 * b + 4 * i, 4);
                s[t] = _mm256_add_epi32(s[t], _mm256_madd_epi16(_mm256_maddubs_epi16(av, _mm256_sign_epi8(_mm256_set1_epi32(int(x0)), v)), ones));
            }
        }
        const __m256 c = _mm256_mul_ps(_mm256_set1_ps(-128.0f), d);
        for (int t = 0; t < NT; ++t) {
            const __m256i xq32 = _mm256_madd_epi16(
                _mm256_maddubs_epi16(ones8, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t] + 32 * b))), ones);
            __m128i h = _mm_add_epi32(_mm256_castsi256_si128(xq32), _mm256_extracti128_si256(xq32, 1));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
            const __m256i isum = _mm256_add_epi32(s[t], _mm256_slli_epi32(_mm256_broadcastd_epi32(h), 7));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(_mm256_broadcast_ss(xd[t] + b), d), acc[t]);
            acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(xsum[t] + b), c, acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}
// The same with AVX-VNNI's vpdpbusd on |w| and sign-adjusted activations: the same exact integer sums.
template <int NT>
__attribute__((target("avx2,fma,f16c,avxvnni"))) void gemv_q8_0_x8_multi_vnni(int64_t k, const uint8_t* grp, const uint8_t* xa,
                                                                                size_t xs, float* y, size_t ldy) {
    const int64_t nb = k / 32;
    const int8_t* xq[NT];
    const float* xd[NT];
    const float* xsum[NT];
    for (int t = 0; t < NT; ++t) {
        xq[t] = act_qs(xa + t * xs); xd[t] = act_d(xa + t * xs, k); xsum[t] = act_s(xa + t * xs, k);
    }
    const __m256i ones8 = _mm256_set1_epi8(1);
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * 272;
        prefetch_stream<272>(p);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        __m256i s[NT];
        for (int t = 0; t < NT; ++t) s[t] = _mm256_setzero_si256();
        for (int i = 0; i < 8; ++i) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 + 32 * i));
            const __m256i av = _mm256_sign_epi8(v, v);
            for (int t = 0; t < NT; ++t) {
                int32_t x0;
                std::memcpy(&x0, xq[t] + 32 * b + 4 * i, 4);
                s[t] = _mm256_dpbusd_avx_epi32(s[t], av, _mm256_sign_epi8(_mm256_set1_epi32(x0), v));
            }
        }
        const __m256 c = _mm256_mul_ps(_mm256_set1_ps(-128.0f), d);
        for (int t = 0; t < NT; ++t) {
            // sum(qx) of the block: one vpdpbusd of ones against the 32 activation bytes, then across lanes
            const __m256i xq32 = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ones8,
                                                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t] + 32 * b)));
            __m128i h = _mm_add_epi32(_mm256_castsi256_si128(xq32), _mm256_extracti128_si256(xq32, 1));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
            const __m256i isum = _mm256_add_epi32(s[t], _mm256_slli_epi32(_mm256_broadcastd_epi32(h), 7));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(_mm256_broadcast_ss(xd[t] + b), d), acc[t]);
            acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(xsum[t] + b), c, acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}
}  // namespace

void gemv_q8_0_x8_n(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) {
    if (kHaveAvxVnni) {
        for (; nt >= 4; nt -= 4, xa += 4 * xs, y += 4 * ldy) gemv_q8_0_x8_multi_vnni<4>(k, grp, xa, xs, y, ldy);
        switch (nt) {
            case 3: return gemv_q8_0_x8_multi_vnni<3>(k, grp, xa, xs, y, ldy);
            case 2: return gemv_q8_0_x8_multi_vnni<2>(k, grp, xa, xs, y, ldy);
            case 1: return gemv_q8_0_x8_multi_vnni<1>(k, grp, xa, xs, y, ldy);
            default: return;
        }
    }
    for (; nt >= 4; nt -= 4, xa += 4 * xs, y += 4 * ldy) gemv_q8_0_x8_multi<4>(k, grp, xa, xs, y, ldy);
    switch (nt) {
        case 3: return gemv_q8_0_x8_multi<3>(k, grp, xa, xs, y, ldy);
        case 2: return gemv_q8_0_x8_multi<2>(k, grp, xa, xs, y, ldy);
        case 1: return gemv_q8_0_x8_multi<1>(k, grp, xa, xs, y, ldy);
        default: return;
    }
}

}  // namespace hearth::cpu

#pragma GCC pop_options
