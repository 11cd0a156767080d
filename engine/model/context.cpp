#include "engine/model/context.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>

#include "engine/lora/lora_targets.h"
#include "engine/model/arch/arch.h"
#include "engine/model/layer_run.h"
#include "engine/model/manifest.h"

namespace hearth {

namespace {
// The first n elements of a one-row I32 tensor (token ids, positions).
Tensor first_cols(const Tensor& t, int n) {
    Tensor r = t;
    r.cols = n;
    r.row_stride = size_t(n) * 4;
    return r;
}

// One activation buffer on `be`, carved into the listed tensors (each 256-byte aligned).
struct Part { Tensor* t; GgmlType type; int64_t rows, cols; };
Result<BufferPtr> carve(Backend& be, const std::vector<Part>& parts) {
    size_t total = 0;
    for (const Part& p : parts) total += (row_bytes(p.type, p.cols) * size_t(p.rows) + 255) / 256 * 256;
    auto buf = be.alloc(total, BufferUsage::Activations);
    if (!buf.ok()) return make_error("activation buffers on " + be.device().backend + ": " + buf.message());
    size_t off = 0;
    for (const Part& p : parts) {
        *p.t = make_tensor(buf->get(), off, p.type, p.rows, p.cols);
        off += (p.t->bytes() + 255) / 256 * 256;
    }
    return *buf;
}
}  // namespace

Result<std::unique_ptr<ModelContext>> ModelContext::create(const Model& model, int n_ctx, GgmlType kv_type, int n_batch) {
    const ModelHParams& h = model.hparams();
    if (n_ctx <= 0) return make_error("context length must be positive");
    if (n_batch <= 0) return make_error("batch size must be positive");
    if (kv_type != GgmlType::F16 && kv_type != GgmlType::F32) return make_error("KV cache type must be f16 or f32");
    std::unique_ptr<ModelContext> c(new ModelContext());
    c->model_ = &model;
    static std::atomic<uint64_t> next_serial{1};
    c->serial_ = next_serial++;
    c->n_ctx_ = (n_ctx + kKvBlockTokens - 1) / kKvBlockTokens * kKvBlockTokens;
    c->n_batch_ = std::min(n_batch, c->n_ctx_);
    // One stage per run of consecutive layers on the same backend.
    const auto& layers = model.layers();
    for (int l = 0; l < h.n_layer;) {
        int e = l;
        while (e < h.n_layer && layers[size_t(e)].backend == layers[size_t(l)].backend) ++e;
        HEARTH_RETURN_IF_ERROR(c->add_stage(*layers[size_t(l)].backend, l, e - l, kv_type));
        l = e;
    }
    if (c->stages_.empty()) return make_error("the model has no layers");
    for (const LayerWeights& L : layers)
        if (L.experts.present() && L.experts.backend && L.experts.backend != L.backend) {
            HEARTH_RETURN_IF_ERROR(c->add_expert_side(*L.experts.backend));
            break;
        }
    HEARTH_RETURN_IF_ERROR(c->alloc_logits(1));
    return c;
}

Status ModelContext::add_stage(Backend& be, int first_layer, int n_layers, GgmlType kv_type) {
    const ModelHParams& h = model_->hparams();
    Stage s;
    s.be = &be;
    s.first_layer = first_layer;
    s.n_layers = n_layers;
    for (int l = first_layer; l < first_layer + n_layers; ++l) s.rope.push_back(model_->rope_params(be, l, n_ctx_));
    KvCacheDesc d;
    d.n_layer = n_layers;
    d.n_kv_head = h.n_kv_head;
    d.head_dim = h.head_dim;
    d.n_ctx = n_ctx_;
    d.type = kv_type;
    for (int l = first_layer; l < first_layer + n_layers; ++l) d.window.push_back(h.window_of(l));
    auto kv = be.create_kv_cache(d);
    if (!kv.ok()) return make_error("KV cache for layers " + std::to_string(first_layer) + ".." +
                                    std::to_string(first_layer + n_layers - 1) + " on " + be.device().backend + ": " + kv.message());
    s.kv = std::move(*kv);

    // One activation buffer, carved into per-role tensors of n_batch rows.
    const int64_t B = n_batch_;
    const int64_t X = h.has_experts() ? B : 0;          // rows of the experts' scratch
    const int64_t ff = h.ffn_scratch_width();            // gate/up serve the dense FFN or each expert
    const std::vector<Part> parts = {
        {&s.ids, GgmlType::I32, 1, B},     {&s.pos, GgmlType::I32, 1, B}, {&s.sampled, GgmlType::I32, 1, 1},
        {&s.cells, GgmlType::I32, 1, B},   {&s.seq, GgmlType::I32, 1, B},
        {&s.x, GgmlType::F32, B, h.n_embd}, {&s.xb, GgmlType::F32, B, h.n_embd},
        {&s.q, GgmlType::F32, B, h.q_dim()}, {&s.k, GgmlType::F32, B, h.kv_dim()},
        {&s.v, GgmlType::F32, B, h.kv_dim()}, {&s.attn, GgmlType::F32, B, h.q_dim()},
        {&s.gate, GgmlType::F32, B, ff}, {&s.up, GgmlType::F32, B, ff},
        {&s.moe_logits, GgmlType::F32, X, h.n_expert}, {&s.moe_ids, GgmlType::I32, 1, X * h.n_expert_used},
        {&s.moe_weights, GgmlType::F32, 1, X * h.n_expert_used},
        {&s.moe_in, GgmlType::F32, X, h.n_embd}, {&s.moe_out, GgmlType::F32, X, h.n_embd},
    };
    auto buf = carve(be, parts);
    if (!buf.ok()) return buf.status();
    s.act_buf = *buf;
    stages_.push_back(std::move(s));
    return {};
}

Status ModelContext::add_expert_side(Backend& be) {
    const ModelHParams& h = model_->hparams();
    const int64_t B = n_batch_;
    LayerRun::ExpertSide& E = expert_side_;
    LayerRun::ExpertScratch& S = E.scratch;
    auto buf = carve(be, {
        {&E.x, GgmlType::F32, B, h.n_embd}, {&E.xb, GgmlType::F32, B, h.n_embd},
        {&E.gate, GgmlType::F32, B, h.n_ff_exp}, {&E.up, GgmlType::F32, B, h.n_ff_exp},
        {&S.logits, GgmlType::F32, B, h.n_expert}, {&S.ids, GgmlType::I32, 1, B * h.n_expert_used},
        {&S.weights, GgmlType::F32, 1, B * h.n_expert_used},
        {&S.in, GgmlType::F32, B, h.n_embd}, {&S.out, GgmlType::F32, B, h.n_embd},
    });
    if (!buf.ok()) return make_error("the experts' scratch: " + buf.message());
    expert_side_buf_ = *buf;
    E.be = &be;
    E.staging = &handoff_;  // free within a stage: it carries the hidden state only between stages
    return {};
}

uint64_t ModelContext::kv_bytes() const {
    uint64_t total = 0;
    for (const Stage& s : stages_) {
        const KvCacheDesc& d = s.kv->desc();
        total += 2ull * d.n_layer * d.n_blocks() * kKvBlockTokens * d.n_kv_head * d.head_dim * (d.type == GgmlType::F16 ? 2 : 4);
    }
    return total;
}

Status ModelContext::alloc_logits(int rows) {
    if (rows <= logit_rows_) return {};
    auto buf = stages_.back().be->alloc(size_t(rows) * size_t(n_vocab()) * 4, BufferUsage::Activations);
    if (!buf.ok()) return buf.status();
    logit_buf_ = *buf;
    ++layout_gen_;
    logit_rows_ = rows;
    logits_ = make_tensor(logit_buf_.get(), 0, GgmlType::F32, rows, n_vocab());
    return {};
}

// The Stop reaches the backends' long ops for this call only (a later call without one must
// not see an old flag).
struct ModelContext::CancelScope {
    ModelContext& c;
    CancelScope(ModelContext& ctx, const std::atomic<bool>* f) : c(ctx) {
        c.cancel_ = f;
        for (Stage& s : c.stages_) s.be->set_cancel(f);
    }
    ~CancelScope() {
        c.cancel_ = nullptr;
        for (Stage& s : c.stages_) s.be->set_cancel(nullptr);
    }
};

Status ModelContext::eval(const int32_t* tokens, int n, int pos0, int n_out, std::vector<float>* logits,
                          const std::atomic<bool>* cancel, bool* cancelled, std::vector<float>* hidden) {
    if (cancelled) *cancelled = false;
    if (n <= 0) return make_error("nothing to evaluate");
    if (pos0 < 0 || int64_t(pos0) + n > n_ctx_)
        return make_error("positions " + std::to_string(pos0) + ".." + std::to_string(int64_t(pos0) + n - 1) +
                          " do not fit the context of " + std::to_string(n_ctx_) + " tokens");
    n_out = std::clamp(n_out, 0, n);
    for (int i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= n_vocab())
            return make_error("token id " + std::to_string(tokens[i]) + " is outside the vocabulary (0.." +
                              std::to_string(n_vocab() - 1) + ")");
    if (logits) logits->assign(size_t(n_out) * size_t(n_vocab()), 0.0f);
    const int n_embd = model_->hparams().n_embd;
    if (hidden) hidden->assign(size_t(n_out) * size_t(n_embd), 0.0f);
    last_logit_row_ = -1;
    CancelScope scope(*this, cancel);
    const int first_out_global = n - n_out;  // index (in tokens) of the first row wanted
    for (int start = 0; start < n; start += n_batch_) {
        const int nb = std::min(n_batch_, n - start);
        pos_host_.resize(size_t(nb));
        for (int i = 0; i < nb; ++i) pos_host_[size_t(i)] = pos0 + start + i;
        // A generated token that sample_last already wrote into the ids on the device needs no upload.
        if (nb != 1 || tokens[start] != device_token_)
            HEARTH_RETURN_IF_ERROR(stages_.front().be->upload(first_cols(stages_.front().ids, nb), tokens + start));
        device_token_ = -1;
        for (Stage& s : stages_) {
            if (s.advances_position(nb, false)) {  // the pass adds 1 to what the device holds
                const int32_t before = pos_host_[0] - 1;
                if (s.pos_on_device != before) HEARTH_RETURN_IF_ERROR(s.be->upload(first_cols(s.pos, 1), &before));
            } else {
                HEARTH_RETURN_IF_ERROR(s.be->upload(first_cols(s.pos, nb), pos_host_.data()));
            }
            s.pos_on_device = INT32_MIN;  // known again once the pass has run whole
        }
        const int first_out = std::max(first_out_global - start, 0);
        const int n_rows_out = first_out < nb ? nb - first_out : 0;
        if (n_rows_out > 0) HEARTH_RETURN_IF_ERROR(alloc_logits(n_rows_out));
        HEARTH_RETURN_IF_ERROR(forward(nb, pos0 + start + nb, n_rows_out > 0 ? first_out : nb, nullptr, false));
        // The flag only ever goes from false to true: if any op skipped work, this sees it.
        if (stop()) {
            if (cancelled) *cancelled = true;
            return {};
        }
        for (Stage& s : stages_)
            if (s.advances_position(nb, false)) s.pos_on_device = pos_host_[0];
        if (n_rows_out > 0) last_logit_row_ = n_rows_out - 1;
        if (n_rows_out > 0 && logits) {
            const size_t done = size_t(std::max(start - first_out_global, 0));
            HEARTH_RETURN_IF_ERROR(stages_.back().be->download(logits_.row_range(0, n_rows_out),
                                                               logits->data() + done * size_t(n_vocab())));
        }
        if (n_rows_out > 0 && hidden) {  // run_stage left the normed rows in xb, where they were
            const size_t done = size_t(std::max(start - first_out_global, 0));
            const Stage& s = stages_.back();
            HEARTH_RETURN_IF_ERROR(s.be->download(s.xb.row_range(first_out, n_rows_out), hidden->data() + done * size_t(n_embd)));
        }
    }
    return {};
}

// A stage whose backend records passes (Backend::begin_step: CUDA graphs) runs a pass of generation
// size as one replay when it has recorded the same pass before. Everything the pass's ops take from
// the host is in the key: the token count, the rows wanted, the batch's table count and adapter
// groups, and n_kv — as a bucket (a power of two, at least 256, at most the context), since the
// exact n_kv grows every token. Attention is causal through the positions (cells ≤ pos), so a bound
// above n_kv reads the same cells. Token ids, positions, cells and block tables are uploaded into
// the same device buffers before each pass, so a replay reads the new ones. Not with an observer,
// which reads the projections' inputs between ops.
Status ModelContext::forward(int n, int n_kv, int first_out, const std::vector<int>* rows, bool paged,
                             const std::vector<LoraRowGroup>* groups) {
    const ModelHParams& h = model_->hparams();
    layer_error_ = {};
    for (size_t si = 0; si < stages_.size(); ++si) {
        Stage& s = stages_[si];
        if (si > 0) {  // the hidden state comes from the previous stage's backend
            const Stage& prev = stages_[si - 1];
            handoff_.resize(size_t(n) * size_t(h.n_embd));
            HEARTH_RETURN_IF_ERROR(prev.be->download(prev.x.row_range(0, n), handoff_.data()));
            HEARTH_RETURN_IF_ERROR(s.be->upload(s.x.row_range(0, n), handoff_.data()));
        }
        const bool last = si + 1 == stages_.size();
        // Experts are chosen on the host between a layer's ops: such a pass cannot be replayed.
        if (observer_ || h.has_experts() || n > s.be->max_step_tokens()) {
            run_stage(s, si == 0, last, n, n_kv, first_out, rows, paged, groups);
        } else {
            const int bound = std::min(n_ctx_, std::max(256, int(std::bit_ceil(unsigned(n_kv)))));
            if (!s.be->begin_step(step_key(si, n, bound, first_out, rows, paged, groups))) {
                run_stage(s, si == 0, last, n, bound, first_out, rows, paged, groups);
                s.be->end_step(!stop() && layer_error_.ok());  // a pass a Stop or an error cut short is not recorded
            }
        }
        if (!layer_error_.ok()) return layer_error_;
        if (stop()) return {};  // eval() reports it
    }
    return {};
}

uint64_t ModelContext::step_key(size_t stage, int n, int n_kv, int first_out, const std::vector<int>* rows, bool paged,
                                const std::vector<LoraRowGroup>* groups) const {
    uint64_t k = 0xcbf29ce484222325ull;  // FNV-1a over 64-bit words
    auto mix = [&](uint64_t v) { k = (k ^ v) * 0x100000001b3ull; };
    mix(serial_);
    mix(layout_gen_);
    mix(stage);
    mix(uint64_t(n));
    mix(uint64_t(n_kv));
    mix(uint64_t(first_out));
    mix(paged ? uint64_t(stages_[stage].tables.table.rows) + 1 : 0);
    mix(rows ? rows->size() + 1 : 0);
    if (rows)
        for (int r : *rows) mix(uint64_t(r));
    mix(groups ? groups->size() + 1 : 0);
    if (groups)
        for (const LoraRowGroup& g : *groups) {
            mix(uint64_t(g.row0));
            mix(uint64_t(g.n));
            mix(uint64_t(reinterpret_cast<uintptr_t>(g.set)));
        }
    return k;
}

void ModelContext::run_stage(Stage& s, bool first, bool last, int n, int n_kv, int first_out, const std::vector<int>* rows,
                             bool paged, const std::vector<LoraRowGroup>* groups) {
    const ModelHParams& h = model_->hparams();
    const ArchDef& arch = model_->arch();
    Backend& be = *s.be;
    const Tensor x = s.x.row_range(0, n);
    if (s.advances_position(n, paged)) be.add_i32(first_cols(s.pos, 1), 1);  // eval() uploaded the position before, or none
    if (first) {
        be.get_rows(model_->tok_embd(), first_cols(s.ids, n), x);
        if (h.embd_scale > 0) be.scale(x, h.embd_scale);
    }
    for (int li = 0; li < s.n_layers; ++li) {
        if (stop() || !layer_error_.ok()) return;
        LayerRun r{be, h, s.first_layer + li, li, *s.kv, first_cols(s.pos, n), n_kv, s.rope[size_t(li)],
                   x, s.xb.row_range(0, n), s.q.row_range(0, n), s.k.row_range(0, n), s.v.row_range(0, n),
                   s.attn.row_range(0, n), s.gate.row_range(0, n), s.up.row_range(0, n), cancel_,
                   loras_.empty() || groups ? nullptr : &loras_[size_t(s.first_layer + li)], s.lora_scratch};
        r.observer = observer_;
        r.experts_scratch = {s.moe_logits, s.moe_ids, s.moe_weights, s.moe_in, s.moe_out};
        if (expert_side_.be) r.expert_side = &expert_side_;
        r.error = &layer_error_;
        if (groups && !groups->empty()) r.lora_groups = groups;
        if (paged) {
            r.tables = &s.tables;
            r.cells = first_cols(s.cells, n);
        }
        arch.forward_layer(r, model_->layers()[size_t(s.first_layer + li)]);
    }
    if (!last || stop()) return;
    if (rows) {  // a batch: the wanted rows gathered into xb first (norm and head are per row)
        if (rows->empty()) return;
        const int n_out = int(rows->size());
        for (int i = 0; i < n_out; ++i) be.copy(s.x.row_range((*rows)[size_t(i)], 1), s.xb.row_range(i, 1));
        const Tensor xbo = s.xb.row_range(0, n_out);
        be.rms_norm(xbo, model_->output_norm(), h.rms_eps, xbo);
        be.matmul(model_->output(), xbo, logits_.row_range(0, n_out));
        return;
    }
    if (first_out >= n) return;
    // Only the rows whose logits are wanted go through the output norm and the vocabulary matmul.
    const int n_out = n - first_out;
    Tensor xo = s.x.row_range(first_out, n_out), xbo = s.xb.row_range(first_out, n_out);
    be.rms_norm(xo, model_->output_norm(), h.rms_eps, xbo);
    be.matmul(model_->output(), xbo, logits_.row_range(0, n_out));
}

Status ModelContext::kv_shift_seq(const std::vector<int32_t>& table, int keep, int discard, int n_used) {
    if (keep < 0 || discard <= 0 || keep + discard > n_used || int64_t(n_used) > int64_t(table.size()) * kKvBlockTokens)
        return make_error("invalid context shift (keep " + std::to_string(keep) + ", discard " + std::to_string(discard) +
                          ", used " + std::to_string(n_used) + ", " + std::to_string(table.size()) + " blocks)");
    for (int32_t b : table)
        if (b < 0 || b >= n_blocks()) return make_error("context shift: block " + std::to_string(b) + " is outside the cache");
    if (!can_shift()) return make_error("context shift: this model's layers rotate with different RoPE bases");
    for (const Stage& s : stages_)
        if (!s.be->supports_op(Op::PagedKvShift))
            return make_error("context shift of one sequence: the " + s.be->device().backend + " backend cannot shift over a block table yet");
    for (Stage& s : stages_) {
        if (!s.tables_buf) {
            auto buf = s.be->alloc(size_t(n_batch_) * size_t(n_blocks()) * 4, BufferUsage::Activations);
            if (!buf.ok()) return make_error("block tables on " + s.be->device().backend + ": " + buf.message());
            s.tables_buf = *buf;
            ++layout_gen_;
        }
        const Tensor t = make_tensor(s.tables_buf.get(), 0, GgmlType::I32, 1, int64_t(table.size()));
        HEARTH_RETURN_IF_ERROR(s.be->upload(t, table.data()));
        s.be->kv_shift_paged(*s.kv, t, keep, discard, n_used, s.rope.front());
    }
    ++layout_gen_;
    return {};
}

bool ModelContext::can_batch() const {
    for (const Stage& s : stages_)
        if (!s.be->supports_op(Op::PagedAttention)) return false;
    return true;
}

Status ModelContext::eval_batch(const std::vector<SeqStep>& steps, std::vector<float>* logits,
                                const std::atomic<bool>* cancel, bool* cancelled, std::vector<float>* hidden) {
    if (cancelled) *cancelled = false;
    if (!can_batch()) {
        for (const Stage& s : stages_)
            if (!s.be->supports_op(Op::PagedAttention))
                return make_error("batched evaluation: the " + s.be->device().backend + " backend has no attention over block tables yet");
    }
    if (steps.empty()) return make_error("nothing to evaluate");
    const int nbk = n_blocks();
    size_t n_out_total = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
        const SeqStep& st = steps[i];
        const std::string who = "sequence " + std::to_string(i) + " of the batch: ";
        if (st.n <= 0 || !st.tokens) return make_error(who + "no tokens");
        if (!st.table) return make_error(who + "no block table");
        if (st.pos0 < 0 || int64_t(st.pos0) + st.n > n_ctx_)
            return make_error(who + "positions " + std::to_string(st.pos0) + ".." + std::to_string(int64_t(st.pos0) + st.n - 1) +
                              " do not fit the context of " + std::to_string(n_ctx_) + " tokens");
        if (int64_t(st.table->size()) * kKvBlockTokens < int64_t(st.pos0) + st.n)
            return make_error(who + "its block table holds " + std::to_string(st.table->size() * kKvBlockTokens) +
                              " cells, " + std::to_string(st.pos0 + st.n) + " needed");
        for (int32_t b : *st.table)
            if (b < 0 || b >= nbk) return make_error(who + "block " + std::to_string(b) + " is outside the cache (" + std::to_string(nbk) + " blocks)");
        for (int j = 0; j < st.n; ++j)
            if (st.tokens[j] < 0 || st.tokens[j] >= n_vocab())
                return make_error(who + "token id " + std::to_string(st.tokens[j]) + " is outside the vocabulary (0.." +
                                  std::to_string(n_vocab() - 1) + ")");
        if (st.n_out < 0 || st.n_out > st.n) return make_error(who + "n_out must be between 0 and its token count");
        if (st.lora_set < 0 || st.lora_set > int(lora_sets_.size()))
            return make_error(who + "adapter set " + std::to_string(st.lora_set) + " does not exist (" +
                              std::to_string(lora_sets_.size()) + " added)");
        n_out_total += size_t(st.n_out);
    }
    if (logits) logits->assign(n_out_total * size_t(n_vocab()), 0.0f);
    const int n_embd = model_->hparams().n_embd;
    if (hidden) hidden->assign(n_out_total * size_t(n_embd), 0.0f);
    last_logit_row_ = -1;
    CancelScope scope(*this, cancel);
    for (Stage& s : stages_)
        if (!s.tables_buf) {
            auto buf = s.be->alloc(size_t(n_batch_) * size_t(nbk) * 4, BufferUsage::Activations);
            if (!buf.ok()) return make_error("block tables on " + s.be->device().backend + ": " + buf.message());
            s.tables_buf = *buf;
            ++layout_gen_;
        }
    // Passes of at most n_batch tokens, walking the steps' tokens in order.
    std::vector<int32_t> ids, pos, cells, seq, table;
    std::vector<int> rows, row_set;
    // Every step on set 0: the context's adapters on every row, as eval() applies them.
    bool one_set = true;
    for (const SeqStep& st : steps) one_set &= st.lora_set == 0;
    auto set_terms = [&](int set) -> const std::vector<LayerLoras>* {
        const std::vector<LayerLoras>& l = set == 0 ? loras_ : lora_sets_[size_t(set - 1)];
        return l.empty() ? nullptr : &l;
    };
    size_t si = 0;
    int sj = 0;            // next token of steps[si]
    size_t out_done = 0;   // logit rows written
    while (si < steps.size()) {
        ids.clear(); pos.clear(); cells.clear(); seq.clear(); table.clear(); rows.clear(); row_set.clear();
        int n_kv = 0, n_tables = 0;
        while (si < steps.size() && int(ids.size()) < n_batch_) {
            const SeqStep& st = steps[si];
            const int take = std::min(st.n - sj, n_batch_ - int(ids.size()));
            const int32_t* tab = st.table->data();
            for (int j = sj; j < sj + take; ++j) {
                const int p = st.pos0 + j;
                if (j >= st.n - st.n_out) rows.push_back(int(ids.size()));
                ids.push_back(st.tokens[j]);
                pos.push_back(p);
                cells.push_back(tab[p / kKvBlockTokens] * kKvBlockTokens + p % kKvBlockTokens);
                seq.push_back(n_tables);
                row_set.push_back(st.lora_set);
                n_kv = std::max(n_kv, p + 1);
            }
            table.insert(table.end(), st.table->begin(), st.table->end());
            table.resize(size_t(n_tables + 1) * size_t(nbk), 0);
            ++n_tables;
            sj += take;
            if (sj == st.n) { ++si; sj = 0; }
        }
        const int nb = int(ids.size());
        device_token_ = -1;
        HEARTH_RETURN_IF_ERROR(stages_.front().be->upload(first_cols(stages_.front().ids, nb), ids.data()));
        for (Stage& s : stages_) {
            s.pos_on_device = INT32_MIN;
            HEARTH_RETURN_IF_ERROR(s.be->upload(first_cols(s.pos, nb), pos.data()));
            HEARTH_RETURN_IF_ERROR(s.be->upload(first_cols(s.cells, nb), cells.data()));
            HEARTH_RETURN_IF_ERROR(s.be->upload(first_cols(s.seq, nb), seq.data()));
            s.tables.table = make_tensor(s.tables_buf.get(), 0, GgmlType::I32, n_tables, nbk);
            s.tables.seq = first_cols(s.seq, nb);
            HEARTH_RETURN_IF_ERROR(s.be->upload(s.tables.table, table.data()));
        }
        if (!rows.empty()) HEARTH_RETURN_IF_ERROR(alloc_logits(int(rows.size())));
        // Runs of consecutive rows with the same set, those with adapters.
        lora_groups_.clear();
        for (int r0 = 0; !one_set && r0 < nb;) {
            int r1 = r0;
            while (r1 < nb && row_set[size_t(r1)] == row_set[size_t(r0)]) ++r1;
            if (const auto* terms = set_terms(row_set[size_t(r0)])) lora_groups_.push_back(LoraRowGroup{r0, r1 - r0, terms});
            r0 = r1;
        }
        HEARTH_RETURN_IF_ERROR(forward(nb, n_kv, nb, &rows, true, one_set ? nullptr : &lora_groups_));
        if (stop()) {
            if (cancelled) *cancelled = true;
            return {};
        }
        if (!rows.empty() && logits)
            HEARTH_RETURN_IF_ERROR(stages_.back().be->download(logits_.row_range(0, int64_t(rows.size())),
                                                               logits->data() + out_done * size_t(n_vocab())));
        if (!rows.empty() && hidden)  // run_stage gathered and normed the rows into xb's first rows
            HEARTH_RETURN_IF_ERROR(stages_.back().be->download(stages_.back().xb.row_range(0, int64_t(rows.size())),
                                                               hidden->data() + out_done * size_t(n_embd)));
        out_done += rows.size();
    }
    return {};
}

