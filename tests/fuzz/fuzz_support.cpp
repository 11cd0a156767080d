#include "tests/fuzz/fuzz_target.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace hearth::fuzz {

int refused(const std::string& why) {
    static const bool verbose = std::getenv("HEARTH_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "refused: %s\n", why.c_str());
    return -1;
}

size_t write_seeds(const std::string& dir) {
    fs::create_directories(dir);
    const std::vector<std::string> all = seeds();
    for (size_t i = 0; i < all.size(); ++i)
        std::ofstream(dir + "/seed-" + std::to_string(i), std::ios::binary) << all[i];
    return all.size();
}

std::string testdata_dir() {
    const char* env = std::getenv("HEARTH_TESTDATA");
    const std::string dir = env && *env ? env : HEARTH_DEFAULT_TESTDATA;
    std::error_code ec;
    return fs::is_directory(dir, ec) ? dir : std::string();
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string_view> split_parts(const uint8_t* data, size_t size, size_t n) {
    std::vector<std::string_view> parts;
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    while (parts.size() + 1 < n) {
        const size_t at = rest.find(kPartSeparator);
        if (at == std::string_view::npos) break;
        parts.push_back(rest.substr(0, at));
        rest.remove_prefix(at + kPartSeparator.size());
    }
    parts.push_back(rest);
    parts.resize(n);
    return parts;
}

std::string join_parts(const std::vector<std::string>& parts) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += kPartSeparator;
        out += parts[i];
    }
    return out;
}

Scratch& Scratch::get() {
    static Scratch s;
    return s;
}

Scratch::Scratch() {
    dir_ = (fs::temp_directory_path() / ("hearth_fuzz_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
}

Scratch::~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::string Scratch::write(const std::string& name, std::string_view bytes) {
    const std::string path = dir_ + "/" + name;
    std::error_code ec;
    if (name.find('/') != std::string::npos) fs::create_directories(fs::path(path).parent_path(), ec);  // "1_Pooling/config.json"
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    return path;
}

void Scratch::remove(const std::string& name) {
    std::error_code ec;
    fs::remove(dir_ + "/" + name, ec);
}

void Scratch::write_parts(const std::vector<const char*>& names, const std::vector<std::string_view>& parts) {
    for (size_t i = 0; i < names.size(); ++i) {
        if (i < parts.size() && !parts[i].empty()) write(names[i], parts[i]);
        else remove(names[i]);
    }
}

}  // namespace hearth::fuzz
