// The options every hearth-cli command that computes takes, parsed once:
//   --backend auto|cpu|reference|vulkan|cuda   --device N   --gpu-layers N   --threads N (-t N)
//   --n-cpu-moe N (a mixture of experts: the first N layers' experts in system memory) or --cpu-moe (all)
#pragma once

#include <string>

#include "app/cli/command.h"
#include "engine/session/session.h"

namespace hearth::cli {

struct BackendArgs {
    std::string backend = "auto";
    int device = 0;
    int gpu_layers = -1;  // -1: as many as fit in device memory
    int cpu_moe_layers = -1;  // -1: as many as the rest needs to fit on the device
    int threads = 0;      // 0: physical cores

    void apply_to(ModelOptions& opt) const {
        opt.backend = backend;
        opt.device = device;
        opt.gpu_layers = gpu_layers;
        opt.cpu_moe_layers = cpu_moe_layers;
        opt.n_threads = threads;
    }
};


// Consumes the options from `args` into `out`; returns an error message ("" when fine).
// `threads_short` lets a command also accept "-t" for --threads (logits uses -t for its tokens).
std::string take_backend_args(Args& args, BackendArgs* out, bool threads_short = true);

}  // namespace hearth::cli
