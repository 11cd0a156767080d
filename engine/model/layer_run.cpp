#include "engine/model/layer_run.h"

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

}  // namespace hearth
