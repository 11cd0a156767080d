// Per-level kernel tables. The AVX2 entries live in the kernels_*_avx2.cpp files (compiled for
// AVX2 with target pragmas); this file only takes their addresses, so it runs on any CPU.
#include "engine/backend/cpu/cpu_features.h"
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
extern const MatKernel kAvx512Q4_0, kAvx512Q4_1, kAvx512Q8_0;

// AVX-512 has the float GEMM (convolutions and attention of the diffusion models, float prompt
// batches) and, where the CPU also has VNNI, the two-group decode of several sequences for
// Q4_0/Q4_1/Q8_0 (repack_x16_avx512.cpp); every other type falls back to AVX2 (mat_kernel).
const MatKernel* avx512_kernel(GgmlType type) {
    const bool vnni = cpu_features().avx512vnni;
    switch (type) {
        case GgmlType::F32: return &kAvx512F32;
        case GgmlType::F16: return &kAvx512F16;
        case GgmlType::BF16: return &kAvx512BF16;
        case GgmlType::Q4_0: return vnni ? &kAvx512Q4_0 : nullptr;
        case GgmlType::Q4_1: return vnni ? &kAvx512Q4_1 : nullptr;
        case GgmlType::Q8_0: return vnni ? &kAvx512Q8_0 : nullptr;
        default: return nullptr;
    }
}

}  // namespace hearth::cpu
