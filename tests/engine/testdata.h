// Locating ../shared/testdata for tests: $HEARTH_TESTDATA, else the path configured at build time.
#pragma once
#include <string>

namespace hearth::test {
// Directory of the shared reference data, or "" when it is absent (tests then GTEST_SKIP with a reason).
std::string testdata_dir();
std::string read_file(const std::string& path);  // whole file; "" when unreadable
}  // namespace hearth::test

// Skips the current test with a printed reason when the shared test data is missing.
#define HEARTH_REQUIRE_TESTDATA(dir)                                                         \
    std::string dir = ::hearth::test::testdata_dir();                                        \
    if (dir.empty()) GTEST_SKIP() << "shared test data not found: set HEARTH_TESTDATA or "   \
                                     "place it at ../shared/testdata"
