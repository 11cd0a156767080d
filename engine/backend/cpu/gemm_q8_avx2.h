// The GEMM micro-kernel of every quantized weight type (AVX2), against Q8x8-packed activations
// (kernels.h). Include ONLY inside a region compiled for AVX2 (after simd_avx2.h).
//
// A weight row is first decoded into a panel row of unsigned bytes u (one or two planes) plus one
// float pair (a, c) per block of BS = 16 or 32 elements, so that value_i = a * u_i + c:
//   Q4_0 u = q, a = d, c = -8d      Q4_1 u = q, a = d, c = m      Q5_0/Q5_1 likewise, u < 32
//   Q8_0 two 4-bit planes of q+128 (the plane of high nibbles weighs 16), a = d, c = -128d
//   K types (from their super-block decode): a = d*sc[g], c = -dmin*mn[g]; BS 32 for Q4_K/Q5_K
//   (one scale per 32), 16 for Q2_K, Q3_K, Q6_K (one per 16).
// A block's dot product with a token is then a * dx * sum(u * qx) + c * s (s = dx * sum(qx), packed
// with the activations). The micro-kernel broadcasts 4 weight bytes of a row and multiplies them
// with vpmaddubsw against 2 x 8 tokens' 4 bytes (u unsigned, qx signed), accumulating int16 over G
// steps (G chosen so the int16 sums cannot saturate: G * 2 * umax * 127 < 32768), then vpmaddwd
// to int32 and one float FMA per block: per 32 elements x 8 tokens x 1 row about 10 vector
// operations, instead of ~45 for a dot-product-per-token kernel.
#pragma once

#include <immintrin.h>
#include <cstdint>
#include <cstring>

namespace hearth::cpu::avx2 {

constexpr int kGemmQ8MR = 3;      // rows per micro-kernel call (x 16 tokens: 2 vectors of 8)
constexpr int kGemmQ8Rows = 36;   // rows per gemm_rows call (the decoded panel)

template <int BS, int P>
inline size_t gemm_q8_panel_row(int64_t k) { return (size_t(P) * size_t(k) + 8 * size_t(k / BS) + 63) & ~size_t(63); }

template <int BS, int P>
size_t gemm_q8_scratch(int64_t k, int64_t) { return size_t(kGemmQ8Rows) * gemm_q8_panel_row<BS, P>(k); }

// out[r * NV + v][t] = dot(panel row r, token t of group v) for MR rows and NV groups of 8 tokens
// (groups gbytes apart). Each broadcast of 4 weight bytes feeds NV vpmaddubsw.
template <int BS, int G, int P, int MR, int NV>
inline void gemm_q8_micro(int64_t k, const uint8_t* panel, size_t pb, const uint8_t* xg, int64_t gbytes, __m256* out) {
    constexpr int J = BS / 4;  // 4-byte steps per block
    static_assert(J % G == 0, "int16 flushes must divide the block");
    const int64_t nblk = k / BS;
    __m256 facc[MR][NV];
    const uint8_t* u[MR];
    const float* av[MR];
    const float* cv[MR];
    for (int r = 0; r < MR; ++r) {
        for (int v = 0; v < NV; ++v) facc[r][v] = _mm256_setzero_ps();
        u[r] = panel + r * pb;
        av[r] = reinterpret_cast<const float*>(panel + r * pb + size_t(P) * size_t(k));
        cv[r] = av[r] + nblk;
    }
    for (int64_t blk = 0; blk < nblk; ++blk) {
        const int64_t b32 = BS == 32 ? blk : blk >> 1;
        const int j0 = BS == 32 ? 0 : int(blk & 1) * 4;
        const uint8_t* xb = xg + b32 * 384;
        __m256i isum[MR][NV];
        for (int r = 0; r < MR; ++r)
            for (int v = 0; v < NV; ++v) isum[r][v] = _mm256_setzero_si256();  // (assigned at the first flush)
        for (int p = 0; p < P; ++p) {
            const __m256i scale = _mm256_set1_epi16(P == 2 && p == 0 ? 16 : 1);
            __m256i a16[MR][NV];
            for (int r = 0; r < MR; ++r)
                for (int v = 0; v < NV; ++v) a16[r][v] = _mm256_setzero_si256();
            for (int jj = 0; jj < J; ++jj) {
                __m256i xv[NV];
                for (int v = 0; v < NV; ++v)
                    xv[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(xb + v * gbytes + 32 * (j0 + jj)));
                for (int r = 0; r < MR; ++r) {
                    uint32_t wb;
                    std::memcpy(&wb, u[r] + size_t(p) * size_t(k) + blk * BS + 4 * jj, 4);
                    const __m256i wv = _mm256_set1_epi32(int(wb));
                    for (int v = 0; v < NV; ++v) a16[r][v] = _mm256_add_epi16(a16[r][v], _mm256_maddubs_epi16(wv, xv[v]));
                }
                if ((jj + 1) % G == 0) {
                    for (int r = 0; r < MR; ++r)
                        for (int v = 0; v < NV; ++v) {
                            const __m256i s = _mm256_madd_epi16(a16[r][v], scale);
                            isum[r][v] = (p == 0 && jj + 1 == G) ? s : _mm256_add_epi32(isum[r][v], s);
                            a16[r][v] = _mm256_setzero_si256();
                        }
                }
            }
        }
        for (int v = 0; v < NV; ++v) {
            const uint8_t* xbv = xb + v * gbytes;
            const __m256 dx = _mm256_load_ps(reinterpret_cast<const float*>(xbv + 256));
            const __m256 sx = _mm256_load_ps(reinterpret_cast<const float*>(xbv + (BS == 32 ? 288 : 320 + 32 * (blk & 1))));
            for (int r = 0; r < MR; ++r) {
                facc[r][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][v]), _mm256_mul_ps(dx, _mm256_broadcast_ss(av[r] + blk)), facc[r][v]);
                facc[r][v] = _mm256_fmadd_ps(sx, _mm256_broadcast_ss(cv[r] + blk), facc[r][v]);
            }
        }
    }
    for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) out[r * NV + v] = facc[r][v];
}

