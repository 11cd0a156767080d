// The reference backend: plain scalar C++ that every other backend is tested against. Weights are
// dequantized exactly (quant.h), products and sums accumulate in double, activations stay F32 and
// are never quantized to 8 bits. Slow by design: correctness first.
#pragma once

#include <memory>

#include "engine/backend/backend.h"

namespace hearth {

std::unique_ptr<Backend> create_reference_backend();

}  // namespace hearth
