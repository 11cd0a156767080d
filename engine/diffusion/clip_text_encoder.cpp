#include "engine/diffusion/clip_text_encoder.h"

#include <cmath>
#include <filesystem>

#include "engine/diffusion/diffusion_weights.h"
#include "engine/util/json.h"

namespace hearth::diffusion {

namespace {

namespace fs = std::filesystem;

}  // namespace

Result<ClipTextConfig> read_clip_text_config(const std::string& path) {
    auto doc = json::parse_file(path);
    if (!doc.ok()) return doc.status();
    const json::Value& j = *doc;
    ClipTextConfig c;
    auto size = [&](const char* key, int* out, int lo, int hi) -> Status {
        const json::Value* v = j.find(key);
        if (!v || !v->is_int() || v->as_int() < lo || v->as_int() > hi)
            return make_error(path + ": " + key + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
        *out = int(v->as_int());
        return Status();
    };
    HEARTH_RETURN_IF_ERROR(size("vocab_size", &c.vocab_size, 2, 1 << 20));
    HEARTH_RETURN_IF_ERROR(size("hidden_size", &c.hidden, 1, 1 << 16));
    HEARTH_RETURN_IF_ERROR(size("intermediate_size", &c.intermediate, 1, 1 << 18));
    HEARTH_RETURN_IF_ERROR(size("num_attention_heads", &c.n_head, 1, 1024));
    HEARTH_RETURN_IF_ERROR(size("num_hidden_layers", &c.n_layer, 1, 1024));
    HEARTH_RETURN_IF_ERROR(size("max_position_embeddings", &c.max_positions, 1, 1 << 16));
    if (c.hidden % c.n_head) return make_error(path + ": hidden_size is not a multiple of num_attention_heads");
    const std::string act = j["hidden_act"].is_string() ? j["hidden_act"].as_string() : "quick_gelu";
    if (act == "quick_gelu") c.act = Activation::QuickGelu;
    else if (act == "gelu") c.act = Activation::Gelu;
    else return make_error(path + ": hidden_act '" + act + "' is not supported (quick_gelu, gelu)");
    if (const json::Value* v = j.find("layer_norm_eps"); v && v->is_number()) c.layer_norm_eps = float(v->as_double());
    return c;
}

ClipTextEncoder::ClipTextEncoder(Backend& be) : be_(be) {}
ClipTextEncoder::~ClipTextEncoder() = default;
uint64_t ClipTextEncoder::weight_bytes() const { return weights_ ? weights_->bytes() : 0; }

Result<std::unique_ptr<ClipTextEncoder>> ClipTextEncoder::open(const std::string& dir, Backend& be) {
    auto cfg = read_clip_text_config((fs::path(dir) / "config.json").string());
    if (!cfg.ok()) return cfg.status();
    auto weights = DiffusionWeights::open_component(dir, "model", be, ClipTextEncoder::kOps, "text encoder",
                                                    "text_model.");
    if (!weights.ok()) return weights.status();
    return create(*cfg, std::move(*weights), be);
}

Result<std::unique_ptr<ClipTextEncoder>> ClipTextEncoder::create(const ClipTextConfig& cfg, std::unique_ptr<DiffusionWeights> weights,
                                                                 Backend& be) {
    DiffusionWeights& wt = *weights;
    std::unique_ptr<ClipTextEncoder> e(new ClipTextEncoder(be));
    e->cfg_ = cfg;
    const ClipTextConfig& c = e->cfg_;
    const int64_t H = c.hidden, I = c.intermediate;
    HEARTH_RETURN_IF_ERROR(wt.matrix("embeddings.token_embedding.weight", c.vocab_size, H, &e->tok_emb_));
    HEARTH_RETURN_IF_ERROR(wt.matrix("embeddings.position_embedding.weight", c.max_positions, H, &e->pos_emb_));
    e->layers_.resize(size_t(c.n_layer));
    for (int l = 0; l < c.n_layer; ++l) {
        EncoderLayerWeights& L = e->layers_[size_t(l)];
        const std::string p = "encoder.layers." + std::to_string(l) + ".";
        auto linear = [&](const std::string& name, int64_t rows, int64_t cols, BiasedLinear* out) -> Status {
            HEARTH_RETURN_IF_ERROR(wt.matrix(p + name + ".weight", rows, cols, &out->w));
            return wt.vector(p + name + ".bias", rows, &out->b);
        };
        auto norm = [&](const std::string& name, LayerNormWeights* out) -> Status {
            HEARTH_RETURN_IF_ERROR(wt.vector(p + name + ".weight", H, &out->w));
            return wt.vector(p + name + ".bias", H, &out->b);
        };
        HEARTH_RETURN_IF_ERROR(norm("layer_norm1", &L.attn_norm));
        HEARTH_RETURN_IF_ERROR(norm("layer_norm2", &L.ffn_norm));
        HEARTH_RETURN_IF_ERROR(linear("self_attn.q_proj", H, H, &L.q));
        HEARTH_RETURN_IF_ERROR(linear("self_attn.k_proj", H, H, &L.k));
        HEARTH_RETURN_IF_ERROR(linear("self_attn.v_proj", H, H, &L.v));
        HEARTH_RETURN_IF_ERROR(linear("self_attn.out_proj", H, H, &L.o));
        HEARTH_RETURN_IF_ERROR(linear("mlp.fc1", I, H, &L.up));
        HEARTH_RETURN_IF_ERROR(linear("mlp.fc2", H, I, &L.down));
    }
    HEARTH_RETURN_IF_ERROR(wt.vector("final_layer_norm.weight", H, &e->final_ln_.w));
    HEARTH_RETURN_IF_ERROR(wt.vector("final_layer_norm.bias", H, &e->final_ln_.b));
    HEARTH_RETURN_IF_ERROR(be.synchronize());
    weights->close_file();
    e->weights_ = std::move(weights);
    return e;
}

Result<std::vector<float>> ClipTextEncoder::encode(const std::vector<int32_t>& ids) {
    const ClipTextConfig& c = cfg_;
    const int n = int(ids.size());
    if (n < 1 || n > c.max_positions)
        return make_error("the text encoder takes 1 to " + std::to_string(c.max_positions) + " tokens (got " + std::to_string(n) + ")");
    for (int32_t id : ids)
        if (id < 0 || id >= c.vocab_size)
            return make_error("token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(c.vocab_size));
    HEARTH_RETURN_IF_ERROR(act_.reserve(be_, n, c.hidden, c.intermediate));
    std::vector<int32_t> positions(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) positions[size_t(i)] = i;
    const Tensor x = act_.x(n);
    const EncoderScratch scratch = act_.scratch(n);
    HEARTH_RETURN_IF_ERROR(act_.embed(be_, tok_emb_, pos_emb_, ids, positions));
    EncoderLayerShape shape;
    shape.n_head = c.n_head;
    shape.eps = c.layer_norm_eps;
    shape.act = c.act;
    shape.pre_norm = true;
    shape.causal = true;
    for (const EncoderLayerWeights& L : layers_) run_encoder_layer(be_, L, shape, x, scratch);
    be_.layer_norm(x, final_ln_.w, final_ln_.b, c.layer_norm_eps, scratch.h);
    std::vector<float> out(size_t(n) * size_t(c.hidden));
    HEARTH_RETURN_IF_ERROR(be_.download(scratch.h, out.data()));
    return out;
}

ClipTextConfig sd15_clip_text_config() {
    ClipTextConfig c;
    c.vocab_size = 49408;
    c.hidden = 768;
    c.intermediate = 3072;
    c.n_head = 12;
    c.n_layer = 12;
    c.max_positions = 77;
    c.act = Activation::QuickGelu;
    return c;
}

ClipTextConfig sd21_clip_text_config() {
    ClipTextConfig c;
    c.vocab_size = 49408;
    c.hidden = 1024;
    c.intermediate = 4096;
    c.n_head = 16;
    c.n_layer = 23;
    c.max_positions = 77;
    c.act = Activation::Gelu;
    return c;
}

}  // namespace hearth::diffusion
