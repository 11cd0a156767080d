// The shared blocks an architecture's layer is written with: norms, the attention block, the
// feed-forward block and the residual add, over one stage's activations for a batch of n tokens.
// The residual stream is `x`; blocks read their input from and write their output to `xb`.
#pragma once

#include <array>
#include <atomic>

#include "engine/backend/backend.h"
#include "engine/model/hparams.h"
#include "engine/model/model.h"
#include "engine/model/projection_observer.h"

namespace hearth {

struct LayerRun {
    Backend& be;
    const ModelHParams& h;
    int layer;           // index in the model
    int kv_layer;        // index in this stage's KV cache
    KvCache& kv;
    Tensor pos;          // I32 1 × n
    int n_kv;            // cells attended: pos0 + n
    RopeParams rope;     // this layer's
    Tensor x, xb, q, k, v, attn, gate, up;  // n rows each
    const std::atomic<bool>* cancel = nullptr;  // the evaluation's Stop: the FFN half is skipped once set
    // Adapter terms of this layer's projections (in LayerWeights::projections() order), or null.
    const std::array<LoraTerms, kProjectionsPerLayer>* loras = nullptr;
    LoraScratch lora_scratch;
    // A batch whose sequences carry their own adapter sets (ModelContext::eval_batch): the base
    // projection over all rows, then each group's terms over its rows only (`loras` is then null).
    const std::vector<LoraRowGroup>* lora_groups = nullptr;
    ProjectionObserver* observer = nullptr;  // sees every projection's input (imatrix), or null
    // A batch of several sequences (ModelContext::eval_batch): the physical cell of each token
    // (I32 1 × n) and the block tables attention reads through. Null tables: one sequence on the
    // identity table, cells == pos.
    const KvTables* tables = nullptr;
    Tensor cells;

    // xb = rms_norm(x) · w
    void norm(const Tensor& w) { be.rms_norm(x, w, h.rms_eps, xb); }
    // xb = rms_norm(xb) · w (Gemma's norms after the attention and FFN blocks)
    void post_norm(const Tensor& w) { be.rms_norm(xb, w, h.rms_eps, xb); }
    // x += xb
    void residual() { be.add(x, xb, x); }
    // xb = Wo · attention(q, k, v of xb): projections (with biases), per-head q/k norms when the
    // layer has them, RoPE, the KV store and causal attention (sliding-window per the cache).
    void attention(const LayerWeights& L);
    enum class Act { SiLU, GeluTanh };
    // xb = down(act(gate · xb) * (up · xb)); skipped after a Stop (the caller discards the batch)
    void ffn(const LayerWeights& L, Act act);

private:
    // y = projection i of the layer applied to x, with its adapters.
    void proj(int i, const Projection& p, const Tensor& x, const Tensor& y) {
        if (observer) observer->observe(layer, i, be, x);
        project(be, p, loras ? &(*loras)[size_t(i)] : nullptr, lora_scratch, x, y);
        if (lora_groups)
            for (const LoraRowGroup& g : *lora_groups) {
                const LoraTerms& terms = (*g.set)[size_t(layer)][size_t(i)];
                if (!terms.empty()) add_lora_terms(be, terms, lora_scratch, x.row_range(g.row0, g.n), y.row_range(g.row0, g.n));
            }
    }
};

}  // namespace hearth
