#include "engine/diffusion/pipeline.h"

#include <algorithm>
#include <filesystem>

#include "engine/diffusion/clip_prompt.h"
#include "engine/diffusion/clip_text_encoder.h"
#include "engine/diffusion/diffusion_weights.h"
#include "engine/diffusion/single_file.h"
#include "engine/diffusion/unet.h"
#include "engine/diffusion/vae_decoder.h"
#include "engine/safetensors/safetensors.h"
#include "engine/sampling/rng.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/json.h"

namespace hearth::diffusion {

Pipeline::~Pipeline() = default;

int Pipeline::latent_channels() const { return unet_->config().in_channels; }

namespace {

// What every pipeline must agree on, whichever way it was opened.
Status check_parts(const std::string& origin, const ClipTextEncoder& text, const UNet& unet, const VaeDecoder& vae) {
    if (text.config().hidden != unet.config().cross_attention_dim)
        return make_error(origin + ": the text encoder's width " + std::to_string(text.config().hidden) +
                          " is not the UNet's cross_attention_dim " + std::to_string(unet.config().cross_attention_dim));
    if (vae.config().latent_channels != unet.config().in_channels)
        return make_error(origin + ": the VAE's latent channels differ from the UNet's input channels");
    return Status();
}

}  // namespace

Result<std::unique_ptr<Pipeline>> Pipeline::open(const std::string& dir, Backend& be, const std::string& config_dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_regular_file(dir, ec)) return open_single_file(dir, be, config_dir);
    const std::string index = (fs::path(dir) / "model_index.json").string();
    if (!fs::is_regular_file(index, ec))
        return make_error(dir + ": not a diffusers pipeline folder (no model_index.json)");
    auto doc = json::parse_file(index);
    if (!doc.ok()) return doc.status();
    const std::string cls = (*doc)["_class_name"].as_string();
    if (cls != "StableDiffusionPipeline")
        return make_error(index + ": '" + cls + "' pipelines are not supported (StableDiffusionPipeline: SD 1.x, 2.x, SD-Turbo)");
    for (const char* part : {"tokenizer", "text_encoder", "unet", "vae", "scheduler"})
        if (!fs::is_directory(fs::path(dir) / part, ec)) return make_error(dir + ": the pipeline has no " + std::string(part) + "/ folder");
    std::unique_ptr<Pipeline> p(new Pipeline());
    p->be_ = &be;
    auto tok = tokenizer::Tokenizer::from_hf_dir((fs::path(dir) / "tokenizer").string());
    if (!tok.ok()) return tok.status();
    p->tokenizer_ = std::move(*tok);
    auto text = ClipTextEncoder::open((fs::path(dir) / "text_encoder").string(), be);
    if (!text.ok()) return text.status();
    p->text_ = std::move(*text);
    auto unet = UNet::open((fs::path(dir) / "unet").string(), be);
    if (!unet.ok()) return unet.status();
    p->unet_ = std::move(*unet);
    auto vae = VaeDecoder::open((fs::path(dir) / "vae").string(), be);
    if (!vae.ok()) return vae.status();
    p->vae_ = std::move(*vae);
    auto sched = read_schedule_config((fs::path(dir) / "scheduler" / "scheduler_config.json").string());
    if (!sched.ok()) return sched.status();
    p->schedule_ = *sched;
    HEARTH_RETURN_IF_ERROR(check_parts(dir, *p->text_, *p->unet_, *p->vae_));
    return p;
}

