// Run-time access to the CUDA backend plugin (libhearth-cuda.so). Compiled into hearth_engine with
// no CUDA library linked: when the plugin, the NVIDIA driver (libcuda.so.1), cuBLAS or a device is
// missing, or the driver is older than CUDA 13 needs (580), there are simply no CUDA devices and a
// note says why.
#pragma once

#include <memory>
#include <string>

#include "engine/backend/backend.h"

namespace hearth::cuda_loader {

// CUDA devices, or (devices empty) notes of the form "CUDA: <reason>".
DeviceList list_devices();

// A backend on CUDA device `device`, or an error whose message says why CUDA is unusable.
Result<std::unique_ptr<Backend>> create_backend(int device, const BackendOptions& opt);

// Why CUDA cannot be used on this machine, or "" when the plugin loaded (devices may still be 0).
std::string unavailable_reason();

}  // namespace hearth::cuda_loader
