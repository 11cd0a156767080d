// Opening a Stable Diffusion pipeline on the device a person chose: hearth-cli diffuse's --backend
// and the app's device setting ("auto", "cpu", "vulkan:N", "cuda:N") both come through here, so the
// command line and the Image tab pick and fall back the same way.
//
// "auto" takes what create_backend("auto") picks (CUDA, else a Vulkan GPU, else the CPU). When that
// GPU cannot open the pipeline (its weights do not fit, an op fails), or its memory plan cannot hold
// a run of the size asked for, the pipeline opens on the CPU instead and `fallback` says why, for the
// caller to show. A backend named outright is never swapped: its failure is the error.
#pragma once

#include <memory>
#include <string>

#include "engine/backend/backend.h"
#include "engine/diffusion/pipeline.h"
#include "engine/util/status.h"

namespace hearth::diffusion {

struct DevicePipeline {
    std::unique_ptr<Backend> backend;    // declared first: destroyed after the pipeline that runs on it
    std::unique_ptr<Pipeline> pipeline;
    // "auto" only: the GPU it passed over and why ("" when it runs on its first choice, or found no GPU).
    std::string fallback;

    bool on_gpu() const;
};

// `path`, `config_dir`: as Pipeline::open. `backend`: auto|cpu|reference|vulkan|cuda, `device` its
// index. `run`, when given: the first run's size (and memory limit), checked against the device's
// memory plan before anything is drawn.
Result<DevicePipeline> open_pipeline_on_device(const std::string& path, const std::string& config_dir, const std::string& backend,
                                               int device, const BackendOptions& opt, const DiffuseOptions* run = nullptr);

}  // namespace hearth::diffusion
