// hearth-cli with adapters, end to end over the shared LoRA fixtures (lora_base.h): --lora on
// logits, generate and bench, merge-lora, and the errors (one line on stderr, non-zero status).
// Skipped when the CLI is not built or the data is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "tests/engine/lora_base.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;

namespace {

int run(const std::string& cmd, std::string* out) { return test::run_shell(cmd, out); }

std::string ids_text(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
    return s;
}

std::vector<float> numbers(const std::string& text) {
    std::vector<float> v;
    std::istringstream ss(text);
    float x;
    while (ss >> x) v.push_back(x);
    return v;
}

// The last row of an [8][n_vocab] logits file.
std::vector<float> last_row(const std::vector<float>& rows8) {
    return std::vector<float>(rows8.end() - long(rows8.size() / 8), rows8.end());
}

#define REQUIRE_CLI(cli)                                                                            \
    const std::string cli = HEARTH_CLI_PATH;                                                        \
    if (!std::filesystem::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli

}  // namespace

// logits --lora: PEFT's last row within 2e-3 (F32 math; printed with 9 significant digits), each
// adapter at its scale, and two --lora together.
TEST(LoraCli, LogitsWithAdaptersMatchPeft) {
    HEARTH_REQUIRE_TESTDATA(data);
    REQUIRE_CLI(cli);
    test::FixtureFiles fx;
    ASSERT_TRUE(test::load_fixture_files(data, "tiny-llama", &fx));
    const std::string base = "'" + cli + "' logits --backend reference --kv f32 -m '" + fx.base() + "' --tokens '" + ids_text(fx.prompt) + "'";
    std::string out;
    ASSERT_EQ(run(base + " --lora '" + fx.adapter("qv-r16") + ":0.5'", &out), 0) << out;
    EXPECT_LT(test::max_diff(numbers(out), last_row(fx.peft("qv-r16", "0.5"))), 2e-3);
    ASSERT_EQ(run(base + " --lora '" + fx.adapter("qv-r16") + "' --lora '" + fx.adapter("mlp-r8") + ":1'", &out), 0) << out;
    EXPECT_LT(test::max_diff(numbers(out), last_row(test::read_f32(fx.dir + "/logits.combined.f32"))), 2e-3);
}

// generate --lora: PEFT's greedy continuation with qv-r16 (every step's top-2 margin is above 0.05).
TEST(LoraCli, GenerateWithAdapterFollowsPeftGreedy) {
    HEARTH_REQUIRE_TESTDATA(data);
    REQUIRE_CLI(cli);
    test::FixtureFiles fx;
    ASSERT_TRUE(test::load_fixture_files(data, "tiny-llama", &fx));
    std::vector<int32_t> want;
    for (const json::Value& v : fx.expected["adapters"]["qv-r16"]["greedy_16_scale1"].as_array()) want.push_back(int32_t(v.as_int()));
    for (const json::Value& m : fx.expected["adapters"]["qv-r16"]["greedy_margins"].as_array()) ASSERT_GT(m.as_double(), 0.05);
    std::string out;
    ASSERT_EQ(run("'" + cli + "' generate -q --backend reference --kv f32 --temp 0 --ids -n 16 -m '" + fx.base() + "' --tokens '" +
                      ids_text(fx.prompt) + "' --lora '" + fx.adapter("qv-r16") + "'", &out), 0) << out;
    EXPECT_EQ(out, ids_text(want) + "\n");
}

// merge-lora writes a plain model whose logits equal logits --lora (F32: within 1e-4, see
// test_lora_merge.cpp); the result has no adapter to apply.
TEST(LoraCli, MergeLoraEndToEnd) {
    HEARTH_REQUIRE_TESTDATA(data);
    REQUIRE_CLI(cli);
    test::FixtureFiles fx;
    ASSERT_TRUE(test::load_fixture_files(data, "tiny-llama", &fx));
    const std::string merged = test::temp_file("cli_merged.gguf");
    const std::string loras = " --lora '" + fx.adapter("qv-r16") + "' --lora '" + fx.adapter("mlp-r8") + ":0.5'";
    std::string out;
    ASSERT_EQ(run("'" + cli + "' merge-lora -q -m '" + fx.base() + "'" + loras + " -o '" + merged + "' --type f32", &out), 0) << out;
    EXPECT_NE(out.find("wrote " + merged), std::string::npos) << out;
    const std::string logits = "'" + cli + "' logits --backend reference --kv f32 --tokens '" + ids_text(fx.prompt) + "' -m ";
    std::string a, b;
    ASSERT_EQ(run(logits + "'" + merged + "'", &a), 0) << a;
    ASSERT_EQ(run(logits + "'" + fx.base() + "'" + loras, &b), 0) << b;
    EXPECT_LT(test::max_diff(numbers(a), numbers(b)), 1e-4);
    std::remove(merged.c_str());
}

// bench --lora prints speed with and without the adapter and the cost; --json has the fields.
TEST(LoraCli, BenchReportsTheAdapterCost) {
    HEARTH_REQUIRE_TESTDATA(data);
    REQUIRE_CLI(cli);
    test::FixtureFiles fx;
    ASSERT_TRUE(test::load_fixture_files(data, "tiny-llama", &fx));
    const std::string cmd = "'" + cli + "' bench -m '" + fx.base() + "' -p 8 -n 4 -r 1 -t 1 --lora '" + fx.adapter("qv-r16") + "'";
    std::string out;
    ASSERT_EQ(run(cmd + " 2>/dev/null", &out), 0) << out;
    EXPECT_NE(out.find("tg4   +lora"), std::string::npos) << out;
    EXPECT_NE(out.find("cost"), std::string::npos) << out;
    ASSERT_EQ(run(cmd + " --json", &out), 0) << out;
    auto j = json::parse(out);
    ASSERT_TRUE(j.ok()) << out;
    EXPECT_GT((*j)["tg_tps_lora"].as_double(), 0.0);
    EXPECT_TRUE((*j).find("tg_lora_cost_pct"));
    EXPECT_EQ((*j)["loras"].as_array().size(), 1u);
}

// Each command says what is wrong in one line on stderr and exits non-zero: a scale that is not a
// number, a missing adapter, an adapter for another base (named), a folder while PEFT is pending
// or working, nothing to merge.
TEST(LoraCli, BadAdaptersAreOneLineErrors) {
    HEARTH_REQUIRE_TESTDATA(data);
    REQUIRE_CLI(cli);
    test::FixtureFiles fx;
    ASSERT_TRUE(test::load_fixture_files(data, "tiny-llama", &fx));
    const std::string qwen = data + "/hf-models/tiny-qwen2/lora/all-r8.gguf";
    const std::string m = " -m '" + fx.base() + "'";
    const std::vector<std::string> commands = {
        "logits --tokens '1 2 3'" + m,
        "generate -n 2 --tokens '1 2 3'" + m,
        "bench -p 0 -n 2 -r 1" + m,
        "merge-lora -o '" + test::temp_file("cli_never.gguf") + "'" + m,
    };
    struct Bad { std::string arg, want; };
    const std::vector<Bad> bad = {
        {fx.adapter("qv-r16") + ":abc", "is not a number"},
        {fx.dir + "/lora/none.gguf", "no adapter at"},
        {qwen, qwen + ": made for architecture 'qwen2', the model is 'llama'"},
    };
    for (const std::string& c : commands) {
        for (const Bad& b : bad) {
            std::string out;
            EXPECT_NE(run("'" + cli + "' " + c + " --lora '" + b.arg + "' 2>&1 >/dev/null", &out), 0) << c << " " << b.arg;
            EXPECT_NE(out.find(b.want), std::string::npos) << c << ": " << out;
            EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << c << ": " << out;
        }
    }
    std::string out;
    EXPECT_NE(run("'" + cli + "' merge-lora" + m + " -o '" + test::temp_file("cli_never.gguf") + "' 2>&1", &out), 0);
    EXPECT_NE(out.find("usage"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(test::temp_file("cli_never.gguf")));
}
