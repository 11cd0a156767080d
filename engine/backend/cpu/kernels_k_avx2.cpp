// AVX2 kernels for the 256-element super-block types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) against Q8_K
// activations (kernels.h).
//
// Every super-block decodes to 256 unsigned bytes q, 16 group scales sc and 16 group mins mn (one
// per 16 elements, int16) and two floats d, dmin, with value_i = d*sc[g]*q_i - dmin*mn[g]. Types
// with a signed range are shifted to unsigned: Q6_K stores q+32 with mn = 32*sc and dmin = d,
// Q3_K q+4 with mn = 4*sc. A super-block's contribution to a dot product is then
//     d*dx*sum_g sc[g]*sum_{i in g} q_i*qx_i  -  dmin*dx*sum_g mn[g]*bsum[g]
// i.e. vpmaddubsw (q unsigned, qx signed), vpmaddwd with the scales, and one vpmaddwd for the mins.
#include <immintrin.h>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/backend/cpu/kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#include "engine/backend/cpu/simd_avx2.h"
#include "engine/backend/cpu/gemm_q8_avx2.h"

namespace hearth::cpu {

using namespace avx2;

namespace {

// A decoded super-block (generation tiles with several tokens; the GEMM decode goes through it).
struct alignas(64) DecK {
    uint8_t q[256];
    __m256i scv[8];   // for 32-element step j: int16 lanes 0..7 = sc[2j], 8..15 = sc[2j+1]
    int16_t mn[16];
    int16_t sc[16];   // the group scales as set_scales got them (the GEMM decode reads them)
    float d, dmin;
};
static_assert(sizeof(DecK) % 64 == 0);

inline void set_scales(DecK* o, const int16_t* sc) {
    std::memcpy(o->sc, sc, sizeof o->sc);
    for (int j = 0; j < 8; ++j)
        o->scv[j] = _mm256_set_m128i(_mm_set1_epi16(sc[2 * j + 1]), _mm_set1_epi16(sc[2 * j]));
}

// Q4_K/Q5_K 6-bit scales and mins, 8 of each packed in 12 bytes -> bytes 0..7 scales, 8..15 mins.
inline void unpack_k4_scales(const uint8_t* s12, uint8_t out[16]) {
    uint32_t u[4];
    std::memcpy(u, s12, 12);
    const uint32_t m1 = 0x3f3f3f3f, m2 = 0x0f0f0f0f, m3 = 0x03030303;
    u[3] = ((u[2] >> 4) & m2) | (((u[1] >> 6) & m3) << 4);
    const uint32_t a = u[1] & m1;
    u[1] = (u[2] & m2) | (((u[0] >> 6) & m3) << 4);
    u[2] = a;
    u[0] &= m1;
    std::memcpy(out, u, 16);
}

template <GgmlType T> struct KQ;

template <> struct KQ<GgmlType::Q4_K> {
    static constexpr int kBytes = 144;
    static inline void decode(const uint8_t* b, DecK* o) {
        const __m256i m4 = _mm256_set1_epi8(0x0f);
        for (int j = 0; j < 4; ++j) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16 + 32 * j));
            _mm256_store_si256(reinterpret_cast<__m256i*>(o->q + 64 * j), _mm256_and_si256(v, m4));
            _mm256_store_si256(reinterpret_cast<__m256i*>(o->q + 64 * j + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
        }
        uint8_t sm[16];
        unpack_k4_scales(b + 4, sm);
        int16_t sc[16];
        for (int g = 0; g < 16; ++g) { sc[g] = sm[g / 2]; o->mn[g] = sm[8 + g / 2]; }
        set_scales(o, sc);
        o->d = h2f(load_u16(b)); o->dmin = h2f(load_u16(b + 2));
    }
};

template <> struct KQ<GgmlType::Q5_K> {
    static constexpr int kBytes = 176;
    static inline void decode(const uint8_t* b, DecK* o) {
        const __m256i m4 = _mm256_set1_epi8(0x0f);
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
        for (int j = 0; j < 4; ++j) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 48 + 32 * j));
            // bit 2j of qh[l] is the fifth bit of element 64j+l, bit 2j+1 that of element 64j+32+l
            const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), _mm256_set1_epi8(1));
            const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), _mm256_set1_epi8(1));
            _mm256_store_si256(reinterpret_cast<__m256i*>(o->q + 64 * j),
                               _mm256_or_si256(_mm256_and_si256(v, m4), _mm256_slli_epi16(h0, 4)));
            _mm256_store_si256(reinterpret_cast<__m256i*>(o->q + 64 * j + 32),
                               _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), _mm256_slli_epi16(h1, 4)));
        }
        uint8_t sm[16];
        unpack_k4_scales(b + 4, sm);
        int16_t sc[16];
        for (int g = 0; g < 16; ++g) { sc[g] = sm[g / 2]; o->mn[g] = sm[8 + g / 2]; }
        set_scales(o, sc);
        o->d = h2f(load_u16(b)); o->dmin = h2f(load_u16(b + 2));
    }
};

