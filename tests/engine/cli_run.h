// Runs the built hearth-cli from a test (stdout and stderr together). Header-only: each
// tests/engine/test_*.cpp is its own program.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

#include "tests/engine/testdata.h"

namespace hearth::cli {

struct Run {
    int rc = -1;
    std::string out;  // stdout and stderr together
};

inline Run run(const std::string& args) {
    Run r;
    r.rc = test::run_shell(std::string(HEARTH_CLI_PATH) + " " + args + " 2>&1", &r.out);
    return r;
}

inline bool available() { return std::filesystem::exists(HEARTH_CLI_PATH); }

}  // namespace hearth::cli

#define REQUIRE_CLI() \
    if (!cli::available()) GTEST_SKIP() << "hearth-cli not built at " HEARTH_CLI_PATH
