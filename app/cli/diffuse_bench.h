// hearth-cli diffuse --bench: seconds per UNet step at the SD 1.5 shape with random F16 weights
// (no download needed), the VAE decode at full size, and the process's peak memory (issue #15).
// tests/bench/diffuse-vs-diffusers.sh runs it beside diffusers on PyTorch and prints the ratio.
#pragma once

#include "app/cli/backend_args.h"

namespace hearth::cli {

struct DiffuseBenchArgs {
    int width = 512, height = 512;
    int steps = 3;           // timed steps after one warm-up step
    float guidance = 7.5f;   // above 1: two UNet passes per step (classifier-free guidance)
    double max_memory_gib = 0;  // the pipeline's memory limit (0: what is free): tiles the VAE when short
    BackendArgs backend;
};

int run_diffuse_bench(const DiffuseBenchArgs& a);

}  // namespace hearth::cli
