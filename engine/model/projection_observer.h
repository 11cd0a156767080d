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
    // The input of one expert of a mixture (`x`: the rows of the tokens that chose it): of its
    // gate and up matrices (ExpertInput::GateUp, one input for both) or of its down matrix.
    enum class ExpertInput { GateUp, Down };
    virtual void observe_expert(int layer, ExpertInput which, int expert, Backend& be, const Tensor& x) {
        (void)layer, (void)which, (void)expert, (void)be, (void)x;
    }
};

}  // namespace hearth
