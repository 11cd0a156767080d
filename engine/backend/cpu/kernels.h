// The CPU matrix kernels and the table that picks them by weight type and instruction set.
//
// A matmul y = W x runs in two steps (as in ggml): the activations x (F32) are first converted once
// per call into the form the weight type's kernel consumes (ActKind), then tiles of R weight rows ×
// T tokens are computed. For quantized weights the activations become 8-bit blocks, so the inner
// products are integer multiply-adds (vpmaddubsw/vpmaddwd), with the scales applied per block.
//
// Activation row layouts (one per token, row stride act_row_bytes(), a multiple of 64 bytes):
//   Q8_32 (for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): int8 qs[K]; float d[K/32]; float s[K/32]
//          x ≈ d[b] * qs[32b + i]; s[b] = d[b] * sum_i qs[32b + i]  (ggml's q8_0 / q8_1 in one)
//   Q8_K   (for Q2_K … Q6_K):                 int8 qs[K]; float d[K/256]; int16 bsums[K/16]
//          x ≈ d[b] * qs[256b + i]; bsums[g] = sum of qs over the 16 elements of group g  (ggml's q8_K)
//   F32    (float weights, and every type on the scalar path): float x[K]
// The 8-bit quantization is symmetric round-to-nearest with d = max|x| / 127; Q8_32's d is rounded
// to F16 precision (ggml's q8_0 stores it as F16), so results track llama.cpp's closely.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/backend/cpu/cpu_features.h"
#include "engine/quant/types.h"

