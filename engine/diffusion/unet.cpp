#include "engine/diffusion/unet.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/diffusion/diffusion_weights.h"
#include "engine/util/json.h"

namespace hearth::diffusion {

namespace {

constexpr int kSlots = 10;
constexpr float kTransformerNormEps = 1e-6f;  // Transformer2DModel's group norm
constexpr float kLayerNormEps = 1e-5f;        // BasicTransformerBlock's layer norms

// A view of columns [first, first + n) of every row (bias halves of GEGLU's projection).
Tensor cols_view(const Tensor& t, int64_t first, int64_t n) {
    Tensor v = t;
    v.offset += size_t(first) * 4;
    v.cols = n;
    return v;
}

}  // namespace

Result<UNetConfig> read_unet_config(const std::string& path) {
    auto doc = json::parse_file(path);
    if (!doc.ok()) return doc.status();
    const json::Value& j = *doc;
    auto bad = [&](const std::string& what) { return make_error(path + ": " + what); };
    UNetConfig c;
    auto whole = [&](const json::Value& v, int lo, int hi, int* out) {
        if (!v.is_int() || v.as_int() < lo || v.as_int() > hi) return false;
        *out = int(v.as_int());
        return true;
    };
    auto size = [&](const char* key, int* out, int lo, int hi) -> Status {
        const json::Value* v = j.find(key);
        if (!v || v->is_null()) return Status();
        if (!whole(*v, lo, hi, out)) return bad(std::string(key) + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
        return Status();
    };
    if (const std::string cls = j["_class_name"].as_string(); !cls.empty() && cls != "UNet2DConditionModel")
        return bad("_class_name '" + cls + "' is not UNet2DConditionModel");
    for (const json::Value& v : j["block_out_channels"].as_array()) {
        int ch = 0;
        if (!whole(v, 1, 8192, &ch)) return bad("block_out_channels holds a value that is not a channel count");
        c.block_out_channels.push_back(ch);
    }
    const size_t n = c.block_out_channels.size();
    if (n < 1 || n > 6) return bad("block_out_channels must list 1 to 6 channel counts");
    HEARTH_RETURN_IF_ERROR(size("in_channels", &c.in_channels, 1, 64));
    HEARTH_RETURN_IF_ERROR(size("out_channels", &c.out_channels, 1, 64));
    if (j["layers_per_block"].is_array()) return bad("a layers_per_block list is not supported");
    HEARTH_RETURN_IF_ERROR(size("layers_per_block", &c.layers_per_block, 1, 16));
    HEARTH_RETURN_IF_ERROR(size("norm_num_groups", &c.norm_num_groups, 1, 1024));
    if (j["cross_attention_dim"].is_array()) return bad("a cross_attention_dim list is not supported");
    HEARTH_RETURN_IF_ERROR(size("cross_attention_dim", &c.cross_attention_dim, 1, 16384));
    HEARTH_RETURN_IF_ERROR(size("freq_shift", &c.freq_shift, 0, 1));
    if (const json::Value* v = j.find("norm_eps"); v && v->is_number()) c.norm_eps = float(v->as_double());
    if (const json::Value* v = j.find("use_linear_projection"); v && v->is_bool()) c.use_linear_projection = v->as_bool();
    if (const json::Value* v = j.find("flip_sin_to_cos"); v && v->is_bool()) c.flip_sin_to_cos = v->as_bool();

    const auto& downs = j["down_block_types"].as_array();
    const auto& ups = j["up_block_types"].as_array();
    if (downs.size() != n || ups.size() != n) return bad("down_block_types and up_block_types must have one entry per block_out_channels");
    for (const json::Value& t : downs) {
        if (t.as_string() == "CrossAttnDownBlock2D") c.down_has_attention.push_back(true);
        else if (t.as_string() == "DownBlock2D") c.down_has_attention.push_back(false);
        else return bad("down block '" + t.as_string() + "' is not supported (CrossAttnDownBlock2D, DownBlock2D)");
    }
    for (const json::Value& t : ups) {
        if (t.as_string() == "CrossAttnUpBlock2D") c.up_has_attention.push_back(true);
        else if (t.as_string() == "UpBlock2D") c.up_has_attention.push_back(false);
        else return bad("up block '" + t.as_string() + "' is not supported (CrossAttnUpBlock2D, UpBlock2D)");
    }
    if (const std::string mid = j["mid_block_type"].is_null() ? "UNetMidBlock2DCrossAttn" : j["mid_block_type"].as_string();
        mid != "UNetMidBlock2DCrossAttn")
        return bad("mid_block_type '" + mid + "' is not supported (UNetMidBlock2DCrossAttn)");

    // Heads as diffusers reads them: num_attention_heads, else attention_head_dim (a head count).
    auto per_block = [&](const char* key, std::vector<int>* out, int fallback) -> Status {
        const json::Value& v = j[key];
        int one = fallback;
        if (v.is_array()) {
            if (v.size() != n) return bad(std::string(key) + " must have one entry per block");
            for (const json::Value& e : v.as_array()) {
                if (!whole(e, 1, 4096, &one)) return bad(std::string(key) + " holds a value out of range");
                out->push_back(one);
            }
            return Status();
        }
        if (!v.is_null() && !whole(v, 1, 4096, &one)) return bad(std::string(key) + " is out of range");
        out->assign(n, one);
        return Status();
    };
    if (!j["num_attention_heads"].is_null()) HEARTH_RETURN_IF_ERROR(per_block("num_attention_heads", &c.heads, 8));
    else HEARTH_RETURN_IF_ERROR(per_block("attention_head_dim", &c.heads, 8));
    HEARTH_RETURN_IF_ERROR(per_block("transformer_layers_per_block", &c.transformer_layers, 1));
    for (size_t i = 0; i < n; ++i) {
        const int ch = c.block_out_channels[i];
        if (ch % c.norm_num_groups) return bad("block_out_channels must be multiples of norm_num_groups");
        if (ch % c.heads[i]) return bad("block " + std::to_string(i) + ": " + std::to_string(ch) + " channels do not split into " +
                                        std::to_string(c.heads[i]) + " heads");
    }
    // What would change the network and is not built: named, never ignored.
    for (const char* key : {"class_embed_type", "addition_embed_type", "time_cond_proj_dim", "encoder_hid_dim", "time_embedding_dim",
                            "timestep_post_act", "time_embedding_act_fn", "reverse_transformer_layers_per_block", "num_class_embeds"})
        if (const json::Value* v = j.find(key); v && !v->is_null()) return bad(std::string(key) + " is not supported");
    for (const char* key : {"dual_cross_attention", "only_cross_attention", "center_input_sample", "mid_block_only_cross_attention"})
        if (const json::Value* v = j.find(key); v && v->is_bool() && v->as_bool()) return bad(std::string(key) + " is not supported");
    const struct { const char* key; const char* want; } fixed[] = {
        {"act_fn", "silu"}, {"resnet_time_scale_shift", "default"}, {"time_embedding_type", "positional"}, {"attention_type", "default"}};
    for (const auto& f : fixed)
        if (const std::string v = j[f.key].as_string(); !v.empty() && v != f.want) return bad(std::string(f.key) + " '" + v + "' is not supported");
    for (const char* key : {"conv_in_kernel", "conv_out_kernel"})
        if (const json::Value* v = j.find(key); v && !v->is_null() && v->as_int() != 3) return bad(std::string(key) + " other than 3 is not supported");
    for (const char* key : {"mid_block_scale_factor", "resnet_out_scale_factor"})
        if (const json::Value* v = j.find(key); v && v->is_number() && v->as_double() != 1.0) return bad(std::string(key) + " other than 1 is not supported");
    if (const json::Value* v = j.find("downsample_padding"); v && v->is_int() && v->as_int() != 1) return bad("downsample_padding other than 1 is not supported");
    return c;
}

UNet::UNet(Backend& be) : be_(be) {}
UNet::~UNet() = default;
uint64_t UNet::weight_bytes() const { return weights_ ? weights_->bytes() : 0; }

Result<std::unique_ptr<UNet>> UNet::open(const std::string& dir, Backend& be) {
    auto cfg = read_unet_config((std::filesystem::path(dir) / "config.json").string());
    if (!cfg.ok()) return cfg.status();
    auto wt = DiffusionWeights::open_component(
        dir, "diffusion_pytorch_model", be,
        UNet::kOps, "UNet");
    if (!wt.ok()) return wt.status();
    return create(*cfg, std::move(*wt), be);
}

Result<std::unique_ptr<UNet>> UNet::create(const UNetConfig& cfg, std::unique_ptr<DiffusionWeights> wt, Backend& be) {
    std::unique_ptr<UNet> u(new UNet(be));
    u->cfg_ = cfg;
    HEARTH_RETURN_IF_ERROR(u->load(*wt));
    HEARTH_RETURN_IF_ERROR(be.synchronize());
    wt->close_file();
    u->weights_ = std::move(wt);
    return u;
}

UNetConfig sd15_unet_config() {
    UNetConfig c;
    c.block_out_channels = {320, 640, 1280, 1280};
    c.down_has_attention = {true, true, true, false};
    c.up_has_attention = {false, true, true, true};
    c.heads = {8, 8, 8, 8};
    c.transformer_layers = {1, 1, 1, 1};
    c.cross_attention_dim = 768;
    return c;
}

UNetConfig sd21_unet_config() {
    UNetConfig c = sd15_unet_config();
    c.heads = {5, 10, 20, 20};
    c.cross_attention_dim = 1024;
    c.use_linear_projection = true;
    return c;
}

Status UNet::load(DiffusionWeights& wt) {
    const UNetConfig& c = cfg_;
    const int n = int(c.block_out_channels.size()), T = c.time_embed_dim();
    auto conv = [&](const std::string& name, int cout, int cin, int k, ConvLayer* out) { return load_conv(wt, name, cout, cin, k, out); };
    auto norm = [&](const std::string& name, int ch, NormLayer* out) { return load_norm(wt, name, ch, out); };
    auto resnet = [&](const std::string& p, int cin, int cout, ResnetBlock* r) { return load_resnet(wt, p, cin, cout, T, r); };
    auto transformer = [&](const std::string& p, int ch, int heads, int depth, Transformer* tr) -> Status {
        tr->heads = heads;
        tr->ch = ch;
        HEARTH_RETURN_IF_ERROR(norm(p + ".norm", ch, &tr->norm));
        HEARTH_RETURN_IF_ERROR(wt.conv(p + ".proj_in.weight", ch, ch, 1, &tr->proj_in));  // conv 1×1 or linear
        HEARTH_RETURN_IF_ERROR(wt.vector(p + ".proj_in.bias", ch, &tr->proj_in_b));
        HEARTH_RETURN_IF_ERROR(wt.conv(p + ".proj_out.weight", ch, ch, 1, &tr->proj_out));
        HEARTH_RETURN_IF_ERROR(wt.vector(p + ".proj_out.bias", ch, &tr->proj_out_b));
        tr->blocks.resize(size_t(depth));
        for (int b = 0; b < depth; ++b) {
            Block& B = tr->blocks[size_t(b)];
            const std::string q = p + ".transformer_blocks." + std::to_string(b);
            HEARTH_RETURN_IF_ERROR(norm(q + ".norm1", ch, &B.n1));
            HEARTH_RETURN_IF_ERROR(norm(q + ".norm2", ch, &B.n2));
            HEARTH_RETURN_IF_ERROR(norm(q + ".norm3", ch, &B.n3));
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".attn1.to_q.weight", ch, ch, &B.q1));
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".attn1.to_k.weight", ch, ch, &B.k1));
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".attn1.to_v.weight", ch, ch, &B.v1));
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".attn1.to_out.0.weight", ch, ch, &B.o1));
            HEARTH_RETURN_IF_ERROR(wt.vector(q + ".attn1.to_out.0.bias", ch, &B.o1b));
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".attn2.to_q.weight", ch, ch, &B.q2));
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".attn2.to_k.weight", ch, c.cross_attention_dim, &B.k2));
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".attn2.to_v.weight", ch, c.cross_attention_dim, &B.v2));
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".attn2.to_out.0.weight", ch, ch, &B.o2));
            HEARTH_RETURN_IF_ERROR(wt.vector(q + ".attn2.to_out.0.bias", ch, &B.o2b));
            // GEGLU: one [8·ch, ch] projection whose first half is the value and second the gate.
            Tensor proj, proj_b;
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".ff.net.0.proj.weight", 8 * int64_t(ch), ch, &proj));
            HEARTH_RETURN_IF_ERROR(wt.vector(q + ".ff.net.0.proj.bias", 8 * int64_t(ch), &proj_b));
            B.ff_val = proj.row_range(0, 4 * int64_t(ch));
            B.ff_gate = proj.row_range(4 * int64_t(ch), 4 * int64_t(ch));
            B.ff_val_b = cols_view(proj_b, 0, 4 * int64_t(ch));
            B.ff_gate_b = cols_view(proj_b, 4 * int64_t(ch), 4 * int64_t(ch));
            HEARTH_RETURN_IF_ERROR(wt.matrix(q + ".ff.net.2.weight", ch, 4 * int64_t(ch), &B.ff_out));
            HEARTH_RETURN_IF_ERROR(wt.vector(q + ".ff.net.2.bias", ch, &B.ff_out_b));
        }
        return Status();
    };

    HEARTH_RETURN_IF_ERROR(wt.matrix("time_embedding.linear_1.weight", T, c.block_out_channels.front(), &time_w1_));
    HEARTH_RETURN_IF_ERROR(wt.vector("time_embedding.linear_1.bias", T, &time_b1_));
    HEARTH_RETURN_IF_ERROR(wt.matrix("time_embedding.linear_2.weight", T, T, &time_w2_));
    HEARTH_RETURN_IF_ERROR(wt.vector("time_embedding.linear_2.bias", T, &time_b2_));
    HEARTH_RETURN_IF_ERROR(conv("conv_in", c.block_out_channels.front(), c.in_channels, 3, &conv_in_));

    down_.resize(size_t(n));
    int out_ch = c.block_out_channels.front();
    for (int i = 0; i < n; ++i) {
        const int in_ch = out_ch;
        out_ch = c.block_out_channels[size_t(i)];
        Stage& s = down_[size_t(i)];
        const std::string p = "down_blocks." + std::to_string(i);
        for (int j = 0; j < c.layers_per_block; ++j) {
            s.resnets.emplace_back();
            HEARTH_RETURN_IF_ERROR(resnet(p + ".resnets." + std::to_string(j), j == 0 ? in_ch : out_ch, out_ch, &s.resnets.back()));
            if (c.down_has_attention[size_t(i)]) {
                s.attns.emplace_back();
                HEARTH_RETURN_IF_ERROR(transformer(p + ".attentions." + std::to_string(j), out_ch, c.heads[size_t(i)],
                                                   c.transformer_layers[size_t(i)], &s.attns.back()));
            }
        }
        s.resample = i + 1 < n;
        if (s.resample) HEARTH_RETURN_IF_ERROR(conv(p + ".downsamplers.0.conv", out_ch, out_ch, 3, &s.resample_conv));
    }
    const int top = c.block_out_channels.back();
    HEARTH_RETURN_IF_ERROR(resnet("mid_block.resnets.0", top, top, &mid1_));
    HEARTH_RETURN_IF_ERROR(transformer("mid_block.attentions.0", top, c.heads.back(), c.transformer_layers.back(), &mid_attn_));
    HEARTH_RETURN_IF_ERROR(resnet("mid_block.resnets.1", top, top, &mid2_));

    up_.resize(size_t(n));
    out_ch = top;
    for (int i = 0; i < n; ++i) {
        const int r = n - 1 - i;  // the resolution level, and the index of the reversed per-block lists
        const int prev_out = out_ch;
        out_ch = c.block_out_channels[size_t(r)];
        const int in_ch = c.block_out_channels[size_t(std::max(r - 1, 0))];
        Stage& s = up_[size_t(i)];
        const std::string p = "up_blocks." + std::to_string(i);
        for (int j = 0; j <= c.layers_per_block; ++j) {
            const int skip = j == c.layers_per_block ? in_ch : out_ch;
            const int res_in = j == 0 ? prev_out : out_ch;
            s.resnets.emplace_back();
            HEARTH_RETURN_IF_ERROR(resnet(p + ".resnets." + std::to_string(j), res_in + skip, out_ch, &s.resnets.back()));
            if (c.up_has_attention[size_t(i)]) {
                s.attns.emplace_back();
                HEARTH_RETURN_IF_ERROR(transformer(p + ".attentions." + std::to_string(j), out_ch, c.heads[size_t(r)],
                                                   c.transformer_layers[size_t(r)], &s.attns.back()));
            }
        }
        s.resample = i + 1 < n;
        if (s.resample) HEARTH_RETURN_IF_ERROR(conv(p + ".upsamplers.0.conv", out_ch, out_ch, 3, &s.resample_conv));
    }
    HEARTH_RETURN_IF_ERROR(norm("conv_norm_out", c.block_out_channels.front(), &norm_out_));
    return conv("conv_out", c.out_channels, c.block_out_channels.front(), 3, &conv_out_);
}

