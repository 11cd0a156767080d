#include "app/cli/backend_args.h"

#include <cstdlib>

namespace hearth::cli {

namespace {
bool parse_int(const std::string& s, int lo, int* out) {
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != 0 || v < lo || v > 1000000) return false;
    *out = int(v);
    return true;
}
}  // namespace

std::string take_backend_args(Args& args, BackendArgs* out, bool threads_short) {
    if (auto b = args.take({"--backend"})) out->backend = *b;
    if (auto d = args.take({"--device"}); d && !parse_int(*d, 0, &out->device))
        return "--device takes a device index (see hearth-cli devices)";
    if (auto g = args.take({"--gpu-layers", "-ngl"}); g && !parse_int(*g, -1, &out->gpu_layers))
        return "--gpu-layers takes a number of layers (-1 = as many as fit)";
    if (auto m = args.take({"--n-cpu-moe"}); m && !parse_int(*m, 0, &out->cpu_moe_layers))
        return "--n-cpu-moe takes a number of layers whose experts stay in system memory";
    if (args.flag({"--cpu-moe"})) out->cpu_moe_layers = 1000000;  // every layer's (placement clamps to n_layer)
    auto t = threads_short ? args.take({"-t", "--threads"}) : args.take({"--threads"});
    if (t && !parse_int(*t, 0, &out->threads)) return "--threads takes a number of threads (0 = physical cores)";
    return {};
}

}  // namespace hearth::cli
