// Plugin entry point and CUDA device enumeration (the part of libhearth-cuda.so that runs before a
// backend exists). Every failure becomes a note or an error message, never an abort.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/plugin_abi.h"

namespace hearth::cuda {

namespace {

std::string driver_release() {
    std::ifstream f("/proc/driver/nvidia/version");
    std::string line, w;
    if (!f || !std::getline(f, line)) return {};
    std::istringstream words(line);
    while (words >> w)
        if (w.size() >= 3 && w[0] >= '0' && w[0] <= '9' && w.find('.') != std::string::npos) return w;
    return {};
}

std::string gib(uint64_t bytes) {
    std::ostringstream o;
    o.precision(1);
    o << std::fixed << double(bytes) / (1024.0 * 1024.0 * 1024.0) << " GiB";
    return o.str();
}

}  // namespace

uint64_t memory_cap_from_env() {
    const char* v = std::getenv("HEARTH_CUDA_MAX_MEMORY");
    if (!v || !*v) return 0;
    char* end = nullptr;
    uint64_t n = std::strtoull(v, &end, 10);
    switch (end && *end ? (*end | 0x20) : 0) {
        case 'k': n <<= 10; break;
        case 'm': n <<= 20; break;
        case 'g': n <<= 30; break;
        default: break;
    }
    return n;
}

std::string error_text(int e) {
    const auto err = static_cast<cudaError_t>(e);
    std::string why;
    switch (err) {
        case cudaErrorInsufficientDriver: why = "the NVIDIA driver is too old for CUDA 13 (it needs driver 580 or newer)"; break;
        case cudaErrorNoDevice: why = "no CUDA-capable device was found"; break;
        case cudaErrorMemoryAllocation: why = "out of GPU memory"; break;
        case cudaErrorLaunchTimeout:
            why = "a kernel ran longer than the display driver's watchdog allows (a GPU that also drives a screen)";
            break;
        default: why = cudaGetErrorString(err); break;
    }
    why += " (" + std::string(cudaGetErrorName(err)) + ")";
    // These leave the CUDA context unusable for the rest of the process: say so, or every later call
    // would fail with the same words and no hint.
    switch (err) {
        case cudaErrorIllegalAddress: case cudaErrorLaunchFailure: case cudaErrorMisalignedAddress:
        case cudaErrorIllegalInstruction: case cudaErrorInvalidPc: case cudaErrorHardwareStackError:
        case cudaErrorAssert: case cudaErrorECCUncorrectable: case cudaErrorLaunchTimeout:
            why += "; the CUDA context is now unusable: restart Hearth (or use the CPU backend) to go on";
            break;
        default: break;
    }
    return why;
}

DeviceList list_devices() {
    DeviceList out;
    int n = 0;
    if (cudaError_t e = cudaGetDeviceCount(&n); e != cudaSuccess) {
        cudaGetLastError();  // clear it
        out.notes.push_back("CUDA: " + error_text(e));
        return out;
    }
    if (n == 0) {
        out.notes.push_back("CUDA: no CUDA-capable device was found");
        return out;
    }
    int drv = 0, rt = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    const std::string rel = driver_release();
    for (int i = 0; i < n; ++i) {
        cudaDeviceProp p{};
        if (cudaError_t e = cudaGetDeviceProperties(&p, i); e != cudaSuccess) {
            out.notes.push_back("CUDA: device " + std::to_string(i) + ": " + error_text(e));
            continue;
        }
        if (p.major * 10 + p.minor < 75) {
            out.notes.push_back("CUDA: device " + std::to_string(i) + " (" + p.name + ") has compute capability " +
                                std::to_string(p.major) + "." + std::to_string(p.minor) + "; CUDA 13 needs 7.5 or newer");
            continue;
        }
        DeviceInfo d;
        d.backend = "cuda";
        d.index = i;
        d.name = p.name;
        d.type = p.integrated ? "integrated" : "discrete";
        d.driver = "NVIDIA " + (rel.empty() ? std::string() : rel + " ") + "(CUDA " + std::to_string(drv / 1000) + "." +
                   std::to_string((drv % 1000) / 10) + ", runtime " + std::to_string(rt / 1000) + "." +
                   std::to_string((rt % 1000) / 10) + ")";
        d.memory_total = p.totalGlobalMem;
        size_t free_b = 0, total_b = 0;
        if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
            d.memory_free = free_b;
            d.memory_total = total_b;
            // What a backend created now could allocate under HEARTH_CUDA_MAX_MEMORY (as Vulkan's cap).
            if (const uint64_t cap = memory_cap_from_env()) d.memory_free = std::min<uint64_t>(d.memory_free, cap);
        } else {
            cudaGetLastError();
        }
        d.details = "compute capability " + std::to_string(p.major) + "." + std::to_string(p.minor) + ", " +
                    std::to_string(p.multiProcessorCount) + " SMs, " + gib(d.memory_total) +
                    ", int8 dot (dp4a), tensor cores (F16 via cuBLAS)";
        out.devices.push_back(d);
    }
    return out;
}

}  // namespace hearth::cuda

namespace {

hearth::DeviceList api_list_devices() { return hearth::cuda::list_devices(); }
hearth::Result<std::unique_ptr<hearth::Backend>> api_create_backend(int device, const hearth::BackendOptions& opt) {
    return hearth::cuda::create_backend(device, opt);
}

#ifdef HEARTH_CUDA_SIM
constexpr bool kNeedsDriver = false;
#else
constexpr bool kNeedsDriver = true;
#endif
const hearth::cuda_plugin::Api kApi{hearth::cuda_plugin::abi_fingerprint(), api_list_devices, api_create_backend,
                                    kNeedsDriver};

}  // namespace

extern "C" __attribute__((visibility("default"))) const hearth::cuda_plugin::Api* hearth_cuda_plugin_api() { return &kApi; }
