// Text to image with a diffusers Stable Diffusion folder (model_index.json, tokenizer/,
// text_encoder/, unet/, vae/, scheduler/): the prompt (and, with guidance above 1, the negative
// prompt) through CLIP, the denoising loop of the chosen sampler over the UNet with
// classifier-free guidance as diffusers applies it, and the VAE decode to RGB in [0, 1].
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/scheduler.h"
#include "engine/util/status.h"

namespace hearth::tokenizer {
class Tokenizer;
}

namespace hearth::diffusion {

class ClipTextEncoder;
class UNet;
class VaeDecoder;

struct DiffuseOptions {
    std::string prompt, negative;
    int width = 512, height = 512;  // pixels; multiples of 8 (and of the UNet's 64 for now)
    int steps = 20;
    float guidance = 7.5f;          // classifier-free guidance only above 1, as diffusers
    Sampler sampler = Sampler::Euler;
    uint64_t seed = 0;
    // Unit-variance initial latents [4][h/8][w/8] instead of drawing them from the seed (the
    // pipeline starts from noise × init_noise_sigma, as diffusers scales the latents it is given).
    std::vector<float> noise;
    // The fresh noise of each step that takes some (Euler ancestral: every step; LCM: all but the
    // last), in order, instead of drawing it: tests replay diffusers' draws with it.
    std::vector<std::vector<float>> step_noise;
};

struct DiffuseResult {
    int width = 0, height = 0;
    std::vector<float> rgb;            // height × width × 3, in [0, 1]
    std::vector<float> latents;        // the final latents [4][h/8][w/8]
    std::vector<std::string> warnings; // e.g. the prompt was cut to 77 tokens
};

// Called after each step with (step index, steps, latents after it); return false to stop.
using DiffuseProgress = std::function<bool(int, int, const std::vector<float>&)>;

class Pipeline {
public:
    static Result<std::unique_ptr<Pipeline>> open(const std::string& dir, Backend& be);
    ~Pipeline();

    Result<DiffuseResult> generate(const DiffuseOptions& opt, const DiffuseProgress& progress = {},
                                   const std::atomic<bool>* cancel = nullptr);

    const ScheduleConfig& schedule() const { return schedule_; }
    int latent_channels() const;

private:
    Pipeline() = default;
    std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
    std::unique_ptr<ClipTextEncoder> text_;
    std::unique_ptr<UNet> unet_;
    std::unique_ptr<VaeDecoder> vae_;
    ScheduleConfig schedule_;
};

}  // namespace hearth::diffusion
