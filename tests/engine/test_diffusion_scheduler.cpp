// engine/diffusion/scheduler against diffusers 0.42's schedulers:
// tests/engine/data/scheduler_cases.json (tools/fixtures/gen_scheduler_cases.py) runs the
// pipeline's loop for Euler, Euler ancestral, DDIM (eta 0) and LCM over 7 schedule configurations
// (SD 1.5's betas with leading/trailing/linspace spacing, epsilon and v_prediction, linear and
// cosine betas) and 1/4/7 steps, with a stand-in model both sides compute and the ancestral/LCM
// noise injected. Also the shared pipelines' own timesteps, and clear errors.
//
// Tolerances: timesteps exact; sigma-derived scales 1e-6 relative (both sides build the schedule in
// float32 the same way; np.interp and the casts differ in the last bit); latents after every step
// 1e-5 relative to max(1, |x|) (diffusers steps in float32 tensors, Hearth in double per value;
// measured worst 2e-6).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/diffusion/scheduler.h"
#include "engine/util/json.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/testdata.h"

using namespace hearth;
using namespace hearth::diffusion;

namespace {

std::vector<float> floats(const json::Value& a) {
    std::vector<float> v;
    for (const auto& x : a.as_array()) v.push_back(float(x.as_double()));
    return v;
}

TEST(DiffusionScheduler, TrajectoriesMatchDiffusers) {
    auto doc = json::parse_file(test::fixture_path("scheduler_cases.json"));
    ASSERT_TRUE(doc.ok()) << doc.message();
    const auto& cases = (*doc)["cases"].as_array();
    ASSERT_EQ(cases.size(), 84u);
    double worst = 0;
    for (const auto& c : cases) {
        const std::string name = c["name"].as_string();
        auto cfg = parse_schedule_config(c["config"], name);
        ASSERT_TRUE(cfg.ok()) << cfg.message();
        auto sampler = sampler_from_name(c["sampler"].as_string());
        ASSERT_TRUE(sampler.ok());
        auto s = Scheduler::create(*cfg, *sampler, int(c["steps"].as_int()));
        ASSERT_TRUE(s.ok()) << name << ": " << s.message();
        const auto& ts = c["timesteps"].as_array();
        ASSERT_EQ(size_t(s->steps()), ts.size()) << name;
        EXPECT_NEAR(s->init_noise_sigma(), c["init_noise_sigma"].as_double(), 1e-6 * c["init_noise_sigma"].as_double()) << name;
        std::vector<float> x = floats(c["noise"]);
        for (float& v : x) v = float(v * s->init_noise_sigma());
        for (int i = 0; i < s->steps(); ++i) {
            const double t = s->timestep(i);
            ASSERT_NEAR(t, ts[size_t(i)].as_double(), 1e-3) << name << " step " << i;
            EXPECT_NEAR(s->input_scale(i), c["input_scales"].as_array()[size_t(i)].as_double(), 1e-6) << name << " step " << i;
            const json::Value& noise_json = c["step_noise"].as_array()[size_t(i)];
            EXPECT_EQ(s->needs_noise(i), !noise_json.is_null()) << name << " step " << i;
            std::vector<float> noise = floats(noise_json);
            std::vector<float> out(x.size());
            for (size_t k = 0; k < x.size(); ++k)  // the fixture's stand-in model on the scaled input
                out[k] = float(0.8 * double(float(x[k] * s->input_scale(i))) + 0.05 * std::cos(0.3 * double(k) + 0.01 * t));
            s->step(i, out.data(), x.data(), x.size(), noise.empty() ? nullptr : noise.data());
            const std::vector<float> want = floats(c["after_step"].as_array()[size_t(i)]);
            for (size_t k = 0; k < x.size(); ++k) {
                const double err = std::fabs(double(x[k]) - want[k]) / std::max(1.0, std::fabs(double(want[k])));
                worst = std::max(worst, err);
                ASSERT_LE(err, 1e-5) << name << " step " << i << " value " << k << ": " << x[k] << " vs " << want[k];
            }
        }
    }
    std::printf("%zu scheduler runs: worst relative difference %.2e\n", cases.size(), worst);
}

// The shared pipelines' runs used these timesteps (expected.json), from their own configs.
TEST(DiffusionScheduler, SharedPipelinesTimesteps) {
    HEARTH_REQUIRE_TESTDATA(root);
    for (const char* name : {"tiny-sd15", "tiny-sd-turbo"}) {
        const std::string dir = root + "/diffusion/" + name;
        auto cfg = read_schedule_config(dir + "/scheduler/scheduler_config.json");
        ASSERT_TRUE(cfg.ok()) << cfg.message();
        auto expected = json::parse_file(dir + "/expected.json");
        ASSERT_TRUE(expected.ok());
        for (const auto& run : (*expected)["runs"].as_array()) {
            ScheduleConfig c = *cfg;
            std::string sched = run["sched"].as_string();
            if (sched == "euler-trailing") { sched = "euler"; c.timestep_spacing = "trailing"; }
            auto s = Scheduler::create(c, *sampler_from_name(sched), int(run["steps"].as_int()));
            ASSERT_TRUE(s.ok()) << s.message();
            std::vector<double> want;
            for (const auto& t : run["timesteps"].as_array()) want.push_back(t.as_double());
            EXPECT_EQ(s->timesteps(), want) << name << " " << run["sched"].as_string();
        }
    }
}

TEST(DiffusionScheduler, BadSettingsAreClearErrors) {
    auto error_of = [](const std::string& text) {
        auto v = json::parse(text);
        if (!v.ok()) return v.message();
        auto c = parse_schedule_config(*v, "scheduler_config.json");
        return c.ok() ? std::string("accepted") : c.message();
    };
    EXPECT_NE(error_of(R"({"use_karras_sigmas": true})").find("use_karras_sigmas is not supported"), std::string::npos);
    EXPECT_NE(error_of(R"({"beta_schedule": "sigmoid"})").find("beta_schedule 'sigmoid'"), std::string::npos);
    EXPECT_NE(error_of(R"({"prediction_type": "sample"})").find("prediction_type 'sample'"), std::string::npos);
    EXPECT_NE(error_of(R"({"timestep_spacing": "karras"})").find("timestep_spacing"), std::string::npos);
    EXPECT_NE(error_of(R"({"trained_betas": [0.1, 0.2]})").find("trained_betas"), std::string::npos);
    EXPECT_NE(error_of(R"({"beta_start": "x"})").find("beta_start is not a number"), std::string::npos);
    EXPECT_NE(error_of(R"({"beta_start": 0.5, "beta_end": 0.1})").find("0 < beta_start < beta_end < 1"), std::string::npos);
    EXPECT_NE(error_of(R"({"num_train_timesteps": 0})").find("num_train_timesteps"), std::string::npos);
    EXPECT_NE(error_of("[1]").find("not a JSON object"), std::string::npos);
    EXPECT_EQ(error_of(R"({"_class_name": "PNDMScheduler", "skip_prk_steps": true, "set_alpha_to_one": false})"), "accepted");

    ScheduleConfig c;
    EXPECT_NE(Scheduler::create(c, Sampler::Euler, 0).message().find("at least 1"), std::string::npos);
    EXPECT_FALSE(Scheduler::create(c, Sampler::Euler, 1001).ok());
    EXPECT_NE(Scheduler::create(c, Sampler::Lcm, 51).message().find("lcm takes at most 50"), std::string::npos);
    c.steps_offset = 999;
    EXPECT_NE(Scheduler::create(c, Sampler::Ddim, 4).message().find("outside the schedule"), std::string::npos);
    EXPECT_FALSE(sampler_from_name("heun").ok());
    EXPECT_STREQ(sampler_name(Sampler::EulerAncestral), "euler_a");
}

}  // namespace