// Row sources for gemm_q8_rows: DecodeRow(k, w, ws, r, panel_row) writes row r's u planes, a[]
// and c[]. Rows in the file layout go through a per-row decoder:
template <void (*Decode)(int64_t, const uint8_t*, uint8_t*)>
void decode_file_row(int64_t k, const uint8_t* w, size_t ws, int r, uint8_t* out) { Decode(k, w + r * ws, out); }

template <int BS, int G, int P, void (*DecodeRow)(int64_t, const uint8_t*, size_t, int, uint8_t*)>
void gemm_q8_rows_from(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xp, int64_t n, float* y, size_t ldy,
                       uint8_t* scratch) {
    constexpr int MR = kGemmQ8MR;
    const size_t pb = gemm_q8_panel_row<BS, P>(k);
    const int mrows = (nr + MR - 1) / MR * MR;
    for (int r = 0; r < mrows; ++r) {
        if (r < nr) DecodeRow(k, w, ws, r, scratch + r * pb);
        else std::memset(scratch + r * pb, 0, pb);  // a = c = 0: padding rows give 0
    }
    const int64_t groups = (n + 7) / 8, gbytes = (k / 32) * 384;
    for (int64_t g = 0; g < groups; g += 2) {
        const int nv = groups - g >= 2 ? 2 : 1;
        for (int m = 0; m < mrows; m += MR) {
            __m256 out[MR * 2];
            if (nv == 2) gemm_q8_micro<BS, G, P, MR, 2>(k, scratch + m * pb, pb, xp + g * gbytes, gbytes, out);
            else gemm_q8_micro<BS, G, P, MR, 1>(k, scratch + m * pb, pb, xp + g * gbytes, gbytes, out);
            const int rn = nr - m < MR ? nr - m : MR;
            for (int v = 0; v < nv; ++v) {
                alignas(32) float o[MR][8];
                for (int r = 0; r < MR; ++r) _mm256_store_ps(o[r], out[r * nv + v]);
                const int64_t t0 = 8 * (g + v);
                const int nt = int(n - t0 < 8 ? n - t0 : 8);
                for (int t = 0; t < nt; ++t)
                    for (int r = 0; r < rn; ++r) y[(t0 + t) * ldy + m + r] = o[r][t];
            }
        }
    }
}

// Decode(k, row, panel_row) writes one row's u planes, a[] and c[].
template <int BS, int G, int P, void (*Decode)(int64_t, const uint8_t*, uint8_t*)>
void gemm_q8_rows(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xp, int64_t n, float* y, size_t ldy,
                  uint8_t* scratch) {
    gemm_q8_rows_from<BS, G, P, decode_file_row<Decode>>(k, w, ws, nr, xp, n, y, ldy, scratch);
}

}  // namespace hearth::cpu::avx2
