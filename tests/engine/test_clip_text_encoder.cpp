// CLIP's text encoder (engine/diffusion/clip_text_encoder) against what transformers computed in
// ../shared/testdata/diffusion/*/reference/text_encoder.f32 ([77][width], the last hidden state
// of each pipeline's first prompt), on the reference and CPU backends, from the prompt's text
// through the CLIP tokenizer; Vulkan too where a device exists. tiny-sd15: F16 weights, quick-GELU; tiny-sd-turbo: F32, GELU.
//
// Tolerance: max |Δ| 2e-5 on values of rms ~1 (the final layer norm; measured 1.8e-6). Both sides compute in F32
// from the same (F16 or F32) weights; what differs is summation order and the erf/exp of the
// activations, a few float ulps per op over 3 layers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/clip_prompt.h"
#include "engine/diffusion/clip_text_encoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/json.h"
#include "tests/engine/diffusion_compare.h"
#include "tests/engine/diffusion_backends.h"
#include "tests/engine/testdata.h"

using namespace hearth;

namespace {

TEST(ClipTextEncoder, MatchesTransformersOnEachBackend) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::vector<std::string> backends = test::diffusion_backends();
    for (const char* name : {"tiny-sd15", "tiny-sd-turbo"}) {
        const std::string dir = root + "/diffusion/" + name;
        auto expected = json::parse_file(dir + "/expected.json");
        ASSERT_TRUE(expected.ok()) << expected.message();
        const std::string prompt = (*expected)["text_encoder"]["prompt"].as_string();
        const std::vector<float> want = test::read_f32(dir + "/reference/text_encoder.f32");
        auto tok = tokenizer::Tokenizer::from_hf_dir(dir + "/tokenizer");
        ASSERT_TRUE(tok.ok()) << tok.message();
        auto ids = diffusion::clip_prompt(**tok, prompt);
        ASSERT_TRUE(ids.ok()) << ids.message();
        for (const std::string& backend_name : backends) {
            const char* backend = backend_name.c_str();
            // A GPU GEMM over F16 weights (tiny-sd15) rounds the activations to F16 too (mul_mm's F16
            // tiles): measured 2.2e-3 on lavapipe, bound 1e-2. F32 weights: the host bound (1.8e-6).
            const bool f16_gemm = test::is_gpu_backend(backend_name) && std::string(name) == "tiny-sd15";
            auto be = create_backend(backend, 0, BackendOptions{2});
            ASSERT_TRUE(be.ok()) << be.message();
            auto enc = diffusion::ClipTextEncoder::open(dir + "/text_encoder", **be);
            ASSERT_TRUE(enc.ok()) << enc.message();
            ASSERT_EQ(want.size(), size_t(77 * (*enc)->config().hidden));
            auto got = (*enc)->encode(ids->ids);
            ASSERT_TRUE(got.ok()) << got.message();
            ASSERT_EQ(got->size(), want.size());
            double worst = 0, rms = 0;
            for (size_t i = 0; i < want.size(); ++i) {
                worst = std::max(worst, std::fabs(double((*got)[i]) - want[i]));
                rms += double(want[i]) * want[i];
            }
            std::printf("%s on %s: max |diff| %.2e (rms %.3f)\n", name, backend, worst, std::sqrt(rms / double(want.size())));
            EXPECT_LE(worst, f16_gemm ? 1e-2 : 2e-5) << name << " on " << backend;
            // A second call reuses the activations and gives the same numbers.
            auto again = (*enc)->encode(ids->ids);
            ASSERT_TRUE(again.ok());
            EXPECT_EQ(*again, *got);
        }
    }
}

TEST(ClipTextEncoder, BadInputsAreClearErrors) {
    HEARTH_REQUIRE_TESTDATA(root);
    namespace fs = std::filesystem;
    const std::string src = root + "/diffusion/tiny-sd15/text_encoder";
    auto be = create_backend("reference", 0, BackendOptions{1});
    ASSERT_TRUE(be.ok());
    auto enc = diffusion::ClipTextEncoder::open(src, **be);
    ASSERT_TRUE(enc.ok()) << enc.message();
    EXPECT_NE((*enc)->encode({}).message().find("1 to 77 tokens"), std::string::npos);
    EXPECT_NE((*enc)->encode(std::vector<int32_t>(78, 1)).message().find("1 to 77 tokens"), std::string::npos);
    EXPECT_NE((*enc)->encode({49406, 49408}).message().find("outside the vocabulary"), std::string::npos);

    // A config that disagrees with the weights names the tensor; a missing file names the file.
    const fs::path dir = fs::temp_directory_path() / ("hearth_clip_te_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(src + "/model.safetensors", dir / "model.safetensors", fs::copy_options::overwrite_existing);
    auto cfg = json::parse_file(src + "/config.json");
    ASSERT_TRUE(cfg.ok());
    json::Value c = *cfg;
    c.set("intermediate_size", 128);
    std::ofstream(dir / "config.json") << c.dump();
    auto bad = diffusion::ClipTextEncoder::open(dir.string(), **be);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("encoder.layers.0.mlp.fc1.weight has shape [256, 64], the config says [128, 64]"), std::string::npos)
        << bad.message();
    c.set("hidden_act", "relu");
    std::ofstream(dir / "config.json") << c.dump();
    EXPECT_NE(diffusion::ClipTextEncoder::open(dir.string(), **be).message().find("hidden_act 'relu'"), std::string::npos);
    fs::remove(dir / "model.safetensors");
    c.set("hidden_act", "quick_gelu");
    c.set("intermediate_size", 256);
    std::ofstream(dir / "config.json") << c.dump();
    EXPECT_NE(diffusion::ClipTextEncoder::open(dir.string(), **be).message().find("model.safetensors"), std::string::npos);
    fs::remove_all(dir);
}

}  // namespace
