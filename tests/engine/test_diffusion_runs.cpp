// Whole diffusers runs beyond the shared fixtures (tests/engine/data/diffusion, made by
// tools/fixtures/make_diffusion_run_fixtures.py with diffusers 0.42 on the shared tiny pipelines):
// non-square images (128×64 on SD 1.5's shape, 64×128 on SD-Turbo's), Euler ancestral and LCM with
// diffusers' per-step noise replayed, and DDIM with trailing spacing and guidance on the F32
// pipeline. On the CPU backend, against the final image.
//
// Tolerance: max |Δ| 1e-4 and mean |Δ| 1e-5 on the image in [0, 1] (the issue allows 0.02 / 0.002;
// F32 on both sides gives ~1e-6, as in test_diffusion_pipeline).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/pipeline.h"
#include "engine/util/json.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/diffusion_compare.h"
#include "tests/engine/testdata.h"

using namespace hearth;

namespace {

TEST(DiffusionRuns, NonSquareAncestralLcmAndTrailingDdimMatchDiffusers) {
    HEARTH_REQUIRE_TESTDATA(root);
    auto be = create_backend("cpu", 0, BackendOptions{2});
    ASSERT_TRUE(be.ok()) << be.message();
    for (const char* name : {"sd15_euler_wide", "turbo_tall", "sd15_euler_a", "sd15_lcm", "turbo_ddim", "sd15_euler_odd", "turbo_odd"}) {
        const std::string base = test::fixture_path((std::string("diffusion/") + name).c_str());
        auto meta = json::parse_file(base + ".json");
        ASSERT_TRUE(meta.ok()) << meta.message();
        const json::Value& m = *meta;
        auto pipe = diffusion::Pipeline::open(root + "/diffusion/" + m["pipeline"].as_string(), **be);
        ASSERT_TRUE(pipe.ok()) << pipe.message();
        diffusion::DiffuseOptions o;
        o.prompt = m["prompt"].as_string();
        o.negative = m["negative"].as_string();
        o.sampler = *diffusion::sampler_from_name(m["sampler"].as_string());
        o.steps = int(m["steps"].as_int());
        o.guidance = float(m["guidance"].as_double());
        o.width = int(m["width"].as_int());
        o.height = int(m["height"].as_int());
        o.noise = test::read_f32(base + "_noise.f32");
        const std::vector<float> draws = test::read_f32(base + "_stepnoise.f32");
        const size_t n = o.noise.size();
        ASSERT_EQ(draws.size(), n * size_t(m["noisy_steps"].as_int())) << name;
        for (size_t k = 0; k < draws.size(); k += n) o.step_noise.emplace_back(draws.begin() + long(k), draws.begin() + long(k + n));
        auto got = (*pipe)->generate(o);
        ASSERT_TRUE(got.ok()) << name << ": " << got.message();
        const std::vector<float> want = test::read_f32(base + "_image.f32");
        ASSERT_EQ(got->rgb.size(), want.size()) << name;
        const test::Difference diff = test::difference(got->rgb, want);
        const double worst = diff.max, mean = diff.mean;
        std::printf("%s (%s, %d steps, %dx%d): image max %.2e mean %.2e\n", name, m["sampler"].as_string().c_str(), o.steps, o.width,
                    o.height, worst, mean);
        EXPECT_LE(worst, 1e-4) << name;
        EXPECT_LE(mean, 1e-5) << name;
    }
}

}  // namespace