// Q6_K's 6-bit values from two 32-byte runs of ql (l0: low nibbles -> q[0], high -> q[2]; l1 ->
// q[1], q[3]) and one of qh (2 bits per value, bit pairs 0..3 for q[0..3]).
inline void q6_decode4(__m256i l0, __m256i l1, __m256i h, __m256i q[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4));
}

template <> struct KQ<GgmlType::Q6_K> {
    static constexpr int kBytes = 210;
    static inline void decode(const uint8_t* b, DecK* o) {
        const uint8_t* ql = b;
        const uint8_t* qh = b + 128;
        const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
        for (int n = 0; n < 2; ++n) {
            __m256i q[4];
            q6_decode4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * n)),
                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * n + 32)),
                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * n)), q);
            for (int j = 0; j < 4; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(o->q + 128 * n + 32 * j), q[j]);
        }
        int16_t sc[16];
        for (int g = 0; g < 16; ++g) { sc[g] = scales[g]; o->mn[g] = int16_t(32 * scales[g]); }
        set_scales(o, sc);
        o->d = h2f(load_u16(b + 208)); o->dmin = o->d;
    }
};

template <> struct KQ<GgmlType::Q2_K> {
    static constexpr int kBytes = 84;
    static inline void decode(const uint8_t* b, DecK* o) {
        const uint8_t* scales = b;
        const uint8_t* qs = b + 16;
        const __m256i m2 = _mm256_set1_epi8(0x03);
        for (int n = 0; n < 2; ++n) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * n));
            for (int j = 0; j < 4; ++j)
                _mm256_store_si256(reinterpret_cast<__m256i*>(o->q + 128 * n + 32 * j),
                                   _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), m2));
        }
        int16_t sc[16];
        for (int g = 0; g < 16; ++g) { sc[g] = scales[g] & 0x0f; o->mn[g] = scales[g] >> 4; }
        set_scales(o, sc);
        o->d = h2f(load_u16(b + 80)); o->dmin = h2f(load_u16(b + 82));
    }
};

template <> struct KQ<GgmlType::Q3_K> {
    static constexpr int kBytes = 110;
    static inline void decode(const uint8_t* b, DecK* o) {
        const uint8_t* hm = b;
        const uint8_t* qs = b + 32;
        const __m256i m2 = _mm256_set1_epi8(0x03), one = _mm256_set1_epi8(1);
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hm));
        for (int n = 0; n < 2; ++n) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * n));
            for (int j = 0; j < 4; ++j) {
                // stored value (q & 3) - (hbit ? 0 : 4); shifted to unsigned: (q & 3) + 4*hbit
                const __m256i hb = _mm256_and_si256(_mm256_srli_epi16(h, 4 * n + j), one);
                _mm256_store_si256(reinterpret_cast<__m256i*>(o->q + 128 * n + 32 * j),
                                   _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 2 * j), m2),
                                                   _mm256_slli_epi16(hb, 2)));
            }
        }
        // 16 6-bit scales (minus 32): low 4 bits in bytes 0..7 (two per byte), high 2 bits in 8..11
        const uint8_t* s = b + 96;
        int16_t sc[16];
        for (int g = 0; g < 16; ++g) {
            const int lo = g < 8 ? (s[g] & 0x0f) : (s[g - 8] >> 4);
            const int hi = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
            sc[g] = int16_t((lo | (hi << 4)) - 32);
            o->mn[g] = int16_t(4 * sc[g]);
        }
        set_scales(o, sc);
        o->d = h2f(load_u16(b + 108)); o->dmin = o->d;
    }
};

