#include "engine/model/layer_run.h"

#include "engine/model/expert_routing.h"

namespace hearth {

namespace {
// A contiguous n × (heads·head_dim) activation seen as (n·heads) rows of head_dim: per-head norms.
Tensor per_head(const Tensor& t, int head_dim) {
    Tensor r = t;
    r.rows = t.rows * (t.cols / head_dim);
    r.cols = head_dim;
    r.row_stride = size_t(head_dim) * 4;
    return r;
}
}  // namespace

void LayerRun::attention(const LayerWeights& L, Out out) {
    proj_parts<3>(xb, {{{kSlotQ, &L.wq, q}, {kSlotK, &L.wk, k}, {kSlotV, &L.wv, v}}});
    if (L.q_norm.buf) {
        const Tensor qh = per_head(q, h.head_dim), kh = per_head(k, h.head_dim);
        be.rms_norm(qh, L.q_norm, h.rms_eps, qh);
        be.rms_norm(kh, L.k_norm, h.rms_eps, kh);
    }
    be.rope_kv_store(q, k, v, pos, tables ? cells : pos, rope, kv, kv_layer);
    if (tables) be.attention_paged(q, kv, kv_layer, pos, *tables, n_kv, h.attention_scale(), attn);
    else be.attention(q, kv, kv_layer, pos, n_kv, h.attention_scale(), attn);
    out_proj(kSlotO, L.wo, attn, out);
}

void LayerRun::ffn(const LayerWeights& L, Act act, Out out) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return;  // the larger half of a layer
    if (has_adapters(kSlotGate) || has_adapters(kSlotUp)) {
        // The adapters' terms belong inside the activation: products, terms, then the activation.
        proj_parts<2>(xb, {{{kSlotGate, &L.gate, gate}, {kSlotUp, &L.up, up}}});
        if (act == Act::SiLU) be.silu_mul(gate, up, gate);
        else be.gelu_mul(gate, up, gate);
    } else {
        if (observer) {
            observer->observe(layer, kSlotGate, be, xb);
            observer->observe(layer, kSlotUp, be, xb);
        }
        be.matmul_glu(xb, {L.gate.w, gate, L.gate.bias()}, {L.up.w, up, L.up.bias()}, act == Act::GeluTanh, gate);
    }
    out_proj(kSlotDown, L.down, gate, out);
}

void LayerRun::expert_ffn(const LayerWeights& L) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return;
    Backend* eb = L.experts.backend ? L.experts.backend : &be;
    if (eb == &be) return run_experts(be, L.experts, x, xb, gate, up, experts_scratch);
    auto failed = [&](const std::string& what) {
        if (error && error->ok()) *error = make_error("layer " + std::to_string(layer) + ": " + what);
    };
    if (!expert_side || expert_side->be != eb || !expert_side->staging)
        return failed("internal: the experts live on " + eb->device().backend + " but the context has no scratch there");
    // x and xb cross over (the first download waits for the layer's attention), the experts add
    // into x there exactly as they would here, and x crosses back.
    const ExpertSide& E = *expert_side;
    const int n = int(xb.rows);
    const Tensor hx = E.x.row_range(0, n), hxb = E.xb.row_range(0, n);
    std::vector<float>& st = *E.staging;
    st.resize(size_t(n) * size_t(h.n_embd));
    Status s = be.download(xb, st.data());
    if (s.ok()) s = eb->upload(hxb, st.data());
    if (s.ok()) s = be.download(x, st.data());
    if (s.ok()) s = eb->upload(hx, st.data());
    if (!s.ok()) return failed("the experts' input to " + eb->device().backend + ": " + s.message());
    run_experts(*eb, L.experts, hx, hxb, E.gate.row_range(0, n), E.up.row_range(0, n), E.scratch);
    if (error && !error->ok()) return;
    s = eb->download(hx, st.data());
    if (s.ok()) s = be.upload(x, st.data());
    if (!s.ok()) return failed("the experts' output from " + eb->device().backend + ": " + s.message());
}