namespace {

// What a single-file checkpoint does not carry, for a family when no config folder is given: the
// configs of the model diffusers' from_single_file falls back to for it.
struct SingleFileDefaults {
    UNetConfig unet;
    VaeConfig vae;
    ClipTextConfig text;
    ScheduleConfig sched;
    std::string assumed;  // said in each run's warnings
};

SingleFileDefaults sd15_defaults() {
    SingleFileDefaults d{sd15_unet_config(), sd15_vae_config(), sd15_clip_text_config(), {}, ""};
    d.sched.class_name = "PNDMScheduler";
    d.sched.steps_offset = 1;  // stable-diffusion-v1-5's scheduler_config.json; the rest are the defaults
    return d;
}

// stabilityai/stable-diffusion-2-1 (diffusers' default for an OpenCLIP checkpoint): 768-pixel
// v-prediction. A checkpoint's own prediction type is not in the file (diffusers guesses it from a
// pickled global_step, which a .safetensors file lacks), so say what was assumed.
SingleFileDefaults sd21_defaults() {
    SingleFileDefaults d{sd21_unet_config(), sd15_vae_config(), sd21_clip_text_config(), {}, ""};
    d.sched.class_name = "DDIMScheduler";
    d.sched.steps_offset = 1;
    d.sched.prediction_type = "v_prediction";
    d.assumed = "an SD 2.x checkpoint without --config: assumed stable-diffusion-2-1's configs (v_prediction, 768 pixels); for SD 2.x base "
                "or SD-Turbo (epsilon) name a diffusers folder of the model with --config";
    return d;
}

}  // namespace

std::string checkpoint_tokenizer_dir(const std::string& file) {
    return (std::filesystem::path(file).parent_path() / "tokenizer").string();
}

bool has_clip_tokenizer(const std::string& dir) {
    std::error_code ec;
    return std::filesystem::is_regular_file(std::filesystem::path(dir) / "vocab.json", ec);
}

namespace {

// What opening a single-file checkpoint will use, decided from its header and the small config
// files only (no weights read): the family, the configs and the tokenizer's folder.
struct SingleFilePlan {
    bool sd2 = false;
    std::string family;  // for messages
    SingleFileDefaults d;
    std::string tok_dir;
};

Result<SingleFilePlan> plan_single_file(const std::string& file, const std::string& config_dir) {
    namespace fs = std::filesystem;
    const std::string ext = fs::path(file).extension().string();
    if (ext == ".ckpt" || ext == ".pt" || ext == ".bin")
        return make_error(file + ": a pickled checkpoint, which Hearth never unpickles (it can run code); use the .safetensors form");
    auto peek = safetensors::File::open(file);
    if (!peek.ok()) return peek.status();
    const safetensors::TensorInfo* conv_in = (*peek)->tensor("model.diffusion_model.input_blocks.0.0.weight");
    if (!conv_in) return make_error(file + ": not a Stable Diffusion checkpoint with the original key names (no model.diffusion_model.*)");
    if (conv_in->shape.size() != 4 || conv_in->shape[1] != 4)
        return make_error(file + ": the UNet takes " + (conv_in->shape.size() == 4 ? std::to_string(conv_in->shape[1]) : std::string("?")) +
                          " input channels (an inpainting or other variant), not 4");
    // The family, as diffusers tells it: OpenCLIP's text encoder means SD 2.x (and SD-Turbo).
    const bool sd2 = has_open_clip_text_encoder(**peek);
    if (!sd2 && !(*peek)->tensor("cond_stage_model.transformer.embeddings.token_embedding.weight") &&
        !(*peek)->tensor("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"))
        return make_error(file + ": the checkpoint has no text encoder Hearth knows (neither cond_stage_model.transformer.* of SD 1.x "
                          "nor cond_stage_model.model.* of SD 2.x)");
    peek->reset();
    const std::string family = sd2 ? "an SD 2.x checkpoint (OpenCLIP text encoder, GELU)" : "an SD 1.x checkpoint (OpenAI CLIP text encoder, quick-GELU)";

    // Configs, tokenizer and scheduler: from a diffusers folder of the same model when given (as
    // diffusers' from_single_file takes `config`), else the family's usual model's, with CLIP's
    // tokenizer/ beside the file.
    SingleFileDefaults d = sd2 ? sd21_defaults() : sd15_defaults();
    std::string tok_dir = checkpoint_tokenizer_dir(file);
    if (!config_dir.empty()) {
        auto u = read_unet_config((fs::path(config_dir) / "unet" / "config.json").string());
        if (!u.ok()) return u.status();
        auto v = read_vae_config((fs::path(config_dir) / "vae" / "config.json").string());
        if (!v.ok()) return v.status();
        auto t = read_clip_text_config((fs::path(config_dir) / "text_encoder" / "config.json").string());
        if (!t.ok()) return t.status();
        auto sc = read_schedule_config((fs::path(config_dir) / "scheduler" / "scheduler_config.json").string());
        if (!sc.ok()) return sc.status();
        d = {*u, *v, *t, *sc, ""};
        tok_dir = (fs::path(config_dir) / "tokenizer").string();
        // Tiny models of both families can share every shape, and configs of the other family
        // would then draw noise without an error; the text encoder's activation tells them apart
        // (OpenCLIP's is GELU, OpenAI CLIP's quick-GELU).
        const std::string same = ": does " + config_dir + " describe the same model?";
        if ((d.text.act == Activation::Gelu) != sd2)
            return make_error(file + ": " + family + ", but " + config_dir + "/text_encoder/config.json says hidden_act " +
                              (d.text.act == Activation::Gelu ? "gelu" : "quick_gelu") + same);
    }
    if (!has_clip_tokenizer(tok_dir))
        return make_error(file + ": a single-file checkpoint carries no tokenizer: put CLIP's tokenizer/ folder (vocab.json, merges.txt) "
                          "beside it, or name a diffusers folder of the same model for its configs and tokenizer");
    return SingleFilePlan{sd2, family, d, tok_dir};
}

}  // namespace