// One decoded super-block · one token's super-block: returns (integer sum with scales, with mins).
inline void dot_deck(const DecK* dk, const int8_t* xq, const int16_t* bs, __m256i* sumi, __m256i* summ) {
    __m256i s = _mm256_setzero_si256();
    for (int j = 0; j < 8; ++j) {
        const __m256i q = _mm256_load_si256(reinterpret_cast<const __m256i*>(dk->q + 32 * j));
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * j));
        s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), dk->scv[j]));
    }
    *sumi = s;
    *summ = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(dk->mn)),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bs)));
}

// ---- direct tile: decode each super-block of each row into a stack DecK, dot with the tokens
template <GgmlType T>
void tile_k(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xa, size_t xs, int nt, float* y,
            size_t ldy) {
    using Q = KQ<T>;
    const int64_t nb = k / 256;
    DecK dk;
    for (int r = 0; r < nr; ++r) {
        __m256 acc[4];
        for (int t = 0; t < nt; ++t) acc[t] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            Q::decode(w + r * ws + b * Q::kBytes, &dk);
            for (int t = 0; t < nt; ++t) {
                const uint8_t* x = xa + t * xs;
                __m256i si, sm;
                dot_deck(&dk, act_qs(x) + 256 * b, act_bsums(x, k) + 16 * b, &si, &sm);
                const float dx = act_d(x, k)[b];
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(si), _mm256_set1_ps(dk.d * dx), acc[t]);
                acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(sm), _mm256_set1_ps(dk.dmin * dx), acc[t]);
            }
        }
        for (int t = 0; t < nt; ++t) y[t * ldy + r] = hsum(acc[t]);
    }
}

// Byte-shuffle mask that broadcasts int16 lane i (i < 8) of each 128-bit lane to all its 8 lanes
// (a constant once the loops are unrolled).
inline __m256i scale_shuf(int i) { return _mm256_set1_epi16(short((2 * i) | ((2 * i + 1) << 8))); }
// The low 128-bit lane broadcasts int16 lane i, the high lane lane i+1.
inline __m256i pair_shuf(int i) {
    return _mm256_set_m128i(_mm_set1_epi16(short((2 * i + 2) | ((2 * i + 3) << 8))), _mm_set1_epi16(short((2 * i) | ((2 * i + 1) << 8))));
}

