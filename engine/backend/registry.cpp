// Which backends this binary has, and creating one by name. Each backend adds one entry here.
// "cpu" and "auto" use the SIMD CPU backend (engine/backend/cpu/); "reference" the scalar one.
#include <thread>

#include "engine/backend/cpu/cpu_backend.h"

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
    out.devices.push_back(cpu_device_info(cpu_physical_cores()));
    out.devices.push_back(reference_device_info());
    return out;
}

Result<std::unique_ptr<Backend>> create_backend(const std::string& backend, int device, const BackendOptions& opt) {
    if (backend == "reference" || backend == "cpu" || backend == "auto") {
        if (device != 0) return make_error("backend '" + backend + "' has only device 0 (asked for " + std::to_string(device) + ")");
        if (backend == "reference") return create_reference_backend();
        return create_cpu_backend(opt);
    }
    if (backend == "vulkan" || backend == "cuda")
        return make_error("backend '" + backend + "' is not built into this binary");
    return make_error("unknown backend '" + backend + "' (expected auto, cpu, reference, vulkan or cuda)");
}

}  // namespace hearth
