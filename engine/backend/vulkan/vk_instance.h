// The process-wide Vulkan instance and the physical devices it sees, with the features Hearth's
// shaders care about. Device order is preference order (discrete > integrated > virtual > CPU
// implementation, then enumeration order), so "vulkan device 0" is the best device.
//
// Test switches (read once, when the instance is created):
//   HEARTH_VULKAN_MASK_FEATURES  comma list of fp16,int8,dot,subgroup,storage16 (or "all"): report
//                                these as absent so the fallback shader variants run on any device
//   HEARTH_VULKAN_VALIDATION=1   enable VK_LAYER_KHRONOS_validation and collect its messages
#pragma once

#include <vulkan/vulkan.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"

namespace hearth::vk {

struct Features {
    bool fp16 = false;       // shaderFloat16 arithmetic
    bool int8 = false;       // shaderInt8 + storageBuffer8BitAccess
    bool storage16 = false;  // storageBuffer16BitAccess
    bool dot = false;        // shaderIntegerDotProduct (Vulkan 1.3)
    bool subgroup = false;   // subgroup arithmetic in compute shaders
    std::string describe() const;
};

struct PhysicalDevice {
    VkPhysicalDevice handle = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties props{};
    Features hw;        // what the driver reports
    Features features;  // after HEARTH_VULKAN_MASK_FEATURES
    uint32_t subgroup_size = 0;
    uint32_t queue_family = 0;  // a compute-capable family
    uint64_t memory_total = 0, memory_free = 0;  // device-local heaps, at probe time
    bool has_budget = false;                     // VK_EXT_memory_budget is supported
    std::string driver;
    std::string type;  // DeviceInfo::type
    int rank = 0;      // lower is preferred
    DeviceInfo info(int index) const;
};

class Instance {
public:
    // The shared instance; an error when no loader / no ICD / instance creation fails.
    static Result<std::shared_ptr<Instance>> get();
    ~Instance();
    VkInstance handle() const { return instance_; }
    const std::vector<PhysicalDevice>& devices() const { return devices_; }
    uint32_t api_version() const { return api_version_; }

private:
    Instance() = default;
    VkInstance instance_ = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    uint32_t api_version_ = VK_API_VERSION_1_1;
    std::vector<PhysicalDevice> devices_;
};

// Messages of severity warning or error reported by the validation layer since start-up
// (empty unless HEARTH_VULKAN_VALIDATION=1 and the layer is installed).
std::vector<std::string> validation_messages();
bool validation_enabled();

std::string vk_result_name(VkResult r);

// The device-local bytes free on pd now (VK_EXT_memory_budget where present, else the heap size
// minus `allocated`; a CPU implementation or integrated GPU is also bounded by the host's
// MemAvailable), capped by HEARTH_VULKAN_MAX_MEMORY (`cap`, 0 = none) minus `allocated`.
uint64_t query_memory_free(const PhysicalDevice& pd, uint64_t allocated, uint64_t cap);

// f with the features named in HEARTH_VULKAN_MASK_FEATURES removed (read now, so a test can
// change it between backends).
Features apply_feature_mask(Features f);

}  // namespace hearth::vk
