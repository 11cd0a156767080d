// Runs the built hearth-cli from a test (stdout and stderr together). Header-only: each
// tests/engine/test_*.cpp is its own program.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace hearth::cli {

struct Run {
    int rc = -1;
    std::string out;  // stdout and stderr together
};

inline Run run(const std::string& args) {
    Run r;
    const std::string cmd = std::string(HEARTH_CLI_PATH) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

inline bool available() { return std::filesystem::exists(HEARTH_CLI_PATH); }

}  // namespace hearth::cli

#define REQUIRE_CLI() \
    if (!cli::available()) GTEST_SKIP() << "hearth-cli not built at " HEARTH_CLI_PATH
