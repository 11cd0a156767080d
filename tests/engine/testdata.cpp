#include "tests/engine/testdata.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

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

std::vector<int32_t> read_prompt(const std::string& dir) {
    std::vector<int32_t> ids;
    std::stringstream ss(read_file(dir + "/reference/prompt.txt"));
    std::string tok;
    while (std::getline(ss, tok, ',')) ids.push_back(std::stoi(tok));
    return ids;
}

std::vector<float> read_f32(const std::string& path) {
    const std::string bytes = read_file(path);
    std::vector<float> v(bytes.size() / 4);
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * 4);
    return v;
}

double rms(const std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += double(x) * x;
    return std::sqrt(s / double(v.size()));
}

void read_greedy(const std::string& dir, const std::string& model, std::vector<int>& tokens,
                 std::vector<double>& margins) {
    std::stringstream ss(read_file(dir + "/reference/" + model + ".greedy.txt"));
    std::string line;
    while (std::getline(ss, line)) {
        if (line.empty() || line[0] == '#') continue;  // header
        std::istringstream ls(line);
        int step = 0, tok = 0;
        double top1 = 0, margin = 0;
        ls >> step >> tok >> top1 >> margin;
        tokens.push_back(tok);
        margins.push_back(margin);
    }
}

int run_shell(const std::string& cmd, std::string* out) {
    out->clear();
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return -1;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
    const int st = ::pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace hearth::test
