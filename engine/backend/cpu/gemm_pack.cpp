// Activation packing for the GEMM path (layouts in kernels.h): tokens in vector lanes, once per
// matmul. Only AVX2 kernels have a GEMM path, so the packing code is compiled for AVX2 too; the
// size helpers above it run anywhere.
#include <immintrin.h>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/backend/cpu/kernels.h"

namespace hearth::cpu {

int gemm_group(GemmAct kind) { return kind == GemmAct::F32x16 ? 16 : 8; }

size_t gemm_act_bytes(GemmAct kind, int64_t k, int64_t n) {
    const int64_t g = gemm_group(kind), groups = (n + g - 1) / g;
    if (kind == GemmAct::F32x16) return size_t(groups) * size_t(k) * 16 * 4;
    if (kind == GemmAct::Q8x8) return size_t(groups) * size_t(k / 32) * size_t(kGemmQ8Block);
    return 0;
}

}  // namespace hearth::cpu

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

namespace hearth::cpu {

namespace {

// 16 tokens x k floats -> k steps of 16 (token j in lane j); missing tokens are zero.
void pack_f32x16(const uint8_t* x, size_t xs, int64_t k, int nt, float* out) {
    const float* row[16];
    for (int t = 0; t < 16; ++t) row[t] = t < nt ? reinterpret_cast<const float*>(x + size_t(t) * xs) : nullptr;
    int64_t i = 0;
    if (nt == 16) {
        // 8x8 transposes: two 8-token halves per 8 k steps
        for (; i + 8 <= k; i += 8)
            for (int h = 0; h < 2; ++h) {
                __m256 r[8];
                for (int t = 0; t < 8; ++t) r[t] = _mm256_loadu_ps(row[8 * h + t] + i);
                const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
                const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
                const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
                const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
                const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
                const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
                const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
                const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
                const __m256 o[8] = {_mm256_permute2f128_ps(s0, s4, 0x20), _mm256_permute2f128_ps(s1, s5, 0x20),
                                     _mm256_permute2f128_ps(s2, s6, 0x20), _mm256_permute2f128_ps(s3, s7, 0x20),
                                     _mm256_permute2f128_ps(s0, s4, 0x31), _mm256_permute2f128_ps(s1, s5, 0x31),
                                     _mm256_permute2f128_ps(s2, s6, 0x31), _mm256_permute2f128_ps(s3, s7, 0x31)};
                for (int j = 0; j < 8; ++j) _mm256_storeu_ps(out + (i + j) * 16 + 8 * h, o[j]);
            }
    }
    for (; i < k; ++i)
        for (int t = 0; t < 16; ++t) out[i * 16 + t] = row[t] ? row[t][i] : 0.0f;
}

// 8 tokens -> Q8x8 blocks (quantized exactly as quantize_act_q8_32_avx2 does).
void pack_q8x8(const uint8_t* x, size_t xs, int64_t k, int nt, uint8_t* out) {
    thread_local std::vector<uint8_t> tmp;
    const size_t rb = act_row_bytes(ActKind::Q8_32, k);
    if (tmp.size() < 8 * rb) tmp.resize(8 * rb);
    const int64_t nb = k / 32;
    for (int t = 0; t < 8; ++t) {
        uint8_t* q = tmp.data() + t * rb;
        if (t < nt) quantize_act_q8_32_avx2(reinterpret_cast<const float*>(x + size_t(t) * xs), q, k);
        else std::memset(q, 0, rb);
    }
    for (int64_t b = 0; b < nb; ++b) {
        uint8_t* o = out + b * kGemmQ8Block;
        float* dx = reinterpret_cast<float*>(o + 256);
        float* s32 = dx + 8;
        float* s16 = dx + 16;
        for (int t = 0; t < 8; ++t) {
            const uint8_t* q = tmp.data() + t * rb;
            const int8_t* qs = act_qs(q) + 32 * b;
            for (int j = 0; j < 8; ++j) std::memcpy(o + 32 * j + 4 * t, qs + 4 * j, 4);
            int lo = 0, hi = 0;
            for (int i = 0; i < 16; ++i) { lo += qs[i]; hi += qs[16 + i]; }
            const float d = act_d(q, k)[b];
            dx[t] = d;
            s32[t] = act_s(q, k)[b];
            s16[t] = d * float(lo);
            s16[8 + t] = d * float(hi);
        }
    }
}

}  // namespace

void gemm_pack(GemmAct kind, const uint8_t* x, size_t xs, int64_t k, int64_t n, int64_t g0, int64_t g1, uint8_t* dst) {
    const int g = gemm_group(kind);
    for (int64_t gi = g0; gi < g1; ++gi) {
        const int nt = int(n - gi * g < g ? n - gi * g : g);
        const uint8_t* xg = x + size_t(gi * g) * xs;
        if (kind == GemmAct::F32x16) pack_f32x16(xg, xs, k, nt, reinterpret_cast<float*>(dst) + size_t(gi) * size_t(k) * 16);
        else if (kind == GemmAct::Q8x8) pack_q8x8(xg, xs, k, nt, dst + size_t(gi) * size_t(k / 32) * kGemmQ8Block);
    }
}

}  // namespace hearth::cpu

#pragma GCC pop_options
