// Inside the CUDA plugin only: the Backend over one CUDA device, and device enumeration.
#pragma once

#include <memory>
#include <string>

#include "engine/backend/backend.h"

namespace hearth::cuda {

// Plugin-side implementations behind plugin_abi.h's Api.
DeviceList list_devices();
Result<std::unique_ptr<Backend>> create_backend(int device, const BackendOptions& opt);

// "out of memory (cudaErrorMemoryAllocation)"-style text for a CUDA runtime error code.
std::string error_text(int cuda_error);

}  // namespace hearth::cuda
