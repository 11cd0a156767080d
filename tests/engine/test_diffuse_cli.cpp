// hearth-cli diffuse end to end: the DDIM run of tiny-sd15 (5 steps, guidance 5, a negative prompt,
// a Chinese prompt) from its stored noise gives diffusers' image in --raw (max |Δ| 1e-4, as the
// pipeline test) and the same pixels in the PNG (8-bit rounding: 0.5/255), which carries the
// prompt; bad requests are one clear line and exit status 1. --backend vulkan on lavapipe draws the
// CPU's picture within the GPU bound of test_diffusion_pipeline (max 0.02, mean 0.002: lavapipe's F16
// GEMM tiles round tiny-sd15's activations; measured 5.2e-3 / 7.6e-4 at 2 Euler steps, guidance 7.5)
// and names the device first; a GPU without the memory for the run is an error, never a silent CPU run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/util/json.h"
#include "engine/util/png_file.h"
#include "tests/engine/diffusion_compare.h"
#include "tests/engine/testdata.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

#define REQUIRE_CLI(cli)                                 \
    const std::string cli = HEARTH_CLI_PATH;             \
    if (!fs::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli

TEST(DiffuseCli, DdimRunMatchesDiffusersAndWritesPng) {
    HEARTH_REQUIRE_TESTDATA(root);
    REQUIRE_CLI(cli);
    const std::string dir = root + "/diffusion/tiny-sd15";
    auto expected = json::parse_file(dir + "/expected.json");
    ASSERT_TRUE(expected.ok());
    const json::Value& run = (*expected)["runs"].as_array()[1];
    ASSERT_EQ(run["sched"].as_string(), "ddim");
    const fs::path out = fs::temp_directory_path() / ("hearth_diffuse_" + std::to_string(::getpid()));
    fs::create_directories(out);
    const std::string png = (out / "a.png").string(), raw = (out / "a.f32").string();
    std::string log;
    const std::string cmd = "'" + cli + "' diffuse -m '" + dir + "' -p '" + run["prompt"].as_string() + "' -n '" + run["negative"].as_string() +
                            "' --sampler ddim --steps 5 --cfg 5 -W 64 -H 64 --noise '" + dir + "/" + run["noise"].as_string() +
                            "' -o '" + png + "' --raw '" + raw + "' --backend cpu -t 2 2>&1";
    ASSERT_EQ(test::run_shell(cmd, &log), 0) << log;
    EXPECT_NE(log.find("step 5/5"), std::string::npos) << log;
    const std::vector<float> got = test::read_f32(raw), want = test::read_f32(dir + "/" + run["image"].as_string());
    ASSERT_EQ(got.size(), want.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
    EXPECT_LE(worst, 1e-4);
    auto img = read_png_rgb(png);
    ASSERT_TRUE(img.ok()) << img.message();
    ASSERT_EQ(img->rgb.size(), got.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(img->rgb[i], got[i], 0.5 / 255 + 1e-6) << i;
    bool has_prompt = false;
    for (const auto& [k, v] : img->text) has_prompt |= k == "prompt" && v == run["prompt"].as_string();
    EXPECT_TRUE(has_prompt);
    fs::remove_all(out);
}

TEST(DiffuseCli, BadRequestsSayWhy) {
    HEARTH_REQUIRE_TESTDATA(root);
    REQUIRE_CLI(cli);
    const std::string base = "'" + cli + "' diffuse -m '" + root + "/diffusion/tiny-sd-turbo' -p cat -o /tmp/hearth_never.png ";
    const struct { std::string args, says; } cases[] = {
        {"-W 60", "multiples of 8"},
        {"--steps 0", "at least 1"},
        {"--sampler heun", "unknown sampler 'heun'"},
        {"-W 128 -H 128 --noise '" + root + "/diffusion/tiny-sd-turbo/reference/unet_output_t501.f32'", "needs 1024 float32 values"},
        {"--seed 1 --noise x.f32", "exclude each other"},
        {"--cfg -1", "--cfg"},
    };
    for (const auto& c : cases) {
        std::string log;
        EXPECT_EQ(test::run_shell(base + c.args + " 2>&1", &log), 1) << c.args;
        EXPECT_NE(log.find(c.says), std::string::npos) << c.args << ": " << log;
    }
    std::string log;
    EXPECT_EQ(test::run_shell("'" + cli + "' diffuse -m /nonexistent -p cat -o /tmp/hearth_never.png 2>&1", &log), 1);
    EXPECT_NE(log.find("not a diffusers pipeline folder"), std::string::npos) << log;
    EXPECT_FALSE(fs::exists("/tmp/hearth_never.png"));
}

// The same seeded 64×64 run, 2 Euler steps, on the CPU and on Vulkan (lavapipe: ~10 s).
TEST(DiffuseCli, VulkanRunMatchesCpuRunAndNamesTheDevice) {
    HEARTH_REQUIRE_TESTDATA(root);
    REQUIRE_CLI(cli);
    auto vk = create_backend("vulkan", 0, BackendOptions{});
    if (!vk.ok()) GTEST_SKIP() << "no Vulkan device: " << vk.message();
    const std::string vk_name = (*vk)->device().name;
    vk->reset();
    const std::string dir = root + "/diffusion/tiny-sd15";
    const fs::path out = fs::temp_directory_path() / ("hearth_diffuse_vk_" + std::to_string(::getpid()));
    fs::create_directories(out);
    const std::string base = "'" + cli + "' diffuse -m '" + dir + "' -p 'a red fox in the snow' --steps 2 --seed 3 -W 64 -H 64 -t 2 ";
    std::string log_cpu, log_vk;
    ASSERT_EQ(test::run_shell(base + "--backend cpu -o '" + (out / "c.png").string() + "' --raw '" + (out / "c.f32").string() + "' 2>&1", &log_cpu), 0)
        << log_cpu;
    ASSERT_EQ(test::run_shell(base + "--backend vulkan -o '" + (out / "v.png").string() + "' --raw '" + (out / "v.f32").string() + "' 2>&1", &log_vk), 0)
        << log_vk;
    // The first line says which device draws.
    EXPECT_EQ(log_cpu.rfind("diffuse: on CPU: ", 0), 0u) << log_cpu;
    EXPECT_EQ(log_vk.rfind("diffuse: on Vulkan: " + vk_name, 0), 0u) << log_vk;
    const std::vector<float> c = test::read_f32((out / "c.f32").string()), v = test::read_f32((out / "v.f32").string());
    ASSERT_EQ(c.size(), size_t(64 * 64 * 3));
    ASSERT_EQ(v.size(), c.size());
    double worst = 0, sum = 0;
    for (size_t i = 0; i < c.size(); ++i) {
        const double d = std::fabs(double(c[i]) - v[i]);
        worst = std::max(worst, d);
        sum += d;
    }
    std::printf("vulkan vs cpu image: max |d| %.2e, mean %.2e\n", worst, sum / double(c.size()));
    EXPECT_LE(worst, 0.02);
    EXPECT_LE(sum / double(c.size()), 0.002);
    fs::remove_all(out);
}

// A named GPU that cannot hold the weights, or the run's size, is an error that says so before the
// first step (auto alone falls back to the CPU); HEARTH_VULKAN_MAX_MEMORY plays the small device.
TEST(DiffuseCli, VulkanWithoutTheMemoryIsAClearError) {
    HEARTH_REQUIRE_TESTDATA(root);
    REQUIRE_CLI(cli);
    if (auto vk = create_backend("vulkan", 0, BackendOptions{}); !vk.ok()) GTEST_SKIP() << "no Vulkan device: " << vk.message();
    const std::string base = "'" + cli + "' diffuse -m '" + root + "/diffusion/tiny-sd15' -p cat --steps 1 -o /tmp/hearth_never_vk.png --backend vulkan ";
    std::string log;
    EXPECT_EQ(test::run_shell("HEARTH_VULKAN_MAX_MEMORY=1000000 " + base + "-W 64 -H 64 2>&1", &log), 1);
    EXPECT_NE(log.find("out of device memory"), std::string::npos) << log;
    EXPECT_EQ(log.find("step 1/1"), std::string::npos) << log;
    EXPECT_EQ(test::run_shell("HEARTH_VULKAN_MAX_MEMORY=30000000 " + base + "-W 512 -H 512 2>&1", &log), 1);
    EXPECT_NE(log.find("a 512×512 image needs about"), std::string::npos) << log;
    EXPECT_NE(log.find("are free on Vulkan: "), std::string::npos) << log;
    EXPECT_EQ(log.find("step 1/1"), std::string::npos) << log;
    EXPECT_FALSE(fs::exists("/tmp/hearth_never_vk.png"));
}

// --backend auto on a CUDA device (the simulator in the "sim." run, or a real GPU): drawn there and
// said first; with HEARTH_CUDA_MAX_MEMORY too small for the weights, or for the size's activations,
// the CPU draws the CPU's exact picture and the first line says why. --backend cuda never falls back.
// Bound on the GPU picture: as the Vulkan one (F16 GEMM over tiny-sd15's F16 weights).
TEST(DiffuseCli, AutoTakesTheGpuAndFallsBackToTheCpuSayingWhy) {
    HEARTH_REQUIRE_TESTDATA(root);
    REQUIRE_CLI(cli);
    if (auto cu = create_backend("cuda", 0, BackendOptions{}); !cu.ok())
        GTEST_SKIP() << "needs a CUDA device (ctest's sim. run gives it the simulator): " << cu.message();
    const std::string dir = root + "/diffusion/tiny-sd15";
    const fs::path out = fs::temp_directory_path() / ("hearth_diffuse_auto_" + std::to_string(::getpid()));
    fs::create_directories(out);
    auto run = [&](const std::string& env, const std::string& backend, int side, const std::string& name, std::string* log) {
        return test::run_shell(env + " '" + cli + "' diffuse -m '" + dir + "' -p 'a red fox in the snow' --steps 1 --seed 3 -W " +
                                   std::to_string(side) + " -H " + std::to_string(side) + " -t 2 --backend " + backend + " -o '" +
                                   (out / (name + ".png")).string() + "' --raw '" + (out / (name + ".f32")).string() + "' 2>&1",
                               log);
    };
    auto diff = [&](const std::string& a, const std::string& b) {
        const std::vector<float> x = test::read_f32((out / (a + ".f32")).string()), y = test::read_f32((out / (b + ".f32")).string());
        std::pair<double, double> d{1e9, 1e9};
        if (x.size() != y.size() || x.empty()) return d;
        d = {0, 0};
        for (size_t i = 0; i < x.size(); ++i) {
            d.first = std::max(d.first, std::fabs(double(x[i]) - y[i]));
            d.second += std::fabs(double(x[i]) - y[i]) / double(x.size());
        }
        return d;
    };
    std::string log;
    ASSERT_EQ(run("", "cpu", 64, "cpu", &log), 0) << log;
    ASSERT_EQ(run("", "auto", 64, "gpu", &log), 0) << log;
    EXPECT_EQ(log.rfind("diffuse: on CUDA: ", 0), 0u) << log;
    const auto [gmax, gmean] = diff("cpu", "gpu");
    std::printf("auto on CUDA vs cpu: max |d| %.2e, mean %.2e\n", gmax, gmean);
    EXPECT_LE(gmax, 0.02);
    EXPECT_LE(gmean, 0.002);

    // The weights do not fit: the CPU, said before anything else, the CPU's own picture.
    ASSERT_EQ(run("HEARTH_CUDA_MAX_MEMORY=1000000", "auto", 64, "fell", &log), 0) << log;
    EXPECT_EQ(log.rfind("diffuse: auto: CUDA: ", 0), 0u) << log;
    EXPECT_NE(log.find("out of GPU memory"), std::string::npos) << log;
    EXPECT_NE(log.find("drawing on the CPU instead\ndiffuse: on CPU: "), std::string::npos) << log;
    EXPECT_EQ(diff("cpu", "fell").first, 0.0);

    // The weights fit, a 256×256 run's activations do not (the memory plan, before the first step).
    ASSERT_EQ(run("HEARTH_CUDA_MAX_MEMORY=30000000", "auto", 256, "plan", &log), 0) << log;
    EXPECT_EQ(log.rfind("diffuse: auto: CUDA: ", 0), 0u) << log;
    EXPECT_NE(log.find("a 256×256 image needs about"), std::string::npos) << log;
    EXPECT_NE(log.find("are free on CUDA: "), std::string::npos) << log;
    EXPECT_NE(log.find("diffuse: on CPU: "), std::string::npos) << log;

    // Named outright: the error, no CPU run.
    EXPECT_EQ(run("HEARTH_CUDA_MAX_MEMORY=1000000", "cuda", 64, "never", &log), 1) << log;
    EXPECT_NE(log.find("out of GPU memory"), std::string::npos) << log;
    EXPECT_EQ(log.find("on CPU"), std::string::npos) << log;
    EXPECT_FALSE(fs::exists(out / "never.png"));
    fs::remove_all(out);
}

}  // namespace
