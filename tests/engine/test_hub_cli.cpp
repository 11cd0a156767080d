// hearth-cli download end to end against the fake hub (fake_hub.h): a whole repository, globs,
// resume after a cut with the Range header, and the failures: one line on stderr each, exit
// status 1. Skipped when hearth-cli is not built.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/engine/fake_hub.h"

namespace {

namespace fs = std::filesystem;
using hearth::test::FakeHub;

struct Ran {
    int status = -1;
    std::string out, err;
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> v;
    size_t start = 0;
    while (start < s.size()) {
        size_t end = s.find('\n', start);
        if (end == std::string::npos) end = s.size();
        v.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return v;
}

class HubCli : public ::testing::Test {
protected:
    void SetUp() override {
        cli = HEARTH_CLI_PATH;
        if (!fs::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli;
        dir = fs::temp_directory_path() / ("hearth_hub_cli_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
        hub.files = {
            {"config.json", "{}\n", false},
            {"model-00001-of-00002.safetensors", hearth::test::pattern_bytes(2u << 20, 5), true},
            {"model-00002-of-00002.safetensors", hearth::test::pattern_bytes(1u << 20, 6), true},
            {"extra/notes.md", "notes\n", false},
        };
    }
    void TearDown() override { fs::remove_all(dir); }

    // Runs the CLI with stdout and stderr in files (not a terminal: no progress line).
    Ran run(const std::string& args) {
        std::string cmd = "HF_TOKEN= HF_ENDPOINT= '" + cli + "' download " + args + " --endpoint " + hub.endpoint() +
                          " >'" + (dir / "stdout").string() + "' 2>'" + (dir / "stderr").string() + "'";
        int st = std::system(cmd.c_str());
        Ran r;
        r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        r.out = slurp(dir / "stdout");
        r.err = slurp(dir / "stderr");
        return r;
    }

    FakeHub hub;
    std::string cli;
    fs::path dir;
};

TEST_F(HubCli, WholeRepositoryIntoANewFolder) {
    fs::path out = dir / "new" / "folder";
    Ran r = run("org/model -o '" + out.string() + "'");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    for (const auto& f : hub.files) EXPECT_EQ(slurp(out / f.path), f.content) << f.path;
    EXPECT_EQ(lines(r.out).size(), hub.files.size());
    for (const auto& s : hub.seen()) EXPECT_EQ(s.range, "") << s.path;
}

TEST_F(HubCli, GlobsChooseFiles) {
    Ran r = run("org/model '*.safetensors' config.json -o '" + (dir / "o").string() + "'");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(fs::exists(dir / "o" / "model-00002-of-00002.safetensors"));
    EXPECT_TRUE(fs::exists(dir / "o" / "config.json"));
    EXPECT_FALSE(fs::exists(dir / "o" / "extra"));
    Ran none = run("org/model '*.gguf' -o '" + (dir / "o").string() + "'");
    EXPECT_EQ(none.status, 1);
    EXPECT_NE(none.err.find("no file of org/model at revision 'main' matches '*.gguf'"), std::string::npos) << none.err;
}

TEST_F(HubCli, ResumesWithRangeAfterACut) {
    hub.cut_after = 1 << 20;
    Ran r = run("org/model model-00001-of-00002.safetensors -o '" + (dir / "o").string() + "'");
    ASSERT_EQ(r.status, 0) << r.err;
    auto reqs = hub.content_requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0].range, "");
    EXPECT_EQ(reqs[1].range, "bytes=1048576-");
}

TEST_F(HubCli, FailuresAreOneLineEach) {
    Ran missing = run("org/absent -o '" + (dir / "o").string() + "'");
    EXPECT_EQ(missing.status, 1);
    ASSERT_EQ(lines(missing.err).size(), 1u) << missing.err;
    EXPECT_NE(missing.err.find("repository 'org/absent' not found"), std::string::npos) << missing.err;

    hub.fail_status = 403;
    hub.fail_code = "GatedRepo";
    Ran gated = run("org/model -o '" + (dir / "o").string() + "'");
    hub.fail_status = 0;
    EXPECT_EQ(gated.status, 1);
    ASSERT_EQ(lines(gated.err).size(), 1u) << gated.err;
    EXPECT_NE(gated.err.find("is gated"), std::string::npos) << gated.err;

    hub.corrupt_path = "model-00002-of-00002.safetensors";
    Ran bad = run("org/model -o '" + (dir / "o2").string() + "'");
    EXPECT_EQ(bad.status, 1);
    ASSERT_EQ(lines(bad.err).size(), 1u) << bad.err;
    EXPECT_NE(bad.err.find("model-00002-of-00002.safetensors: sha256 mismatch"), std::string::npos) << bad.err;
    EXPECT_TRUE(fs::exists(dir / "o2" / "model-00001-of-00002.safetensors"));  // the others still came
}

}  // namespace