// ---- Q4_K generation kernel: straight from the file layout (no decode buffer), one row at a time.
void gemv_q4_k(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xa, float* y) {
    const int64_t nb = k / 256;
    const int8_t* xq = act_qs(xa); const float* xd = act_d(xa, k); const int16_t* bs = act_bsums(xa, k);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int r = 0; r < nr; ++r) {
        __m256 acc = _mm256_setzero_ps();
        __m128 accm = _mm_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t* blk = w + r * ws + b * 144;
            prefetch_stream<144>(blk);
            uint8_t sm[16];
            unpack_k4_scales(blk + 4, sm);
            const float dx = xd[b];
            const float d = h2f(load_u16(blk)) * dx, dmin = h2f(load_u16(blk + 2)) * dx;
            // mins: sum_j m_j * (bsum[2j] + bsum[2j+1])
            const __m256i bsv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bs + 16 * b));
            const __m128i bs8 = _mm_hadd_epi16(_mm256_castsi256_si128(bsv), _mm256_extracti128_si256(bsv, 1));
            const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm + 8)));
            accm = _mm_fmadd_ps(_mm_cvtepi32_ps(_mm_madd_epi16(mins, bs8)), _mm_set1_ps(dmin), accm);
            __m256i sumi = _mm256_setzero_si256();
            const int8_t* x = xq + 256 * b;
            // the 8 scales as int16 in both 128-bit lanes; one byte shuffle broadcasts scale i
            const __m256i sc = _mm256_broadcastsi128_si256(
                _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm))));
            for (int j = 0; j < 4; ++j) {
                const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * j));
                const __m256i lo = _mm256_and_si256(v, m4);
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * j)));
                const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * j + 32)));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(plo, _mm256_shuffle_epi8(sc, scale_shuf(2 * j))));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(phi, _mm256_shuffle_epi8(sc, scale_shuf(2 * j + 1))));
            }
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(d), acc);
        }
        __m128 m = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        y[r] = hsum(acc) - _mm_cvtss_f32(m);
    }
}

// ---- Q6_K generation kernel: straight from the file layout.
void gemv_q6_k(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xa, float* y) {
    const int64_t nb = k / 256;
    const int8_t* xq = act_qs(xa); const float* xd = act_d(xa, k); const int16_t* bs = act_bsums(xa, k);
    for (int r = 0; r < nr; ++r) {
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t* blk = w + r * ws + b * 210;
            prefetch_stream<210>(blk);
            const uint8_t* ql = blk;
            const uint8_t* qh = blk + 128;
            const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
            const float d = h2f(load_u16(blk + 208)) * xd[b];
            const int8_t* x = xq + 256 * b;
            // -32 offset through the group sums: sum_g sc[g] * 32 * bsum[g]
            const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
            __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(),
                _mm256_slli_epi32(_mm256_madd_epi16(sc16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bs + 16 * b))), 5));
            for (int n = 0; n < 2; ++n) {
                const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * n));
                const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * n + 32));
                const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * n));
                // scales 8n..8n+7 as int16 in both 128-bit lanes
                // (the immediate must be a literal: at -O1 the compiler does not fold n == 0 ? … into one)
                const __m256i scn = n == 0 ? _mm256_permute4x64_epi64(sc16, 0x44) : _mm256_permute4x64_epi64(sc16, 0xee);
                __m256i q[4];
                q6_decode4(l0, l1, h, q);
                for (int j = 0; j < 4; ++j) {
                    // groups 8n+2j (elements 128n+32j ..+15) and 8n+2j+1 (the next 16)
                    const __m256i p = _mm256_maddubs_epi16(q[j], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 128 * n + 32 * j)));
                    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, _mm256_shuffle_epi8(scn, pair_shuf(2 * j))));
                }
            }
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(d), acc);
        }
        y[r] = hsum(acc);
    }
}

template <GgmlType T>
void tile_k_dispatch(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xa, size_t xs, int nt, float* y,
                     size_t ldy) {
    if constexpr (T == GgmlType::Q4_K) { if (nt == 1) return gemv_q4_k(k, w, ws, nr, xa, y); }
    if constexpr (T == GgmlType::Q6_K) { if (nt == 1) return gemv_q6_k(k, w, ws, nr, xa, y); }
    tile_k<T>(k, w, ws, nr, xa, xs, nt, y, ldy);
}

// ---- GEMM path (gemm_q8_avx2.h): each super-block decoded once, then written as unsigned bytes
// with one (a, c) pair per block of BS elements: 32 where the type has one scale per 32 elements
// (Q4_K, Q5_K), else 16.
template <GgmlType T> struct KGemm;
template <> struct KGemm<GgmlType::Q4_K> { static constexpr int BS = 32, G = 8; };   // u < 16
template <> struct KGemm<GgmlType::Q5_K> { static constexpr int BS = 32, G = 4; };   // u < 32
template <> struct KGemm<GgmlType::Q6_K> { static constexpr int BS = 16, G = 2; };   // u < 64
template <> struct KGemm<GgmlType::Q3_K> { static constexpr int BS = 16, G = 4; };   // u < 8
template <> struct KGemm<GgmlType::Q2_K> { static constexpr int BS = 16, G = 4; };   // u < 4

