// One sequence's inference state over a Model: the KV cache (n_ctx cells, paged as backend.h
// documents) and the activation buffers, allocated once and sized by the maximum batch. The
// forward pass runs the embedding lookup, each layer through its architecture's builder
// (engine/model/arch/), and the output norm and vocabulary matrix.
//
// A split model (Model::is_split) runs as two stages, each with its own KV cache (its layers only)
// and activations on its own backend; between them the hidden state of the batch goes through
// host memory (n × n_embd floats, once per batch).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/lora/lora_adapter.h"
#include "engine/model/model.h"
#include "engine/model/projection_observer.h"

namespace hearth {

class ModelContext {
public:
    // n_ctx is rounded up to whole KV blocks; kv_type F16 (default) or F32.
    static Result<std::unique_ptr<ModelContext>> create(const Model& model, int n_ctx, GgmlType kv_type, int n_batch = 256);

    // Evaluates `n` tokens at positions pos0 .. pos0+n-1 (cells are positions; split into batches
    // internally) and returns the logits of the last `n_out` of them, row-major [n_out][n_vocab].
    // Token ids are checked against the vocabulary, positions against n_ctx.
    //
    // Stop: with `cancel`, the evaluation ends early once *cancel is true (checked between layers,
    // and by host backends inside long ops: Backend::set_cancel), returning OK with *cancelled set.
    // The logits and the cells from pos0 on are then unspecified; cells before pos0 are untouched,
    // so a caller that trusts only what completed calls keep the cache consistent.
    Status eval(const int32_t* tokens, int n, int pos0, int n_out, std::vector<float>* logits,
                const std::atomic<bool>* cancel = nullptr, bool* cancelled = nullptr);

    // Samples one token from the logits of the last row eval() computed, on the backend
    // (Backend::sample_top_k), so only the id crosses the bus: call eval() with logits == nullptr first.
    Result<int32_t> sample_last(int k, float temperature, double u);

    // Context shift: cells [keep+discard, n_used) move down by `discard`, keys re-rotated by -discard.
    // Only where can_shift(): a cache whose layers rotate with different RoPE bases (Gemma 3) is
    // re-rotated by one op per cache, so its callers evaluate the kept tokens again instead.
    Status kv_shift(int keep, int discard, int n_used);
    bool can_shift() const;

    // LoRA adapters, applied unmerged in every projection they target: y += scale·(alpha/r)·B(A·x).
    // The adapter is checked against the model first (architecture, every target tensor and shape;
    // the first mismatch is named) and nothing is attached when it does not fit. The adapter must
    // outlive the context or be detached. Cached cells computed before were computed without it:
    // callers that keep a KV cache across calls recompute it (the session does).
    Status attach_lora(const LoraAdapter& adapter, float scale);
    void detach_loras();
    int n_loras() const { return n_loras_; }
    // Every later evaluation shows each layer projection's input to `o` (null: none); imatrix.
    void set_observer(ProjectionObserver* o) { observer_ = o; }

    int n_ctx() const { return n_ctx_; }
    int n_vocab() const { return model_->hparams().n_vocab; }
    const Model& model() const { return *model_; }
    uint64_t kv_bytes() const;

private:
    // The layers [first_layer, first_layer + n_layers) that run on one backend, with their state.
    struct Stage {
        Backend* be = nullptr;
        int first_layer = 0, n_layers = 0;
        std::vector<RopeParams> rope;  // per layer of the stage
        bool uniform_rope() const {
            for (const RopeParams& r : rope)
                if (r.freq_base != rope.front().freq_base || r.freq_scale != rope.front().freq_scale) return false;
            return true;
        }
        std::unique_ptr<KvCache> kv;
        BufferPtr act_buf;
        Tensor ids, pos, sampled, x, xb, q, k, v, attn, gate, up;
        BufferPtr lora_buf;      // scratch of the adapter terms (LoraScratch), when adapters are attached
        LoraScratch lora_scratch;
    };

    ModelContext() = default;
    Status add_stage(Backend& be, int first_layer, int n_layers, GgmlType kv_type);
    Status alloc_logits(int rows);
    // Tokens and positions already uploaded to every stage. Returns early (OK) once stop() is true.
    Status forward(int n, int pos0, int first_out);
    bool stop() const { return cancel_ && cancel_->load(std::memory_order_relaxed); }

    const Model* model_ = nullptr;
    int n_ctx_ = 0, n_batch_ = 0, logit_rows_ = 0, last_logit_row_ = -1;
    std::vector<Stage> stages_;    // in layer order; the last one computes the logits
    BufferPtr logit_buf_;
    Tensor logits_;
    std::vector<int32_t> pos_host_;
    std::vector<float> handoff_;   // hidden state between stages
    const std::atomic<bool>* cancel_ = nullptr;  // the running eval()'s Stop
    ProjectionObserver* observer_ = nullptr;
    std::vector<std::array<LoraTerms, kProjectionsPerLayer>> loras_;  // per layer; empty: none attached
    std::vector<BufferPtr> lora_weights_;                              // the attached A and B matrices
    int n_loras_ = 0;
    int lora_max_rank_ = 0, lora_max_out_ = 0;  // what the stages' scratch holds
};

}  // namespace hearth
