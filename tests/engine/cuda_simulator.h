// Whether a backend is the CUDA backend over tests/cuda_sim (every kernel run on the CPU, a fiber per
// thread), which CI runs the CUDA tests on: the slowest model-level runs may do less there, where a
// GPU runs them whole.
#pragma once

#include <string>

#include "engine/backend/backend.h"

namespace hearth::test {

inline bool is_cuda_simulator(const Backend& be) {
    return be.device().backend == "cuda" && be.device().name.find("CUDA simulator") != std::string::npos;
}

}  // namespace hearth::test