Result<int32_t> ModelContext::sample_last(int k, float temperature, double u) {
    if (last_logit_row_ < 0) return make_error("no logits to sample from: evaluate a token first");
    Stage& s = stages_.back();
    // The id goes straight into the slot the next step's embedding lookup reads, where the first
    // stage is on the same backend: a generation step then uploads only its position.
    const bool in_place = stages_.front().be == s.be;
    const Tensor out = in_place ? first_cols(stages_.front().ids, 1) : s.sampled;
    device_token_ = -1;
    HEARTH_RETURN_IF_ERROR(s.be->sample_top_k(logits_.row_range(last_logit_row_, 1), k, temperature, {u}, out));
    int32_t id = 0;
    HEARTH_RETURN_IF_ERROR(s.be->download(out, &id));
    if (id < 0 || id >= n_vocab()) return make_error("the backend sampled token id " + std::to_string(id) + ", outside the vocabulary");
    if (in_place) device_token_ = id;
    return id;
}

Status ModelContext::build_lora_terms(const LoraAdapter& adapter, float scale, std::vector<LayerLoras>* out,
                                      std::vector<BufferPtr>* weights) {
    const ModelHParams& h = model_->hparams();
    auto fail = [&](const std::string& why) { return make_error(adapter.path() + ": " + why); };
    // Architecture, names and shapes: the check merge_lora makes too (engine/lora/lora_targets.h).
    auto checked = match_lora_targets(adapter, h, model_manifest(model_->arch(), h));
    if (!checked.ok()) return checked.status();
    if (!std::isfinite(scale)) return fail("the scale is not a number");
    // Where each pair lands: its layer and the projection slots its matrix fills (several for a
    // fused matrix, whose rows the slots' projections split in order).
    struct Target { int layer; std::vector<const Projection*> parts; std::vector<int> slots; };
    std::map<std::string, Target> targets;
    for (const LoraTarget& t : *checked) {
        Target& tg = targets[t.pair->target];
        tg.layer = t.layer;
        tg.slots = projection_slots(t.role);
        tg.parts.clear();
        for (int slot : tg.slots) tg.parts.push_back(model_->layers()[size_t(t.layer)].projections()[size_t(slot)]);
        if (tg.parts.empty()) return fail("'" + t.pair->target + "' is not a projection of this model that adapters can target");
    }
    // Check everything before attaching anything. The scratch must hold the largest term of every
    // adapter attached or in a set, this one and those before.
    int max_rank = lora_max_rank_, max_out = lora_max_out_;
    for (const LoraPair& p : adapter.pairs()) {
        for (const Projection* w : targets[p.target].parts) max_out = std::max(max_out, int(w->w.rows));
        max_rank = std::max(max_rank, p.rank());
    }
    auto loras = *out;
    if (loras.empty()) loras.resize(size_t(h.n_layer));
    auto import = [&](Backend& be, const LoraMatrix& m, int64_t row0, int64_t rows, Tensor* dst) -> Status {
        const size_t rb = row_bytes(m.type, m.cols);
        auto buf = be.import_host(static_cast<const uint8_t*>(m.data) + size_t(row0) * rb, size_t(rows) * rb);
        if (!buf.ok()) return fail("loading '" + m.name + "': " + buf.message());
        weights->push_back(*buf);
        *dst = make_tensor(buf->get(), 0, m.type, rows, m.cols);
        return {};
    };
    for (const LoraPair& p : adapter.pairs()) {
        const Target& tg = targets[p.target];
        Backend& be = *model_->layers()[size_t(tg.layer)].backend;
        // A fused matrix gets one term per slot: the same A, and the rows of B that slot's
        // projection computes (each its own buffer, so no backend sees an offset into one).
        Tensor a;
        HEARTH_RETURN_IF_ERROR(import(be, p.a, 0, p.a.rows, &a));
        int64_t row0 = 0;
        for (size_t i = 0; i < tg.parts.size(); ++i) {
            LoraTerm term;
            term.a = a;
            const int64_t rows = tg.parts[i]->w.rows;
            HEARTH_RETURN_IF_ERROR(import(be, p.b, row0, rows, &term.b));
            row0 += rows;
            term.scale = scale * adapter.pair_scale(p);
            loras[size_t(tg.layer)][size_t(tg.slots[i])].push_back(term);
        }
    }
    // Scratch for one batch of terms on every stage (grown when a larger adapter comes).
    for (Stage& s : stages_) {
        const size_t t_bytes = (size_t(n_batch_) * size_t(max_rank) * 4 + 255) / 256 * 256;
        const size_t need = t_bytes + size_t(n_batch_) * size_t(std::max(max_out, 1)) * 4;
        if (s.lora_buf && s.lora_buf->size() >= need && s.lora_scratch.u_offset >= t_bytes) continue;
        auto buf = s.be->alloc(need, BufferUsage::Activations);
        if (!buf.ok()) return fail("adapter scratch on " + s.be->device().backend + ": " + buf.message());
        s.lora_buf = *buf;
        s.lora_scratch = LoraScratch{s.lora_buf.get(), 0, t_bytes};
        ++layout_gen_;
    }
    *out = std::move(loras);
    lora_max_rank_ = max_rank;
    lora_max_out_ = max_out;
    return {};
}