Result<SingleFileCheck> Pipeline::check_single_file(const std::string& file, const std::string& config_dir) {
    auto plan = plan_single_file(file, config_dir);
    if (!plan.ok()) return plan.status();
    return SingleFileCheck{plan->sd2};
}

Result<std::unique_ptr<Pipeline>> Pipeline::open_single_file(const std::string& file, Backend& be, const std::string& config_dir) {
    auto planned = plan_single_file(file, config_dir);
    if (!planned.ok()) return planned.status();
    const auto& [sd2, family, d, tok_dir] = *planned;

    std::unique_ptr<Pipeline> p(new Pipeline());
    p->be_ = &be;
    auto tok = tokenizer::Tokenizer::from_hf_dir(tok_dir);
    if (!tok.ok()) return tok.status();
    p->tokenizer_ = std::move(*tok);
    // A tensor missing or of another shape most often means configs of another model: say whose.
    // (Names, not the bindings: clang before 16 cannot capture a structured binding.)
    const std::string whose = config_dir.empty() ? " (" + family + ", read with " + (sd2 ? "SD 2.1" : "SD 1.5") + "'s configs)"
                                                 : " (" + family + "; does " + config_dir + " describe the same model?)";
    auto load_error = [&whose](const Status& s) {
        const std::string& m = s.message();
        if (m.find(" has shape ") == std::string::npos && m.find(" is missing") == std::string::npos) return s;
        return make_error(m + whose);
    };
    auto tw = DiffusionWeights::open_renamed(file, be, ClipTextEncoder::kOps, "text encoder", sd2 ? open_clip_text_names() : ldm_text_names(),
                                             "text_model.");
    if (!tw.ok()) return tw.status();
    auto text = ClipTextEncoder::create(d.text, std::move(*tw), be);
    if (!text.ok()) return load_error(text.status());
    p->text_ = std::move(*text);
    auto uw = DiffusionWeights::open_renamed(file, be, UNet::kOps, "UNet", ldm_unet_names(d.unet));
    if (!uw.ok()) return uw.status();
    auto unet = UNet::create(d.unet, std::move(*uw), be);
    if (!unet.ok()) return load_error(unet.status());
    p->unet_ = std::move(*unet);
    auto vw = DiffusionWeights::open_renamed(file, be, VaeDecoder::kOps, "VAE", ldm_vae_names(d.vae));
    if (!vw.ok()) return vw.status();
    auto vae = VaeDecoder::create(d.vae, std::move(*vw), be);
    if (!vae.ok()) return load_error(vae.status());
    p->vae_ = std::move(*vae);
    p->schedule_ = d.sched;
    if (!d.assumed.empty()) p->notes_.push_back(d.assumed);
    HEARTH_RETURN_IF_ERROR(check_parts(file, *p->text_, *p->unet_, *p->vae_));
    return p;
}

