#include "engine/backend/vulkan/vk_instance.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

namespace hearth::vk {

namespace {

std::mutex g_msg_mutex;
std::vector<std::string> g_messages;
bool g_validation = false;

VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                              VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT* data,
                                              void*) {
    if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        std::lock_guard<std::mutex> lock(g_msg_mutex);
        g_messages.push_back(data && data->pMessage ? data->pMessage : "(no message)");
        std::fprintf(stderr, "vulkan validation: %s\n", g_messages.back().c_str());
    }
    return VK_FALSE;
}

bool env_true(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace

Features apply_feature_mask(Features f) {
    const char* m = std::getenv("HEARTH_VULKAN_MASK_FEATURES");
    if (!m) return f;
    std::stringstream ss(m);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
        if (tok == "all") f = Features{};
        else if (tok == "fp16") f.fp16 = false;
        else if (tok == "int8") f.int8 = false;
        else if (tok == "dot") f.dot = false;
        else if (tok == "subgroup") f.subgroup = false;
        else if (tok == "storage16") f.storage16 = false;
        else if (!tok.empty())
            std::fprintf(stderr, "hearth: HEARTH_VULKAN_MASK_FEATURES: unknown feature '%s' (known: fp16,int8,dot,subgroup,storage16,all)\n",
                         tok.c_str());
    }
    return f;
}

namespace {

const char* type_name(VkPhysicalDeviceType t, int& rank) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: rank = 0; return "discrete";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: rank = 1; return "integrated";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: rank = 2; return "virtual";
        case VK_PHYSICAL_DEVICE_TYPE_CPU: rank = 4; return "cpu-implementation";
        default: rank = 3; return "other";
    }
}

bool has_extension(VkPhysicalDevice pd, const char* name) {
    uint32_t n = 0;
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
    std::vector<VkExtensionProperties> ext(n);
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, ext.data());
    for (auto& e : ext) if (std::strcmp(e.extensionName, name) == 0) return true;
    return false;
}

