// A projection y = W·x (+ b): the one shape every matrix of a transformer layer takes. Builders
// call project() instead of Backend::matmul, so what a projection carries besides its weight is
// applied in one place: its bias today; attached LoRA adapters (issue #14) hang here next, as a
// list beside `w` that project() adds as y += s·B(A·x).
#pragma once

#include "engine/backend/backend.h"

namespace hearth {

struct Projection {
    Tensor w;  // rows = outputs, cols = inputs; any weight type (a row range of a fused matrix is fine)
    Tensor b;  // F32 [rows], or buf == nullptr: no bias

    bool has_bias() const { return b.buf != nullptr; }
    bool present() const { return w.buf != nullptr; }
};

// y = W·x (+ b) for the rows of x.
inline void project(Backend& be, const Projection& p, const Tensor& x, const Tensor& y) {
    be.matmul(p.w, x, y, p.has_bias() ? &p.b : nullptr);
}

}  // namespace hearth