uint64_t UNet::activation_bytes(int h, int w, int n_ctx) const {
    const BufferSizes s = sizes(h, w, n_ctx);
    return s.slot * kSlots + s.skips + s.vectors + s.context;
}

void UNet::release_activations() {
    slots_buf_.reset();
    skip_buf_.reset();
    vec_buf_.reset();
    ctx_buf_.reset();
    alloc_h_ = alloc_w_ = alloc_ctx_ = 0;
}

uint64_t UNet::held_bytes() const {
    uint64_t n = 0;
    for (const BufferPtr* b : {&slots_buf_, &skip_buf_, &vec_buf_, &ctx_buf_})
        if (*b) n += (*b)->size();
    return n;
}

UNet::BufferSizes UNet::sizes(int h, int w, int n_ctx) const {
    const UNetConfig& c = cfg_;
    const int n = int(c.block_out_channels.size());
    // The widest pixel-row tensor of each resolution level: GEGLU's 4·ch halves, or a concatenation
    // of two levels' channels; the skip arena holds every skip activation of the down path.
    uint64_t slot = uint64_t(h) * w * uint64_t(std::max({c.in_channels, c.out_channels, 4 * c.block_out_channels.front()}));
    uint64_t skips = uint64_t(h) * w * uint64_t(c.block_out_channels.front());
    for (int L = 0, hl = h, wl = w; L < n; ++L, hl = (hl - 1) / 2 + 1, wl = (wl - 1) / 2 + 1) {
        const uint64_t px = uint64_t(hl) * uint64_t(wl);
        const int ch = c.block_out_channels[size_t(L)];
        const int lo = c.block_out_channels[size_t(std::max(L - 1, 0))], hi = c.block_out_channels[size_t(std::min(L + 1, n - 1))];
        slot = std::max(slot, px * uint64_t(std::max(4 * ch, 2 * std::max({lo, ch, hi}))));
        skips += px * uint64_t(ch) * uint64_t(c.layers_per_block);
        if (L + 1 < n) skips += uint64_t((hl - 1) / 2 + 1) * uint64_t((wl - 1) / 2 + 1) * uint64_t(ch);  // the downsampled activation
    }
    slot = std::max(slot, uint64_t(n_ctx) * uint64_t(std::max(c.cross_attention_dim, max_channels())));
    BufferSizes s;
    s.slot = (slot * 4 + 255) / 256 * 256;
    s.skips = skips * 4 + 256;
    s.vector_stride = (uint64_t(std::max(c.time_embed_dim(), max_channels())) * 4 + 255) / 256 * 256;
    s.vectors = 3 * s.vector_stride;  // temb, SiLU(temb), the folded time bias
    s.context = uint64_t(n_ctx) * uint64_t(c.cross_attention_dim) * 4 + 256;
    return s;
}

