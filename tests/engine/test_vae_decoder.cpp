// The VAE decoder (engine/diffusion/vae_decoder) against diffusers: each shared pipeline's
// reference/vae_decode.f32 ([3][64][64] in [-1, 1]) decoded from reference/unet_input.f32
// ([4][8][8], divided by the scaling factor first, as the pipeline does), on the reference and
// CPU backends, and Vulkan where a device exists. tiny-sd15 stores F16 weights, tiny-sd-turbo F32.
//
// Tolerances on the image in [-1, 1]: max |Δ| 5e-5 and mean |Δ| 5e-6, ten times what was measured
// (4.9e-6 / 6e-7 on the CPU, both storage types): both sides compute in F32 from the same weights,
// with float sums over 9·64-term convolutions through ~20 layers. The bound on the final
// image in [0, 1] is 0.02 / 0.002.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/vae_decoder.h"
#include "engine/util/json.h"
#include "tests/engine/diffusion_backends.h"
#include "tests/engine/diffusion_compare.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/testdata.h"

using namespace hearth;

namespace {

TEST(VaeDecoder, MatchesDiffusersOnEachBackend) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::vector<std::string> backends = test::diffusion_backends();
    for (const char* name : {"tiny-sd15", "tiny-sd-turbo"}) {
        const std::string dir = root + "/diffusion/" + name;
        const std::vector<float> latents = test::read_f32(dir + "/reference/unet_input.f32");
        const std::vector<float> want = test::read_f32(dir + "/reference/vae_decode.f32");
        ASSERT_EQ(latents.size(), 4u * 8 * 8);
        ASSERT_EQ(want.size(), 3u * 64 * 64);
        for (const std::string& backend_name : backends) {
            const char* backend = backend_name.c_str();
            // The VAE's weights are held in F32 on a GPU (force_upcast: F16 activations overflow in
            // SD's VAE), so every backend computes it in F32: the host bounds everywhere (lavapipe:
            // 3.8e-6 / 5.8e-7 for tiny-sd15's F16 file, 4.3e-6 / 6.2e-7 for tiny-sd-turbo's F32).
            auto be = create_backend(backend, 0, BackendOptions{2});
            ASSERT_TRUE(be.ok()) << be.message();
            auto vae = diffusion::VaeDecoder::open(dir + "/vae", **be);
            ASSERT_TRUE(vae.ok()) << vae.message();
            auto got = (*vae)->decode(latents, 8, 8);
            ASSERT_TRUE(got.ok()) << got.message();
            ASSERT_EQ(got->size(), want.size());
            const test::Difference diff = test::difference(*got, want);
            const double worst = diff.max, mean = diff.mean;
            std::printf("%s on %s: max |diff| %.2e, mean %.2e\n", name, backend, worst, mean);
            EXPECT_LE(worst, 5e-5) << name << " on " << backend;
            EXPECT_LE(mean, 5e-6) << name << " on " << backend;
        }
    }
}

// Tiled decode against diffusers' AutoencoderKL.tiled_decode (enable_tiling() on the tiny SD 1.5
// VAE: 8-latent tiles, overlap 0.25) of 16×24 latents: six tiles in two rows and three columns,
// the last of each partial (tests/engine/data/diffusion/vae_tiled*, made by
// tools/fixtures/make_vae_tiled_fixture.py). Same bounds as the whole decode: each tile is a
// decode, and the blend is two float multiply-adds per pixel.
TEST(VaeDecoder, TiledDecodeMatchesDiffusers) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::string base = test::fixture_path("diffusion/vae_tiled");
    auto meta = json::parse_file(base + ".json");
    ASSERT_TRUE(meta.ok()) << meta.message();
    const int h = int(meta->find("latent_h")->as_int()), w = int(meta->find("latent_w")->as_int());
    const int tile = int(meta->find("tile_latent")->as_int());
    const float overlap = float(meta->find("overlap")->as_double());
    const std::vector<float> latents = test::read_f32(base + "_latents.f32"), want = test::read_f32(base + "_image.f32");
    ASSERT_EQ(latents.size(), size_t(4 * h * w));
    ASSERT_EQ(want.size(), size_t(3 * 64 * h * w));
    // The CPU only: each tile is a decode(), which the test above checks on every backend (the
    // tiled run takes a minute on lavapipe, 4.1e-6 there when last measured).
    for (const std::string& backend_name : {std::string("cpu")}) {
        const char* backend = backend_name.c_str();
        auto be = create_backend(backend, 0, BackendOptions{2});
        ASSERT_TRUE(be.ok()) << be.message();
        auto vae = diffusion::VaeDecoder::open(root + "/diffusion/tiny-sd15/vae", **be);
        ASSERT_TRUE(vae.ok()) << vae.message();
        auto got = (*vae)->decode_tiled(latents, h, w, tile, overlap);
        ASSERT_TRUE(got.ok()) << got.message();
        ASSERT_EQ(got->size(), want.size());
        const test::Difference diff = test::difference(*got, want);
        std::printf("tiled on %s: max |diff| %.2e, mean %.2e\n", backend, diff.max, diff.mean);
        EXPECT_LE(diff.max, 5e-5) << backend;
        EXPECT_LE(diff.mean, 5e-6) << backend;
        // Not the untiled decode: group norm saw one tile at a time (diffusers' trade as well).
        auto whole = (*vae)->decode(latents, h, w);
        ASSERT_TRUE(whole.ok()) << whole.message();
        EXPECT_GT(test::difference(*got, *whole).max, 1e-3) << backend;
    }
}

TEST(VaeDecoder, BadInputsAreClearErrors) {
    HEARTH_REQUIRE_TESTDATA(root);
    namespace fs = std::filesystem;
    const std::string src = root + "/diffusion/tiny-sd-turbo/vae";
    auto be = create_backend("reference", 0, BackendOptions{1});
    ASSERT_TRUE(be.ok());
    auto vae = diffusion::VaeDecoder::open(src, **be);
    ASSERT_TRUE(vae.ok()) << vae.message();
    EXPECT_NE((*vae)->decode(std::vector<float>(10), 8, 8).message().find("4×8×8 expected"), std::string::npos);
    EXPECT_NE((*vae)->decode({}, 0, 8).message().find("out of range"), std::string::npos);

    const fs::path dir = fs::temp_directory_path() / ("hearth_vae_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(src + "/diffusion_pytorch_model.safetensors", dir / "diffusion_pytorch_model.safetensors",
                  fs::copy_options::overwrite_existing);
    auto cfg = json::parse_file(src + "/config.json");
    ASSERT_TRUE(cfg.ok());
    json::Value c = *cfg;
    c.set("layers_per_block", 3);
    std::ofstream(dir / "config.json") << c.dump();
    auto bad = diffusion::VaeDecoder::open(dir.string(), **be);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("decoder.up_blocks.0.resnets.3.norm1.weight is missing"), std::string::npos) << bad.message();
    c.set("layers_per_block", 2);
    c.set("norm_num_groups", 7);
    std::ofstream(dir / "config.json") << c.dump();
    EXPECT_NE(diffusion::VaeDecoder::open(dir.string(), **be).message().find("multiples of norm_num_groups"), std::string::npos);
    c.set("norm_num_groups", 32);
    c.set("shift_factor", 0.1);
    std::ofstream(dir / "config.json") << c.dump();
    EXPECT_NE(diffusion::VaeDecoder::open(dir.string(), **be).message().find("shift_factor"), std::string::npos);
    fs::remove_all(dir);
}

}  // namespace
