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
#include "engine/model/layer_run.h"
#include "engine/model/model.h"
#include "engine/model/projection_observer.h"

namespace hearth {

// One sequence's part of a batched step (ModelContext::eval_batch).
struct SeqStep {
    const int32_t* tokens = nullptr;             // n new tokens
    int n = 0;
    int pos0 = 0;                                // position of tokens[0]; cells 0..pos0-1 already hold the sequence's earlier tokens
    const std::vector<int32_t>* table = nullptr; // its block table (KvBlocks::table), covering cells 0..pos0+n-1
    int n_out = 0;                               // logits wanted for the last n_out of the n tokens
    int lora_set = 0;                            // its adapters: 0 = the context's (attach_lora), k = add_lora_set's k-th
};

// One adapter of a set (ModelContext::add_lora_set) and its user scale.
struct LoraUse {
    const LoraAdapter* adapter = nullptr;
    float scale = 1.0f;
};

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
    // `hidden`, when given: also the final hidden states of those rows, after the output norm (the
    // head's input: an embedding, as decoder embedding models pool it), row-major [n_out][n_embd].
    Status eval(const int32_t* tokens, int n, int pos0, int n_out, std::vector<float>* logits,
                const std::atomic<bool>* cancel = nullptr, bool* cancelled = nullptr, std::vector<float>* hidden = nullptr);

    // ---- several sequences in one cache (issue #16)
    // The context's KV cache (n_ctx cells = n_ctx / 32 blocks) is then a pool of blocks shared by
    // sequences, each with its own block table; KvBlocks (engine/model/kv_blocks.h) hands them out
    // and shares prefixes. eval() (identity table) and eval_batch() must not be mixed on one context
    // unless the caller's tables keep their cells apart.
    //
    // eval_batch runs the steps of several sequences as one forward pass (split internally into
    // passes of at most n_batch tokens, a sequence's tokens in order): embeddings, every projection
    // and the FFN over all rows together, each token's K/V stored into its own table's cell,
    // attention per token over its own sequence's cells, and the output head for the rows wanted.
    // The tables of one call must be different sequences' (their new cells distinct); shared
    // prefix blocks are only read. Logits: row-major [sum of n_out][n_vocab], steps in order, each
    // step's rows in token order. Sampling is the caller's, per sequence (engine/sampling).
    //
    // Batch invariance: on the host backends a token's logits are bit-identical whatever else is in
    // the batch, however the sequence's earlier tokens were split across calls (prefill in chunks,
    // a prefix shared from another sequence), and whichever physical blocks hold its cells, equal
    // to eval()'s for the same tokens — for weights whose CPU kernels share one accumulation order
    // between generation and prompt paths (Q4_0, Q4_1, Q8_0, the types that repack; see
    // tests/engine/test_kv_seq.cpp). Other weight types and LoRA adapters agree to float rounding.
    // Adapters: each step runs with its own set (SeqStep::lora_set): the base projection over all
    // rows, then the terms of each set over its sequences' rows (one A/B pass per run of
    // consecutive rows with the same set: callers put a set's steps together); rows of a set with
    // no adapters get none. With every step on set 0 it is the single-set path of eval().
    // Stop: as eval(); a stopped call leaves every step's new cells unspecified.
    // `hidden`: as eval()'s, [sum of n_out][n_embd].
    Status eval_batch(const std::vector<SeqStep>& steps, std::vector<float>* logits,
                      const std::atomic<bool>* cancel = nullptr, bool* cancelled = nullptr, std::vector<float>* hidden = nullptr);
    // Context shift of one sequence of the shared cache (kv_shift's semantics over its table): the
    // blocks from keep / 32 on must be its own (KvBlocks::owns_from), and afterwards the caller
    // truncates it to n_used - discard cells. Where can_shift() and the backends run
    // Op::PagedKvShift (every backend here).
    Status kv_shift_seq(const std::vector<int32_t>& table, int keep, int discard, int n_used);
    // Whether every backend of the model runs attention over block tables (Op::PagedAttention);
    // eval_batch fails with a message otherwise.
    bool can_batch() const;
    int n_blocks() const { return n_ctx_ / kKvBlockTokens; }
    int n_batch() const { return n_batch_; }

