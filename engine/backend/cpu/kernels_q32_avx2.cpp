// AVX2 kernels for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against Q8_32
// activations (kernels.h).
//
// Every block decodes to 32 signed bytes w, a scale d and an offset m (value = d*w + m; m = 0 for
// the symmetric types), so one block's contribution to a dot product is
//     d * dx * sum(w * qx) + m * s        (s = dx * sum(qx), precomputed per activation block)
// The integer sum is vpmaddubsw + vpmaddwd (sign of w moved onto qx, as ggml does).
//
// Generation (few tokens) reads the weights directly (tile_q32). Prompt batches run the shared
// GEMM micro-kernel (gemm_q8_avx2.h) over rows decoded once per call (gemm_decode_q32).
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

template <GgmlType T> struct Q32;
template <> struct Q32<GgmlType::Q4_0> {
    static constexpr int kBytes = 18; static constexpr bool kOffset = false;
    static inline __m256i decode(const uint8_t* b, float* d, float* m) {
        *d = h2f(load_u16(b)); *m = 0;
        return _mm256_sub_epi8(nibbles_32(b + 2), _mm256_set1_epi8(8));
    }
};
template <> struct Q32<GgmlType::Q4_1> {
    static constexpr int kBytes = 20; static constexpr bool kOffset = true;
    static inline __m256i decode(const uint8_t* b, float* d, float* m) {
        *d = h2f(load_u16(b)); *m = h2f(load_u16(b + 2));
        return nibbles_32(b + 4);
    }
};
template <> struct Q32<GgmlType::Q5_0> {
    static constexpr int kBytes = 22; static constexpr bool kOffset = false;
    static inline __m256i decode(const uint8_t* b, float* d, float* m) {
        *d = h2f(load_u16(b)); *m = 0;
        // q - 16 = nibble - 16 * (1 - high bit): OR 0xF0 (= -16 as int8) where the bit is clear
        const __m256i hi = _mm256_andnot_si256(bits_to_bytes(load_u32(b + 2)), _mm256_set1_epi8(char(0xf0)));
        return _mm256_or_si256(nibbles_32(b + 6), hi);
    }
};
template <> struct Q32<GgmlType::Q5_1> {
    static constexpr int kBytes = 24; static constexpr bool kOffset = true;
    static inline __m256i decode(const uint8_t* b, float* d, float* m) {
        *d = h2f(load_u16(b)); *m = h2f(load_u16(b + 2));
        const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b + 4)), _mm256_set1_epi8(0x10));
        return _mm256_or_si256(nibbles_32(b + 8), hi);
    }
};
template <> struct Q32<GgmlType::Q8_0> {
    static constexpr int kBytes = 34; static constexpr bool kOffset = false;
    static inline __m256i decode(const uint8_t* b, float* d, float* m) {
        *d = h2f(load_u16(b)); *m = 0;
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
    }
};

// ---- direct tile: R rows × NT tokens, weights read from the file layout
template <GgmlType T, int R, int NT>
void tile_q32_rt(int64_t k, const uint8_t* w, size_t ws, const uint8_t* xa, size_t xs, float* y, size_t ldy) {
    using Q = Q32<T>;
    const int64_t nb = k / 32;
    __m256 acc[R][NT];
    float macc[R][NT];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < NT; ++t) { acc[r][t] = _mm256_setzero_ps(); macc[r][t] = 0; }
    const int8_t* xq[NT]; const float* xd[NT]; const float* xsum[NT];
    for (int t = 0; t < NT; ++t) { xq[t] = act_qs(xa + t * xs); xd[t] = act_d(xa + t * xs, k); xsum[t] = act_s(xa + t * xs, k); }
    for (int64_t b = 0; b < nb; ++b) {
        __m256i xv[NT];
        for (int t = 0; t < NT; ++t) xv[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t] + 32 * b));
        for (int r = 0; r < R; ++r) {
            const uint8_t* blk = w + r * ws + b * Q::kBytes;
            prefetch_stream<Q::kBytes>(blk);
            float d, m;
            const __m256i wv = Q::decode(blk, &d, &m);
            const __m256i aw = _mm256_sign_epi8(wv, wv);
            for (int t = 0; t < NT; ++t) {
                const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv[t], wv)),
                                                    _mm256_set1_epi16(1));
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * xd[t][b]), acc[r][t]);
                if constexpr (Q::kOffset) macc[r][t] += m * xsum[t][b];
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < NT; ++t) y[t * ldy + r] = hsum(acc[r][t]) + macc[r][t];
}


