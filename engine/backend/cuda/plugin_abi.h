// The one entry point of libhearth-cuda.so, found with dlsym by cuda_loader.cpp. C++ types cross the
// boundary (both sides are built from the same headers by the same compiler in one build); the
// fingerprint catches a plugin left over from a build with different interface headers.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/backend/backend.h"

namespace hearth::cuda_plugin {

// 2: Backend gained sample_top_k and memory_free (vtable layout, which the sizes below cannot see).
// 3: Api gained needs_driver.
// 4: Backend gained gelu_mul, scale and supports_op (vtable layout).
// 5: Backend gained attention_paged and kv_shift_paged (vtable layout).
// 6: Backend gained max_step_tokens, begin_step, end_step, forget_steps, step_stats (vtable layout).
// 7: Backend gained matmul_parts, matmul_add, rope_kv_store, add_i32 (vtable layout).
// 8: Backend gained matmul_glu; StepStats gained last_capture_nodes (vtable layout, a returned struct).
constexpr uint32_t kAbiVersion = 8;

// Changes whenever a type shared across the plugin boundary changes size.
constexpr uint64_t abi_fingerprint() {
    return (uint64_t(kAbiVersion) << 56) ^ (uint64_t(sizeof(Tensor)) << 40) ^ (uint64_t(sizeof(RopeParams)) << 28) ^
           (uint64_t(sizeof(DeviceInfo)) << 16) ^ (uint64_t(sizeof(KvCacheDesc)) << 8) ^ uint64_t(sizeof(BackendOptions));
}

struct Api {
    uint64_t fingerprint;
    // CUDA devices, or a note saying why there are none ("cudaGetDeviceCount: no CUDA-capable device").
    DeviceList (*list_devices)();
    Result<std::unique_ptr<Backend>> (*create_backend)(int device, const BackendOptions& opt);
    // False only for the CUDA simulator's build of the plugin (tests/cuda_sim), which runs the
    // kernels on the CPU: the loader then skips its NVIDIA driver check.
    bool needs_driver;
};

using EntryFn = const Api* (*)();
constexpr const char* kEntrySymbol = "hearth_cuda_plugin_api";
constexpr const char* kLibraryName = "libhearth-cuda.so";

}  // namespace hearth::cuda_plugin
