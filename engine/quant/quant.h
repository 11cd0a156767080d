// Reference (scalar, exact-by-definition) conversion between F32 and every block format of types.h.
// This is the ground truth the SIMD, Vulkan and CUDA paths are tested against.
#pragma once

#include <cstdint>

#include "engine/quant/types.h"
#include "engine/util/status.h"

namespace hearth {

// dst[0..n) = the values the format defines for `src`. n must be a multiple of the block size.
// Known types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

// Round-to-nearest quantization (llama.cpp's *_ref functions) of n values (multiple of the block
// size) into `dst` (row_bytes(type, n) bytes). Supported: F32, F16, BF16, Q8_0, Q8_1, Q4_0, Q4_1,
// Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q8_K; anything else is an error.
Status quantize_row(GgmlType type, const float* src, void* dst, int64_t n);
bool can_quantize(GgmlType type);

// Importance-weighted quantization of one row of n values (llama.cpp's quantize_row_*_impl with an
// imatrix): importance[k] >= 0 weighs the rounding error of value k (the mean squared activation that
// multiplies that column). Weighted: Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K. Other types, or a null
// `importance`, use quantize_row (llama.cpp also ignores the imatrix for Q8_0).
bool uses_importance(GgmlType type);
Status quantize_row_weighted(GgmlType type, const float* src, void* dst, int64_t n, const float* importance);

}  // namespace hearth
