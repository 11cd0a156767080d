// Which backends this binary has, and creating one by name. Each backend adds one entry here.
// Until the SIMD CPU backend (engine/backend/cpu/) lands, "cpu" and "auto" use the reference backend.
#include <thread>

#include "engine/backend/backend.h"
#include "engine/backend/reference/reference_backend.h"

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

}  // namespace

DeviceList list_devices() {
    DeviceList out;
    DeviceInfo cpu = reference_device_info();
    cpu.backend = "cpu";
    cpu.details = "scalar reference path (the SIMD CPU backend is not built yet), " +
                  std::to_string(std::thread::hardware_concurrency()) + " hardware threads";
    out.devices.push_back(cpu);
    out.devices.push_back(reference_device_info());
    return out;
}

Result<std::unique_ptr<Backend>> create_backend(const std::string& backend, int device, const BackendOptions& opt) {
    if (backend == "reference" || backend == "cpu" || backend == "auto") {
        if (device != 0) return make_error("backend '" + backend + "' has only device 0 (asked for " + std::to_string(device) + ")");
        return create_reference_backend();
    }
    if (backend == "vulkan" || backend == "cuda")
        return make_error("backend '" + backend + "' is not built into this binary");
    return make_error("unknown backend '" + backend + "' (expected auto, cpu, reference, vulkan or cuda)");
}

}  // namespace hearth
