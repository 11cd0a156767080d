// The denoising schedule of a Stable Diffusion run, as diffusers computes it: the noise schedule
// (betas) and its spacing from the pipeline's scheduler/scheduler_config.json, whatever scheduler
// class that file names (SD 1.5 ships PNDM's), and the step algorithm the person picks:
//   euler    EulerDiscreteScheduler (s_churn 0), sigma-space ODE step;
//   euler_a  EulerAncestralDiscreteScheduler: the step to sigma_down plus fresh noise × sigma_up;
//   ddim     DDIMScheduler with eta 0 (deterministic), clip_sample off;
//   lcm      LCMScheduler (latent consistency models): boundary-condition denoise, then re-noise.
// The caller runs the pipeline's loop: x = noise × init_noise_sigma(); for each step i, the UNet
// sees x × input_scale(i) at timestep(i), and step(i, ...) turns its output into the next x.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/util/json.h"
#include "engine/util/status.h"

namespace hearth::diffusion {

enum class Sampler { Euler, EulerAncestral, Ddim, Lcm };
Result<Sampler> sampler_from_name(std::string_view name);  // euler, euler_a, ddim, lcm
const char* sampler_name(Sampler s);

struct ScheduleConfig {
    std::string class_name;              // _class_name, for messages
    int num_train_timesteps = 1000;
    double beta_start = 0.00085, beta_end = 0.012;
    std::string beta_schedule = "scaled_linear";  // or linear, squaredcos_cap_v2
    int steps_offset = 0;
    std::string timestep_spacing = "leading";     // or trailing, linspace
    std::string prediction_type = "epsilon";      // or v_prediction
    bool set_alpha_to_one = false;  // DDIM's last step: alpha 1 or alphas_cumprod[0]; absent = false (SD 1.5's value)
    double timestep_scaling = 10.0;               // LCM
    int original_inference_steps = 50;            // LCM
};

// Reads the fields above; settings that would change the schedule and are not implemented
// (trained_betas, Karras/exponential/beta sigmas, zero-SNR rescaling, clip_sample, thresholding,
// continuous timesteps) are errors that name them.
Result<ScheduleConfig> parse_schedule_config(const json::Value& cfg, const std::string& origin);
Result<ScheduleConfig> read_schedule_config(const std::string& path);

class Scheduler {
public:
    static Result<Scheduler> create(const ScheduleConfig& cfg, Sampler sampler, int steps);

    Sampler sampler() const { return sampler_; }
    int steps() const { return int(timesteps_.size()); }
    double timestep(int i) const { return timesteps_[size_t(i)]; }  // what the UNet is told
    const std::vector<double>& timesteps() const { return timesteps_; }
    double init_noise_sigma() const { return init_noise_sigma_; }
    double input_scale(int i) const;  // the UNet reads x × this (Euler: 1/√(σ²+1); others 1)
    bool needs_noise(int i) const;    // step i adds fresh unit-variance noise (euler_a, lcm but its last step)

    // x (n values) becomes the sample after step i, from the model's output at step i (noise
    // prediction, or v with prediction_type v_prediction). `noise`: n unit-variance values when
    // needs_noise(i), else ignored (may be null).
    void step(int i, const float* model_out, float* x, size_t n, const float* noise) const;

private:
    Sampler sampler_ = Sampler::Euler;
    bool v_prediction_ = false;
    std::vector<double> alphas_cumprod_;  // per training timestep
    std::vector<double> timesteps_;
    std::vector<double> sigmas_;          // Euler family: per step, plus a final 0
    double init_noise_sigma_ = 1.0;
    double final_alpha_cumprod_ = 1.0;    // DDIM
    int ddim_stride_ = 1;                 // DDIM: training steps between two inference steps
    double timestep_scaling_ = 10.0;      // LCM
};

}  // namespace hearth::diffusion
