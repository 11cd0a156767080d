// The SIMD CPU backend: the ops of backend.h with AVX2/FMA/F16C kernels chosen at run time
// (scalar fallback), a persistent thread pool, 8-bit activation quantization for quantized
// weights, a panel-decoded GEMM for prompt batches and tiled (flash-style) attention over the
// paged F16 KV cache. Weights are used in place from the mmapped file (import_host wraps them).
#pragma once

#include <memory>

#include "engine/backend/backend.h"
#include "engine/backend/cpu/cpu_features.h"

namespace hearth {

// n_threads 0 = the number of physical cores. isa: the kernel level (best_isa() by default).
std::unique_ptr<Backend> create_cpu_backend(const BackendOptions& opt);
std::unique_ptr<Backend> create_cpu_backend(const BackendOptions& opt, cpu::IsaLevel isa);

DeviceInfo cpu_device_info(int n_threads);

}  // namespace hearth
