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

void LayerRun::attention(const LayerWeights& L) {
    proj(kSlotQ, L.wq, xb, q);
    proj(kSlotK, L.wk, xb, k);
    proj(kSlotV, L.wv, xb, v);
    if (L.q_norm.buf) {
        const Tensor qh = per_head(q, h.head_dim), kh = per_head(k, h.head_dim);
        be.rms_norm(qh, L.q_norm, h.rms_eps, qh);
        be.rms_norm(kh, L.k_norm, h.rms_eps, kh);
    }
    be.rope(q, pos, rope);
    be.rope(k, pos, rope);
    if (tables) {
        be.kv_store(kv, kv_layer, k, v, cells);
        be.attention_paged(q, kv, kv_layer, pos, *tables, n_kv, h.attention_scale(), attn);
    } else {
        be.kv_store(kv, kv_layer, k, v, pos);
        be.attention(q, kv, kv_layer, pos, n_kv, h.attention_scale(), attn);
    }
    proj(kSlotO, L.wo, attn, xb);
}

void LayerRun::ffn(const LayerWeights& L, Act act) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return;  // the larger half of a layer
    proj(kSlotGate, L.gate, xb, gate);
    proj(kSlotUp, L.up, xb, up);
    if (act == Act::SiLU) be.silu_mul(gate, up, gate);
    else be.gelu_mul(gate, up, gate);
    proj(kSlotDown, L.down, gate, xb);
}

}  // namespace hearth
