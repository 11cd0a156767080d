// Finds, checks and dlopens libhearth-cuda.so once per process. Nothing here links CUDA: the NVIDIA
// driver library is only probed with dlopen, so a machine without it gets a note, not a failed start.
#include "engine/backend/cuda/cuda_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "engine/backend/cuda/plugin_abi.h"

namespace hearth::cuda_loader {

namespace {

constexpr int kMinCudaDriverApi = 13000;  // cuDriverGetVersion() of a driver that runs CUDA 13.0
constexpr int kMinDriverRelease = 580;    // the NVIDIA driver release that first shipped it

struct State {
    const cuda_plugin::Api* api = nullptr;
    std::string reason;  // set when api is null
};

std::string exe_dir() {
    std::vector<char> buf(4096);
    const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    if (n <= 0) return {};
    std::string p(buf.data(), size_t(n));
    const auto slash = p.rfind('/');
    return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

bool readable(const std::string& path) { return !path.empty() && access(path.c_str(), R_OK) == 0; }

// "535.104.05" from /proc/driver/nvidia/version, or "" (not every container exposes the file).
std::string driver_release() {
    std::ifstream f("/proc/driver/nvidia/version");
    std::string line;
    if (!f || !std::getline(f, line)) return {};
    std::istringstream words(line);
    std::string w;
    while (words >> w)
        if (w.size() >= 3 && std::isdigit(static_cast<unsigned char>(w[0])) && w.find('.') != std::string::npos) return w;
    return {};
}

std::string cuda_version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

// Checks the NVIDIA driver through libcuda.so.1 without linking it. Returns "" when it is new enough.
std::string check_driver() {
    void* cuda = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!cuda) {
        const char* err = dlerror();
        return std::string("no NVIDIA driver found (libcuda.so.1 cannot be loaded: ") + (err ? err : "unknown error") + ")";
    }
    using VersionFn = int (*)(int*);
    auto get_version = reinterpret_cast<VersionFn>(dlsym(cuda, "cuDriverGetVersion"));
    int v = 0;
    if (!get_version || get_version(&v) != 0) return "the NVIDIA driver library does not report its version (cuDriverGetVersion failed)";
    if (v < kMinCudaDriverApi) {
        const std::string rel = driver_release();
        return "NVIDIA driver " + (rel.empty() ? std::string() : rel + " ") + "supports CUDA " + cuda_version_text(v) +
               "; Hearth's CUDA backend needs CUDA 13 (driver " + std::to_string(kMinDriverRelease) + " or newer)";
    }
    return {};  // libcuda stays loaded: the plugin's runtime uses it
}

std::vector<std::string> plugin_candidates() {
    std::vector<std::string> c;
    // An explicit path is the only candidate: a wrong path is then reported, not silently replaced.
    if (const char* env = std::getenv("HEARTH_CUDA_PLUGIN"); env && *env) return {env};
    const std::string dir = exe_dir();
    if (!dir.empty()) {
        c.push_back(dir + "/" + cuda_plugin::kLibraryName);
        c.push_back(dir + "/../lib/hearth/" + cuda_plugin::kLibraryName);
    }
#ifdef HEARTH_CUDA_PLUGIN_BUILD_DIR
    c.push_back(std::string(HEARTH_CUDA_PLUGIN_BUILD_DIR) + "/" + cuda_plugin::kLibraryName);
#endif
    return c;
}

State load() {
    State s;
    if (const char* off = std::getenv("HEARTH_CUDA_DISABLE"); off && *off && std::string(off) != "0") {
        s.reason = "disabled by the environment (HEARTH_CUDA_DISABLE)";
        return s;
    }
    std::string path;
    std::string looked;
    for (const auto& cand : plugin_candidates()) {
        looked += (looked.empty() ? "" : ", ") + cand;
        if (readable(cand)) { path = cand; break; }
    }
    if (path.empty()) {
#ifdef HEARTH_CUDA_PLUGIN_BUILD_DIR
        s.reason = std::string("the CUDA plugin ") + cuda_plugin::kLibraryName + " was not found (looked in: " + looked + ")";
#else
        s.reason = "this build of Hearth has no CUDA backend (configured without the CUDA toolkit)";
#endif
        return s;
    }
    // Without a driver the plugin is not even opened (dlopen pulls in cuBLAS: time and memory at
    // every start), except one named by HEARTH_CUDA_PLUGIN, which may be the CUDA simulator's build
    // (tests/cuda_sim): it says it needs no driver.
    const std::string no_driver = check_driver();
    const char* named = std::getenv("HEARTH_CUDA_PLUGIN");
    if (!no_driver.empty() && !(named && *named)) {
        s.reason = no_driver;
        return s;
    }
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char* err = dlerror();
        s.reason = !no_driver.empty() ? no_driver
                                      : "cannot load " + path + ": " + (err ? err : "unknown error") +
                                            " (the CUDA 13 runtime libraries, e.g. libcublas.so.13, must be installed)";
        return s;
    }
    // The plugin is never unloaded: backends and buffers it created may live until exit.
    auto entry = reinterpret_cast<cuda_plugin::EntryFn>(dlsym(h, cuda_plugin::kEntrySymbol));
    const cuda_plugin::Api* api = entry ? entry() : nullptr;
    if (!api) {
        s.reason = path + " is not a Hearth CUDA plugin (no " + cuda_plugin::kEntrySymbol + ")";
        return s;
    }
    if (api->fingerprint != cuda_plugin::abi_fingerprint()) {
        s.reason = path + " was built from different engine headers than this program (rebuild it)";
        return s;
    }
    if (api->needs_driver && !no_driver.empty()) {
        s.reason = no_driver;
        return s;
    }
    s.api = api;
    return s;
}

const State& state() {
    static const State s = load();  // thread-safe one-time initialisation
    return s;
}

}  // namespace

std::string unavailable_reason() { return state().api ? std::string() : state().reason; }

DeviceList list_devices() {
    const State& s = state();
    if (!s.api) {
        DeviceList l;
        l.notes.push_back("CUDA: " + s.reason);
        return l;
    }
    return s.api->list_devices();
}

Result<std::unique_ptr<Backend>> create_backend(int device, const BackendOptions& opt) {
    const State& s = state();
    if (!s.api) return make_error("CUDA is not available: " + s.reason);
    return s.api->create_backend(device, opt);
}

}  // namespace hearth::cuda_loader
