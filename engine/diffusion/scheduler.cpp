// Numbers follow diffusers 0.42 (scheduling_euler_discrete, _euler_ancestral_discrete, _ddim, _lcm):
// the noise schedule is computed in float32 as torch computes it (linspace, cumprod), so the
// timesteps and sigmas agree to float rounding; the steps themselves run in double per value.
#include "engine/diffusion/scheduler.h"

#include <algorithm>
#include <cmath>

namespace hearth::diffusion {

namespace {

// torch.linspace in float32: the first half counts up from start, the second down from end.
std::vector<float> linspace_f32(float start, float end, int n) {
    std::vector<float> v(static_cast<size_t>(n));
    if (n == 1) { v[0] = start; return v; }
    const float step = (end - start) / float(n - 1);
    const int half = n / 2;
    for (int i = 0; i < n; ++i) v[size_t(i)] = i < half ? start + step * float(i) : end - step * float(n - 1 - i);
    return v;
}

// np.arange(hi, 0, -stride) for a positive stride.
std::vector<double> arange_down(double hi, double stride) {
    std::vector<double> v;
    const size_t n = size_t(std::ceil(hi / stride));
    for (size_t k = 0; k < n; ++k) v.push_back(hi - double(k) * stride);
    return v;
}

// np.round: to nearest, ties to even.
double round_even(double x) { return std::nearbyint(x); }

Status bad(const std::string& origin, const std::string& what) { return make_error(origin + ": " + what); }

}  // namespace

Result<Sampler> sampler_from_name(std::string_view name) {
    if (name == "euler") return Sampler::Euler;
    if (name == "euler_a") return Sampler::EulerAncestral;
    if (name == "ddim") return Sampler::Ddim;
    if (name == "lcm") return Sampler::Lcm;
    return make_error("unknown sampler '" + std::string(name) + "' (euler, euler_a, ddim, lcm)");
}

const char* sampler_name(Sampler s) {
    switch (s) {
        case Sampler::Euler: return "euler";
        case Sampler::EulerAncestral: return "euler_a";
        case Sampler::Ddim: return "ddim";
        case Sampler::Lcm: return "lcm";
    }
    return "euler";
}

Result<ScheduleConfig> parse_schedule_config(const json::Value& cfg, const std::string& origin) {
    if (!cfg.is_object()) return bad(origin, "not a JSON object");
    ScheduleConfig c;
    auto number = [&](const char* key, double* out) -> Status {
        const json::Value* v = cfg.find(key);
        if (!v || v->is_null()) return Status();
        if (!v->is_number()) return bad(origin, std::string(key) + " is not a number");
        *out = v->as_double();
        return Status();
    };
    auto text = [&](const char* key, std::string* out) -> Status {
        const json::Value* v = cfg.find(key);
        if (!v || v->is_null()) return Status();
        if (!v->is_string()) return bad(origin, std::string(key) + " is not a string");
        *out = v->as_string();
        return Status();
    };
    auto flag = [&](const char* key) { const json::Value* v = cfg.find(key); return v && v->is_bool() && v->as_bool(); };
    c.class_name = cfg["_class_name"].as_string();
    double n_train = c.num_train_timesteps, offset = 0, orig = c.original_inference_steps;
    HEARTH_RETURN_IF_ERROR(number("num_train_timesteps", &n_train));
    HEARTH_RETURN_IF_ERROR(number("beta_start", &c.beta_start));
    HEARTH_RETURN_IF_ERROR(number("beta_end", &c.beta_end));
    HEARTH_RETURN_IF_ERROR(number("steps_offset", &offset));
    HEARTH_RETURN_IF_ERROR(number("timestep_scaling", &c.timestep_scaling));
    HEARTH_RETURN_IF_ERROR(number("original_inference_steps", &orig));
    HEARTH_RETURN_IF_ERROR(text("beta_schedule", &c.beta_schedule));
    HEARTH_RETURN_IF_ERROR(text("timestep_spacing", &c.timestep_spacing));
    HEARTH_RETURN_IF_ERROR(text("prediction_type", &c.prediction_type));
    c.set_alpha_to_one = flag("set_alpha_to_one");
    if (!(n_train >= 2 && n_train <= 100000 && n_train == std::floor(n_train)))
        return bad(origin, "num_train_timesteps must be a whole number from 2 to 100000");
    c.num_train_timesteps = int(n_train);
    if (!(offset >= 0 && offset < n_train && offset == std::floor(offset))) return bad(origin, "steps_offset out of range");
    c.steps_offset = int(offset);
    if (!(orig >= 1 && orig <= n_train && orig == std::floor(orig))) return bad(origin, "original_inference_steps out of range");
    c.original_inference_steps = int(orig);
    if (!(c.beta_start > 0 && c.beta_end > c.beta_start && c.beta_end < 1))
        return bad(origin, "beta_start and beta_end must satisfy 0 < beta_start < beta_end < 1");
    if (c.beta_schedule != "scaled_linear" && c.beta_schedule != "linear" && c.beta_schedule != "squaredcos_cap_v2")
        return bad(origin, "beta_schedule '" + c.beta_schedule + "' is not supported (scaled_linear, linear, squaredcos_cap_v2)");
    if (c.timestep_spacing != "leading" && c.timestep_spacing != "trailing" && c.timestep_spacing != "linspace")
        return bad(origin, "timestep_spacing '" + c.timestep_spacing + "' is not supported (leading, trailing, linspace)");
    if (c.prediction_type != "epsilon" && c.prediction_type != "v_prediction")
        return bad(origin, "prediction_type '" + c.prediction_type + "' is not supported (epsilon, v_prediction)");
    if (const json::Value* v = cfg.find("trained_betas"); v && !v->is_null()) return bad(origin, "trained_betas are not supported");
    for (const char* key : {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "rescale_betas_zero_snr", "thresholding"})
        if (flag(key)) return bad(origin, std::string(key) + " is not supported");
    if (const std::string t = cfg["timestep_type"].as_string(); !t.empty() && t != "discrete")
        return bad(origin, "timestep_type '" + t + "' is not supported (discrete)");
    if (const std::string t = cfg["interpolation_type"].as_string(); !t.empty() && t != "linear")
        return bad(origin, "interpolation_type '" + t + "' is not supported (linear)");
    if (const std::string t = cfg["final_sigmas_type"].as_string(); !t.empty() && t != "zero")
        return bad(origin, "final_sigmas_type '" + t + "' is not supported (zero)");
    // clip_sample is not read: DDIM runs with it off, as SD 1.5's published configuration has it.
    return c;
}

Result<ScheduleConfig> read_schedule_config(const std::string& path) {
    auto doc = json::parse_file(path);
    if (!doc.ok()) return doc.status();
    return parse_schedule_config(*doc, path);
}

Result<Scheduler> Scheduler::create(const ScheduleConfig& cfg, Sampler sampler, int steps) {
    const int N = cfg.num_train_timesteps;
    if (steps < 1) return make_error("the number of steps must be at least 1 (got " + std::to_string(steps) + ")");
    if (steps > N) return make_error("at most " + std::to_string(N) + " steps (the schedule's training timesteps)");
    Scheduler s;
    s.sampler_ = sampler;
    s.v_prediction_ = cfg.prediction_type == "v_prediction";
    s.timestep_scaling_ = cfg.timestep_scaling;

    // Betas and their cumulative product, in float32 as torch computes them.
    std::vector<float> betas;
    if (cfg.beta_schedule == "scaled_linear") {
        betas = linspace_f32(float(std::sqrt(cfg.beta_start)), float(std::sqrt(cfg.beta_end)), N);
        for (float& b : betas) b = b * b;
    } else if (cfg.beta_schedule == "linear") {
        betas = linspace_f32(float(cfg.beta_start), float(cfg.beta_end), N);
    } else {  // squaredcos_cap_v2: Nichol & Dhariwal's cosine alpha-bar, betas capped at 0.999
        auto alpha_bar = [](double t) { const double c = std::cos((t + 0.008) / 1.008 * M_PI / 2); return c * c; };
        for (int i = 0; i < N; ++i)
            betas.push_back(float(std::min(1 - alpha_bar(double(i + 1) / N) / alpha_bar(double(i) / N), 0.999)));
    }
    s.alphas_cumprod_.resize(size_t(N));
    float prod = 1.0f;
    for (int i = 0; i < N; ++i) {
        prod *= 1.0f - betas[size_t(i)];
        s.alphas_cumprod_[size_t(i)] = prod;
    }
    s.final_alpha_cumprod_ = cfg.set_alpha_to_one ? 1.0 : s.alphas_cumprod_[0];

    // Timesteps: each scheduler class spaces them its own way.
    std::vector<double>& ts = s.timesteps_;
    if (sampler == Sampler::Lcm) {
        const int orig = cfg.original_inference_steps;
        if (steps > orig)
            return make_error("lcm takes at most " + std::to_string(orig) + " steps (original_inference_steps)");
        const int k = N / orig;
        for (int i = 0; i < steps; ++i) {
            const int idx = int(std::floor(double(i) * orig / steps));  // linspace(0, orig, steps, endpoint=False)
            ts.push_back(double((orig - idx) * k - 1));                 // the reversed origin schedule
        }
    } else if (cfg.timestep_spacing == "leading") {
        const int ratio = N / steps;
        for (int i = steps - 1; i >= 0; --i) ts.push_back(double(i * ratio + cfg.steps_offset));
    } else if (cfg.timestep_spacing == "trailing") {
        for (double t : arange_down(N, double(N) / steps)) ts.push_back(round_even(t) - 1);
    } else {  // linspace: Euler keeps fractional timesteps, DDIM rounds them
        for (float t : linspace_f32(0.0f, float(N - 1), steps)) ts.push_back(sampler == Sampler::Ddim ? round_even(t) : double(t));
        std::reverse(ts.begin(), ts.end());
    }
    for (double t : ts)
        if (t < 0 || t > N - 1) return make_error("timestep " + std::to_string(t) + " falls outside the schedule (steps_offset too large?)");

    if (sampler == Sampler::Euler || sampler == Sampler::EulerAncestral) {
        std::vector<float> all(static_cast<size_t>(N));
        for (int i = 0; i < N; ++i) {
            const float a = float(s.alphas_cumprod_[size_t(i)]);
            all[size_t(i)] = std::sqrt((1.0f - a) / a);
        }
        for (double t : ts) {  // np.interp over the integer grid
            const int lo = std::min(int(std::floor(t)), N - 1);
            const int hi = std::min(lo + 1, N - 1);
            const double f = t - lo;
            s.sigmas_.push_back(float(all[size_t(lo)] + f * (double(all[size_t(hi)]) - all[size_t(lo)])));
        }
        s.sigmas_.push_back(0.0);
        const double max_sigma = *std::max_element(s.sigmas_.begin(), s.sigmas_.end());
        s.init_noise_sigma_ = cfg.timestep_spacing == "leading" ? std::sqrt(max_sigma * max_sigma + 1) : max_sigma;
    }
    s.ddim_stride_ = N / steps;
    return s;
}

double Scheduler::input_scale(int i) const {
    if (sampler_ != Sampler::Euler && sampler_ != Sampler::EulerAncestral) return 1.0;
    const double sigma = sigmas_[size_t(i)];
    return 1.0 / std::sqrt(sigma * sigma + 1);
}

bool Scheduler::needs_noise(int i) const {
    if (sampler_ == Sampler::EulerAncestral) return true;
    if (sampler_ == Sampler::Lcm) return i != steps() - 1;
    return false;
}

void Scheduler::step(int i, const float* out, float* x, size_t n, const float* noise) const {
    const bool add_noise = needs_noise(i) && noise;
    switch (sampler_) {
        case Sampler::Euler:
        case Sampler::EulerAncestral: {
            const double sigma = sigmas_[size_t(i)], next = sigmas_[size_t(i) + 1];
            double target = next, up = 0;  // Euler steps to the next sigma
            if (sampler_ == Sampler::EulerAncestral) {
                up = std::sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma));
                target = std::sqrt(next * next - up * up);
            }
            const double dt = target - sigma;
            for (size_t k = 0; k < n; ++k) {
                const double xk = x[k], o = out[k];
                const double x0 = v_prediction_ ? o * (-sigma / std::sqrt(sigma * sigma + 1)) + xk / (sigma * sigma + 1)
                                                : xk - sigma * o;
                double y = xk + (xk - x0) / sigma * dt;
                if (add_noise) y += noise[k] * up;
                x[k] = float(y);
            }
            break;
        }
        case Sampler::Ddim: {
            const int t = int(timesteps_[size_t(i)]), prev = t - ddim_stride_;
            const double a = alphas_cumprod_[size_t(t)];
            const double a_prev = prev >= 0 ? alphas_cumprod_[size_t(prev)] : final_alpha_cumprod_;
            const double sa = std::sqrt(a), sb = std::sqrt(1 - a), sa_prev = std::sqrt(a_prev), sb_prev = std::sqrt(1 - a_prev);
            for (size_t k = 0; k < n; ++k) {
                const double xk = x[k], o = out[k];
                const double x0 = v_prediction_ ? sa * xk - sb * o : (xk - sb * o) / sa;
                const double eps = v_prediction_ ? sa * o + sb * xk : o;
                x[k] = float(sa_prev * x0 + sb_prev * eps);
            }
            break;
        }
        case Sampler::Lcm: {
            const int t = int(timesteps_[size_t(i)]);
            const int prev = i + 1 < steps() ? int(timesteps_[size_t(i) + 1]) : t;
            const double a = alphas_cumprod_[size_t(t)], a_prev = alphas_cumprod_[size_t(prev)];
            const double sa = std::sqrt(a), sb = std::sqrt(1 - a);
            const double scaled = t * timestep_scaling_, sigma_data = 0.5;
            const double c_skip = sigma_data * sigma_data / (scaled * scaled + sigma_data * sigma_data);
            const double c_out = scaled / std::sqrt(scaled * scaled + sigma_data * sigma_data);
            for (size_t k = 0; k < n; ++k) {
                const double xk = x[k], o = out[k];
                const double x0 = v_prediction_ ? sa * xk - sb * o : (xk - sb * o) / sa;
                const double denoised = c_out * x0 + c_skip * xk;
                x[k] = float(add_noise ? std::sqrt(a_prev) * denoised + std::sqrt(1 - a_prev) * noise[k] : denoised);
            }
            break;
        }
    }
}

}  // namespace hearth::diffusion
