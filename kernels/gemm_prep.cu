// Conversions around the tensor-core GEMM of prompt processing (cuBLAS on F16 tiles, called from
// engine/backend/cuda/cuda_backend.cpp): weights dequantized to F16 a slab of rows at a time,
// activations rounded to F16, and the bias added to the F32 result.
#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace hearth::kern {

namespace {

template <GgmlType T>
__global__ void k_dequant_units_f16(const uint8_t* __restrict__ w, size_t ws, int64_t rows, int units, __half* __restrict__ out) {
    HK_ROWS_COLS_LOOP(r, uc, rows, units) {
        const int u = int(uc);
        QUnit q;
        load_packed_unit<T>(w + size_t(r) * ws, units, u, q);
        alignas(16) __half2 h[16];
#pragma unroll
        for (int e = 0; e < 16; ++e) h[e] = __floats2half2_rn(unit_value(q, 2 * e), unit_value(q, 2 * e + 1));
        // 32 halves = 64 bytes at a 64-byte aligned offset (out is contiguous, cols % 32 == 0).
        uint4* o = reinterpret_cast<uint4*>(out + size_t(r) * units * 32 + size_t(u) * 32);
        const uint4* src = reinterpret_cast<const uint4*>(h);
#pragma unroll
        for (int k = 0; k < 4; ++k) o[k] = src[k];
    }
}

template <GgmlType T>
__global__ void k_float_to_f16(const uint8_t* __restrict__ w, size_t ws, int64_t rows, int64_t cols, __half* __restrict__ out) {
    HK_ROWS_COLS_LOOP(r, c, rows, cols) {
        const uint8_t* row = w + size_t(r) * ws;
        float v;
        if constexpr (T == GgmlType::F32) v = reinterpret_cast<const float*>(row)[c];
        else if constexpr (T == GgmlType::F16) v = __half2float(reinterpret_cast<const __half*>(row)[c]);
        else v = __uint_as_float(uint32_t(reinterpret_cast<const uint16_t*>(row)[c]) << 16);
        out[r * cols + c] = __float2half_rn(v);
    }
}

__global__ void k_add_bias(float* __restrict__ y, size_t ys, int64_t rows, int64_t cols, const float* __restrict__ bias) {
    HK_ROWS_COLS_LOOP(r, c, rows, cols) {
        at_row_mut<float>(y, ys, r)[c] += bias[c];
    }
}

template <GgmlType T>
cudaError_t launch_units(const void* w, size_t ws, int64_t rows, int64_t cols, void* out, cudaStream_t s) {
    const int units = int(cols / 32);
    HEARTH_LAUNCH(grid_rows_cols(rows, units, 64), 64, 0, s, k_dequant_units_f16<T>)(static_cast<const uint8_t*>(w), ws, rows, units,
                                                                        static_cast<__half*>(out));
    return cudaGetLastError();
}

template <GgmlType T>
cudaError_t launch_float(const void* w, size_t ws, int64_t rows, int64_t cols, void* out, cudaStream_t s) {
    HEARTH_LAUNCH(grid_rows_cols(rows, cols, 256), 256, 0, s, k_float_to_f16<T>)(static_cast<const uint8_t*>(w), ws, rows, cols,
                                                                  static_cast<__half*>(out));
    return cudaGetLastError();
}

}  // namespace

cudaError_t dequant_to_f16(GgmlType t, const void* w, size_t ws, int64_t rows, int64_t cols, void* out, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    switch (t) {
        case GgmlType::Q4_0: return launch_units<GgmlType::Q4_0>(w, ws, rows, cols, out, s);
        case GgmlType::Q4_1: return launch_units<GgmlType::Q4_1>(w, ws, rows, cols, out, s);
        case GgmlType::Q5_0: return launch_units<GgmlType::Q5_0>(w, ws, rows, cols, out, s);
        case GgmlType::Q5_1: return launch_units<GgmlType::Q5_1>(w, ws, rows, cols, out, s);
        case GgmlType::Q8_0: return launch_units<GgmlType::Q8_0>(w, ws, rows, cols, out, s);
        case GgmlType::Q4_K: return launch_units<GgmlType::Q4_K>(w, ws, rows, cols, out, s);
        case GgmlType::Q5_K: return launch_units<GgmlType::Q5_K>(w, ws, rows, cols, out, s);
        case GgmlType::Q6_K: return launch_units<GgmlType::Q6_K>(w, ws, rows, cols, out, s);
        case GgmlType::F32: return launch_float<GgmlType::F32>(w, ws, rows, cols, out, s);
        case GgmlType::F16: return launch_float<GgmlType::F16>(w, ws, rows, cols, out, s);
        case GgmlType::BF16: return launch_float<GgmlType::BF16>(w, ws, rows, cols, out, s);
        default: return cudaErrorInvalidValue;
    }
}

cudaError_t f32_to_f16_rows(const float* x, size_t xs, int64_t rows, int64_t cols, void* out, cudaStream_t s) {
    return launch_float<GgmlType::F32>(x, xs, rows, cols, out, s);
}

cudaError_t add_bias_rows(float* y, size_t ys, int64_t rows, int64_t cols, const float* bias, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_rows_cols(rows, cols, 256), 256, 0, s, k_add_bias)(y, ys, rows, cols, bias);
    return cudaGetLastError();
}

}  // namespace hearth::kern