namespace {

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

}  // namespace

Result<DiffusionMemoryPlan> Pipeline::plan_memory(const DiffuseOptions& opt) const {
    return plan_diffusion_memory(*text_, *unet_, *vae_, *be_, opt);
}

Result<DiffusionMemoryPlan> plan_diffusion_memory(const ClipTextEncoder& text, const UNet& unet, const VaeDecoder& vae, const Backend& be,
                                                  const DiffuseOptions& opt) {
    constexpr int kTile = 32;  // latents per tile side when memory is short: 256-pixel tiles
    const int h = opt.height / 8, w = opt.width / 8;
    DiffusionMemoryPlan p;
    p.weights = text.weight_bytes() + unet.weight_bytes() + vae.weight_bytes();
    p.unet = unet.activation_bytes(h, w, text.config().max_positions);
    // What this pipeline already holds counts as available: the next run reuses it.
    const uint64_t held = unet.held_bytes() + vae.held_bytes();
    if (opt.memory_limit) p.available = opt.memory_limit > p.weights ? opt.memory_limit - p.weights : 0;
    else if (const uint64_t free = be.memory_free()) p.available = free + held;
    else p.available = ~uint64_t(0) / 4;  // a backend that cannot tell (the reference one): no check
    const uint64_t whole = vae.activation_bytes(h, w);
    int tile = opt.vae_tile > 0 ? opt.vae_tile : kTile;
    // A backend whose ops see at most max_tensor_bytes at once (a Vulkan binding window) decodes
    // in tiles small enough for it whatever the memory.
    const uint64_t limit = be.max_tensor_bytes();
    const bool whole_fits_op = vae.largest_tensor_bytes(h, w) <= limit;
    if (!whole_fits_op)
        while (tile > 4 && vae.largest_tensor_bytes(std::min(h, tile), std::min(w, tile)) > limit) tile /= 2;
    if (vae.largest_tensor_bytes(std::min(h, tile), std::min(w, tile)) > limit)
        return make_error("the " + be.device().backend + " backend cannot hold even a small tile of this VAE's activations in one op");
    const uint64_t tiled = vae.activation_bytes(std::min(h, tile), std::min(w, tile));
    // Cheapest first: the whole decode beside the UNet's activations, then with those freed, then in tiles.
    p.vae_tile = opt.vae_tile > 0 || !whole_fits_op ? tile : 0;
    p.vae = p.vae_tile > 0 ? tiled : whole;
    if (p.unet + p.vae <= p.available) return p;
    p.release_unet = true;
    if (std::max(p.unet, p.vae) <= p.available) return p;
    if (p.vae_tile == 0 && tiled < whole) {
        p.vae_tile = tile;
        p.vae = tiled;
        if (std::max(p.unet, p.vae) <= p.available) return p;
    }
    const bool gpu = be.device().backend == "vulkan" || be.device().backend == "cuda";  // name the device whose memory is short
    return make_error("a " + std::to_string(opt.width) + "×" + std::to_string(opt.height) + " image needs about " +
                      mib(std::max(p.unet, p.vae)) + " of working memory beside the model's " + mib(p.weights) + ", and " +
                      (opt.memory_limit ? "the memory limit leaves " : "only ") + mib(p.available) +
                      (opt.memory_limit ? "" : " are free") + (gpu ? " on " + device_label(be.device()) : "") +
                      ": choose a smaller size or close other programs");
}

