#include "engine/model/model.h"

namespace hearth {

namespace {

std::string dims_str(const std::vector<int64_t>& d) {
    std::string s = "[";
    for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
    return s + "]";
}

bool is_float_type(GgmlType t) { return t == GgmlType::F32; }

}  // namespace

Result<Tensor> Model::import(Backend& be, const std::string& name, std::vector<int64_t> shape, bool matrix, bool count) {
    const gguf::TensorInfo* ti = file_->tensor(name);
    if (!ti) return make_error("model is missing tensor '" + name + "'");
    std::vector<int64_t> dims = ti->dims;
    while (dims.size() > shape.size() && dims.back() == 1) dims.pop_back();
    if (dims != shape)
        return make_error("tensor '" + name + "' has shape " + dims_str(ti->dims) + ", expected " + dims_str(shape));
    const TypeTraits& tt = traits(ti->type);
    if (!matrix && !is_float_type(ti->type))
        return make_error("tensor '" + name + "' has type " + std::string(tt.name) + ", expected F32");
    if (matrix && (ti->type == GgmlType::I8 || ti->type == GgmlType::I16 || ti->type == GgmlType::I32 ||
                   ti->type == GgmlType::I64 || ti->type == GgmlType::F64 || ti->type == GgmlType::Q8_K))
        return make_error("tensor '" + name + "' has type " + std::string(tt.name) + ", which is not a weight type");
    const int64_t cols = shape[0], rows = shape.size() > 1 ? shape[1] : 1;
    if (cols % tt.block_elems != 0)
        return make_error("tensor '" + name + "': row length " + std::to_string(cols) + " is not a multiple of the " +
                          std::string(tt.name) + " block size");
    if (row_bytes(ti->type, cols) * size_t(rows) != ti->n_bytes)
        return make_error("tensor '" + name + "': byte size does not match its type and shape");
    auto buf = be.import_host(ti->data, ti->n_bytes);
    if (!buf.ok()) return make_error("loading tensor '" + name + "' (" + std::to_string(ti->n_bytes) + " bytes) into " +
                                     be.device().backend + ": " + buf.message());
    buffers_.push_back(*buf);
    if (count) {  // a second copy for the other side of a layer split is not another parameter
        n_params_ += uint64_t(ti->n_elements());
        weight_bytes_ += ti->n_bytes;
    }
    loaded_bytes_ += ti->n_bytes;
    if (progress_ && total_bytes_ && !progress_(float(double(loaded_bytes_) / double(total_bytes_))))
        return make_error("loading cancelled");
    return make_tensor(buf->get(), 0, ti->type, rows, cols);
}

RopeParams Model::rope_params(const Backend& be) const {
    RopeParams p = hp_.rope;
    for (const auto& [owner, t] : rope_freqs_)
        if (owner == &be) p.freq_factors = &t;
    return p;
}

Result<std::unique_ptr<Model>> Model::load(const gguf::File& file, Backend& backend, const std::function<bool(float)>& progress,
                                           Backend* host, int n_gpu_layers) {
    std::unique_ptr<Model> m(new Model());
    m->file_ = &file;
    m->backend_ = &backend;
    m->progress_ = progress;
    auto hp = read_hparams(file);
    if (!hp.ok()) return make_error(file.path() + ": " + hp.message());
    m->hp_ = *hp;
    ModelHParams& h = m->hp_;
    m->n_main_layers_ = h.n_layer;
    if (host && host != &backend && n_gpu_layers >= 0 && n_gpu_layers < h.n_layer) m->n_main_layers_ = n_gpu_layers;
    auto layer_backend = [&](int l) -> Backend& { return l < m->n_main_layers_ ? backend : *host; };
    Backend& in_be = layer_backend(0);
    Backend& out_be = layer_backend(h.n_layer - 1);
    m->input_be_ = &in_be;
    m->output_be_ = &out_be;
    // What will be read, for progress: every tensor once, plus the second copies of a split.
    for (const auto& t : file.tensors()) m->total_bytes_ += t.n_bytes;

    const gguf::TensorInfo* emb = file.tensor("token_embd.weight");
    if (!emb) return make_error(file.path() + ": model is missing tensor 'token_embd.weight'");
    if (emb->dims.size() != 2 || emb->dims[1] <= 0 || emb->dims[1] > (int64_t(1) << 24))
        return make_error(file.path() + ": tensor 'token_embd.weight' has shape " + dims_str(emb->dims) + ", expected [n_embd, n_vocab]");
    h.n_vocab = int(emb->dims[1]);
    if (auto* toks = file.find("tokenizer.ggml.tokens"); toks && toks->arr.size() > size_t(h.n_vocab))
        return make_error(file.path() + ": the vocabulary has " + std::to_string(toks->arr.size()) +
                          " tokens but token_embd.weight has only " + std::to_string(h.n_vocab) + " rows");

    const int64_t E = h.n_embd, V = h.n_vocab, Q = h.q_dim(), KV = h.kv_dim(), F = h.n_ff;
    const bool split_sides = &in_be != &out_be;
    if (split_sides && !file.tensor("output.weight")) m->total_bytes_ += file.tensor("token_embd.weight")->n_bytes;
    if (split_sides && file.tensor("rope_freqs.weight")) m->total_bytes_ += file.tensor("rope_freqs.weight")->n_bytes;
    auto fail = [&](const Status& s) { return make_error(file.path() + ": " + s.message()); };
    Backend* be = &in_be;
#define IMPORT_ON(be_ref, dst, name, shape, matrix, count)      \
    {                                                          \
        auto r = m->import(be_ref, name, shape, matrix, count); \
        if (!r.ok()) return fail(r.status());                  \
        dst = *r;                                              \
    }
#define IMPORT(dst, name, shape, matrix) IMPORT_ON(*be, dst, name, shape, matrix, true)
    IMPORT(m->tok_embd_, "token_embd.weight", (std::vector<int64_t>{E, V}), true)
    be = &out_be;
    IMPORT(m->output_norm_, "output_norm.weight", (std::vector<int64_t>{E}), false)
    if (file.tensor("output.weight")) {
        IMPORT(m->output_, "output.weight", (std::vector<int64_t>{E, V}), true)
    } else {
        m->tied_ = true;  // tied embedding: the output matrix is token_embd, on the output side too
        if (split_sides) {
            IMPORT_ON(out_be, m->output_, "token_embd.weight", (std::vector<int64_t>{E, V}), true, false)
        } else {
            m->output_ = m->tok_embd_;
        }
    }
    if (file.tensor("rope_freqs.weight")) {
        const std::vector<int64_t> shape{h.rope.n_dims / 2};
        Tensor t;
        IMPORT_ON(in_be, t, "rope_freqs.weight", shape, false, true)
        m->rope_freqs_.push_back({&in_be, t});
        if (split_sides) {
            IMPORT_ON(out_be, t, "rope_freqs.weight", shape, false, false)
            m->rope_freqs_.push_back({&out_be, t});
        }
    }
    m->layers_.resize(size_t(h.n_layer));
    for (int l = 0; l < h.n_layer; ++l) {
        LayerWeights& L = m->layers_[size_t(l)];
        L.backend = &layer_backend(l);
        be = L.backend;
        const std::string p = "blk." + std::to_string(l) + ".";
        IMPORT(L.attn_norm, p + "attn_norm.weight", (std::vector<int64_t>{E}), false)
        IMPORT(L.wq, p + "attn_q.weight", (std::vector<int64_t>{E, Q}), true)
        IMPORT(L.wk, p + "attn_k.weight", (std::vector<int64_t>{E, KV}), true)
        IMPORT(L.wv, p + "attn_v.weight", (std::vector<int64_t>{E, KV}), true)
        IMPORT(L.wo, p + "attn_output.weight", (std::vector<int64_t>{Q, E}), true)
        const bool bias = file.tensor(p + "attn_q.bias") || file.tensor(p + "attn_k.bias") || file.tensor(p + "attn_v.bias");
        if (bias || h.arch == "qwen2") {
            IMPORT(L.bq, p + "attn_q.bias", (std::vector<int64_t>{Q}), false)
            IMPORT(L.bk, p + "attn_k.bias", (std::vector<int64_t>{KV}), false)
            IMPORT(L.bv, p + "attn_v.bias", (std::vector<int64_t>{KV}), false)
            L.has_qkv_bias = true;
        }
        IMPORT(L.ffn_norm, p + "ffn_norm.weight", (std::vector<int64_t>{E}), false)
        IMPORT(L.w_gate, p + "ffn_gate.weight", (std::vector<int64_t>{E, F}), true)
        IMPORT(L.w_up, p + "ffn_up.weight", (std::vector<int64_t>{E, F}), true)
        IMPORT(L.w_down, p + "ffn_down.weight", (std::vector<int64_t>{F, E}), true)
    }
#undef IMPORT
#undef IMPORT_ON
    if (progress && !progress(1.0f)) return make_error("loading cancelled");
    return m;
}

}  // namespace hearth