Status UNet::alloc(int h, int w, int n_ctx) {
    if (h == alloc_h_ && w == alloc_w_ && n_ctx <= alloc_ctx_) return Status();
    const UNetConfig& c = cfg_;
    const BufferSizes s = sizes(h, w, n_ctx);
    slot_bytes_ = size_t(s.slot);
    slots_buf_.reset();
    skip_buf_.reset();
    auto sb = be_.alloc(slot_bytes_ * kSlots, BufferUsage::Activations);
    if (!sb.ok()) return make_error("the UNet needs " + std::to_string((slot_bytes_ * kSlots) >> 20) + " MiB of activations: " + sb.message());
    auto kb = be_.alloc(size_t(s.skips), BufferUsage::Activations);
    if (!kb.ok()) return kb.status();
    auto vb = be_.alloc(size_t(s.vectors), BufferUsage::Activations);
    if (!vb.ok()) return vb.status();
    auto cb = be_.alloc(size_t(s.context), BufferUsage::Activations);
    if (!cb.ok()) return cb.status();
    slots_buf_ = std::move(*sb);
    skip_buf_ = std::move(*kb);
    vec_buf_ = std::move(*vb);
    ctx_buf_ = std::move(*cb);
    const int T = c.time_embed_dim(), maxch = max_channels();
    const size_t vstride = size_t(s.vector_stride);
    temb_ = make_tensor(vec_buf_.get(), 0, GgmlType::F32, 1, T);
    semb_ = make_tensor(vec_buf_.get(), vstride, GgmlType::F32, 1, T);
    tbias_ = make_tensor(vec_buf_.get(), 2 * vstride, GgmlType::F32, 1, maxch);
    alloc_h_ = h;
    alloc_w_ = w;
    alloc_ctx_ = n_ctx;
    return Status();
}

