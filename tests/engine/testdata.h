// Locating ../shared/testdata for tests: $HEARTH_TESTDATA, else the path configured at build time.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hearth::test {
// Directory of the shared reference data, or "" when it is absent (tests then GTEST_SKIP with a reason).
std::string testdata_dir();
std::string read_file(const std::string& path);  // whole file; "" when unreadable

// The reference models of testdata/reference (README there): their names, vocabulary size and the
// number of logit rows (positions 30-37) stored per model.
inline constexpr const char* kReferenceModels[] = {"ref-llama-f32", "ref-llama-q8_0", "ref-llama-q4_0",
                                                   "ref-qwen2-tied-f32", "ref-qwen2-tied-q8_0"};
constexpr int kReferenceVocab = 32000, kReferenceRows = 8;
std::vector<int32_t> read_prompt(const std::string& testdata_dir);  // reference/prompt.txt (BOS first)
std::vector<float> read_f32(const std::string& path);              // little-endian float32 file
double rms(const std::vector<float>& v);
// Runs a shell command (the tests that drive hearth-cli): its exit status (-1 when it did not exit
// normally) and what it wrote to stdout in *out (add 2>&1 to the command for stderr too).
int run_shell(const std::string& cmd, std::string* out);
// reference/MODEL.greedy.txt: llama.cpp's greedy token and its margin to the runner-up, per step.
void read_greedy(const std::string& testdata_dir, const std::string& model, std::vector<int>& tokens,
                 std::vector<double>& margins);
}  // namespace hearth::test

// Skips the current test with a printed reason when the shared test data is missing.
#define HEARTH_REQUIRE_TESTDATA(dir)                                                         \
    std::string dir = ::hearth::test::testdata_dir();                                        \
    if (dir.empty()) GTEST_SKIP() << "shared test data not found: set HEARTH_TESTDATA or "   \
                                     "place it at ../shared/testdata"
