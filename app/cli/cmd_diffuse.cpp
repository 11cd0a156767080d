// hearth-cli diffuse: text to image with a diffusers Stable Diffusion folder
// (engine/diffusion/pipeline.h), written as a PNG with the prompt and settings in its text chunks.
// --backend auto takes the GPU create_backend("auto") picks and falls back to the CPU, saying why,
// when that GPU cannot hold the pipeline or the run (engine/diffusion/pipeline_on_device.h).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "app/cli/backend_args.h"
#include "app/cli/command.h"
#include "app/cli/diffuse_bench.h"
#include "engine/backend/backend.h"
#include "engine/diffusion/pipeline.h"
#include "engine/diffusion/pipeline_on_device.h"
#include "engine/util/png_file.h"

namespace hearth::cli {
namespace {

template <class T>
bool parse_number(const std::optional<std::string>& s, T* out) {
    if (!s) return true;
    char* end = nullptr;
    const double v = std::strtod(s->c_str(), &end);
    if (s->empty() || *end || !std::isfinite(v)) return false;
    *out = T(v);
    return double(*out) == v || std::is_floating_point_v<T>;
}

int run_diffuse(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto prompt = args.take({"-p", "--prompt"});
    const auto negative = args.take({"-n", "--negative"});
    const auto steps = args.take({"--steps"});
    const auto cfg = args.take({"--cfg"});
    const auto sampler = args.take({"--sampler"});
    const auto seed = args.take({"--seed"});
    const auto noise = args.take({"--noise"});
    const auto width = args.take({"-W", "--width"});
    const auto height = args.take({"-H", "--height"});
    const auto out = args.take({"-o", "--output"});
    const auto raw = args.take({"--raw"});
    const auto config = args.take({"--config"});  // a single-file checkpoint's diffusers folder (configs, tokenizer)
    BackendArgs be_args;
    if (std::string e = take_backend_args(args, &be_args); !e.empty()) return fail("diffuse: " + e);
    const bool quiet = args.flag({"-q", "--quiet"});
    const bool bench = args.flag({"--bench"});
    const auto max_memory = args.take({"--max-memory"});
    if (auto u = args.unknown_option(); !u.empty()) return fail("diffuse: unknown option " + u);
    if (bench) {
        if (model || prompt || out || noise || seed || sampler || !args.positionals().empty())
            return fail("diffuse: --bench times the SD 1.5 shape with random weights: it takes only -W, -H, --steps, --cfg and the backend options");
        DiffuseBenchArgs b;
        b.backend = be_args;
        if (!parse_number(width, &b.width) || !parse_number(height, &b.height)) return fail("diffuse: -W and -H must be whole numbers");
        if (!parse_number(steps, &b.steps) || b.steps < 1) return fail("diffuse: --steps must be a whole number of at least 1");
        if (!parse_number(cfg, &b.guidance) || b.guidance < 0) return fail("diffuse: --cfg must be a number >= 0");
        if (!parse_number(max_memory, &b.max_memory_gib) || b.max_memory_gib < 0) return fail("diffuse: --max-memory must be GiB >= 0");
        return run_diffuse_bench(b);
    }
    if (!model || !prompt || !out || !args.positionals().empty())
        return fail("diffuse: usage: diffuse -m PIPELINE_DIR|CHECKPOINT.safetensors [--config DIR] -p PROMPT [-n NEGATIVE] [--steps N] [--cfg G] "
                    "[--sampler euler|euler_a|ddim|lcm] [--seed S | --noise FILE.f32] [-W W] [-H H] -o OUT.png [--raw OUT.f32]");
    if (seed && noise) return fail("diffuse: --seed and --noise exclude each other");

    diffusion::DiffuseOptions o;
    o.prompt = *prompt;
    o.negative = negative.value_or("");
    if (!parse_number(steps, &o.steps) || o.steps < 1) return fail("diffuse: --steps must be a whole number of at least 1");
    if (!parse_number(cfg, &o.guidance) || o.guidance < 0) return fail("diffuse: --cfg must be a number >= 0");
    if (!parse_number(width, &o.width) || !parse_number(height, &o.height) || o.width < 8 || o.height < 8 || o.width % 8 || o.height % 8)
        return fail("diffuse: width and height must be multiples of 8 (got " + width.value_or("512") + "×" + height.value_or("512") + ")");
    if (sampler) {
        auto s = diffusion::sampler_from_name(*sampler);
        if (!s.ok()) return fail("diffuse: " + s.message());
        o.sampler = *s;
    }
    if (seed) {
        if (!parse_number(seed, &o.seed)) return fail("diffuse: --seed must be a whole number");
    } else {
        o.seed = std::random_device{}();
    }

    double max_gib = 0;
    if (!parse_number(max_memory, &max_gib) || max_gib < 0) return fail("diffuse: --max-memory must be GiB >= 0");
    o.memory_limit = uint64_t(max_gib * 1024.0 * 1024.0 * 1024.0);
    const auto t_load = std::chrono::steady_clock::now();
    auto opened = diffusion::open_pipeline_on_device(*model, config.value_or(""), be_args.backend, be_args.device,
                                                     BackendOptions{be_args.threads}, &o);
    if (!opened.ok()) return fail("diffuse: " + opened.message());
    auto& pipe = opened->pipeline;
    const Backend& be = *opened->backend;
    // Which device draws, first: a fallback is said whatever --quiet (the run is slower than asked).
    if (!opened->fallback.empty())
        std::fprintf(stderr, "diffuse: auto: %s; drawing on %s instead\n", opened->fallback.c_str(),
                     opened->on_gpu() ? device_label(be.device()).c_str() : "the CPU");
    if (!quiet) {
        const uint64_t free_b = be.memory_free();
        std::fprintf(stderr, "diffuse: on %s%s\n", device_label(be.device()).c_str(),
                     free_b ? (", " + std::to_string(free_b >> 20) + " MiB free after loading").c_str() : "");
    }
    if (noise) {
        std::ifstream f(*noise, std::ios::binary);
        if (!f) return fail("diffuse: " + *noise + ": cannot open");
        std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        const size_t want = size_t(pipe->latent_channels()) * size_t(o.height / 8) * size_t(o.width / 8);
        if (bytes.size() != want * 4)
            return fail("diffuse: " + *noise + " holds " + std::to_string(bytes.size()) + " bytes; a " + std::to_string(o.width) + "×" +
                        std::to_string(o.height) + " image needs " + std::to_string(want) + " float32 values (" +
                        std::to_string(want * 4) + " bytes)");
        o.noise.resize(want);
        std::memcpy(o.noise.data(), bytes.data(), bytes.size());
    }
    if (!quiet)
        std::fprintf(stderr, "diffuse: loaded %s in %.1f s on %s\n", model->c_str(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count(), be.device().name.c_str());

    auto t_step = std::chrono::steady_clock::now();
    const auto t0 = t_step;
    auto progress = [&](int i, int n, const std::vector<float>&) {
        const auto now = std::chrono::steady_clock::now();
        if (!quiet) std::fprintf(stderr, "diffuse: step %d/%d  %.2f s\n", i + 1, n, std::chrono::duration<double>(now - t_step).count());
        t_step = now;
        return true;
    };
    auto res = pipe->generate(o, progress);
    if (!res.ok()) return fail("diffuse: " + res.message());
    for (const std::string& w : res->warnings) std::fprintf(stderr, "diffuse: warning: %s\n", w.c_str());

    const std::vector<std::pair<std::string, std::string>> text = {
        {"prompt", o.prompt}, {"negative_prompt", o.negative}, {"seed", noise ? "noise file " + *noise : std::to_string(o.seed)},
        {"steps", std::to_string(o.steps)}, {"guidance", std::to_string(o.guidance)}, {"sampler", diffusion::sampler_name(o.sampler)},
        {"model", *model}, {"Software", "Hearth"}};
    if (Status s = write_png_rgb(*out, res->width, res->height, res->rgb, text); !s.ok()) return fail("diffuse: " + s.message());
    if (raw) {
        std::ofstream f(*raw, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(res->rgb.data()), std::streamsize(res->rgb.size() * 4));
        if (!f.flush()) return fail("diffuse: " + *raw + ": writing failed (is the disk full?)");
    }
    std::printf("wrote %s: %d×%d, %d %s steps at guidance %.1f, seed %s, %.1f s\n", out->c_str(), res->width, res->height, o.steps,
                diffusion::sampler_name(o.sampler), double(o.guidance), noise ? "from the noise file" : std::to_string(o.seed).c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return 0;
}

const Registrar reg{"diffuse",
                    "-m PIPELINE_DIR|CHECKPOINT.safetensors [--config DIR] -p PROMPT [-n NEGATIVE] [--steps N] [--cfg G] [--sampler euler|euler_a|ddim|lcm] "
                    "[--seed S | --noise FILE.f32] [-W W] [-H H] -o OUT.png [--raw OUT.f32] [--max-memory GIB] [--backend auto|cpu|reference|vulkan|cuda] [--device N] [-t N] | "
                    "--bench [-W W] [-H H] [--steps N] [--cfg G] [--max-memory GIB] [--backend B] [-t N]",
                    "text to image with a Stable Diffusion 1.x/2.x or SD-Turbo folder in diffusers' layout", run_diffuse};

}  // namespace
}  // namespace hearth::cli
