// Inside the CUDA plugin only: the Backend over one CUDA device, and device enumeration.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/backend/backend.h"

namespace hearth::cuda {

// Plugin-side implementations behind plugin_abi.h's Api.
DeviceList list_devices();
Result<std::unique_ptr<Backend>> create_backend(int device, const BackendOptions& opt);

// "out of memory (cudaErrorMemoryAllocation)"-style text for a CUDA runtime error code.
std::string error_text(int cuda_error);

// HEARTH_CUDA_MAX_MEMORY: bytes of device memory a CUDA backend may hold (0 or unset = no cap), the
// counterpart of HEARTH_VULKAN_MAX_MEMORY, so layer split and out-of-memory paths can be tested on
// a large GPU. Plain bytes, or with a K/M/G suffix (powers of 1024).
uint64_t memory_cap_from_env();

}  // namespace hearth::cuda