// Generation special case for Q4_0 (the most common quantization): the nibbles stay unsigned
// (0..15) so no sign juggling is needed, and the -8 offset is applied once per block through the
// precomputed activation sum s: d*dx*sum((q-8)*qx) = d*(dx*sum(q*qx)) - 8*d*s.
// Two blocks per step: block b's 16 quant bytes go to the low 128-bit lane and block b+1's
// to the high lane, so one AND / one shift+AND unpack 64 weights; the activations are regrouped to
// match with two lane permutes shared by all R rows, and one F16->F32 conversion yields both blocks'
// scales ([d_b x4, d_b+1 x4] against the 8 int32 lanes: lanes 0-3 hold block b's sums, 4-7 b+1's).
template <int R>
void tile_q4_0_gemv2(int64_t k, const uint8_t* w, size_t ws, const uint8_t* xa, float* y) {
    const int64_t nb = k / 32;
    const int8_t* xq = act_qs(xa); const float* xd = act_d(xa, k); const float* xsum = act_s(xa, k);
    __m256 acc[R], corr[R];
    for (int r = 0; r < R; ++r) { acc[r] = _mm256_setzero_ps(); corr[r] = _mm256_setzero_ps(); }
    const __m256i ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0x0f);
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b));
        const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b + 32));
        const __m256i xlo = _mm256_permute2x128_si256(x0, x1, 0x20);  // elements 0..15 of b, b+1
        const __m256i xhi = _mm256_permute2x128_si256(x0, x1, 0x31);  // elements 16..31 of b, b+1
        const __m256 dx = _mm256_set_m128(_mm_set1_ps(xd[b + 1]), _mm_set1_ps(xd[b]));
        const __m256 sx = _mm256_set_m128(_mm_set1_ps(xsum[b + 1]), _mm_set1_ps(xsum[b]));
        for (int r = 0; r < R; ++r) {
            const uint8_t* b0 = w + r * ws + b * 18;
            const uint8_t* b1 = b0 + 18;
            prefetch_stream<36>(b0);
            const __m256i v = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(b1 + 2), reinterpret_cast<const __m128i*>(b0 + 2));
            const __m256i lo = _mm256_and_si256(v, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            const __m256i p16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xlo), _mm256_maddubs_epi16(hi, xhi));
            const __m256i p = _mm256_madd_epi16(p16, ones);
            const __m128i dh = _mm_blend_epi16(_mm_set1_epi16(short(load_u16(b0))), _mm_set1_epi16(short(load_u16(b1))), 0xf0);
            const __m256 d = _mm256_cvtph_ps(dh);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(d, dx), acc[r]);
            corr[r] = _mm256_fmadd_ps(d, sx, corr[r]);
        }
    }
    for (int r = 0; r < R; ++r) y[r] = hsum(acc[r]) - 2.0f * hsum(corr[r]);  // corr holds each block 4x: 8/4
    if (b < nb) {
        // odd block count: the last block the one-block way
        for (int r = 0; r < R; ++r) {
            const uint8_t* blk = w + r * ws + b * 18;
            const float d = h2f(load_u16(blk));
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles_32(blk + 2),
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b))), ones);
            y[r] += d * xd[b] * hsum(_mm256_cvtepi32_ps(p)) - 8.0f * d * xsum[b];
        }
    }
}

