#include "engine/diffusion/pipeline_on_device.h"

namespace hearth::diffusion {

bool DevicePipeline::on_gpu() const {
    const std::string& b = backend->device().backend;
    return b == "vulkan" || b == "cuda";
}

namespace {

// The pipeline on `be`, with the run's memory plan checked when one is given.
Result<std::unique_ptr<Pipeline>> open_and_plan(const std::string& path, const std::string& config_dir, Backend& be,
                                                const DiffuseOptions* run) {
    auto pipe = Pipeline::open(path, be, config_dir);
    if (!pipe.ok()) return pipe.status();
    if (run) {
        auto plan = (*pipe)->plan_memory(*run);
        if (!plan.ok()) return plan.status();
    }
    return pipe;
}

}  // namespace

Result<DevicePipeline> open_pipeline_on_device(const std::string& path, const std::string& config_dir, const std::string& backend,
                                               int device, const BackendOptions& opt, const DiffuseOptions* run) {
    std::vector<std::string> passed_over;
    auto be = create_backend(backend, device, opt, &passed_over);
    if (!be.ok()) return be.status();
    DevicePipeline out;
    out.backend = std::move(*be);
    std::string why;
    if (!passed_over.empty()) {
        why = passed_over.front();
        for (size_t i = 1; i < passed_over.size(); ++i) why += "; " + passed_over[i];
    }
    auto pipe = open_and_plan(path, config_dir, *out.backend, run);
    if (pipe.ok()) {
        out.pipeline = std::move(*pipe);
        out.fallback = why;
        return out;
    }
    if (backend != "auto" || !out.on_gpu()) return pipe.status();
    // The GPU auto chose cannot draw this: free it before the CPU takes the weights.
    why = device_label(out.backend->device()) + ": " + pipe.message();
    out.backend.reset();
    auto cpu = create_backend("cpu", 0, opt);
    if (!cpu.ok()) return make_error(why + "; and the CPU backend failed too: " + cpu.message());
    out.backend = std::move(*cpu);
    auto on_cpu = open_and_plan(path, config_dir, *out.backend, run);
    if (!on_cpu.ok()) return make_error(on_cpu.message() + " (on the CPU, after " + why + ")");
    out.pipeline = std::move(*on_cpu);
    out.fallback = why;
    return out;
}

}  // namespace hearth::diffusion