namespace hearth::cpu {

enum class ActKind { F32, Q8_32, Q8_K };

size_t act_row_bytes(ActKind kind, int64_t k);

// Converts one F32 row of k elements into `dst` (act_row_bytes(kind, k) bytes).
using ActQuantFn = void (*)(const float* x, uint8_t* dst, int64_t k);

// y[t * ldy + r] = dot(W row r, x token t) for r < nr, t < nt (nr <= max_rows, nt <= max_toks).
// w: row 0 of the tile, rows ws bytes apart. xa: token 0's activation row, rows xs bytes apart.
using TileFn = void (*)(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xa, size_t xs, int nt,
                        float* y, size_t ldy);

// Prompt batches (GEMM). The activations are packed once per matmul with tokens in vector lanes
// (GemmAct), so a micro-kernel broadcasts one weight (or 4 weight bytes) against 8 or 16 tokens at
// once and keeps MR rows x 8/16 tokens of results in registers; the weights of a call's rows are
// decoded once into a panel in per-thread scratch and reused for every token.
//   F32x16: per group of 16 tokens, k steps of 16 floats (token j in lane j).
//   Q8x8:   per group of 8 tokens, per 32-element block (kGemmQ8Block bytes): 8 steps of 32 bytes
//           (step j: tokens 0..7 x elements 4j..4j+3), then float dx[8] (F16-rounded, as Q8_32),
//           s32[8] = dx*sum(q over the block), s16[2][8] = dx*sum(q over each half).
// Padding tokens are zero. The quantization is Q8_32's (kernels.h above), bit for bit.
enum class GemmAct { None, F32x16, Q8x8 };
constexpr int64_t kGemmQ8Block = 384;
int gemm_group(GemmAct kind);                                       // 16 or 8 tokens
size_t gemm_act_bytes(GemmAct kind, int64_t k, int64_t n);          // the whole packed buffer
// Packs token groups [g0, g1) of n F32 rows (x, stride xs bytes) into dst (the whole buffer).
void gemm_pack(GemmAct kind, const uint8_t* x, size_t xs, int64_t k, int64_t n, int64_t g0, int64_t g1, uint8_t* dst);

// y[t * ldy + r] for r < nr (nr <= gemm_rows_max), t < n: rows read from W (stride ws), decoded
// into `scratch` (gemm_scratch(k, n) bytes, 64-byte aligned), times the packed activations xp.
using GemmRowsFn = void (*)(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xp, int64_t n, float* y,
                            size_t ldy, uint8_t* scratch);

struct MatKernel {
    ActKind act = ActKind::F32;
    ActQuantFn quant = nullptr;   // null for ActKind::F32 (the activations are used as they are)
    TileFn tile = nullptr;        // generation (few tokens): reads W directly
    int max_rows = 1, max_toks = 1;
    // Optional GEMM path for prompt batches (more than max_toks tokens); None = tiles only.
    GemmAct gemm_act = GemmAct::None;
    GemmRowsFn gemm_rows = nullptr;
    size_t (*gemm_scratch)(int64_t k, int64_t n) = nullptr;
    int gemm_rows_max = 0;
    // Optional repacked layout for generation (8 rows interleaved per block, same byte count; built
    // once per weight matrix by the backend): repack_x8 packs 8 rows, gemv_x8 multiplies 8 packed
    // rows by one activation row, gemm_rows_x8 is gemm_rows reading the packed layout (w = row 0
    // of a group of 8, ws = the file's row stride, so group g starts at w + 8 g ws).
    void (*repack_x8)(int64_t k, const uint8_t* w, size_t ws, uint8_t* out) = nullptr;
    // bytes of one packed group of 8 rows (a multiple of 8); null: 8 file rows' worth. The x8
    // functions take xws = that / 8 in place of ws (group g at 8 g xws).
    size_t (*repack_bytes)(int64_t k) = nullptr;
    void (*gemv_x8)(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y) = nullptr;
    GemmRowsFn gemm_rows_x8 = nullptr;
    // Optional: gemv_x8 for nt tokens (activation rows xs bytes apart; token t's 8 results at
    // y + t ldy), each token's result bit-identical to gemv_x8's; null: gemv_x8 token by token.
    void (*gemv_x8_n)(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy) = nullptr;
    // Optional: gemv_x8_n over two adjacent groups (group 1 at grp + gstride; token t's 16 results
    // at y + t ldy), bit-identical to gemv_x8_n on each (repack_x16_avx512.cpp).
    void (*gemv_x16_n)(int64_t k, const uint8_t* grp, size_t gstride, const uint8_t* xa, size_t xs, int nt, float* y,
                       size_t ldy) = nullptr;
    const char* name = "";                       // "Q4_0 AVX2", for logs and tests
};

// The kernel for weights of `type` at instruction-set level `isa`; null when `type` is not a
// weight type the CPU backend multiplies (I8/I16/…).
const MatKernel* mat_kernel(GgmlType type, IsaLevel isa);

// ---- per-level tables (each returns null for types it does not cover; mat_kernel falls back)
const MatKernel* scalar_kernel(GgmlType type);
const MatKernel* avx2_kernel(GgmlType type);
const MatKernel* avx512_kernel(GgmlType type);

// Scalar activation quantizers: the ground truth the SIMD ones are tested against.
void quantize_act_q8_32_scalar(const float* x, uint8_t* dst, int64_t k);
void quantize_act_q8_K_scalar(const float* x, uint8_t* dst, int64_t k);
// AVX2 versions (call only when the CPU has AVX2+FMA+F16C).
void quantize_act_q8_32_avx2(const float* x, uint8_t* dst, int64_t k);
void quantize_act_q8_K_avx2(const float* x, uint8_t* dst, int64_t k);

// Generation on repacked weights (repack_x8_avx2.cpp): 8 rows of Q4_0 / Q4_1 / Q8_0 interleaved per
// block (same byte count); repack_*_x8 packs rows [0, 8) of W into 8 * row bytes at out, and
// gemv_*_x8 (AVX2) writes those 8 rows' dot products with one Q8_32 activation row to y[0..8).
void repack_q4_0_x8(int64_t k, const uint8_t* w, size_t ws, uint8_t* out);
void gemv_q4_0_x8(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y);
void repack_q4_1_x8(int64_t k, const uint8_t* w, size_t ws, uint8_t* out);
void gemv_q4_1_x8(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y);
void gemv_q4_0_x8_n(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy);
void gemv_q4_1_x8_n(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy);
void repack_q8_0_x8(int64_t k, const uint8_t* w, size_t ws, uint8_t* out);
void gemv_q8_0_x8_n(int64_t k, const uint8_t* grp, const uint8_t* xa, size_t xs, int nt, float* y, size_t ldy);
void gemv_q8_0_x8(int64_t k, const uint8_t* grp, const uint8_t* xa, float* y);

// Helpers to address the parts of an activation row.
// The float GEMMs' last step (AVX2 and AVX-512 alike): partial sums kept in the token-lane layout
// acc[group][row][16] (rows_per_group rows per group) written to y[token * ldy + row].
inline void store_token_lane_sums(const float* acc, int rows_per_group, int nr, int64_t n, float* y, size_t ldy) {
    for (int64_t g = 0; g * 16 < n; ++g) {
        const int nt = int(n - 16 * g < 16 ? n - 16 * g : 16);
        for (int r = 0; r < nr; ++r) {
            const float* c = acc + (g * rows_per_group + r) * 16;
            for (int t = 0; t < nt; ++t) y[(16 * g + t) * ldy + r] = c[t];
        }
    }
}

inline const int8_t* act_qs(const uint8_t* row) { return reinterpret_cast<const int8_t*>(row); }
inline const float* act_d(const uint8_t* row, int64_t k) { return reinterpret_cast<const float*>(row + k); }
inline const float* act_s(const uint8_t* row, int64_t k) { return reinterpret_cast<const float*>(row + k) + k / 32; }
inline const int16_t* act_bsums(const uint8_t* row, int64_t k) {
    return reinterpret_cast<const int16_t*>(row + k + 4 * (k / 256));
}

}  // namespace hearth::cpu
