// Per-level kernel tables. The AVX2 entries live in the kernels_*_avx2.cpp files (compiled for
// AVX2 with target pragmas); this file only takes their addresses, so it runs on any CPU.
#include "engine/backend/cpu/kernels.h"

namespace hearth::cpu {

extern const MatKernel kAvx2F32, kAvx2F16, kAvx2BF16;
extern const MatKernel kAvx2Q4_0, kAvx2Q4_1, kAvx2Q5_0, kAvx2Q5_1, kAvx2Q8_0;
extern const MatKernel kAvx2Q2_K, kAvx2Q3_K, kAvx2Q4_K, kAvx2Q5_K, kAvx2Q6_K;

const MatKernel* avx2_kernel(GgmlType type) {
    switch (type) {
        case GgmlType::F32: return &kAvx2F32;
        case GgmlType::F16: return &kAvx2F16;
        case GgmlType::BF16: return &kAvx2BF16;
        case GgmlType::Q4_0: return &kAvx2Q4_0;
        case GgmlType::Q4_1: return &kAvx2Q4_1;
        case GgmlType::Q5_0: return &kAvx2Q5_0;
        case GgmlType::Q5_1: return &kAvx2Q5_1;
        case GgmlType::Q8_0: return &kAvx2Q8_0;
        case GgmlType::Q2_K: return &kAvx2Q2_K;
        case GgmlType::Q3_K: return &kAvx2Q3_K;
        case GgmlType::Q4_K: return &kAvx2Q4_K;
        case GgmlType::Q5_K: return &kAvx2Q5_K;
        case GgmlType::Q6_K: return &kAvx2Q6_K;
        default: return nullptr;
    }
}

extern const MatKernel kAvx512F32, kAvx512F16, kAvx512BF16;

// AVX-512 has the float GEMM so far (convolutions and attention of the diffusion models, float
// prompt batches); the quantized types fall back to their AVX2 kernels (mat_kernel).
const MatKernel* avx512_kernel(GgmlType type) {
    switch (type) {
        case GgmlType::F32: return &kAvx512F32;
        case GgmlType::F16: return &kAvx512F16;
        case GgmlType::BF16: return &kAvx512BF16;
        default: return nullptr;
    }
}

}  // namespace hearth::cpu
