// The Vulkan compute backend (compiled only when the build finds Vulkan: HEARTH_HAVE_VULKAN).
#pragma once

#include <memory>
#include <string>

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
// The device features b's shader variants are chosen by (after HEARTH_VULKAN_MASK_FEATURES):
//   fp16      F16 tiles in the tiled matmul (F16 and block weights), F16 K/V math in attention
//   dot       matrix-vector of block weights on 8-bit activations with packed integer dot products
//   int8      (without dot) the same with 8-bit storage and integer arithmetic
//   subgroup  subgroup reductions instead of shared-memory trees
struct Enabled { bool vulkan = false, fp16 = false, int8 = false, dot = false, subgroup = false; };
Enabled enabled(const Backend& b);
// Dispatches of one embedded shader ("mul_mvdot_q4_0", "attention_f16_h_split", …) recorded so far.
uint64_t shader_uses(const Backend& b, const std::string& shader);
}  // namespace vk

}  // namespace hearth
