#include "tests/engine/testdata.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hearth::test {

std::string testdata_dir() {
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("HEARTH_TESTDATA"); env && *env) {
        return fs::is_directory(env) ? std::string(env) : std::string();
    }
    return fs::is_directory(HEARTH_DEFAULT_TESTDATA) ? std::string(HEARTH_DEFAULT_TESTDATA) : std::string();
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return {};
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace hearth::test