Result<DiffuseResult> Pipeline::generate(const DiffuseOptions& opt, const DiffuseProgress& progress, const std::atomic<bool>* cancel) {
    if (opt.width % 8 || opt.height % 8 || opt.width < 8 || opt.height < 8)
        return make_error("width and height must be multiples of 8 (got " + std::to_string(opt.width) + "×" + std::to_string(opt.height) + ")");
    const int h = opt.height / 8, w = opt.width / 8, C = latent_channels();
    const size_t n = size_t(C) * size_t(h) * size_t(w);
    if (!opt.noise.empty() && opt.noise.size() != n)
        return make_error("the noise holds " + std::to_string(opt.noise.size()) + " values; " + std::to_string(C) + "×" +
                          std::to_string(h) + "×" + std::to_string(w) + " = " + std::to_string(n) + " are needed");
    auto sched = Scheduler::create(schedule_, opt.sampler, opt.steps);
    if (!sched.ok()) return sched.status();
    size_t noisy = 0;
    for (int i = 0; i < sched->steps(); ++i) noisy += sched->needs_noise(i);
    if (!opt.step_noise.empty()) {
        if (opt.step_noise.size() != noisy) return make_error("step_noise holds " + std::to_string(opt.step_noise.size()) + " draws; the run takes " + std::to_string(noisy));
        for (const auto& d : opt.step_noise)
            if (d.size() != n) return make_error("a step_noise draw must hold " + std::to_string(n) + " values");
    }
    auto plan = plan_memory(opt);
    if (!plan.ok()) return plan.status();
    DiffuseResult res;
    res.warnings = notes_;

    const int ctx_len = text_->config().max_positions;
    auto encode = [&](const std::string& text, const char* what) -> Result<std::vector<float>> {
        auto ids = clip_prompt(*tokenizer_, text, ctx_len);
        if (!ids.ok()) return ids.status();
        if (ids->n_dropped)
            res.warnings.push_back(std::string("the ") + what + " is longer than CLIP reads: its last " + std::to_string(ids->n_dropped) +
                                   " tokens were cut");
        return text_->encode(ids->ids);
    };
    auto cond = encode(opt.prompt, "prompt");
    if (!cond.ok()) return cond.status();
    const bool guided = opt.guidance > 1.0f;
    std::vector<float> uncond;
    if (guided) {
        auto u = encode(opt.negative, "negative prompt");
        if (!u.ok()) return u.status();
        uncond = std::move(*u);
    }

    Rng rng(opt.seed);
    auto draw = [&](std::vector<float>& v) { for (float& x : v) x = float(rng.normal()); };
    std::vector<float> x(n), noise(n);
    if (opt.noise.empty()) draw(x);
    else x = opt.noise;
    for (float& v : x) v = float(double(v) * sched->init_noise_sigma());

    std::vector<float> xin(n);
    size_t drawn = 0;
    for (int i = 0; i < sched->steps(); ++i) {
        if (cancel && cancel->load()) return make_error("stopped");
        const double scale = sched->input_scale(i), t = sched->timestep(i);
        for (size_t k = 0; k < n; ++k) xin[k] = float(double(x[k]) * scale);
        auto eps = unet_->predict(xin, h, w, t, *cond, ctx_len);
        if (!eps.ok()) return eps.status();
        if (guided) {
            auto eu = unet_->predict(xin, h, w, t, uncond, ctx_len);
            if (!eu.ok()) return eu.status();
            for (size_t k = 0; k < n; ++k) (*eps)[k] = (*eu)[k] + opt.guidance * ((*eps)[k] - (*eu)[k]);
        }
        if (sched->needs_noise(i)) {
            if (opt.step_noise.empty()) draw(noise);
            else noise = opt.step_noise[drawn++];
        }
        sched->step(i, eps->data(), x.data(), n, noise.data());
        if (progress && !progress(i, sched->steps(), x)) return make_error("stopped");
    }
    res.latents = x;
    if (plan->release_unet) unet_->release_activations();
    auto img = plan->vae_tile > 0 && (h > plan->vae_tile || w > plan->vae_tile) ? vae_->decode_tiled(x, h, w, plan->vae_tile)
                                                                                : vae_->decode(x, h, w);
    if (!img.ok()) return img.status();
    res.width = opt.width;
    res.height = opt.height;
    res.rgb.resize(size_t(opt.width) * size_t(opt.height) * 3);
    const size_t px = size_t(opt.width) * size_t(opt.height);
    for (size_t p = 0; p < px; ++p)
        for (size_t c = 0; c < 3; ++c) res.rgb[p * 3 + c] = std::clamp((*img)[c * px + p] / 2.0f + 0.5f, 0.0f, 1.0f);
    return res;
}

}  // namespace hearth::diffusion
