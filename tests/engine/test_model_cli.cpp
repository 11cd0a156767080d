// hearth-cli logits and generate against the shared reference data (skipped when the CLI is not
// built or the data is absent): the CLI path must give the same numbers as the library.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "tests/engine/testdata.h"

namespace {

int run(const std::string& cmd, std::string* out) { return hearth::test::run_shell(cmd, out); }

std::string prompt_ids(const std::string& dir) {
    std::string p = hearth::test::read_file(dir + "/reference/prompt.txt");
    for (char& c : p)
        if (c == ',' || c == '\n') c = ' ';
    return p;
}

}  // namespace

TEST(CliModel, LogitsMatchExact) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::string cli = HEARTH_CLI_PATH;
    if (!std::filesystem::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli;
    for (const char* name : {"ref-llama-q8_0", "ref-qwen2-tied-f32"}) {
        std::string out;
        ASSERT_EQ(run("'" + cli + "' logits --backend reference --kv f32 -m '" + dir + "/reference/" + name +
                          ".gguf' --tokens '" + prompt_ids(dir) + "'", &out), 0) << out;
        std::vector<float> got;
        std::istringstream ss(out);
        float v;
        while (ss >> v) got.push_back(v);
        ASSERT_EQ(got.size(), 32000u) << name;
        const std::string exact = hearth::test::read_file(dir + "/reference/" + name + ".exact.f32");
        ASSERT_EQ(exact.size(), 8u * 32000 * 4);
        double m = 0;
        for (size_t i = 0; i < 32000; ++i) {
            float e;
            std::memcpy(&e, exact.data() + (7 * 32000 + i) * 4, 4);
            m = std::max(m, std::fabs(double(got[i]) - e));
        }
        EXPECT_LE(m, 2e-3) << name;  // F32 math; printed with 9 significant digits
    }
}

TEST(CliModel, GreedyIdsMatchLlamaCpp) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::string cli = HEARTH_CLI_PATH;
    if (!std::filesystem::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli;
    // ref-qwen2-tied-f32: every one of the 32 greedy steps has a top-2 margin above 0.05.
    std::string out;
    ASSERT_EQ(run("'" + cli + "' generate -q --backend reference --kv f32 --temp 0 --ids -n 32 -m '" + dir +
                      "/reference/ref-qwen2-tied-f32.gguf' --tokens '" + prompt_ids(dir) + "'", &out), 0) << out;
    std::string want;
    std::istringstream ls(hearth::test::read_file(dir + "/reference/ref-qwen2-tied-f32.greedy.txt"));
    std::string line;
    while (std::getline(ls, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream f(line);
        int step, tok;
        f >> step >> tok;
        want += (want.empty() ? "" : " ") + std::to_string(tok);
    }
    EXPECT_EQ(out, want + "\n");
    // Bad input is an error with a non-zero status.
    EXPECT_NE(run("'" + cli + "' logits -m '" + dir + "/reference/ref-qwen2-tied-f32.gguf' --tokens '1 x' 2>&1", &out), 0);
    EXPECT_NE(out.find("not a token id"), std::string::npos) << out;
    EXPECT_NE(run("'" + cli + "' generate -m /nonexistent.gguf --tokens 1 2>&1", &out), 0);
}