template <GgmlType T>
void gemm_decode_k(int64_t k, const uint8_t* row, uint8_t* out) {
    constexpr int BS = KGemm<T>::BS, per = 256 / BS;  // blocks per super-block
    const int64_t nb = k / 256;
    float* a = reinterpret_cast<float*>(out + k);
    float* c = a + nb * per;
    DecK dk;
    for (int64_t b = 0; b < nb; ++b) {
        KQ<T>::decode(row + b * KQ<T>::kBytes, &dk);
        std::memcpy(out + 256 * b, dk.q, 256);
        for (int j = 0; j < per; ++j) {
            const int g = j * (BS / 16);  // the first 16-group of block j (Q4_K/Q5_K: both groups share it)
            a[b * per + j] = dk.d * float(dk.sc[g]);
            c[b * per + j] = -dk.dmin * float(dk.mn[g]);
        }
    }
}

// ---- Q4_K repacked 8 rows at a time (generation; see repack_x8_avx2.cpp for the idea). Per
// super-block of the 8 rows (1184 bytes, 2.8% more than 8 x 144: the 6-bit scales are unpacked):
//   16 bytes d[8], 16 bytes dmin[8] (F16), 64 bytes sc[j][r] (sub-block j), 64 bytes of mins in
//   pairs of sub-blocks, mn[2m + h][r] at 16m + 2r + h (so one widening load gives every row's
//   (mn[2m], mn[2m+1]) as an int16 pair for vpmaddwd),
//   1024 bytes: for chunk c (file bytes qs[32c..32c+31]) and step i, 32 bytes holding row r's
//   qs[32c + 4i .. +3] at 4r (low nibbles: sub-block 2c, high nibbles: 2c + 1).
constexpr int kQ4KX8Bytes = 1184;
// Where sub-block j's min of row r sits in a packed super-block (the pairs described above).
constexpr int q4_k_x8_min_at(int j, int r) { return 96 + 16 * (j / 2) + 2 * r + j % 2; }

size_t q4_k_x8_bytes(int64_t k) { return size_t(k / 256) * kQ4KX8Bytes; }

void repack_q4_k_x8(int64_t k, const uint8_t* w, size_t ws, uint8_t* out) {
    const int64_t nb = k / 256;
    for (int64_t b = 0; b < nb; ++b) {
        uint8_t* o = out + b * kQ4KX8Bytes;
        for (int r = 0; r < 8; ++r) {
            const uint8_t* blk = w + size_t(r) * ws + b * 144;
            std::memcpy(o + 2 * r, blk, 2);
            std::memcpy(o + 16 + 2 * r, blk + 2, 2);
            uint8_t sm[16];
            unpack_k4_scales(blk + 4, sm);
            for (int j = 0; j < 8; ++j) { o[32 + 8 * j + r] = sm[j]; o[q4_k_x8_min_at(j, r)] = sm[8 + j]; }
            for (int c = 0; c < 4; ++c)
                for (int i = 0; i < 8; ++i) std::memcpy(o + 160 + 32 * (8 * c + i) + 4 * r, blk + 16 + 32 * c + 4 * i, 4);
        }
    }
}

// v | v << 16 for 32-bit lanes holding values < 2^15: the value as an int16 pair.
inline __m256i pair16(__m256i v) { return _mm256_or_si256(v, _mm256_slli_epi32(v, 16)); }

