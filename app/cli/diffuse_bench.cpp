#include "app/cli/diffuse_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "app/cli/command.h"
#include "engine/backend/backend.h"
#include "engine/diffusion/clip_text_encoder.h"
#include "engine/diffusion/diffusion_weights.h"
#include "engine/diffusion/pipeline.h"
#include "engine/diffusion/unet.h"
#include "engine/diffusion/vae_decoder.h"
#include "engine/sampling/rng.h"

namespace hearth::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// VmHWM: the most resident memory the process has had, in bytes (0 where /proc has no answer).
uint64_t peak_rss_bytes() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    return 0;
}

std::vector<float> normal_values(size_t n, uint64_t seed) {
    Rng rng(seed);
    std::vector<float> v(n);
    for (float& x : v) x = float(rng.normal());
    return v;
}

}  // namespace

int run_diffuse_bench(const DiffuseBenchArgs& a) {
    using namespace diffusion;
    if (a.width % 8 || a.height % 8 || a.width < 8 || a.height < 8)
        return fail("diffuse --bench: width and height must be multiples of 8");
    // The SD 1.5 components with random weights on `be`, and the memory plan of a.width × a.height.
    struct Parts {
        std::unique_ptr<Backend> be;  // first: destroyed after the components on it
        std::unique_ptr<ClipTextEncoder> text;
        std::unique_ptr<UNet> unet;
        std::unique_ptr<VaeDecoder> vae;
        DiffusionMemoryPlan plan;
        double load_s = 0;
    };
    DiffuseOptions plan_opt;
    plan_opt.width = a.width;
    plan_opt.height = a.height;
    plan_opt.memory_limit = uint64_t(a.max_memory_gib * 1024.0 * 1024.0 * 1024.0);
    auto build = [&](std::unique_ptr<Backend> be) -> Result<Parts> {
        Parts p;
        p.be = std::move(be);
        const auto t_load = std::chrono::steady_clock::now();
        auto text = ClipTextEncoder::create(sd15_clip_text_config(), DiffusionWeights::random(*p.be, 1), *p.be);
        if (!text.ok()) return text.status();
        p.text = std::move(*text);
        auto unet = UNet::create(sd15_unet_config(), DiffusionWeights::random(*p.be, 2), *p.be);
        if (!unet.ok()) return unet.status();
        p.unet = std::move(*unet);
        auto vae = VaeDecoder::create(sd15_vae_config(), DiffusionWeights::random(*p.be, 3), *p.be);
        if (!vae.ok()) return vae.status();
        p.vae = std::move(*vae);
        p.load_s = seconds_since(t_load);
        auto plan = plan_diffusion_memory(*p.text, *p.unet, *p.vae, *p.be, plan_opt);
        if (!plan.ok()) return plan.status();
        p.plan = *plan;
        return p;
    };
    // "auto" as hearth-cli diffuse: the GPU create_backend picks, the CPU when it cannot hold the shape (said).
    std::vector<std::string> passed_over;
    auto be = create_backend(a.backend.backend, a.backend.device, BackendOptions{a.backend.threads}, &passed_over);
    if (!be.ok()) return fail("diffuse --bench: " + be.message());
    for (const std::string& why : passed_over) std::printf("diffuse bench: auto passed over %s\n", why.c_str());
    const DeviceInfo dev = (*be)->device();
    const bool gpu = dev.backend == "vulkan" || dev.backend == "cuda";
    auto parts = build(std::move(*be));
    if (!parts.ok() && a.backend.backend == "auto" && gpu) {
        std::printf("diffuse bench: auto: %s: %s; timing the CPU instead\n", device_label(dev).c_str(), parts.message().c_str());
        auto cpu = create_backend("cpu", 0, BackendOptions{a.backend.threads});
        if (!cpu.ok()) return fail("diffuse --bench: " + cpu.message());
        parts = build(std::move(*cpu));
    }
    if (!parts.ok()) return fail("diffuse --bench: " + parts.message());
    auto& text = parts->text;
    auto& unet = parts->unet;
    auto& vae = parts->vae;
    const auto* plan = &parts->plan;
    const Backend& b = *parts->be;
    const double mib = 1024.0 * 1024.0;
    std::printf("diffuse bench: SD 1.5 shape, random F16 weights: text encoder %.0f MiB, UNet %.0f MiB, VAE decoder %.0f MiB "
                "(made in %.1f s)\n",
                double(text->weight_bytes()) / mib, double(unet->weight_bytes()) / mib, double(vae->weight_bytes()) / mib, parts->load_s);
    std::printf("diffuse bench: %d×%d, guidance %.1f (%d UNet passes per step), on %s (%s)\n", a.width, a.height, double(a.guidance),
                a.guidance > 1 ? 2 : 1, device_label(b.device()).c_str(), b.device().details.c_str());
    std::fflush(stdout);
    std::printf("diffuse bench: memory plan: weights %.0f MiB, UNet activations %.0f MiB, VAE %.0f MiB (%s)%s, planned peak %.0f MiB of %.0f\n",
                double(plan->weights) / mib, double(plan->unet) / mib, double(plan->vae) / mib,
                plan->vae_tile ? ("tiles of " + std::to_string(plan->vae_tile) + " latents").c_str() : "whole image",
                plan->release_unet ? ", UNet's freed before decoding" : "", double(plan->peak()) / mib,
                double(plan->weights + plan->available) / mib);

    // Token ids of a 77-token prompt (start, words, end, padding): the values do not change the work.
    std::vector<int32_t> ids(77, 49407);
    ids[0] = 49406;
    for (int i = 1; i < 12; ++i) ids[size_t(i)] = 320 + 37 * i;
    auto cond = text->encode(ids);
    if (!cond.ok()) return fail("diffuse --bench: " + cond.message());
    const int h = a.height / 8, w = a.width / 8;
    const std::vector<float> latents = normal_values(size_t(4 * h * w), 7);

    auto step = [&](double t) -> Status {
        auto e = unet->predict(latents, h, w, t, *cond, 77);
        if (!e.ok()) return e.status();
        if (a.guidance > 1) {  // the unconditional pass (same cost: the context's values do not matter)
            auto u = unet->predict(latents, h, w, t, *cond, 77);
            if (!u.ok()) return u.status();
        }
        return Status();
    };
    auto t0 = std::chrono::steady_clock::now();
    if (Status s = step(999); !s.ok()) return fail("diffuse --bench: " + s.message());
    std::printf("diffuse bench: warm-up step %.2f s\n", seconds_since(t0));
    std::vector<double> times;
    for (int i = 0; i < a.steps; ++i) {
        t0 = std::chrono::steady_clock::now();
        if (Status s = step(999 - 50 * i); !s.ok()) return fail("diffuse --bench: " + s.message());
        times.push_back(seconds_since(t0));
        std::printf("diffuse bench: step %d %.2f s\n", i + 1, times.back());
        std::fflush(stdout);
    }
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];

    t0 = std::chrono::steady_clock::now();
    if (plan->release_unet) unet->release_activations();
    auto img = plan->vae_tile > 0 && (h > plan->vae_tile || w > plan->vae_tile) ? vae->decode_tiled(latents, h, w, plan->vae_tile)
                                                                                : vae->decode(latents, h, w);
    if (!img.ok()) return fail("diffuse --bench: " + img.message());
    const double vae_s = seconds_since(t0);
    const uint64_t peak = peak_rss_bytes();
    std::printf("diffuse bench: VAE decode %.2f s\n", vae_s);
    std::printf("diffuse bench: peak memory (VmHWM) %.2f GiB\n", double(peak) / (mib * 1024.0));
    std::printf("unet_step_s %.3f\n", median);  // the line tests/bench/diffuse-vs-diffusers.sh reads
    return 0;
}

}  // namespace hearth::cli
