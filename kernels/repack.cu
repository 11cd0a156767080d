// Quantized weight rows between the GGUF block layout and the packed layout the generation kernels
// read (packed_unit.h): one thread per piece (2–16 bytes), a permutation of each row's bytes.
#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace hearth::kern {

namespace {

template <GgmlType T>
__global__ void k_repack_rows(const uint8_t* __restrict__ src, uint8_t* __restrict__ dst, size_t stride, int64_t rows,
                              int units, bool to_packed) {
    const int n = row_pieces<T>(units);
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < rows * n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t r = i / n;
        copy_piece<T>(src + size_t(r) * stride, dst + size_t(r) * stride, units, int(i % n), to_packed);
    }
}

template <GgmlType T>
cudaError_t launch(const void* src, void* dst, size_t stride, int64_t rows, int units, bool to_packed, cudaStream_t s) {
    const int64_t n = rows * row_pieces<T>(units);
    if (n == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_for(n, 256), 256, 0, s, k_repack_rows<T>)(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst),
                                                                   stride, rows, units, to_packed);
    return cudaGetLastError();
}

}  // namespace

cudaError_t repack_rows(GgmlType t, const void* src, void* dst, size_t stride, int64_t rows, int64_t cols, bool to_packed,
                        cudaStream_t s) {
    const int units = int(cols / 32);
    switch (t) {
        case GgmlType::Q4_0: return launch<GgmlType::Q4_0>(src, dst, stride, rows, units, to_packed, s);
        case GgmlType::Q4_1: return launch<GgmlType::Q4_1>(src, dst, stride, rows, units, to_packed, s);
        case GgmlType::Q5_0: return launch<GgmlType::Q5_0>(src, dst, stride, rows, units, to_packed, s);
        case GgmlType::Q5_1: return launch<GgmlType::Q5_1>(src, dst, stride, rows, units, to_packed, s);
        case GgmlType::Q8_0: return launch<GgmlType::Q8_0>(src, dst, stride, rows, units, to_packed, s);
        case GgmlType::Q4_K: return launch<GgmlType::Q4_K>(src, dst, stride, rows, units, to_packed, s);
        case GgmlType::Q5_K: return launch<GgmlType::Q5_K>(src, dst, stride, rows, units, to_packed, s);
        case GgmlType::Q6_K: return launch<GgmlType::Q6_K>(src, dst, stride, rows, units, to_packed, s);
        default: return cudaErrorInvalidValue;
    }
}

}  // namespace hearth::kern
