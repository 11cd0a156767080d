#include "engine/model/encoder_layer.h"

#include <cmath>

namespace hearth {

Status EncoderActivations::reserve(Backend& be, int n, int64_t hidden, int64_t intermediate) {
    if (n <= capacity_) return Status();
    size_t off = 0;
    auto place = [&](Tensor* t, GgmlType type, int64_t rows, int64_t cols) {
        *t = make_tensor(nullptr, off, type, rows, cols);
        off += (t->bytes() + 255) / 256 * 256;
    };
    for (Tensor* t : {&ids_, &pos_, &types_}) place(t, GgmlType::I32, 1, n);
    for (Tensor* t : {&x_, &e_, &h_, &q_, &k_, &v_, &attn_}) place(t, GgmlType::F32, n, hidden);
    place(&ff_, GgmlType::F32, n, intermediate);
    auto buf = be.alloc(off, BufferUsage::Activations);
    if (!buf.ok()) return buf.status();
    buf_ = std::move(*buf);
    for (Tensor* t : {&ids_, &pos_, &types_, &x_, &e_, &h_, &q_, &k_, &v_, &attn_, &ff_}) t->buf = buf_.get();
    capacity_ = n;
    return Status();
}

Status EncoderActivations::embed(Backend& be, const Tensor& word_table, const Tensor& position_table, const std::vector<int32_t>& ids,
                                 const std::vector<int32_t>& positions) {
    const int n = int(ids.size());
    HEARTH_RETURN_IF_ERROR(be.upload(this->ids(n), ids.data()));
    HEARTH_RETURN_IF_ERROR(be.upload(this->positions(n), positions.data()));
    be.get_rows(word_table, this->ids(n), x(n));
    be.get_rows(position_table, this->positions(n), e(n));
    be.add(x(n), e(n), x(n));
    return Status();
}

EncoderScratch EncoderActivations::scratch(int n) const {
    return {h_.row_range(0, n), q_.row_range(0, n), k_.row_range(0, n), v_.row_range(0, n), attn_.row_range(0, n), ff_.row_range(0, n)};
}

void run_encoder_layer(Backend& be, const EncoderLayerWeights& L, const EncoderLayerShape& s, const Tensor& x,
                       const EncoderScratch& t) {
    const float scale = 1.0f / std::sqrt(float(x.cols / s.n_head));
    // Attention block.
    const Tensor& in = s.pre_norm ? t.h : x;
    if (s.pre_norm) be.layer_norm(x, L.attn_norm.w, L.attn_norm.b, s.eps, t.h);
    be.matmul(L.q.w, in, t.q, &L.q.b);
    be.matmul(L.k.w, in, t.k, &L.k.b);
    be.matmul(L.v.w, in, t.v, &L.v.b);
    if (s.seq_lens.empty()) {
        be.attention_qkv(t.q, t.k, t.v, s.n_head, scale, s.causal, t.attn);
    } else {
        // Every other op is row by row, so a batch shares the weights' reads; only attention
        // looks across rows, and it runs on each sequence's own rows.
        int64_t first = 0;
        for (int n : s.seq_lens) {
            be.attention_qkv(t.q.row_range(first, n), t.k.row_range(first, n), t.v.row_range(first, n), s.n_head, scale, s.causal,
                             t.attn.row_range(first, n));
            first += n;
        }
    }
    be.matmul(L.o.w, t.attn, t.h, &L.o.b);
    be.add(x, t.h, x);
    if (!s.pre_norm) be.layer_norm(x, L.attn_norm.w, L.attn_norm.b, s.eps, x);
    // Feed-forward block.
    const Tensor& ff_in = s.pre_norm ? t.h : x;
    if (s.pre_norm) be.layer_norm(x, L.ffn_norm.w, L.ffn_norm.b, s.eps, t.h);
    be.matmul(L.up.w, ff_in, t.ff, &L.up.b);
    be.activate(t.ff, s.act);
    be.matmul(L.down.w, t.ff, t.h, &L.down.b);
    be.add(x, t.h, x);
    if (!s.pre_norm) be.layer_norm(x, L.ffn_norm.w, L.ffn_norm.b, s.eps, x);
}

}  // namespace hearth