void gemv_q4_k_x8(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y) {
    const int64_t nb = k / 256;
    const int8_t* xq = act_qs(xa); const float* xd = act_d(xa, k); const int16_t* bs = act_bsums(xa, k);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * kQ4KX8Bytes;
        const int8_t* x = xq + 256 * b;
        const int16_t* bsb = bs + 16 * b;
        __m256i isum = _mm256_setzero_si256(), msum = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
            __m256i lo16 = _mm256_setzero_si256(), hi16 = _mm256_setzero_si256();
            for (int i = 0; i < 8; ++i) {
                const uint8_t* q = p + 160 + 32 * (8 * c + i);
                prefetch_stream<32>(q);
                const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
                uint32_t xl, xh;
                std::memcpy(&xl, x + 64 * c + 4 * i, 4);
                std::memcpy(&xh, x + 64 * c + 32 + 4 * i, 4);
                lo16 = _mm256_add_epi16(lo16, _mm256_maddubs_epi16(_mm256_and_si256(v, m4), _mm256_set1_epi32(int(xl))));
                hi16 = _mm256_add_epi16(hi16, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), _mm256_set1_epi32(int(xh))));
            }
            // Each row's scale as an int16 pair (sc, sc) in its 32-bit lane, so one vpmaddwd both widens
            // the int16 sums and applies the scale: vpmulld is 2-4x dearer on the multiply pipe that
            // the vpmaddubsw above already saturate (Zen 1), and this kernel had 16 per super-block.
            const __m256i sc_lo = pair16(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 32 + 8 * (2 * c)))));
            const __m256i sc_hi = pair16(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 32 + 8 * (2 * c + 1)))));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(lo16, sc_lo));  // sums <= 8 * 3810, x 63: no overflow
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(hi16, sc_hi));
        }
        // mins: sum_j mn[j][r] * (bsum[2j] + bsum[2j+1]), two sub-blocks per vpmaddwd
        alignas(16) int16_t bs8[8];
        _mm_store_si128(reinterpret_cast<__m128i*>(bs8),
                        _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bsb)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsb + 8))));  // |sum| <= 32 * 127
        for (int m = 0; m < 4; ++m) {
            const __m256i mn = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 96 + 16 * m)));
            int32_t pair;
            std::memcpy(&pair, bs8 + 2 * m, 4);
            msum = _mm256_add_epi32(msum, _mm256_madd_epi16(mn, _mm256_set1_epi32(pair)));
        }
        const __m256 dx = _mm256_broadcast_ss(xd + b);
        const __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), dx);
        const __m256 dmin = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))), dx);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc);
        acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), dmin, acc);
    }
    _mm256_storeu_ps(y, acc);
}

// Row r of the repacked layout -> a GEMM panel row (BS 32: u = nibbles, a = d*sc, c = -dmin*mn).
void gemm_decode_q4_k_x8(int64_t k, const uint8_t* w, size_t ws, int r, uint8_t* out) {
    const uint8_t* grp = w + size_t(r / 8) * 8 * ws;
    const int rr = r % 8;
    const int64_t nb = k / 256;
    float* a = reinterpret_cast<float*>(out + k);
    float* c = a + nb * 8;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * kQ4KX8Bytes;
        const float d = h2f(load_u16(p + 2 * rr)), dmin = h2f(load_u16(p + 16 + 2 * rr));
        for (int j = 0; j < 8; ++j) {
            a[8 * b + j] = d * float(p[32 + 8 * j + rr]);
            c[8 * b + j] = -dmin * float(p[q4_k_x8_min_at(j, rr)]);
        }
        for (int cc = 0; cc < 4; ++cc) {
            alignas(32) uint8_t q[32];
            for (int i = 0; i < 8; ++i) std::memcpy(q + 4 * i, p + 160 + 32 * (8 * cc + i) + 4 * rr, 4);
            const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(q));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 256 * b + 64 * cc), _mm256_and_si256(v, m4));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 256 * b + 64 * cc + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
        }
    }
}

