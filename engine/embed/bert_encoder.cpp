#include "engine/embed/bert_encoder.h"

#include "engine/model/gguf_tensor.h"

namespace hearth::embed {

const char* pooling_name(Pooling p) {
    switch (p) {
        case Pooling::None: return "none";
        case Pooling::Mean: return "mean";
        case Pooling::Cls: return "cls";
        case Pooling::Last: return "last";
        case Pooling::Rank: return "rank";
    }
    return "?";
}

bool is_encoder_architecture(const std::string& arch) { return arch == "bert"; }

bool is_encoder_file(const std::string& path) {
    auto f = gguf::File::open(path);
    if (!f.ok()) return false;
    auto arch = (*f)->get_string("general.architecture", "");
    return arch.ok() && is_encoder_architecture(*arch);
}

Result<BertHParams> read_bert_hparams(const gguf::File& f) {
    BertHParams h;
    auto arch = f.get_string("general.architecture");
    if (!arch.ok()) return arch.status();
    h.arch = *arch;
    if (!is_encoder_architecture(h.arch))
        return make_error(f.path() + ": architecture '" + h.arch + "' is not a text encoder Hearth runs (bert)");
    const std::string a = h.arch + ".";
    auto size = [&](const std::string& key, int* out, int64_t lo, int64_t hi) -> Status {
        if (!f.find(key)) return make_error(f.path() + ": missing metadata key '" + key + "'");
        auto v = f.get_int(key, 0);
        if (!v.ok()) return make_error(f.path() + ": " + v.message());
        if (*v < lo || *v > hi)
            return make_error(f.path() + ": metadata '" + key + "' = " + std::to_string(*v) + " is out of range (" + std::to_string(lo) +
                              " to " + std::to_string(hi) + ")");
        *out = int(*v);
        return Status();
    };
    HEARTH_RETURN_IF_ERROR(size(a + "context_length", &h.n_ctx, 1, 1 << 20));
    HEARTH_RETURN_IF_ERROR(size(a + "embedding_length", &h.n_embd, 1, 1 << 16));
    HEARTH_RETURN_IF_ERROR(size(a + "feed_forward_length", &h.n_ff, 1, 1 << 18));
    HEARTH_RETURN_IF_ERROR(size(a + "block_count", &h.n_layer, 1, 1024));
    HEARTH_RETURN_IF_ERROR(size(a + "attention.head_count", &h.n_head, 1, 1024));
    if (h.n_embd % h.n_head) return make_error(f.path() + ": embedding_length is not a multiple of attention.head_count");
    auto eps = f.get_float(a + "attention.layer_norm_epsilon", 1e-12);
    if (!eps.ok()) return make_error(f.path() + ": " + eps.message());
    if (!(*eps > 0 && *eps < 1)) return make_error(f.path() + ": attention.layer_norm_epsilon is out of range");
    h.eps = float(*eps);
    auto causal = f.get_bool(a + "attention.causal", false);
    if (!causal.ok()) return make_error(f.path() + ": " + causal.message());
    if (*causal) return make_error(f.path() + ": a causal BERT is not supported");
    auto pooling = f.get_int(a + "pooling_type", int64_t(Pooling::Mean));
    if (!pooling.ok()) return make_error(f.path() + ": " + pooling.message());
    if (*pooling < 0 || *pooling > 4) return make_error(f.path() + ": pooling_type " + std::to_string(*pooling) + " is unknown");
    h.pooling = Pooling(*pooling);
    auto types = f.get_int("tokenizer.ggml.token_type_count", 2);
    if (!types.ok()) return make_error(f.path() + ": " + types.message());
    if (*types < 0 || *types > 1024) return make_error(f.path() + ": tokenizer.ggml.token_type_count is out of range");
    h.n_token_types = int(*types);
    const gguf::TensorInfo* emb = f.tensor("token_embd.weight");
    if (!emb || emb->dims.size() != 2) return make_error(f.path() + ": tensor 'token_embd.weight' is missing or not 2-D");
    if (emb->dims[1] < 1 || emb->dims[1] > (1 << 24)) return make_error(f.path() + ": token_embd.weight has an implausible vocabulary size");
    h.n_vocab = int(emb->dims[1]);
    return h;
}

BertEncoder::~BertEncoder() = default;

Result<std::unique_ptr<BertEncoder>> BertEncoder::load(const gguf::File& file, Backend& be) {
    auto hp = read_bert_hparams(file);
    if (!hp.ok()) return hp.status();
    for (Op op : kEncoderLayerOps)
        if (!be.supports_op(op)) return make_error(be.device().backend + " does not run " + std::string(op_name(op)) + ", which the text encoder needs");
    std::unique_ptr<BertEncoder> e(new BertEncoder(be));
    e->hp_ = *hp;
    const BertHParams& h = e->hp_;
    const int64_t H = h.n_embd, F = h.n_ff;
    // `use`: Matmul for a projection, GetRows for an embedding table, anything else for a vector.
    auto get = [&](const std::string& name, std::vector<int64_t> shape, Op use, Tensor* out) -> Status {
        const bool matrix = use == Op::Matmul || use == Op::GetRows;
        auto t = import_gguf_tensor(file, be, name, std::move(shape), matrix);
        if (!t.ok()) return make_error(file.path() + ": " + t.message());
        if (matrix && !be.supports_op(use, t->info->type))
            return make_error(file.path() + ": " + be.device().backend + " does not run " + std::string(op_name(use)) + " on tensor '" + name +
                              "' of type " + std::string(type_name(t->info->type)));
        e->weights_.push_back(t->buf);
        e->weight_bytes_ += t->info->n_bytes;
        *out = t->t;
        return Status();
    };
    auto linear = [&](const std::string& name, int64_t in, int64_t out, BiasedLinear* l) -> Status {
        HEARTH_RETURN_IF_ERROR(get(name + ".weight", {in, out}, Op::Matmul, &l->w));
        return get(name + ".bias", {out}, Op::Add, &l->b);
    };
    auto norm = [&](const std::string& name, LayerNormWeights* n) -> Status {
        HEARTH_RETURN_IF_ERROR(get(name + ".weight", {H}, Op::LayerNorm, &n->w));
        return get(name + ".bias", {H}, Op::LayerNorm, &n->b);
    };
    HEARTH_RETURN_IF_ERROR(get("token_embd.weight", {H, h.n_vocab}, Op::GetRows, &e->tok_embd_));
    HEARTH_RETURN_IF_ERROR(get("position_embd.weight", {H, h.n_ctx}, Op::GetRows, &e->pos_embd_));
    if (h.n_token_types > 0 && file.tensor("token_types.weight"))
        HEARTH_RETURN_IF_ERROR(get("token_types.weight", {H, h.n_token_types}, Op::GetRows, &e->type_embd_));
    HEARTH_RETURN_IF_ERROR(norm("token_embd_norm", &e->embd_norm_));
    e->layers_.resize(size_t(h.n_layer));
    for (int l = 0; l < h.n_layer; ++l) {
        EncoderLayerWeights& L = e->layers_[size_t(l)];
        const std::string p = "blk." + std::to_string(l) + ".";
        HEARTH_RETURN_IF_ERROR(linear(p + "attn_q", H, H, &L.q));
        HEARTH_RETURN_IF_ERROR(linear(p + "attn_k", H, H, &L.k));
        HEARTH_RETURN_IF_ERROR(linear(p + "attn_v", H, H, &L.v));
        HEARTH_RETURN_IF_ERROR(linear(p + "attn_output", H, H, &L.o));
        HEARTH_RETURN_IF_ERROR(norm(p + "attn_output_norm", &L.attn_norm));
        HEARTH_RETURN_IF_ERROR(linear(p + "ffn_up", H, F, &L.up));
        HEARTH_RETURN_IF_ERROR(linear(p + "ffn_down", F, H, &L.down));
        HEARTH_RETURN_IF_ERROR(norm(p + "layer_output_norm", &L.ffn_norm));
    }
    HEARTH_RETURN_IF_ERROR(be.synchronize());
    return e;
}

Result<std::vector<float>> BertEncoder::encode(const std::vector<int32_t>& ids) { return encode_batch({ids}); }

Result<std::vector<float>> BertEncoder::encode_batch(const std::vector<std::vector<int32_t>>& inputs) {
    std::vector<int32_t> all, positions;
    std::vector<int> lens;
    for (const std::vector<int32_t>& ids : inputs) {
        if (ids.empty() || ids.size() > size_t(hp_.n_ctx))
            return make_error("the text encoder takes 1 to " + std::to_string(hp_.n_ctx) + " tokens (got " + std::to_string(ids.size()) + ")");
        for (size_t i = 0; i < ids.size(); ++i) {
            if (ids[i] < 0 || ids[i] >= hp_.n_vocab)
                return make_error("token id " + std::to_string(ids[i]) + " is outside the vocabulary of " + std::to_string(hp_.n_vocab));
            all.push_back(ids[i]);
            positions.push_back(int32_t(i));
        }
        lens.push_back(int(ids.size()));
    }
    if (all.empty()) return make_error("the text encoder was given no input");
    const int n = int(all.size());
    HEARTH_RETURN_IF_ERROR(act_.reserve(be_, n, hp_.n_embd, hp_.n_ff));
    const Tensor ttypes = act_.segments(n);
    const std::vector<int32_t> zeros(static_cast<size_t>(n), 0);
    const Tensor x = act_.x(n), e = act_.e(n);
    const EncoderScratch scratch = act_.scratch(n);

    // Embeddings: word + position + segment 0, then their layer norm.
    HEARTH_RETURN_IF_ERROR(act_.embed(be_, tok_embd_, pos_embd_, all, positions));
    if (type_embd_.buf) {
        HEARTH_RETURN_IF_ERROR(be_.upload(ttypes, zeros.data()));
        be_.get_rows(type_embd_, ttypes, e);
        be_.add(x, e, x);
    }
    be_.layer_norm(x, embd_norm_.w, embd_norm_.b, hp_.eps, x);

    EncoderLayerShape shape;
    shape.n_head = hp_.n_head;
    shape.eps = hp_.eps;
    shape.act = Activation::Gelu;
    shape.pre_norm = false;
    shape.causal = false;
    if (lens.size() > 1) shape.seq_lens = lens;
    for (const EncoderLayerWeights& L : layers_) run_encoder_layer(be_, L, shape, x, scratch);

    std::vector<float> out(size_t(n) * size_t(hp_.n_embd));
    HEARTH_RETURN_IF_ERROR(be_.download(x, out.data()));
    return out;
}

}  // namespace hearth::embed