template <GgmlType T>
void tile_q32(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xa, size_t xs, int nt, float* y,
              size_t ldy) {
    if constexpr (T == GgmlType::Q4_0) {
        if (nt == 1) {
            switch (nr) {
                case 4: return tile_q4_0_gemv2<4>(k, w, ws, xa, y);
                case 3: return tile_q4_0_gemv2<3>(k, w, ws, xa, y);
                case 2: return tile_q4_0_gemv2<2>(k, w, ws, xa, y);
                default: return tile_q4_0_gemv2<1>(k, w, ws, xa, y);
            }
        }
    }
    // nr in 1..4, nt in 1..2
    if (nt == 2) {
        switch (nr) {
            case 4: return tile_q32_rt<T, 4, 2>(k, w, ws, xa, xs, y, ldy);
            case 3: return tile_q32_rt<T, 3, 2>(k, w, ws, xa, xs, y, ldy);
            case 2: return tile_q32_rt<T, 2, 2>(k, w, ws, xa, xs, y, ldy);
            default: return tile_q32_rt<T, 1, 2>(k, w, ws, xa, xs, y, ldy);
        }
    }
    switch (nr) {
        case 4: return tile_q32_rt<T, 4, 1>(k, w, ws, xa, xs, y, ldy);
        case 3: return tile_q32_rt<T, 3, 1>(k, w, ws, xa, xs, y, ldy);
        case 2: return tile_q32_rt<T, 2, 1>(k, w, ws, xa, xs, y, ldy);
        default: return tile_q32_rt<T, 1, 1>(k, w, ws, xa, xs, y, ldy);
    }
}

// ---- GEMM path (gemm_q8_avx2.h): rows decoded to unsigned bytes u, value = a*u + c per block.
template <GgmlType T> struct U32;
template <> struct U32<GgmlType::Q4_0> {
    static constexpr int G = 8, P = 1;  // u < 16
    static inline __m256i decode(const uint8_t* b, float* a, float* c) {
        *a = h2f(load_u16(b)); *c = -8.0f * *a;
        return nibbles_32(b + 2);
    }
};
template <> struct U32<GgmlType::Q4_1> {
    static constexpr int G = 8, P = 1;
    static inline __m256i decode(const uint8_t* b, float* a, float* c) {
        *a = h2f(load_u16(b)); *c = h2f(load_u16(b + 2));
        return nibbles_32(b + 4);
    }
};
template <> struct U32<GgmlType::Q5_0> {
    static constexpr int G = 4, P = 1;  // u < 32
    static inline __m256i decode(const uint8_t* b, float* a, float* c) {
        *a = h2f(load_u16(b)); *c = -16.0f * *a;
        return _mm256_or_si256(nibbles_32(b + 6), _mm256_and_si256(bits_to_bytes(load_u32(b + 2)), _mm256_set1_epi8(0x10)));
    }
};
template <> struct U32<GgmlType::Q5_1> {
    static constexpr int G = 4, P = 1;
    static inline __m256i decode(const uint8_t* b, float* a, float* c) {
        *a = h2f(load_u16(b)); *c = h2f(load_u16(b + 2));
        return _mm256_or_si256(nibbles_32(b + 8), _mm256_and_si256(bits_to_bytes(load_u32(b + 4)), _mm256_set1_epi8(0x10)));
    }
};
template <> struct U32<GgmlType::Q8_0> {
    static constexpr int G = 8, P = 2;  // two nibble planes of q + 128
    static inline __m256i decode(const uint8_t* b, float* a, float* c) {
        *a = h2f(load_u16(b)); *c = -128.0f * *a;
        return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2)), _mm256_set1_epi8(char(0x80)));
    }
};

// One block (file layout) -> its 32 bytes of the panel row (P planes) and its a, c.
template <GgmlType T>
inline void gemm_decode_block(const uint8_t* blk, int64_t k, int64_t b, uint8_t* out, float* a, float* c) {
    using U = U32<T>;
    const __m256i u = U::decode(blk, a + b, c + b);
    if constexpr (U::P == 1) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * b), u);
    } else {
        const __m256i m4 = _mm256_set1_epi8(0x0f);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * b), _mm256_and_si256(_mm256_srli_epi16(u, 4), m4));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k + 32 * b), _mm256_and_si256(u, m4));
    }
}

template <GgmlType T>
void gemm_decode_q32(int64_t k, const uint8_t* row, uint8_t* out) {
    const int64_t nb = k / 32;
    float* a = reinterpret_cast<float*>(out + U32<T>::P * k);
    float* c = a + nb;
    for (int64_t b = 0; b < nb; ++b) gemm_decode_block<T>(row + b * Q32<T>::kBytes, k, b, out, a, c);
}

