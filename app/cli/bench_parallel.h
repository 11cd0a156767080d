// hearth-cli bench --parallel N[,N...]: aggregate generation speed of N concurrent sequences on
// ModelContext::eval_batch (issue #16).
#pragma once

#include <string>
#include <vector>

#include "app/cli/backend_args.h"

namespace hearth::cli {

struct ParallelBenchArgs {
    std::string model;
    std::vector<int> parallel;  // sequence counts to measure, in order
    int n_prompt = 32, n_gen = 64, reps = 3;
    BackendArgs backend;
    bool json = false;
};

int run_parallel_bench(const ParallelBenchArgs& a);

}  // namespace hearth::cli
