#include "engine/diffusion/vae_encoder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/diffusion/diffusion_weights.h"

namespace hearth::diffusion {

namespace {

constexpr float kEps = 1e-6f;  // diffusers' resnet_eps for the VAE's group norms
constexpr int kSlots = 5;      // x, and up to four temporaries (attention: norm/q/k/v)

// diffusers' Downsample2D with padding 0 pads (0, 1, 0, 1) and convolves 3×3 at stride 2.
Conv2dGeometry downsample_geometry(int h, int w) {
    Conv2dGeometry g{h, w, 3, 2, 0};
    g.pad_end = 1;
    return g;
}

}  // namespace

VaeEncoder::VaeEncoder(Backend& be) : be_(be) {}
VaeEncoder::~VaeEncoder() = default;
uint64_t VaeEncoder::weight_bytes() const { return weights_ ? weights_->bytes() : 0; }

Result<std::unique_ptr<VaeEncoder>> VaeEncoder::open(const std::string& dir, Backend& be) {
    auto cfg = read_vae_config((std::filesystem::path(dir) / "config.json").string());
    if (!cfg.ok()) return cfg.status();
    auto wt = DiffusionWeights::open_component(dir, "diffusion_pytorch_model", be, kOps, "VAE encoder");
    if (!wt.ok()) return wt.status();
    return create(*cfg, std::move(*wt), be);
}

Result<std::unique_ptr<VaeEncoder>> VaeEncoder::create(const VaeConfig& cfg, std::unique_ptr<DiffusionWeights> wt, Backend& be) {
    std::unique_ptr<VaeEncoder> e(new VaeEncoder(be));
    e->cfg_ = cfg;
    if (cfg.force_upcast && !is_host_backend(be)) wt->set_upcast(true);  // see VaeConfig::force_upcast
    HEARTH_RETURN_IF_ERROR(e->load(*wt));
    HEARTH_RETURN_IF_ERROR(be.synchronize());
    wt->close_file();
    e->weights_ = std::move(wt);
    return e;
}

Status VaeEncoder::load(DiffusionWeights& wt) {
    const VaeConfig& c = cfg_;
    const int n = int(c.block_out_channels.size()), top = c.block_out_channels.back(), L = c.latent_channels;
    HEARTH_RETURN_IF_ERROR(load_conv(wt, "encoder.conv_in", c.block_out_channels.front(), c.in_channels, 3, &conv_in_));
    down_.resize(size_t(n));
    int in_ch = c.block_out_channels.front();
    for (int i = 0; i < n; ++i) {
        const int out_ch = c.block_out_channels[size_t(i)];
        DownBlock& d = down_[size_t(i)];
        const std::string p = "encoder.down_blocks." + std::to_string(i);
        d.resnets.resize(size_t(c.layers_per_block));
        for (int j = 0; j < c.layers_per_block; ++j)
            HEARTH_RETURN_IF_ERROR(load_resnet(wt, p + ".resnets." + std::to_string(j), j == 0 ? in_ch : out_ch, out_ch, 0, &d.resnets[size_t(j)]));
        d.downsample = i + 1 < n;
        if (d.downsample) HEARTH_RETURN_IF_ERROR(load_conv(wt, p + ".downsamplers.0.conv", out_ch, out_ch, 3, &d.down_conv));
        in_ch = out_ch;
    }
    HEARTH_RETURN_IF_ERROR(load_resnet(wt, "encoder.mid_block.resnets.0", top, top, 0, &mid1_));
    if (c.mid_block_add_attention) HEARTH_RETURN_IF_ERROR(load_vae_attention(wt, "encoder.mid_block.attentions.0.", top, &mid_attn_));
    HEARTH_RETURN_IF_ERROR(load_resnet(wt, "encoder.mid_block.resnets.1", top, top, 0, &mid2_));
    HEARTH_RETURN_IF_ERROR(load_norm(wt, "encoder.conv_norm_out", top, &norm_out_));
    HEARTH_RETURN_IF_ERROR(load_conv(wt, "encoder.conv_out", 2 * L, top, 3, &conv_out_));
    if (c.use_quant_conv) HEARTH_RETURN_IF_ERROR(load_conv(wt, "quant_conv", 2 * L, 2 * L, 1, &quant_));
    return Status();
}

uint64_t VaeEncoder::activation_bytes(int height, int width) const {
    // The widest pixel-row tensor of the forward, kSlots of them.
    uint64_t h = uint64_t(height), w = uint64_t(width);
    uint64_t most = h * w * uint64_t(std::max(cfg_.in_channels, cfg_.block_out_channels.front()));
    int in_ch = cfg_.block_out_channels.front();
    for (const DownBlock& d : down_) {
        for (const ResnetBlock& r : d.resnets) most = std::max(most, h * w * uint64_t(std::max(r.cin, r.cout)));
        if (d.downsample) {
            const Conv2dGeometry g = downsample_geometry(int(h), int(w));
            h = uint64_t(g.out_height());
            w = uint64_t(g.out_width());
        }
        in_ch = d.resnets.back().cout;
    }
    most = std::max(most, h * w * uint64_t(std::max(in_ch, 2 * cfg_.latent_channels)));
    return most * 4 * kSlots;
}

Tensor VaeEncoder::scratch(int i, int64_t rows, int64_t cols) const {
    return make_tensor(act_.get(), size_t(i) * slot_bytes_, GgmlType::F32, rows, cols);
}

Result<VaeEncoding> VaeEncoder::encode(const std::vector<float>& image, int height, int width) {
    const VaeConfig& c = cfg_;
    if (height < 8 || width < 8 || height % 8 || width % 8 || height > 8192 || width > 8192)
        return make_error("the VAE encodes images whose sides are multiples of 8 (8 to 8192), got " + std::to_string(width) + "×" +
                          std::to_string(height));
    const int64_t ic = c.in_channels;
    if (image.size() != size_t(ic) * size_t(height) * size_t(width))
        return make_error("the image holds " + std::to_string(image.size()) + " values, " + std::to_string(ic) + "×" +
                          std::to_string(height) + "×" + std::to_string(width) + " expected");
    const uint64_t need = activation_bytes(height, width);
    if (!act_ || act_->size() < need) {
        act_.reset();
        auto buf = be_.alloc(need, BufferUsage::Activations);
        if (!buf.ok()) return make_error("encoding a " + std::to_string(width) + "×" + std::to_string(height) + " image needs " +
                                         std::to_string(need >> 20) + " MiB of activations: " + buf.message());
        act_ = std::move(*buf);
    }
    slot_bytes_ = (need / kSlots) / 256 * 256;

    int h = height, w = width;
    int64_t px = int64_t(h) * w;
    std::vector<float> rows(image.size());
    for (int64_t ch = 0; ch < ic; ++ch)
        for (int64_t p = 0; p < px; ++p) rows[size_t(p * ic + ch)] = image[size_t(ch * px + p)];
    HEARTH_RETURN_IF_ERROR(be_.upload(scratch(0, px, ic), rows.data()));
    int cur = 1, ch = c.block_out_channels.front();
    run_conv(be_, conv_in_, scratch(0, px, ic), h, w, 1, scratch(cur, px, ch));
    auto others = [&](int k) { return (cur + k) % kSlots; };
    auto run_res = [&](const ResnetBlock& r) {
        diffusion::run_resnet(be_, r, h, w, c.norm_num_groups, kEps, scratch(cur, px, r.cin), act_.get(), size_t(others(1)) * slot_bytes_,
                              act_.get(), size_t(others(2)) * slot_bytes_, nullptr);
        cur = others(1);
        ch = r.cout;
    };
    for (const DownBlock& d : down_) {
        for (const ResnetBlock& r : d.resnets) run_res(r);
        if (d.downsample) {
            const Conv2dGeometry g = downsample_geometry(h, w);
            const int64_t opx = int64_t(g.out_height()) * g.out_width();
            be_.conv2d(scratch(cur, px, ch), d.down_conv.w, &d.down_conv.b, g, scratch(others(1), opx, ch));
            cur = others(1);
            h = g.out_height();
            w = g.out_width();
            px = opx;
        }
    }
    run_res(mid1_);
    if (c.mid_block_add_attention)
        run_vae_attention(be_, mid_attn_, c.norm_num_groups, kEps, scratch(cur, px, ch), scratch(others(1), px, ch),
                          scratch(others(2), px, ch), scratch(others(3), px, ch), scratch(others(4), px, ch));
    run_res(mid2_);
    const int64_t oc = 2 * int64_t(c.latent_channels);
    {
        const Tensor N = scratch(others(1), px, ch);
        be_.group_norm(scratch(cur, px, ch), c.norm_num_groups, norm_out_.w, norm_out_.b, kEps, N);
        be_.activate(N, Activation::Silu);
        run_conv(be_, conv_out_, N, h, w, 1, scratch(others(2), px, oc));
        cur = others(2);
    }
    if (c.use_quant_conv) {
        run_conv(be_, quant_, scratch(cur, px, oc), h, w, 1, scratch(others(1), px, oc));
        cur = others(1);
    }
    std::vector<float> out(size_t(px * oc));
    HEARTH_RETURN_IF_ERROR(be_.download(scratch(cur, px, oc), out.data()));
    VaeEncoding e;
    e.h = h;
    e.w = w;
    const int64_t L = c.latent_channels;
    e.mean.resize(size_t(L * px));
    e.logvar.resize(size_t(L * px));
    for (int64_t p = 0; p < px; ++p)
        for (int64_t k = 0; k < L; ++k) {
            e.mean[size_t(k * px + p)] = out[size_t(p * oc + k)];
            // DiagonalGaussianDistribution clamps the log-variance to [-30, 20].
            e.logvar[size_t(k * px + p)] = std::clamp(out[size_t(p * oc + L + k)], -30.0f, 20.0f);
        }
    return e;
}

}  // namespace hearth::diffusion