// ---- Q6_K repacked 8 rows at a time (generation). Per super-block of the 8 rows, 1680 bytes
// (= 8 x 210, the file's size):
//   16 bytes d[8] (F16)
//   128 bytes scales in pairs of groups: sc[2m + h][r] at 16 + 16m + 2r + h (int8)
//   16 units u = 8n + s (half n, step s: l = 4s) of 96 bytes at 144 + 96u, three 32-byte vectors
//   holding at 4r row r's ql[64n + l ..+3], ql[64n + 32 + l ..+3] and qh[32n + l ..+3]; together
//   they give elements 128n + {0, 32, 64, 96} + l ..+3, of groups 8n + {0, 2, 4, 6} + s / 4.
constexpr int kQ6KX8Bytes = 1680;

// Moves row r's bytes of one super-block between the file block (210 bytes) and the packed group
// block, in the direction of ToPacked: the one statement of the layout above, for both ways.
// (FileP/PackP: const uint8_t* on the side that is only read.)
template <bool ToPacked, class FileP, class PackP>
void q6_k_x8_move(FileP file_blk, PackP packed, int r) {
    auto mv = [](FileP f, PackP pk, size_t n) {
        if constexpr (ToPacked) std::memcpy(pk, f, n);
        else std::memcpy(f, pk, n);
    };
    mv(file_blk + 208, packed + 2 * r, 2);
    for (int g = 0; g < 16; ++g) mv(file_blk + 192 + g, packed + 16 + 16 * (g / 2) + 2 * r + g % 2, 1);
    for (int n = 0; n < 2; ++n)
        for (int st = 0; st < 8; ++st) {
            const PackP u = packed + 144 + 96 * (8 * n + st) + 4 * r;
            mv(file_blk + 64 * n + 4 * st, u, 4);
            mv(file_blk + 64 * n + 32 + 4 * st, u + 32, 4);
            mv(file_blk + 128 + 32 * n + 4 * st, u + 64, 4);
        }
}

void repack_q6_k_x8(int64_t k, const uint8_t* w, size_t ws, uint8_t* out) {
    for (int64_t b = 0; b < k / 256; ++b)
        for (int r = 0; r < 8; ++r)
            q6_k_x8_move<true>(w + size_t(r) * ws + b * 210, out + b * kQ6KX8Bytes, r);
}

// The file-layout row r of a packed group (the inverse of repack_q6_k_x8 for one row).
void unpack_q6_k_x8_row(int64_t k, const uint8_t* grp, int rr, uint8_t* row) {
    for (int64_t b = 0; b < k / 256; ++b)
        q6_k_x8_move<false>(row + b * 210, grp + b * kQ6KX8Bytes, rr);
}

void gemv_q6_k_x8(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y) {
    const int64_t nb = k / 256;
    const int8_t* xq = act_qs(xa); const float* xd = act_d(xa, k); const int16_t* bs = act_bsums(xa, k);
    // duplicate the low (h = 0) or high (h = 1) int16 of each 32-bit lane: a group's scale as a pair
    const __m256i dup[2] = {_mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13),
                            _mm256_setr_epi8(2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15, 2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15)};
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * kQ6KX8Bytes;
        const int8_t* x = xq + 256 * b;
        const int16_t* bsb = bs + 16 * b;
        // the -32 offset: 32 * sum_g sc[g][r] * bsum[g], two groups per vpmaddwd
        __m256i off = _mm256_setzero_si256();
        for (int m = 0; m < 8; ++m) {
            const __m256i scm = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 + 16 * m)));
            int32_t pair;
            std::memcpy(&pair, bsb + 2 * m, 4);
            off = _mm256_add_epi32(off, _mm256_madd_epi16(scm, _mm256_set1_epi32(pair)));
        }
        __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
        for (int n = 0; n < 2; ++n)
            for (int h = 0; h < 2; ++h) {  // steps 4h..4h+3: groups 8n + {0, 2, 4, 6} + h
                __m256i scp[4];
                for (int j = 0; j < 4; ++j)
                    scp[j] = _mm256_shuffle_epi8(
                        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 + 16 * (4 * n + j)))), dup[h]);
                for (int st = 4 * h; st < 4 * h + 4; st += 2) {
                    __m256i a16[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
                    for (int s2 = st; s2 < st + 2; ++s2) {  // two steps per int16 sum: 2 * 2 * 63 * 127 < 32768
                        const uint8_t* u = p + 144 + 96 * (8 * n + s2);
                        prefetch_stream<96>(u);
                        const __m256i la = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(u));
                        const __m256i lb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(u + 32));
                        const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(u + 64));
                        __m256i q[4];
                        q6_decode4(la, lb, hb, q);
                        const int8_t* xs = x + 128 * n + 4 * s2;
                        for (int j = 0; j < 4; ++j) {
                            int32_t xv;
                            std::memcpy(&xv, xs + 32 * j, 4);
                            a16[j] = _mm256_add_epi16(a16[j], _mm256_maddubs_epi16(q[j], _mm256_set1_epi32(xv)));
                        }
                    }
                    for (int j = 0; j < 4; ++j) isum = _mm256_add_epi32(isum, _mm256_madd_epi16(a16[j], scp[j]));
                }
            }
        const __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), _mm256_broadcast_ss(xd + b));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc);
    }
    _mm256_storeu_ps(y, acc);
}