// Row r of weights repacked 8 rows at a time (repack_x8_avx2.cpp) -> a GEMM panel row: each block's
// bytes of row r gathered back into file order (on the stack), then the U32 decode of that block.
template <GgmlType T>
void gemm_decode_x8(int64_t k, const uint8_t* w, size_t ws, int r, uint8_t* out) {
    // H F16 header fields per block (scale; and offset for the offset types), as repack_x8 lays them
    constexpr int BB = Q32<T>::kBytes, H = Q32<T>::kOffset ? 2 : 1, steps = (BB - 2 * H) / 4;
    const uint8_t* grp = w + size_t(r / 8) * 8 * ws;
    const int rr = r % 8;
    const int64_t nb = k / 32;
    float* a = reinterpret_cast<float*>(out + U32<T>::P * k);
    float* c = a + nb;
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = grp + b * 8 * BB;
        uint8_t blk[BB];
        for (int j = 0; j < H; ++j) std::memcpy(blk + 2 * j, p + 16 * j + 2 * rr, 2);
        for (int i = 0; i < steps; ++i) std::memcpy(blk + 2 * H + 4 * i, p + 16 * H + 32 * i + 4 * rr, 4);
        gemm_decode_block<T>(blk, k, b, out, a, c);
    }
}

template <GgmlType T>
constexpr MatKernel q32_entry(const char* name) {
    using U = U32<T>;
    MatKernel m;
    m.act = ActKind::Q8_32;
    m.quant = quantize_act_q8_32_avx2;
    m.tile = tile_q32<T>;
    m.max_rows = 4;
    m.max_toks = 2;
    m.gemm_act = GemmAct::Q8x8;
    m.gemm_rows = gemm_q8_rows<32, U::G, U::P, gemm_decode_q32<T>>;
    m.gemm_scratch = gemm_q8_scratch<32, U::P>;
    m.gemm_rows_max = kGemmQ8Rows;
    if constexpr (T == GgmlType::Q4_0) {
        m.gemv_x8 = gemv_q4_0_x8;
        m.gemv_x8_n = gemv_q4_0_x8_n;
        m.repack_x8 = repack_q4_0_x8;
        m.gemm_rows_x8 = gemm_q8_rows_from<32, U::G, U::P, gemm_decode_x8<T>>;
    }
    if constexpr (T == GgmlType::Q4_1) {
        m.gemv_x8 = gemv_q4_1_x8;
        m.gemv_x8_n = gemv_q4_1_x8_n;
        m.repack_x8 = repack_q4_1_x8;
        m.gemm_rows_x8 = gemm_q8_rows_from<32, U::G, U::P, gemm_decode_x8<T>>;
    }
    if constexpr (T == GgmlType::Q8_0) {
        m.gemv_x8 = gemv_q8_0_x8;
        m.gemv_x8_n = gemv_q8_0_x8_n;
        m.repack_x8 = repack_q8_0_x8;
        m.gemm_rows_x8 = gemm_q8_rows_from<32, U::G, U::P, gemm_decode_x8<T>>;
    }
    m.name = name;
    return m;
}

}  // namespace

extern const MatKernel kAvx2Q4_0, kAvx2Q4_1, kAvx2Q5_0, kAvx2Q5_1, kAvx2Q8_0;
const MatKernel kAvx2Q4_0 = q32_entry<GgmlType::Q4_0>("Q4_0 AVX2");
const MatKernel kAvx2Q4_1 = q32_entry<GgmlType::Q4_1>("Q4_1 AVX2");
const MatKernel kAvx2Q5_0 = q32_entry<GgmlType::Q5_0>("Q5_0 AVX2");
const MatKernel kAvx2Q5_1 = q32_entry<GgmlType::Q5_1>("Q5_1 AVX2");
const MatKernel kAvx2Q8_0 = q32_entry<GgmlType::Q8_0>("Q8_0 AVX2");

}  // namespace hearth::cpu

#pragma GCC pop_options