    // Samples one token from the logits of the last row eval() computed, on the backend
    // (Backend::sample_top_k), so only the id crosses the bus: call eval() with logits == nullptr first.
    // The id is written where the next eval() reads its token, so evaluating it uploads no token.
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
    // Adapter sets for eval_batch's sequences: checked as attach_lora checks (nothing registered on
    // an error); returns the set's id (1, 2, ...; an empty list is a set without adapters). The
    // adapters must outlive the set. clear_lora_sets forgets every set (the context's own stay).
    Result<int> add_lora_set(const std::vector<LoraUse>& adapters);
    void clear_lora_sets();
    int n_lora_sets() const { return int(lora_sets_.size()); }
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
        Tensor moe_logits, moe_ids, moe_weights, moe_in, moe_out;  // a mixture of experts' scratch (LayerRun::ExpertScratch)
        Tensor cells, seq;          // eval_batch: physical cell and table row of each token
        BufferPtr tables_buf;       // eval_batch: block tables, n_batch rows of n_blocks (allocated at first use)
        KvTables tables;
        BufferPtr lora_buf;      // scratch of the adapter terms (LoraScratch), when adapters are attached
        LoraScratch lora_scratch;
        // pos[0] as the device holds it after this stage's last generation step (INT32_MIN: not known).
        int32_t pos_on_device = INT32_MIN;
        // A generation step (one token, one sequence) on a backend that records passes advances
        // pos[0] by one on the device as its first op, so consecutive steps upload no position.
        bool advances_position(int n, bool paged) const { return n == 1 && !paged && be->max_step_tokens() > 0; }
    };

    ModelContext() = default;
    Status add_stage(Backend& be, int first_layer, int n_layers, GgmlType kv_type);
    Status alloc_logits(int rows);
    // Tokens and positions (and for a batch, cells and tables) already uploaded to every stage;
    // n_kv bounds every position + 1. The logits of rows first_out..n-1 land in logits_ (rows null),
    // or of the listed rows, in that order (a batch). Returns early (OK) once stop() is true.
    // groups: null = the context's adapters on every row; else exactly these groups' (a batch).
    Status forward(int n, int n_kv, int first_out, const std::vector<int>* rows, bool paged,
                   const std::vector<LoraRowGroup>* groups = nullptr);
    // One stage's part of forward(): its layers, and on the last stage the output head.
    void run_stage(Stage& s, bool first, bool last, int n, int n_kv, int first_out, const std::vector<int>* rows, bool paged,
                   const std::vector<LoraRowGroup>* groups);
    // The key of a stage's pass for Backend::begin_step: everything the pass's ops depend on besides
    // values in device memory (see forward()).
    uint64_t step_key(size_t stage, int n, int n_kv, int first_out, const std::vector<int>* rows, bool paged,
                      const std::vector<LoraRowGroup>* groups) const;
    // The terms of `adapter` at `scale` added to `loras` (per layer; sized on first use), its
    // imported matrices to `weights`; the scratch grown for it. Nothing is changed on an error
    // except `weights`, which the caller drops then.
    Status build_lora_terms(const LoraAdapter& adapter, float scale, std::vector<LayerLoras>* loras,
                            std::vector<BufferPtr>* weights);
    struct CancelScope;
    bool stop() const { return cancel_ && cancel_->load(std::memory_order_relaxed); }

    const Model* model_ = nullptr;
    // Recorded passes (Backend::begin_step) are keyed by this context's serial number (unique in the
    // process, so another context's buffers at the same addresses never match) and its layout
    // generation, bumped whenever a buffer its passes use is reallocated, adapters change, or the
    // cache is shifted.
    uint64_t serial_ = 0, layout_gen_ = 0;
    int n_ctx_ = 0, n_batch_ = 0, logit_rows_ = 0, last_logit_row_ = -1;
    std::vector<Stage> stages_;    // in layer order; the last one computes the logits
    BufferPtr logit_buf_;
    Tensor logits_;
    std::vector<int32_t> pos_host_;
    int32_t device_token_ = -1;    // the id sample_last wrote into the first stage's ids[0] (-1: none since)
    std::vector<float> handoff_;   // hidden state between stages, and to and from the experts' side
    // Experts in system memory (Model::n_expert_host_layers): their backend's scratch, n_batch rows.
    BufferPtr expert_side_buf_;
    LayerRun::ExpertSide expert_side_;
    Status add_expert_side(Backend& be);
    const std::atomic<bool>* cancel_ = nullptr;  // the running eval()'s Stop
    ProjectionObserver* observer_ = nullptr;
    Status layer_error_;  // an op of the running pass that failed (LayerRun::error)
    std::vector<std::array<LoraTerms, kProjectionsPerLayer>> loras_;  // per layer; empty: none attached
    std::vector<BufferPtr> lora_weights_;                              // the attached A and B matrices
    int n_loras_ = 0;
    int lora_max_rank_ = 0, lora_max_out_ = 0;  // what the stages' scratch holds (grows only)
    std::vector<std::vector<LayerLoras>> lora_sets_;  // add_lora_set's, id k at k-1 (empty: no adapters)
    std::vector<BufferPtr> lora_set_weights_;
    std::vector<LoraRowGroup> lora_groups_;           // eval_batch's current pass
};

}  // namespace hearth