Tensor UNet::slot(int i, int64_t rows, int64_t cols) const {
    return make_tensor(slots_buf_.get(), size_t(i) * slot_bytes_, GgmlType::F32, rows, cols);
}

// ResnetBlock2D (resnet_block.h) with the projected time embedding folded into conv1's bias.
int UNet::resnet(const ResnetBlock& r, int x, int h, int w) {
    // A view of exactly cout values (its byte size is what uploads and copies move).
    const Tensor tb = make_tensor(vec_buf_.get(), tbias_.offset, GgmlType::F32, 1, r.cout);
    be_.matmul(r.time_w, semb_, tb, &r.time_b);
    be_.add(tb, r.c1.b, tb);
    const int a = (x + 1) % kSlots, b = (x + 2) % kSlots;
    run_resnet(be_, r, h, w, cfg_.norm_num_groups, cfg_.norm_eps, slot(x, int64_t(h) * w, r.cin), slots_buf_.get(),
               size_t(a) * slot_bytes_, slots_buf_.get(), size_t(b) * slot_bytes_, &tb);
    return a;
}

// Transformer2DModel: GN, proj_in, BasicTransformerBlocks (LN → self-attention, LN → cross-
// attention to the text, LN → GEGLU feed-forward, each added back), proj_out, + the input; in place.
void UNet::transformer(const Transformer& tr, int x, int h, int w, const Tensor& ctx) {
    const int64_t px = int64_t(h) * w, ch = tr.ch, nc = ctx.rows;
    auto s = [&](int k, int64_t rows, int64_t cols) { return slot((x + k) % kSlots, rows, cols); };
    const Tensor R = slot(x, px, ch), N = s(1, px, ch), X = s(2, px, ch), H = s(3, px, ch), Q = s(4, px, ch), K = s(5, px, ch),
                 V = s(6, px, ch), O = s(7, px, ch), VAL = s(8, px, 4 * ch), GATE = s(9, px, 4 * ch);
    const float scale = 1.0f / std::sqrt(float(ch / tr.heads));
    be_.group_norm(R, cfg_.norm_num_groups, tr.norm.w, tr.norm.b, kTransformerNormEps, N);
    be_.matmul(tr.proj_in, N, X, &tr.proj_in_b);
    const Tensor Kc = s(5, nc, ch), Vc = s(6, nc, ch);
    for (const Block& B : tr.blocks) {
        be_.layer_norm(X, B.n1.w, B.n1.b, kLayerNormEps, H);
        be_.matmul(B.q1, H, Q);
        be_.matmul(B.k1, H, K);
        be_.matmul(B.v1, H, V);
        be_.attention_qkv(Q, K, V, tr.heads, scale, false, O);
        be_.matmul(B.o1, O, H, &B.o1b);
        be_.add(X, H, X);
        be_.layer_norm(X, B.n2.w, B.n2.b, kLayerNormEps, H);
        be_.matmul(B.q2, H, Q);
        be_.matmul(B.k2, ctx, Kc);
        be_.matmul(B.v2, ctx, Vc);
        be_.attention_qkv(Q, Kc, Vc, tr.heads, scale, false, O);
        be_.matmul(B.o2, O, H, &B.o2b);
        be_.add(X, H, X);
        be_.layer_norm(X, B.n3.w, B.n3.b, kLayerNormEps, H);
        be_.matmul(B.ff_val, H, VAL, &B.ff_val_b);
        be_.matmul(B.ff_gate, H, GATE, &B.ff_gate_b);
        be_.activate(GATE, Activation::Gelu);
        be_.mul(VAL, GATE, VAL);
        be_.matmul(B.ff_out, VAL, H, &B.ff_out_b);
        be_.add(X, H, X);
    }
    be_.matmul(tr.proj_out, X, N, &tr.proj_out_b);
    be_.add(R, N, R);
}

