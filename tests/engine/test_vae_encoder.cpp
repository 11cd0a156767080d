// The VAE encoder (engine/diffusion/vae_encoder) against diffusers' AutoencoderKL.encode on both
// shared tiny pipelines (tiny-sd15: F16 weights, tiny-sd-turbo: F32) of one random 64×48 image in
// [-1, 1] (tests/engine/data/diffusion/vae_encode_*, made by tools/fixtures/make_vae_encode_fixture.py):
// the latent distribution's mean and clamped log-variance.
//
// Bounds on the latents (values of order 0.4): max |Δ| 5e-5, mean 5e-6 on every backend, as the
// decoder's (F32 sums over 9·64-term convolutions through ~20 layers on both sides; the VAE's
// weights are F32 on a GPU too, VaeConfig::force_upcast). Measured ≤ 3.7e-6 on CPU and lavapipe.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/vae_encoder.h"
#include "tests/engine/diffusion_backends.h"
#include "tests/engine/diffusion_compare.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/testdata.h"

using namespace hearth;

namespace {

TEST(VaeEncoder, MatchesDiffusersOnEachBackend) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::vector<float> image = test::read_f32(test::fixture_path("diffusion/vae_encode_image.f32"));
    ASSERT_EQ(image.size(), 3u * 48 * 64);
    for (const char* name : {"tiny-sd15", "tiny-sd-turbo"}) {
        const std::string base = test::fixture_path((std::string("diffusion/vae_encode_") + name).c_str());
        const std::vector<float> mean = test::read_f32(base + "_mean.f32"), logvar = test::read_f32(base + "_logvar.f32");
        ASSERT_EQ(mean.size(), 4u * 6 * 8);
        for (const std::string& backend : test::diffusion_backends()) {
            auto be = create_backend(backend, 0, BackendOptions{2});
            ASSERT_TRUE(be.ok()) << be.message();
            auto enc = diffusion::VaeEncoder::open(root + "/diffusion/" + name + "/vae", **be);
            ASSERT_TRUE(enc.ok()) << enc.message();
            auto got = (*enc)->encode(image, 48, 64);
            ASSERT_TRUE(got.ok()) << got.message();
            EXPECT_EQ(got->h, 6);
            EXPECT_EQ(got->w, 8);
            const test::Difference dm = test::difference(got->mean, mean), dl = test::difference(got->logvar, logvar);
            std::printf("%s on %s: mean max |diff| %.2e (avg %.2e), logvar max %.2e\n", name, backend.c_str(), dm.max, dm.mean, dl.max);
            EXPECT_LE(dm.max, 5e-5) << name << " on " << backend;
            EXPECT_LE(dm.mean, 5e-6) << name << " on " << backend;
            EXPECT_LE(dl.max, 5e-5) << name << " on " << backend;
        }
    }
}

TEST(VaeEncoder, BadInputsAreClearErrors) {
    HEARTH_REQUIRE_TESTDATA(root);
    auto be = create_backend("cpu", 0, BackendOptions{1});
    ASSERT_TRUE(be.ok());
    auto enc = diffusion::VaeEncoder::open(root + "/diffusion/tiny-sd15/vae", **be);
    ASSERT_TRUE(enc.ok()) << enc.message();
    EXPECT_NE((*enc)->encode(std::vector<float>(3 * 60 * 64), 60, 64).message().find("multiples of 8"), std::string::npos);
    EXPECT_NE((*enc)->encode(std::vector<float>(10), 64, 64).message().find("3×64×64 expected"), std::string::npos);
    EXPECT_NE(diffusion::VaeEncoder::open(root + "/diffusion/tiny-sd15/unet", **be).message().find("config"), std::string::npos);
}

}  // namespace