Status ModelContext::attach_lora(const LoraAdapter& adapter, float scale) {
    std::vector<BufferPtr> weights;
    HEARTH_RETURN_IF_ERROR(build_lora_terms(adapter, scale, &loras_, &weights));
    lora_weights_.insert(lora_weights_.end(), weights.begin(), weights.end());
    ++n_loras_;
    ++layout_gen_;
    return {};
}

void ModelContext::detach_loras() {
    loras_.clear();
    lora_weights_.clear();
    n_loras_ = 0;
    ++layout_gen_;
}

Result<int> ModelContext::add_lora_set(const std::vector<LoraUse>& adapters) {
    std::vector<LayerLoras> set;
    std::vector<BufferPtr> weights;
    for (const LoraUse& u : adapters) {
        if (!u.adapter) return make_error("adapter set: no adapter given");
        HEARTH_RETURN_IF_ERROR(build_lora_terms(*u.adapter, u.scale, &set, &weights));
    }
    lora_sets_.push_back(std::move(set));
    lora_set_weights_.insert(lora_set_weights_.end(), weights.begin(), weights.end());
    ++layout_gen_;
    return int(lora_sets_.size());
}

void ModelContext::clear_lora_sets() {
    lora_sets_.clear();
    lora_set_weights_.clear();
    ++layout_gen_;
}

bool ModelContext::can_shift() const {
    for (const Stage& s : stages_)
        if (!s.uniform_rope()) return false;
    return true;
}

Status ModelContext::kv_shift(int keep, int discard, int n_used) {
    if (keep < 0 || discard <= 0 || keep + discard > n_used || n_used > n_ctx_)
        return make_error("invalid context shift (keep " + std::to_string(keep) + ", discard " + std::to_string(discard) +
                          ", used " + std::to_string(n_used) + ")");
    if (!can_shift()) return make_error("context shift: this model's layers rotate with different RoPE bases");
    for (Stage& s : stages_) s.be->kv_shift(*s.kv, keep, discard, n_used, s.rope.front());
    ++layout_gen_;  // the recorded passes read the same pointers, but a shift is where a cache's story changes: record anew
    return {};
}

}  // namespace hearth
