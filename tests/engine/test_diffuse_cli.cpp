// hearth-cli diffuse end to end: the DDIM run of tiny-sd15 (5 steps, guidance 5, a negative prompt,
// a Chinese prompt) from its stored noise gives diffusers' image in --raw (max |Δ| 1e-4, as the
// pipeline test) and the same pixels in the PNG (8-bit rounding: 0.5/255), which carries the
// prompt; bad requests are one clear line and exit status 1.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

}  // namespace