PhysicalDevice probe(VkPhysicalDevice pd) {
    PhysicalDevice d;
    d.handle = pd;
    vkGetPhysicalDeviceProperties(pd, &d.props);
    d.type = type_name(d.props.deviceType, d.rank);

    VkPhysicalDeviceDriverProperties drv{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    p2.pNext = &sg;
    const bool v12 = d.props.apiVersion >= VK_API_VERSION_1_2;
    if (v12) sg.pNext = &drv;
    vkGetPhysicalDeviceProperties2(pd, &p2);
    d.subgroup_size = sg.subgroupSize;
    d.hw.subgroup = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                    (sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                    (sg.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
    if (v12) d.driver = std::string(drv.driverName) + " " + drv.driverInfo;
    else d.driver = "driver version " + std::to_string(d.props.driverVersion);

    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan13Features f13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    if (v12) {
        f2.pNext = &f11;
        f11.pNext = &f12;
        if (d.props.apiVersion >= VK_API_VERSION_1_3) f12.pNext = &f13;
        vkGetPhysicalDeviceFeatures2(pd, &f2);
        d.hw.storage16 = f11.storageBuffer16BitAccess;
        d.hw.fp16 = f12.shaderFloat16;
        d.hw.int8 = f12.shaderInt8 && f12.storageBuffer8BitAccess;
        d.hw.dot = f13.shaderIntegerDotProduct;
    }
    d.features = apply_feature_mask(d.hw);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, nullptr);
    std::vector<VkQueueFamilyProperties> qs(nq);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qs.data());
    d.queue_family = UINT32_MAX;
    for (uint32_t i = 0; i < nq; ++i) {  // prefer a compute family without graphics (async compute)
        if (!(qs[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
        if (d.queue_family == UINT32_MAX || !(qs[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) d.queue_family = i;
    }

    d.has_budget = has_extension(pd, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t h = 0; h < mp.memoryHeapCount; ++h)
        if (mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) d.memory_total += mp.memoryHeaps[h].size;
    d.memory_free = query_memory_free(d, 0, 0);
    return d;
}

// MemAvailable of /proc/meminfo in bytes, 0 when unknown (not Linux).
uint64_t host_available() {
    std::FILE* f = std::fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    std::fclose(f);
    return uint64_t(kb) * 1024;
}

}  // namespace

uint64_t query_memory_free(const PhysicalDevice& pd, uint64_t allocated, uint64_t cap) {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 mp{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
    if (pd.has_budget) mp.pNext = &budget;
    vkGetPhysicalDeviceMemoryProperties2(pd.handle, &mp);
    uint64_t free = 0;
    for (uint32_t h = 0; h < mp.memoryProperties.memoryHeapCount; ++h) {
        if (!(mp.memoryProperties.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)) continue;
        // the budget's usage already includes this process's allocations
        if (pd.has_budget) free += budget.heapBudget[h] > budget.heapUsage[h] ? budget.heapBudget[h] - budget.heapUsage[h] : 0;
        else free += mp.memoryProperties.memoryHeaps[h].size;
    }
    if (!pd.has_budget) {
        free = free > allocated ? free - allocated : 0;
        // a CPU implementation (and an integrated GPU) allocates from system memory: the heap size
        // is not what is free there
        if (pd.type == "cpu-implementation" || pd.type == "integrated")
            if (uint64_t avail = host_available()) free = std::min(free, avail);
    }
    if (cap) free = std::min(free, cap > allocated ? cap - allocated : 0);
    return free;
}

std::string Features::describe() const {
    std::string s;
    s += std::string("fp16 ") + (fp16 ? "yes" : "no");
    s += std::string(", int8 ") + (int8 ? "yes" : "no");
    s += std::string(", int dot ") + (dot ? "yes" : "no");
    s += std::string(", subgroup ops ") + (subgroup ? "yes" : "no");
    return s;
}

DeviceInfo PhysicalDevice::info(int index) const {
    DeviceInfo i;
    i.backend = "vulkan";
    i.index = index;
    i.name = props.deviceName;
    i.type = type;
    i.driver = driver;
    i.memory_total = memory_total;
    const char* cap = std::getenv("HEARTH_VULKAN_MAX_MEMORY");  // the cap a backend created now would get
    i.memory_free = query_memory_free(*this, 0, cap ? std::strtoull(cap, nullptr, 10) : 0);
    const uint32_t v = props.apiVersion;
    i.details = "Vulkan " + std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
                std::to_string(VK_API_VERSION_PATCH(v)) + ", subgroup size " + std::to_string(subgroup_size) + ", " +
                features.describe();
    if (features.subgroup != hw.subgroup || features.fp16 != hw.fp16 || features.int8 != hw.int8 || features.dot != hw.dot)
        i.details += " (masked by HEARTH_VULKAN_MASK_FEATURES)";
    return i;
}

std::string vk_result_name(VkResult r) {
    switch (r) {
        case VK_SUCCESS: return "VK_SUCCESS";
        case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
        case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
        case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
        case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
        case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
        case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
        case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
        default: return "VkResult " + std::to_string(int(r));
    }
}

std::vector<std::string> validation_messages() {
    std::lock_guard<std::mutex> lock(g_msg_mutex);
    return g_messages;
}
bool validation_enabled() { return g_validation; }

Result<std::shared_ptr<Instance>> Instance::get() {
    static std::mutex m;
    static std::weak_ptr<Instance> cached;
    static std::string cached_error;
    std::lock_guard<std::mutex> lock(m);
    if (auto p = cached.lock()) return p;
    if (!cached_error.empty()) return make_error(cached_error);

    auto inst = std::shared_ptr<Instance>(new Instance());
    uint32_t loader_version = VK_API_VERSION_1_0;
    auto enum_version = reinterpret_cast<PFN_vkEnumerateInstanceVersion>(vkGetInstanceProcAddr(nullptr, "vkEnumerateInstanceVersion"));
    if (enum_version) enum_version(&loader_version);
    if (loader_version < VK_API_VERSION_1_1) {
        cached_error = "Vulkan: the installed loader supports only Vulkan 1.0; Hearth needs 1.1 or newer";
        return make_error(cached_error);
    }
    inst->api_version_ = std::min<uint32_t>(loader_version, VK_API_VERSION_1_3);

    std::vector<const char*> layers, exts;
    if (env_true("HEARTH_VULKAN_VALIDATION")) {
        uint32_t n = 0;
        vkEnumerateInstanceLayerProperties(&n, nullptr);
        std::vector<VkLayerProperties> lp(n);
        vkEnumerateInstanceLayerProperties(&n, lp.data());
        for (auto& l : lp)
            if (std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0) layers.push_back("VK_LAYER_KHRONOS_validation");
        if (layers.empty()) std::fprintf(stderr, "hearth: HEARTH_VULKAN_VALIDATION set but VK_LAYER_KHRONOS_validation is not installed\n");
        else exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    }

    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "Hearth";
    app.pEngineName = "Hearth";
    app.apiVersion = inst->api_version_;
    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    ci.enabledLayerCount = uint32_t(layers.size());
    ci.ppEnabledLayerNames = layers.data();
    ci.enabledExtensionCount = uint32_t(exts.size());
    ci.ppEnabledExtensionNames = exts.data();
    // With validation, also check synchronization (missing barriers between dependent ops).
    const VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT vf{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
    vf.enabledValidationFeatureCount = 1;
    vf.pEnabledValidationFeatures = enables;
    if (!layers.empty()) ci.pNext = &vf;
    VkResult r = vkCreateInstance(&ci, nullptr, &inst->instance_);
    if (r != VK_SUCCESS) {
        cached_error = "Vulkan: could not create an instance (" + vk_result_name(r) + "): is a Vulkan driver installed?";
        return make_error(cached_error);
    }
    if (!layers.empty()) {
        auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(inst->instance_, "vkCreateDebugUtilsMessengerEXT"));
        VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
        mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
        mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
        mi.pfnUserCallback = debug_callback;
        if (create && create(inst->instance_, &mi, nullptr, &inst->messenger_) == VK_SUCCESS) g_validation = true;
    }

    uint32_t n = 0;
    vkEnumeratePhysicalDevices(inst->instance_, &n, nullptr);
    std::vector<VkPhysicalDevice> pds(n);
    vkEnumeratePhysicalDevices(inst->instance_, &n, pds.data());
    for (auto pd : pds) {
        PhysicalDevice d = probe(pd);
        if (d.props.apiVersion < VK_API_VERSION_1_1 || d.queue_family == UINT32_MAX) continue;  // unusable
        inst->devices_.push_back(d);
    }
    std::stable_sort(inst->devices_.begin(), inst->devices_.end(), [](auto& a, auto& b) { return a.rank < b.rank; });
    cached = inst;
    return inst;
}

Instance::~Instance() {
    if (messenger_) {
        auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
        if (destroy) destroy(instance_, messenger_, nullptr);
    }
    if (instance_) vkDestroyInstance(instance_, nullptr);
}

}  // namespace hearth::vk