// Row r of the packed layout -> the GEMM panel row gemm_decode_k<Q6_K> makes of the file row (the
// row is rebuilt first: the decode cost is shared by every token of the batch).
void gemm_decode_q6_k_x8(int64_t k, const uint8_t* w, size_t ws, int r, uint8_t* out) {
    thread_local std::vector<uint8_t> row;
    row.resize(size_t(k / 256) * 210);
    unpack_q6_k_x8_row(k, w + size_t(r / 8) * 8 * ws, r % 8, row.data());
    gemm_decode_k<GgmlType::Q6_K>(k, row.data(), out);
}

template <GgmlType T>
constexpr MatKernel k_entry(const char* name) {
    using KG = KGemm<T>;
    MatKernel m;
    m.act = ActKind::Q8_K;
    m.quant = quantize_act_q8_K_avx2;
    m.tile = tile_k_dispatch<T>;
    m.max_rows = 4;
    m.max_toks = 4;
    m.gemm_act = GemmAct::Q8x8;
    m.gemm_rows = gemm_q8_rows<KG::BS, KG::G, 1, gemm_decode_k<T>>;
    m.gemm_scratch = gemm_q8_scratch<KG::BS, 1>;
    m.gemm_rows_max = kGemmQ8Rows;
    if constexpr (T == GgmlType::Q4_K) {
        m.repack_x8 = repack_q4_k_x8;
        m.repack_bytes = q4_k_x8_bytes;
        m.gemv_x8 = gemv_q4_k_x8;
        m.gemm_rows_x8 = gemm_q8_rows_from<32, KGemm<T>::G, 1, gemm_decode_q4_k_x8>;
    }
    if constexpr (T == GgmlType::Q6_K) {
        m.repack_x8 = repack_q6_k_x8;  // same byte count: repack_bytes stays null
        m.gemv_x8 = gemv_q6_k_x8;
        m.gemm_rows_x8 = gemm_q8_rows_from<KG::BS, KG::G, 1, gemm_decode_q6_k_x8>;
    }
    m.name = name;
    return m;
}

}  // namespace

extern const MatKernel kAvx2Q2_K, kAvx2Q3_K, kAvx2Q4_K, kAvx2Q5_K, kAvx2Q6_K;
const MatKernel kAvx2Q2_K = k_entry<GgmlType::Q2_K>("Q2_K AVX2");
const MatKernel kAvx2Q3_K = k_entry<GgmlType::Q3_K>("Q3_K AVX2");
const MatKernel kAvx2Q4_K = k_entry<GgmlType::Q4_K>("Q4_K AVX2");
const MatKernel kAvx2Q5_K = k_entry<GgmlType::Q5_K>("Q5_K AVX2");
const MatKernel kAvx2Q6_K = k_entry<GgmlType::Q6_K>("Q6_K AVX2");

}  // namespace hearth::cpu

#pragma GCC pop_options