Result<std::vector<float>> UNet::predict(const std::vector<float>& latents, int h, int w, double t,
                                         const std::vector<float>& context, int n_ctx) {
    const UNetConfig& c = cfg_;
    if (h < 1 || w < 1 || h > 1024 || w > 1024)
        return make_error("the UNet takes latents of 1 to 1024 a side, got " + std::to_string(h) + "×" + std::to_string(w));
    if (latents.size() != size_t(c.in_channels) * size_t(h) * size_t(w))
        return make_error("the latents hold " + std::to_string(latents.size()) + " values, " + std::to_string(c.in_channels) + "×" +
                          std::to_string(h) + "×" + std::to_string(w) + " expected");
    if (n_ctx < 1 || n_ctx > 1024 || context.size() != size_t(n_ctx) * size_t(c.cross_attention_dim))
        return make_error("the text context must be 1 to 1024 rows of " + std::to_string(c.cross_attention_dim) + " values");
    if (!std::isfinite(t) || t < 0) return make_error("the timestep must be a finite number >= 0");
    HEARTH_RETURN_IF_ERROR(alloc(h, w, n_ctx));

    // Sinusoidal timestep embedding (diffusers' get_timestep_embedding, in float32 as it computes it).
    const int C0 = c.block_out_channels.front(), half = C0 / 2;
    std::vector<float> sincos(size_t(C0), 0.0f);
    for (int i = 0; i < half; ++i) {
        const float exponent = -std::log(10000.0f) * float(i) / float(half - c.freq_shift);
        const float arg = float(t) * std::exp(exponent);
        sincos[size_t(c.flip_sin_to_cos ? i : half + i)] = std::cos(arg);
        sincos[size_t(c.flip_sin_to_cos ? half + i : i)] = std::sin(arg);
    }
    const Tensor emb_in = make_tensor(vec_buf_.get(), tbias_.offset, GgmlType::F32, 1, C0);
    HEARTH_RETURN_IF_ERROR(be_.upload(emb_in, sincos.data()));
    be_.matmul(time_w1_, emb_in, semb_, &time_b1_);
    be_.activate(semb_, Activation::Silu);
    be_.matmul(time_w2_, semb_, temb_, &time_b2_);
    be_.copy(temb_, semb_);
    be_.activate(semb_, Activation::Silu);  // every resnet projects SiLU(emb)

    const Tensor ctx = make_tensor(ctx_buf_.get(), 0, GgmlType::F32, n_ctx, c.cross_attention_dim);
    HEARTH_RETURN_IF_ERROR(be_.upload(ctx, context.data()));

    int64_t px = int64_t(h) * w;
    std::vector<float> rows(latents.size());
    for (int64_t ch = 0; ch < c.in_channels; ++ch)
        for (int64_t p = 0; p < px; ++p) rows[size_t(p * c.in_channels + ch)] = latents[size_t(ch * px + p)];
    HEARTH_RETURN_IF_ERROR(be_.upload(slot(0, px, c.in_channels), rows.data()));
    int x = 1;
    run_conv(be_, conv_in_, slot(0, px, c.in_channels), h, w, 1, slot(x, px, C0));

    // Skip activations, a stack in their own arena.
    struct Skip { Tensor t; int h, w; };
    std::vector<Skip> skips;
    size_t skip_top = 0;
    auto push = [&](int from, int64_t ch) {
        const Tensor dst = make_tensor(skip_buf_.get(), skip_top, GgmlType::F32, px, ch);
        be_.copy(slot(from, px, ch), dst);
        skip_top += dst.bytes();
        skips.push_back({dst, h, w});
    };
    push(x, C0);
    int cur_ch = C0;
    for (const Stage& s : down_) {
        for (size_t j = 0; j < s.resnets.size(); ++j) {
            x = resnet(s.resnets[j], x, h, w);
            cur_ch = s.resnets[j].cout;
            if (!s.attns.empty()) transformer(s.attns[j], x, h, w, ctx);
            push(x, cur_ch);
        }
        if (s.resample) {
            // 3×3, stride 2, padding 1: an odd side rounds up (diffusers keeps the skip's size
            // and upsamples back to it on the way up).
            const int y = (x + 1) % kSlots, nh = (h - 1) / 2 + 1, nw = (w - 1) / 2 + 1;
            run_conv(be_, s.resample_conv, slot(x, px, cur_ch), h, w, 2, slot(y, int64_t(nh) * nw, cur_ch));
            x = y;
            h = nh;
            w = nw;
            px = int64_t(h) * w;
            push(x, cur_ch);
        }
    }
    x = resnet(mid1_, x, h, w);
    transformer(mid_attn_, x, h, w, ctx);
    x = resnet(mid2_, x, h, w);
    for (const Stage& s : up_) {
        for (size_t j = 0; j < s.resnets.size(); ++j) {
            const Tensor skip = skips.back().t;
            skips.pop_back();
            const int y = (x + 3) % kSlots;  // past the resnet's own temporaries of the input slot
            const Tensor cat = slot(y, px, cur_ch + skip.cols);
            be_.concat_cols(slot(x, px, cur_ch), skip, cat);
            x = resnet(s.resnets[j], y, h, w);
            cur_ch = s.resnets[j].cout;
            if (!s.attns.empty()) transformer(s.attns[j], x, h, w, ctx);
        }
        if (s.resample) {
            // Back to the size of the skip activation that comes next (2× unless a side was odd).
            const int big = (x + 1) % kSlots, y = (x + 2) % kSlots;
            const int oh = skips.empty() ? 2 * h : skips.back().h, ow = skips.empty() ? 2 * w : skips.back().w;
            be_.upsample_nearest(slot(x, px, cur_ch), h, w, oh, ow, slot(big, int64_t(oh) * ow, cur_ch));
            h = oh;
            w = ow;
            px = int64_t(h) * w;
            run_conv(be_, s.resample_conv, slot(big, px, cur_ch), h, w, 1, slot(y, px, cur_ch));
            x = y;
        }
    }
    const int nrm = (x + 1) % kSlots, out = (x + 2) % kSlots;
    be_.group_norm(slot(x, px, cur_ch), c.norm_num_groups, norm_out_.w, norm_out_.b, c.norm_eps, slot(nrm, px, cur_ch));
    be_.activate(slot(nrm, px, cur_ch), Activation::Silu);
    run_conv(be_, conv_out_, slot(nrm, px, cur_ch), h, w, 1, slot(out, px, c.out_channels));
    std::vector<float> got(size_t(px) * size_t(c.out_channels)), result(got.size());
    HEARTH_RETURN_IF_ERROR(be_.download(slot(out, px, c.out_channels), got.data()));
    for (int64_t p = 0; p < px; ++p)
        for (int64_t ch = 0; ch < c.out_channels; ++ch) result[size_t(ch * px + p)] = got[size_t(p * c.out_channels + ch)];
    return result;
}

}  // namespace hearth::diffusion
