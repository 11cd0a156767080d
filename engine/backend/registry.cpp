// Which backends this binary has, and creating one by name. Each backend adds one entry here.
// "cpu" and "auto" use the SIMD CPU backend (engine/backend/cpu/); "reference" the scalar one.
#include <thread>

#include "engine/backend/cpu/cpu_backend.h"

#include "engine/backend/backend.h"
#include "engine/backend/cuda/cuda_loader.h"
#include "engine/backend/reference/reference_backend.h"
#include "engine/util/cpu_cores.h"
#ifdef HEARTH_HAVE_VULKAN
#include "engine/backend/vulkan/vulkan_backend.h"
#endif

namespace hearth {

namespace {

DeviceInfo reference_device_info() {
    DeviceInfo d;
    d.backend = "reference";
    d.name = "Reference (scalar C++)";
    d.type = "cpu";
    d.details = "exact dequantization, double accumulation; for tests";
    return d;
}

#ifdef HEARTH_HAVE_VULKAN
bool vulkan_gpu_present() {
    DeviceList vk;
    list_vulkan_devices(vk);
    for (const DeviceInfo& d : vk.devices)
        if (d.type != "cpu-implementation") return true;
    return false;
}
#endif

}  // namespace

std::optional<DeviceInfo> pick_device(const DeviceList& list, const std::string& backend, int device) {
    auto find = [&](const std::string& b, auto&& accept) -> std::optional<DeviceInfo> {
        for (const DeviceInfo& d : list.devices)
            if (d.backend == b && accept(d)) return d;
        return std::nullopt;
    };
    auto index_is = [&](const DeviceInfo& d) { return d.index == device; };
    if (backend != "auto") return find(backend, index_is);
    // As create_backend's "auto": CUDA, then Vulkan's preferred device (listed first) unless it is a CPU one.
    if (auto d = find("cuda", index_is)) return d;
    if (auto d = find("vulkan", [](const DeviceInfo&) { return true; }); d && d->type != "cpu-implementation") return d;
    return find("cpu", [](const DeviceInfo&) { return true; });
}

std::string device_label(const DeviceInfo& d) {
    const std::string& b = d.backend;
    const std::string kind = b == "cpu" ? "CPU" : b == "cuda" ? "CUDA" : b == "vulkan" ? "Vulkan" : b == "reference" ? "Reference" : b;
    return kind + ": " + d.name;
}

DeviceList list_devices() {
    DeviceList out;
    out.devices.push_back(cpu_device_info(cpu_physical_cores()));
    out.devices.push_back(reference_device_info());
    // CUDA (a run-time loaded plugin): its devices, or a note saying why there are none.
    DeviceList cuda = cuda_loader::list_devices();
    out.devices.insert(out.devices.end(), cuda.devices.begin(), cuda.devices.end());
    out.notes.insert(out.notes.end(), cuda.notes.begin(), cuda.notes.end());
#ifdef HEARTH_HAVE_VULKAN
    list_vulkan_devices(out);  // in preference order; a note when there is no driver
#endif
    return out;
}

Result<std::unique_ptr<Backend>> create_backend(const std::string& backend, int device, const BackendOptions& opt,
                                                std::vector<std::string>* passed_over) {
    if (backend == "cuda") return cuda_loader::create_backend(device, opt);
    if (backend == "auto" && !cuda_loader::list_devices().devices.empty()) {
        auto b = cuda_loader::create_backend(device, opt);  // Auto: CUDA first; on failure fall through
        if (b.ok()) return b;
        if (passed_over) passed_over->push_back("CUDA device " + std::to_string(device) + ": " + b.message());
    }
#ifdef HEARTH_HAVE_VULKAN
    // "vulkan": device N of hearth-cli devices (0 = the preferred one, a CPU implementation allowed);
    // "auto": a Vulkan GPU when there is one, never a CPU implementation such as lavapipe.
    if (backend == "vulkan") return create_vulkan_backend(device, true);
    if (backend == "auto") {
        auto b = create_vulkan_backend(-1, false);
        if (b.ok()) return b;
        // No Vulkan GPU at all (no driver, only lavapipe) is the ordinary CPU case, not worth a note.
        if (passed_over && vulkan_gpu_present()) passed_over->push_back(b.message());
    }
#endif
    if (backend == "reference" || backend == "cpu" || backend == "auto") {
        if (device != 0) return make_error("backend '" + backend + "' has only device 0 (asked for " + std::to_string(device) + ")");
        if (backend == "reference") return create_reference_backend();
        return create_cpu_backend(opt);
    }
    if (backend == "vulkan")
        return make_error("backend '" + backend + "' is not built into this binary");
    return make_error("unknown backend '" + backend + "' (expected auto, cpu, reference, vulkan or cuda)");
}

}  // namespace hearth
