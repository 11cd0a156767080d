// A hook that sees the input of every layer projection as it is applied: how importance statistics
// (llama.cpp's imatrix: per input column, the sum of squared activations) are collected. Null in
// ordinary use, so evaluation pays nothing for it.
#pragma once

#include "engine/backend/backend.h"

namespace hearth {

struct ProjectionObserver {
    virtual ~ProjectionObserver() = default;
    // `x` (F32, on `be`): rows = tokens of this batch, cols = the projection's inputs. `slot` is the
    // ProjectionSlot (a fused matrix is seen once per slot it fills, with the same x).
    virtual void observe(int layer, int slot, Backend& be, const Tensor& x) = 0;
};

}  // namespace hearth
