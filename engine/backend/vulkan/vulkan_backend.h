// The Vulkan compute backend (compiled only when the build finds Vulkan: HEARTH_HAVE_VULKAN).
#pragma once

#include <memory>

#include "engine/backend/backend.h"

namespace hearth {

// Appends the usable Vulkan devices (in preference order: DeviceInfo::index is the number to pass
// to create_vulkan_backend) to out.devices, or a note saying why there are none.
void list_vulkan_devices(DeviceList& out);

// device >= 0: that device. device < 0: the preferred one (discrete > integrated > virtual >
// CPU implementation); a CPU implementation such as lavapipe is chosen only when
// allow_cpu_implementation (the backend was asked for by name), never for "auto".
Result<std::unique_ptr<Backend>> create_vulkan_backend(int device, bool allow_cpu_implementation);

namespace vk {
// Counters of the last-created backend's device, for tests and bench: submissions, command
// buffers recorded, and recorded command buffers replayed.
struct Stats { uint64_t submits = 0, recordings = 0, replays = 0, allocated = 0; };
Stats stats(const Backend& b);  // zeros if b is not a Vulkan backend
}  // namespace vk

}  // namespace hearth