void LayerRun::run_experts(Backend& eb, const LayerWeights::Experts& X, const Tensor& x, const Tensor& xb, const Tensor& gate,
                           const Tensor& up, const ExpertScratch& S) {
    const int n = int(xb.rows), n_expert = h.n_expert;
    const Tensor logits = S.logits.row_range(0, n);
    eb.matmul(X.router, xb, logits);
    std::vector<float> z(size_t(n) * size_t(n_expert));
    if (Status st = eb.download(logits, z.data()); !st.ok()) {
        if (error && error->ok()) *error = make_error("layer " + std::to_string(layer) + ": reading the router's choice: " + st.message());
        return;
    }
    const ExpertRouting route = route_tokens(z.data(), n, n_expert, h.n_expert_used, h.expert_weights_norm);
    // An expert that every token of the batch chose reads xb as it is; the others gather their
    // tokens' rows by id. A batch adds each expert's outputs into its tokens' rows in one op where
    // the backend has it (a single token: one scale_add per expert, with no upload). The ids and
    // weights go up once for the layer; the download above waited for every queued op, the
    // previous layer's included, so their buffers are free to overwrite.
    bool gathers = false;
    for (int e = 0; e < n_expert; ++e) gathers |= route.count(e) > 0 && route.count(e) < n;
    const bool rows_op = n > 1 && eb.supports_op(Op::AddRowsScaled);
    const int64_t n_routed = int64_t(route.tokens.size());
    Status up_st;
    if (gathers || rows_op) up_st = eb.upload(make_tensor(S.ids.buf, S.ids.offset, GgmlType::I32, 1, n_routed), route.tokens.data());
    if (up_st.ok() && rows_op) up_st = eb.upload(make_tensor(S.weights.buf, S.weights.offset, GgmlType::F32, 1, n_routed), route.weights.data());
    if (!up_st.ok()) {
        if (error && error->ok()) *error = make_error("layer " + std::to_string(layer) + ": " + up_st.message());
        return;
    }
    for (int e = 0; e < n_expert; ++e) {
        const int c = route.count(e), first = route.first[size_t(e)];
        if (c == 0) continue;
        if (cancel && cancel->load(std::memory_order_relaxed)) return;
        Tensor in = xb;
        if (c < n) {
            in = S.in.row_range(0, c);
            eb.get_rows(xb, make_tensor(S.ids.buf, S.ids.offset + size_t(first) * 4, GgmlType::I32, 1, c), in);
        }
        // gate and up hold ffn_scratch_width() columns per row: viewed here with the expert's width
        const Tensor g = make_tensor(gate.buf, gate.offset, GgmlType::F32, c, h.n_ff_exp);
        const Tensor u = make_tensor(up.buf, up.offset, GgmlType::F32, c, h.n_ff_exp);
        const Tensor o = S.out.row_range(0, c);
        if (observer) observer->observe_expert(layer, ProjectionObserver::ExpertInput::GateUp, e, eb, in);
        eb.matmul_glu(in, {X.of(X.gate, e), g, nullptr}, {X.of(X.up, e), u, nullptr}, /*gelu*/ false, g);
        if (observer) observer->observe_expert(layer, ProjectionObserver::ExpertInput::Down, e, eb, g);
        eb.matmul(X.of(X.down, e), g, o);
        if (rows_op) {
            eb.add_rows_scaled(x, o, make_tensor(S.ids.buf, S.ids.offset + size_t(first) * 4, GgmlType::I32, 1, c),
                               make_tensor(S.weights.buf, S.weights.offset + size_t(first) * 4, GgmlType::F32, 1, c));
        } else {
            for (int i = 0; i < c; ++i)
                eb.scale_add(x.row_range(route.tokens[size_t(first + i)], 1), o.row_range(i, 1), route.weights[size_t(first + i)]);
        }
    }
}

}  // namespace hearth
