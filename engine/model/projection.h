// A projection y = W·x (+ b) (+ Σ s·B(A·x) for attached LoRA adapters): the one shape every matrix
// of a transformer layer takes. Builders go through project() instead of Backend::matmul, so what
// a projection carries besides its weight is applied in one place. The weights belong to the
// model; the adapters to a context (a conversation: ModelContext::attach_lora), so they come in
// beside the projection rather than inside it.
#pragma once

#include <array>
#include <vector>

#include "engine/backend/backend.h"

namespace hearth {

// A layer's projections in LayerWeights::projections() order; adapters are kept per slot.
enum ProjectionSlot : int { kSlotQ, kSlotK, kSlotV, kSlotO, kSlotGate, kSlotUp, kSlotDown, kProjectionsPerLayer };

struct Projection {
    Tensor w;  // rows = outputs, cols = inputs; any weight type (a row range of a fused matrix is fine)
    Tensor b;  // F32 [rows], or buf == nullptr: no bias

    bool has_bias() const { return b.buf != nullptr; }
    const Tensor* bias() const { return has_bias() ? &b : nullptr; }  // as Backend::matmul takes it
    bool present() const { return w.buf != nullptr; }
};

// One attached adapter's term on a projection: y += scale · B(A·x), A rows r × cols n_in, B rows
// n_out × cols r (F32 or F16), scale = the user's scale × alpha / r.
struct LoraTerm {
    Tensor a, b;
    float scale = 1.0f;
};
using LoraTerms = std::vector<LoraTerm>;

// F32 scratch for the adapter terms of one batch: room for n × max rank and n × max n_out floats.
struct LoraScratch {
    Buffer* buf = nullptr;
    size_t t_offset = 0, u_offset = 0;
};

// y = W·x (+ b) for the rows of x.
inline void project(Backend& be, const Projection& p, const Tensor& x, const Tensor& y) {
    be.matmul(p.w, x, y, p.bias());
}

// y += each adapter's term for the rows of x (computed through the scratch; y must not alias x).
// A batch whose sequences carry different adapter sets calls this once per group of rows.
inline void add_lora_terms(Backend& be, const LoraTerms& loras, const LoraScratch& s, const Tensor& x, const Tensor& y) {
    for (const LoraTerm& l : loras) {
        const Tensor t = make_tensor(s.buf, s.t_offset, GgmlType::F32, x.rows, l.a.rows);  // A·x
        const Tensor u = make_tensor(s.buf, s.u_offset, GgmlType::F32, x.rows, l.b.rows);  // B·(A·x)
        be.matmul(l.a, x, t);
        be.matmul(l.b, t, u);
        be.scale_add(y, u, l.scale);
    }
}

// The adapter terms of every layer's projections: one attached set (per layer, per slot).
using LayerLoras = std::array<LoraTerms, kProjectionsPerLayer>;

// Rows [row0, row0 + n) of a batch whose sequences run with the adapter set `set` (indexed by
// layer); a batch lists only the groups that have adapters.
struct LoraRowGroup {
    int row0 = 0, n = 0;
    const std::vector<LayerLoras>* set = nullptr;
};

}  // namespace hearth
