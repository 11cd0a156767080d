// A diffusers folder's configs (engine/diffusion): unet/config.json, vae/config.json,
// text_encoder/config.json and scheduler/scheduler_config.json, read as the Image tab reads a
// folder a person adds, and a schedule built from the last for every sampler. Parts: those four.
#include <filesystem>

#include "engine/diffusion/clip_text_encoder.h"
#include "engine/diffusion/scheduler.h"
#include "engine/diffusion/unet.h"
#include "engine/diffusion/vae_decoder.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;
using namespace hearth::diffusion;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto parts = fuzz::split_parts(data, size, 4);
    fuzz::Scratch& dir = fuzz::Scratch::get();
    auto unet = read_unet_config(dir.write("unet.json", parts[0]));
    auto vae = read_vae_config(dir.write("vae.json", parts[1]));
    auto text = read_clip_text_config(dir.write("text_encoder.json", parts[2]));
    auto sched = read_schedule_config(dir.write("scheduler.json", parts[3]));
    bool scheduled = sched.ok();
    if (sched.ok())
        for (Sampler s : {Sampler::Euler, Sampler::EulerAncestral, Sampler::Ddim, Sampler::Lcm}) {
            auto made = Scheduler::create(*sched, s, 1 + int(size % 50));
            if (!made.ok()) {
                scheduled = false;
                continue;
            }
            for (int i = 0; i < made->steps(); ++i) (void)made->timestep(i);
        }
    if (!unet.ok()) return fuzz::refused(unet.message());
    if (!vae.ok()) return fuzz::refused(vae.message());
    if (!text.ok()) return fuzz::refused(text.message());
    return scheduled ? 0 : fuzz::refused(sched.ok() ? "a schedule could not be made" : sched.message());
}

std::vector<std::string> hearth::fuzz::seeds() {
    // A small SD 1.x-shaped model, and its scheduler as Euler, DDIM and LCM configs.
    const std::string unet = R"({"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": 8,
        "block_out_channels": [32, 64], "cross_attention_dim": 32, "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4,
        "out_channels": 4, "layers_per_block": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "sample_size": 8,
        "use_linear_projection": false, "transformer_layers_per_block": 1})";
    const std::string vae = R"({"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [32, 64],
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"], "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"],
        "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 1, "norm_num_groups": 32,
        "scaling_factor": 0.18215, "shift_factor": null, "force_upcast": true, "use_quant_conv": true, "use_post_quant_conv": true,
        "mid_block_add_attention": true})";
    const std::string text = R"({"architectures": ["CLIPTextModel"], "hidden_act": "quick_gelu", "hidden_size": 32,
        "intermediate_size": 64, "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "num_attention_heads": 4,
        "num_hidden_layers": 2, "vocab_size": 1000})";
    const std::string euler = R"({"_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "beta_start": 0.00085, "num_train_timesteps": 1000, "prediction_type": "epsilon", "steps_offset": 1,
        "timestep_spacing": "leading", "use_karras_sigmas": false})";
    const std::string ddim = R"({"_class_name": "DDIMScheduler", "beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02,
        "clip_sample": false, "set_alpha_to_one": true, "timestep_spacing": "trailing", "prediction_type": "v_prediction"})";
    const std::string lcm = R"({"_class_name": "LCMScheduler", "beta_schedule": "squaredcos_cap_v2", "timestep_spacing": "linspace",
        "original_inference_steps": 50, "timestep_scaling": 10.0})";
    std::vector<std::string> s = {join_parts({unet, vae, text, euler}), join_parts({unet, vae, text, ddim}),
                                  join_parts({unet, vae, text, lcm})};
    if (const std::string td = testdata_dir(); !td.empty())
        for (const char* m : {"tiny-sd15", "tiny-sd-turbo"}) {
            const std::string d = td + "/diffusion/" + m + "/";
            if (std::filesystem::exists(d + "unet/config.json"))
                s.push_back(join_parts({read_file(d + "unet/config.json"), read_file(d + "vae/config.json"),
                                        read_file(d + "text_encoder/config.json"), read_file(d + "scheduler/scheduler_config.json")}));
        }
    return s;
}
