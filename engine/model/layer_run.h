// The shared blocks an architecture's layer is written with: norms, the attention block, the
// feed-forward block and the residual add, over one stage's activations for a batch of n tokens.
// The residual stream is `x`; blocks read their input from and write their output to `xb`.
#pragma once

#include <array>
#include <atomic>
#include <vector>

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
    // A mixture-of-experts layer's scratch (n_batch rows each; unset for a dense model): the
    // router's logits, the token ids grouped by expert and their weights, the tokens an expert
    // takes gathered, and its output.
    struct ExpertScratch {
        Tensor logits, ids, weights, in, out;
    } experts_scratch;
    // Experts that live on another backend than the layer (experts in system memory): that
    // backend's x and xb, gate/up and experts' scratch, n_batch rows each, and a host staging
    // vector; null when every layer's experts live with it.
    struct ExpertSide {
        Backend* be = nullptr;
        Tensor x, xb, gate, up;
        ExpertScratch scratch;
        std::vector<float>* staging = nullptr;
    };
    const ExpertSide* expert_side = nullptr;
    // The first error of an op whose failure the layer cannot ignore (the router logits' download).
    Status* error = nullptr;

    // xb = rms_norm(x) · w
    void norm(const Tensor& w) { be.rms_norm(x, w, h.rms_eps, xb); }
    // xb = rms_norm(xb) · w (Gemma's norms after the attention and FFN blocks)
    void post_norm(const Tensor& w) { be.rms_norm(xb, w, h.rms_eps, xb); }
    // x += xb
    void residual() { be.add(x, xb, x); }
    // Where a block's output goes: into xb, or added into the residual stream x (x += output), which
    // a backend with Op::MatmulAdd does in the output projection itself.
    enum class Out { Xb, Residual };
    // Wo · attention(q, k, v of xb) into `out`: projections (with biases), per-head q/k norms when
    // the layer has them, RoPE, the KV store and causal attention (sliding-window per the cache).
    void attention(const LayerWeights& L, Out out = Out::Xb);
    enum class Act { SiLU, GeluTanh };
    // down(act(gate · xb) * (up · xb)) into `out`; skipped after a Stop (the caller discards the batch)
    void ffn(const LayerWeights& L, Act act, Out out = Out::Xb);
    // The mixture-of-experts FFN added into x: x[t] += Σ w · down_e(silu(gate_e · xb[t]) * up_e · xb[t])
    // over token t's chosen experts e (ModelHParams). The choice is made on the host from the
    // router's logits (one download per layer), so a pass with experts is never recorded as a
    // graph; each expert then runs once over the tokens that chose it. Skipped after a Stop.
    // Experts in system memory: x and xb cross to the experts' backend, the experts add into x
    // there, and x crosses back (three transfers of n × n_embd floats per layer; the arithmetic is
    // the experts' backend's alone, as if the layer ran there).
    void expert_ffn(const LayerWeights& L);

private:
    // The router, the choice and the chosen experts on `eb`: x += Σ w · expert(xb).
    void run_experts(Backend& eb, const LayerWeights::Experts& X, const Tensor& x, const Tensor& xb, const Tensor& gate,
                     const Tensor& up, const ExpertScratch& S);
    // Whether projection i has adapter terms in this layer (for the whole batch or a group of it).
    bool has_adapters(int i) const {
        if (loras && !(*loras)[size_t(i)].empty()) return true;
        if (lora_groups)
            for (const LoraRowGroup& g : *lora_groups)
                if (!(*g.set)[size_t(layer)][size_t(i)].empty()) return true;
        return false;
    }
    // Projection i's adapters added to y (= its product over x).
    void add_adapters(int i, const Tensor& in, const Tensor& y) {
        if (loras && !(*loras)[size_t(i)].empty()) add_lora_terms(be, (*loras)[size_t(i)], lora_scratch, in, y);
        if (lora_groups)
            for (const LoraRowGroup& g : *lora_groups) {
                const LoraTerms& terms = (*g.set)[size_t(layer)][size_t(i)];
                if (!terms.empty()) add_lora_terms(be, terms, lora_scratch, in.row_range(g.row0, g.n), y.row_range(g.row0, g.n));
            }
    }
    // y = projection i of the layer applied to `in`, with its adapters.
    void proj(int i, const Projection& p, const Tensor& in, const Tensor& y) {
        if (observer) observer->observe(layer, i, be, in);
        project(be, p, in, y);
        add_adapters(i, in, y);
    }
    // Projections that read the same input (q/k/v, gate/up): the products in one matmul_parts (one
    // launch on a GPU), then each one's adapters.
    struct ProjTo {
        int slot;
        const Projection* p;
        Tensor y;
    };
    template <size_t N> void proj_parts(const Tensor& in, const std::array<ProjTo, N>& to) {
        std::array<MatmulPart, N> parts;
        for (size_t j = 0; j < N; ++j) {
            if (observer) observer->observe(layer, to[j].slot, be, in);
            parts[j] = {to[j].p->w, to[j].y, to[j].p->bias()};
        }
        be.matmul_parts(in, parts.data(), int(N));
        for (const ProjTo& t : to) add_adapters(t.slot, in, t.y);
    }
    // Projection i of `in` into xb, or added into x (Out::Residual).
    void out_proj(int i, const Projection& p, const Tensor& in, Out out) {
        if (out == Out::Residual && be.supports_op(Op::MatmulAdd, p.w.type)) {
            if (observer) observer->observe(layer, i, be, in);
            be.matmul_add(p.w, in, x, p.bias());
            add_adapters(i, in, x);
            return;
        }
        proj(i, p, in, xb);
        if (out == Out::Residual) residual();
    }
};

}  // namespace hearth
