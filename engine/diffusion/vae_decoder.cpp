#include "engine/diffusion/vae_decoder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/diffusion/diffusion_weights.h"
#include "engine/util/json.h"

namespace hearth::diffusion {

namespace {

constexpr float kEps = 1e-6f;  // diffusers' resnet_eps for the VAE's group norms
constexpr int kSlots = 5;      // x, and up to four temporaries (attention: norm/q/k/v/out)

}  // namespace

Result<VaeConfig> read_vae_config(const std::string& path) {
    auto doc = json::parse_file(path);
    if (!doc.ok()) return doc.status();
    const json::Value& j = *doc;
    auto bad = [&](const std::string& what) { return make_error(path + ": " + what); };
    VaeConfig c;
    if (const std::string cls = j["_class_name"].as_string(); !cls.empty() && cls != "AutoencoderKL")
        return bad("_class_name '" + cls + "' is not AutoencoderKL");
    for (const json::Value& v : j["block_out_channels"].as_array()) {
        if (!v.is_int() || v.as_int() < 1 || v.as_int() > 4096) return bad("block_out_channels holds a value that is not a channel count");
        c.block_out_channels.push_back(int(v.as_int()));
    }
    if (c.block_out_channels.empty() || c.block_out_channels.size() > 8) return bad("block_out_channels must list 1 to 8 channel counts");
    auto size = [&](const char* key, int* out, int lo, int hi) -> Status {
        const json::Value* v = j.find(key);
        if (!v) return Status();
        if (!v->is_int() || v->as_int() < lo || v->as_int() > hi)
            return bad(std::string(key) + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
        *out = int(v->as_int());
        return Status();
    };
    HEARTH_RETURN_IF_ERROR(size("layers_per_block", &c.layers_per_block, 1, 16));
    HEARTH_RETURN_IF_ERROR(size("norm_num_groups", &c.norm_num_groups, 1, 1024));
    HEARTH_RETURN_IF_ERROR(size("latent_channels", &c.latent_channels, 1, 64));
    HEARTH_RETURN_IF_ERROR(size("out_channels", &c.out_channels, 1, 64));
    HEARTH_RETURN_IF_ERROR(size("in_channels", &c.in_channels, 1, 64));
    for (int ch : c.block_out_channels)
        if (ch % c.norm_num_groups) return bad("block_out_channels must be multiples of norm_num_groups");
    if (const json::Value* v = j.find("scaling_factor"); v && v->is_number()) c.scaling_factor = float(v->as_double());
    if (!(c.scaling_factor > 0)) return bad("scaling_factor must be positive");
    if (const json::Value* v = j.find("shift_factor"); v && !v->is_null()) return bad("shift_factor is not supported (an SD3/Flux VAE)");
    if (const json::Value* v = j.find("use_post_quant_conv"); v && v->is_bool()) c.use_post_quant_conv = v->as_bool();
    if (const json::Value* v = j.find("use_quant_conv"); v && v->is_bool()) c.use_quant_conv = v->as_bool();
    if (const json::Value* v = j.find("force_upcast"); v && v->is_bool()) c.force_upcast = v->as_bool();
    if (const json::Value* v = j.find("mid_block_add_attention"); v && v->is_bool()) c.mid_block_add_attention = v->as_bool();
    if (const std::string act = j["act_fn"].as_string(); !act.empty() && act != "silu") return bad("act_fn '" + act + "' is not supported (silu)");
    for (const json::Value& t : j["up_block_types"].as_array())
        if (t.as_string() != "UpDecoderBlock2D") return bad("up block '" + t.as_string() + "' is not supported (UpDecoderBlock2D)");
    for (const json::Value& t : j["down_block_types"].as_array())
        if (t.as_string() != "DownEncoderBlock2D") return bad("down block '" + t.as_string() + "' is not supported (DownEncoderBlock2D)");
    return c;
}

VaeDecoder::VaeDecoder(Backend& be) : be_(be) {}
VaeDecoder::~VaeDecoder() = default;
uint64_t VaeDecoder::weight_bytes() const { return weights_ ? weights_->bytes() : 0; }

Result<std::unique_ptr<VaeDecoder>> VaeDecoder::open(const std::string& dir, Backend& be) {
    auto cfg = read_vae_config((std::filesystem::path(dir) / "config.json").string());
    if (!cfg.ok()) return cfg.status();
    auto wt = DiffusionWeights::open_component(dir, "diffusion_pytorch_model", be,
                                               VaeDecoder::kOps, "VAE");
    if (!wt.ok()) return wt.status();
    return create(*cfg, std::move(*wt), be);
}

Result<std::unique_ptr<VaeDecoder>> VaeDecoder::create(const VaeConfig& cfg, std::unique_ptr<DiffusionWeights> wt, Backend& be) {
    std::unique_ptr<VaeDecoder> d(new VaeDecoder(be));
    d->cfg_ = cfg;
    if (cfg.force_upcast && !is_host_backend(be)) wt->set_upcast(true);
    HEARTH_RETURN_IF_ERROR(d->load(*wt));
    HEARTH_RETURN_IF_ERROR(be.synchronize());
    wt->close_file();
    d->weights_ = std::move(wt);
    return d;
}

VaeConfig sd15_vae_config() {
    VaeConfig c;
    c.block_out_channels = {128, 256, 512, 512};
    return c;
}

Status VaeDecoder::load(DiffusionWeights& wt) {
    const VaeConfig& c = cfg_;
    auto conv = [&](const std::string& name, int cout, int cin, int k, ConvLayer* out) { return load_conv(wt, name, cout, cin, k, out); };
    auto norm = [&](const std::string& name, int ch, NormLayer* out) { return load_norm(wt, name, ch, out); };
    auto resnet = [&](const std::string& p, int cin, int cout, ResnetBlock* r) { return load_resnet(wt, p, cin, cout, 0, r); };
    const int top = c.block_out_channels.back();
    if (c.use_post_quant_conv) HEARTH_RETURN_IF_ERROR(conv("post_quant_conv", c.latent_channels, c.latent_channels, 1, &post_quant_));
    HEARTH_RETURN_IF_ERROR(conv("decoder.conv_in", top, c.latent_channels, 3, &conv_in_));
    HEARTH_RETURN_IF_ERROR(resnet("decoder.mid_block.resnets.0", top, top, &mid1_));
    HEARTH_RETURN_IF_ERROR(resnet("decoder.mid_block.resnets.1", top, top, &mid2_));
    if (c.mid_block_add_attention) HEARTH_RETURN_IF_ERROR(load_vae_attention(wt, "decoder.mid_block.attentions.0.", top, &mid_attn_));
    const int n_up = int(c.block_out_channels.size());
    int out_ch = top;
    up_.resize(size_t(n_up));
    for (int i = 0; i < n_up; ++i) {
        const int in_ch = out_ch;
        out_ch = c.block_out_channels[size_t(n_up - 1 - i)];
        UpBlock& u = up_[size_t(i)];
        const std::string p = "decoder.up_blocks." + std::to_string(i);
        u.resnets.resize(size_t(c.layers_per_block + 1));
        for (int j = 0; j <= c.layers_per_block; ++j)
            HEARTH_RETURN_IF_ERROR(resnet(p + ".resnets." + std::to_string(j), j == 0 ? in_ch : out_ch, out_ch, &u.resnets[size_t(j)]));
        u.upsample = i + 1 < n_up;
        if (u.upsample) HEARTH_RETURN_IF_ERROR(conv(p + ".upsamplers.0.conv", out_ch, out_ch, 3, &u.up_conv));
    }
    HEARTH_RETURN_IF_ERROR(norm("decoder.conv_norm_out", c.block_out_channels.front(), &norm_out_));
    return conv("decoder.conv_out", c.out_channels, c.block_out_channels.front(), 3, &conv_out_);
}

uint64_t VaeDecoder::activation_bytes(int h, int w) const {
    // The largest pixel-row tensor of the forward: every stage's pixels × channels, including the
    // upsampled image before its conv; kSlots of them.
    uint64_t px = uint64_t(h) * uint64_t(w), most = px * uint64_t(std::max(cfg_.latent_channels, cfg_.block_out_channels.back()));
    for (const UpBlock& u : up_) {
        for (const ResnetBlock& r : u.resnets) most = std::max(most, px * uint64_t(std::max(r.cin, r.cout)));
        if (u.upsample) px *= 4;
        most = std::max(most, px * uint64_t(u.resnets.back().cout));
    }
    most = std::max(most, px * uint64_t(cfg_.out_channels));
    return most * 4 * kSlots;
}

uint64_t VaeDecoder::largest_tensor_bytes(int h, int w) const { return activation_bytes(h, w) / kSlots; }

Tensor VaeDecoder::scratch(int i, int64_t rows, int64_t cols) const {
    return make_tensor(act_.get(), size_t(i) * slot_bytes_, GgmlType::F32, rows, cols);
}

Result<std::vector<float>> VaeDecoder::decode(const std::vector<float>& latents, int h, int w) {
    const VaeConfig& c = cfg_;
    if (h < 1 || w < 1 || h > 1024 || w > 1024) return make_error("latent size " + std::to_string(h) + "×" + std::to_string(w) + " is out of range");
    const int64_t lc = c.latent_channels;
    if (latents.size() != size_t(lc * h * w))
        return make_error("the latents hold " + std::to_string(latents.size()) + " values, " + std::to_string(lc) + "×" +
                          std::to_string(h) + "×" + std::to_string(w) + " expected");
    const uint64_t need = activation_bytes(h, w);
    if (!act_ || act_->size() < need) {
        act_.reset();
        auto buf = be_.alloc(need, BufferUsage::Activations);
        if (!buf.ok()) return make_error("decoding a " + std::to_string(8 * w) + "×" + std::to_string(8 * h) + " image needs " +
                                         std::to_string(need >> 20) + " MiB of activations: " + buf.message());
        act_ = std::move(*buf);
    }
    slot_bytes_ = (need / kSlots) / 256 * 256;

    // [c][h][w] → pixel rows, divided by the scaling factor as the pipeline does before decoding.
    int64_t px = int64_t(h) * w;
    std::vector<float> rows(latents.size());
    for (int64_t ch = 0; ch < lc; ++ch)
        for (int64_t p = 0; p < px; ++p) rows[size_t(p * lc + ch)] = latents[size_t(ch * px + p)] / c.scaling_factor;
    int cur = 0;
    Tensor x = scratch(0, px, lc);
    HEARTH_RETURN_IF_ERROR(be_.upload(x, rows.data()));
    if (c.use_post_quant_conv) {
        Tensor y = scratch(1, px, lc);
        run_conv(be_, post_quant_, x, h, w, 1, y);
        cur = 1;
    }
    const int top = c.block_out_channels.back();
    {
        Tensor y = scratch((cur + 1) % kSlots, px, top);
        run_conv(be_, conv_in_, scratch(cur, px, lc), h, w, 1, y);
        cur = (cur + 1) % kSlots;
    }
    // Each step reads slot `cur` and leaves its result in a slot it returns.
    auto others = [&](int k) { return (cur + k) % kSlots; };
    auto run_resnet = [&](const ResnetBlock& r) {
        const Tensor X = scratch(cur, px, r.cin);
        diffusion::run_resnet(be_, r, h, w, c.norm_num_groups, kEps, X, act_.get(), size_t(others(1)) * slot_bytes_, act_.get(),
                              size_t(others(2)) * slot_bytes_, nullptr);
        cur = others(1);
    };
    run_resnet(mid1_);
    if (c.mid_block_add_attention)
        run_vae_attention(be_, mid_attn_, c.norm_num_groups, kEps, scratch(cur, px, top), scratch(others(1), px, top),
                          scratch(others(2), px, top), scratch(others(3), px, top), scratch(others(4), px, top));
    run_resnet(mid2_);
    for (const UpBlock& u : up_) {
        for (const ResnetBlock& r : u.resnets) run_resnet(r);
        if (u.upsample) {
            const int ch = u.resnets.back().cout;
            Tensor big = scratch(others(1), px * 4, ch);
            be_.upsample_nearest(scratch(cur, px, ch), h, w, 2 * h, 2 * w, big);
            h *= 2;
            w *= 2;
            px *= 4;
            Tensor y = scratch(others(2), px, ch);
            run_conv(be_, u.up_conv, big, h, w, 1, y);
            cur = others(2);
        }
    }
    const int c0 = c.block_out_channels.front();
    {
        const Tensor X = scratch(cur, px, c0), N = scratch(others(1), px, c0);
        be_.group_norm(X, c.norm_num_groups, norm_out_.w, norm_out_.b, kEps, N);
        be_.activate(N, Activation::Silu);
        Tensor y = scratch(others(2), px, c.out_channels);
        run_conv(be_, conv_out_, N, h, w, 1, y);
        cur = others(2);
    }
    const int64_t oc = c.out_channels;
    std::vector<float> out_rows(size_t(px * oc)), image(size_t(px * oc));
    HEARTH_RETURN_IF_ERROR(be_.download(scratch(cur, px, oc), out_rows.data()));
    for (int64_t p = 0; p < px; ++p)
        for (int64_t ch = 0; ch < oc; ++ch) image[size_t(ch * px + p)] = out_rows[size_t(p * oc + ch)];
    return image;
}

Result<std::vector<float>> VaeDecoder::decode_tiled(const std::vector<float>& latents, int h, int w, int tile, float overlap) {
    const int64_t lc = cfg_.latent_channels, C = cfg_.out_channels;
    if (latents.size() != size_t(lc * h * w)) return make_error("the latents hold " + std::to_string(latents.size()) + " values, " +
                                                                std::to_string(lc * h * w) + " expected");
    // diffusers' integer arithmetic: int(tile · (1 − overlap)) latents between tiles,
    // int(8 tile · overlap) pixels blended, tiles cropped to 8 tile minus that.
    const int stride = int(float(tile) * (1.0f - overlap)), blend = int(float(8 * tile) * overlap), limit = 8 * tile - blend;
    if (tile < 1 || stride < 1 || blend < 0) return make_error("VAE tiles of " + std::to_string(tile) + " latents with overlap " +
                                                              std::to_string(overlap) + " do not advance");
    struct Tile { int h = 0, w = 0; std::vector<float> px; };  // [C][h][w]
    std::vector<std::vector<Tile>> rows;
    for (int i = 0; i < h; i += stride) {
        rows.emplace_back();
        for (int j = 0; j < w; j += stride) {
            const int th = std::min(tile, h - i), tw = std::min(tile, w - j);
            std::vector<float> part(size_t(lc * th * tw));
            for (int64_t c = 0; c < lc; ++c)
                for (int y = 0; y < th; ++y)
                    std::copy_n(&latents[size_t((c * h + i + y) * w + j)], tw, &part[size_t((c * th + y) * tw)]);
            auto d = decode(part, th, tw);
            if (!d.ok()) return d.status();
            rows.back().push_back(Tile{8 * th, 8 * tw, std::move(*d)});
        }
    }
    // Blend and crop in diffusers' order, in place: a tile blends with its upper and left
    // neighbours as those neighbours were left by their own blending.
    const int H = 8 * h, W = 8 * w;
    std::vector<float> out(size_t(C) * size_t(H) * size_t(W));
    for (size_t i = 0; i < rows.size(); ++i)
        for (size_t j = 0; j < rows[i].size(); ++j) {
            Tile& b = rows[i][j];
            auto at = [&](Tile& t, int64_t c, int y, int x) -> float& { return t.px[size_t((c * t.h + y) * t.w + x)]; };
            if (i > 0) {
                Tile& a = rows[i - 1][j];
                const int e = std::min({a.h, b.h, blend});
                for (int64_t c = 0; c < C; ++c)
                    for (int y = 0; y < e; ++y) {
                        const float wa = float(1.0 - double(y) / e), wb = float(double(y) / e);
                        for (int x = 0; x < b.w; ++x) at(b, c, y, x) = at(a, c, a.h - e + y, x) * wa + at(b, c, y, x) * wb;
                    }
            }
            if (j > 0) {
                Tile& a = rows[i][j - 1];
                const int e = std::min({a.w, b.w, blend});
                for (int64_t c = 0; c < C; ++c)
                    for (int y = 0; y < b.h; ++y)
                        for (int x = 0; x < e; ++x) {
                            const float wa = float(1.0 - double(x) / e), wb = float(double(x) / e);
                            at(b, c, y, x) = at(a, c, y, a.w - e + x) * wa + at(b, c, y, x) * wb;
                        }
            }
            const int y0 = int(i) * 8 * stride, x0 = int(j) * 8 * stride;
            const int ch = std::min(limit, b.h), cw = std::min(limit, b.w);
            for (int64_t c = 0; c < C; ++c)
                for (int y = 0; y < ch && y0 + y < H; ++y)
                    for (int x = 0; x < cw && x0 + x < W; ++x) out[size_t((c * H + y0 + y) * W + x0 + x)] = at(b, c, y, x);
        }
    return out;
}

}  // namespace hearth::diffusion
