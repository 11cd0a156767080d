// The backends the diffusion tests run each pipeline part on: the reference and the CPU always,
// Vulkan and CUDA where this binary has them and a device opens (lavapipe in CI; CUDA on a GPU, or
// the CUDA simulator where HEARTH_CUDA_PLUGIN points at it: tests/CMakeLists.txt's "sim." runs). A
// missing device is not a failure: the test prints why it ran without it and checks the others.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"

namespace hearth::test {

inline std::vector<std::string> diffusion_backends() {
    // HEARTH_DIFFUSION_BACKENDS=a,b: only those, where they open. Under HEARTH_CUDA_PLUGIN (the
    // simulator's "sim." runs; ctest's ENVIRONMENT holds one variable there) CUDA only, so those
    // runs do not repeat the host and Vulkan checks the plain runs make.
    const char* only = std::getenv("HEARTH_DIFFUSION_BACKENDS");
    if ((!only || !*only) && std::getenv("HEARTH_CUDA_PLUGIN")) only = "cuda";
    if (only && *only) {
        std::vector<std::string> names;
        std::string list = only;
        for (size_t at = 0; at <= list.size();) {
            const size_t comma = std::min(list.find(',', at), list.size());
            const std::string name = list.substr(at, comma - at);
            at = comma + 1;
            if (name.empty()) continue;
            if (auto be = create_backend(name, 0, BackendOptions{}); be.ok()) names.push_back(name);
            else std::printf("%s: not checked here (%s)\n", name.c_str(), be.message().c_str());
        }
        return names;
    }
    std::vector<std::string> names = {"reference", "cpu"};
    auto vk = create_backend("vulkan", 0, BackendOptions{});
    if (vk.ok()) names.push_back("vulkan");
    else std::printf("vulkan: not checked here (%s)\n", vk.message().c_str());
    auto cu = create_backend("cuda", 0, BackendOptions{});
    if (cu.ok()) names.push_back("cuda");
    else std::printf("cuda: not checked here (%s)\n", cu.message().c_str());
    return names;
}

inline bool is_gpu_backend(const std::string& name) { return name == "vulkan" || name == "cuda"; }

}  // namespace hearth::test
