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
    int width = 512, height = 512;  // pixels; multiples of 8
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
    // The most memory the run may hold, weights included, in bytes; 0: the weights plus what the
    // backend reports free. Decides whether the VAE decodes in tiles; a size that does not fit even
    // so is an error before the first step.
    uint64_t memory_limit = 0;
    int vae_tile = 0;  // latents per VAE tile side; 0: the whole image at once unless memory is short
};

// What a run will hold (Pipeline::plan_memory), in bytes.
struct DiffusionMemoryPlan {
    uint64_t weights = 0;    // the loaded text encoder, UNet and VAE
    uint64_t unet = 0;       // the UNet's activations for this size
    uint64_t vae = 0;        // the VAE's activations: of the whole image, or of one tile
    int vae_tile = 0;        // 0: one decode of the whole image; else latents per tile side
    uint64_t available = 0;  // what the run may use beside the weights
    bool release_unet = false;  // free the UNet's activations before decoding (both do not fit)
    uint64_t peak() const { return weights + (release_unet ? std::max(unet, vae) : unet + vae); }
};

struct DiffuseResult {
    int width = 0, height = 0;
    std::vector<float> rgb;            // height × width × 3, in [0, 1]
    std::vector<float> latents;        // the final latents [4][h/8][w/8]
    std::vector<std::string> warnings; // e.g. the prompt was cut to 77 tokens
};

// Called after each step with (step index, steps, latents after it); return false to stop.
using DiffuseProgress = std::function<bool(int, int, const std::vector<float>&)>;

// The arithmetic of Pipeline::plan_memory over loaded components (the bench uses it too).
Result<DiffusionMemoryPlan> plan_diffusion_memory(const ClipTextEncoder& text, const UNet& unet, const VaeDecoder& vae, const Backend& be,
                                                  const DiffuseOptions& opt);

// CLIP's tokenizer/ folder beside a single-file checkpoint: what it uses when no config folder is named.
std::string checkpoint_tokenizer_dir(const std::string& file);
// Whether `dir` holds the CLIP tokenizer a pipeline reads (its vocab.json; merges.txt is read with it).
bool has_clip_tokenizer(const std::string& dir);

// What Pipeline::check_single_file found: the checkpoint's family.
struct SingleFileCheck {
    bool sd2 = false;  // SD 2.x (OpenCLIP text encoder), else SD 1.x
};

class Pipeline {
public:
    // `path`: a diffusers folder, or a single-file SD 1.x or 2.x checkpoint (.safetensors with the
    // original key names); for the latter, `config_dir` may name a diffusers folder of the same
    // model whose configs, tokenizer and scheduler to use (else SD 1.5's or SD 2.1's by the text
    // encoder's names, said in each run's warnings for SD 2.x, and tokenizer/ beside the file).
    static Result<std::unique_ptr<Pipeline>> open(const std::string& path, Backend& be, const std::string& config_dir = "");
    static Result<std::unique_ptr<Pipeline>> open_single_file(const std::string& file, Backend& be, const std::string& config_dir = "");
    // open_single_file's checks that need no weights (the header's family and UNet input, the
    // config folder's family, a tokenizer to use), with its messages: what a model list can say
    // when a checkpoint is added, cheaply.
    static Result<SingleFileCheck> check_single_file(const std::string& file, const std::string& config_dir = "");
    ~Pipeline();

    Result<DiffuseResult> generate(const DiffuseOptions& opt, const DiffuseProgress& progress = {},
                                   const std::atomic<bool>* cancel = nullptr);

    // How a run of opt's size fits: tiled VAE decode when the whole image's does not fit, an error
    // naming the sizes when nothing does.
    Result<DiffusionMemoryPlan> plan_memory(const DiffuseOptions& opt) const;

    const ScheduleConfig& schedule() const { return schedule_; }
    int latent_channels() const;

private:
    Pipeline() = default;
    std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
    std::unique_ptr<ClipTextEncoder> text_;
    std::unique_ptr<UNet> unet_;
    std::unique_ptr<VaeDecoder> vae_;
    ScheduleConfig schedule_;
    std::vector<std::string> notes_;  // what opening assumed; repeated in each run's warnings
    Backend* be_ = nullptr;
};

}  // namespace hearth::diffusion
