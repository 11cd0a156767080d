// Weight types the host backends (reference, CPU) run in get_rows and matmul: exactly those
// dequantize_row (engine/quant/quant.h) converts, since both fall back to it for any type without a
// faster kernel. Their supports_op answers from here, so the claim follows the dequantizer.
#pragma once

#include "engine/quant/types.h"

namespace hearth {

inline bool host_weight_type(GgmlType t) {
    switch (t) {
        case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
        case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1:
        case GgmlType::Q8_0: case GgmlType::Q8_1:
        case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K: case GgmlType::Q5_K: case GgmlType::Q6_K:
        case GgmlType::Q8_K:
            return true;
        default:
            return false;  // integer and F64 tensors are never weights
    }
}

}  // namespace hearth
