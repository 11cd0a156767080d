// Where a committed fixture of tests/engine/data is, for the tokenizer tests: under HEARTH_SOURCE_DIR
// where the build defines it, else found from __FILE__. __FILE__ is relative
// when the compiler runs under ccache with base_dir (the shared build cache does that), so a
// relative path is looked for from the working directory and its parents (ctest runs the tests
// from build/tests, the compiler ran in build/).
#pragma once

#include <filesystem>
#include <string>

namespace hearth::test {

inline std::string fixture_path(const char* name) {
    namespace fs = std::filesystem;
#ifdef HEARTH_SOURCE_DIR
    return (fs::path(HEARTH_SOURCE_DIR) / "tests" / "engine" / "data" / name).string();
#else
    const fs::path rel = fs::path(__FILE__).parent_path() / "data" / name;
    if (rel.is_absolute()) return rel.string();
    std::error_code ec;
    fs::path dir = fs::current_path(ec);
    for (int up = 0; up < 4 && !dir.empty(); ++up, dir = dir.parent_path()) {
        if (fs::exists(dir / rel, ec)) return (dir / rel).string();
    }
    return rel.string();  // not found: the caller's open fails and names this path
#endif
}

}  // namespace hearth::test
