// hearth-cuda-copybw: the device memory bandwidth a kernel can reach on this GPU, measured the way
// the GPU issues define the reference: a device-to-device copy (bytes read + bytes written per
// second), plus a read-only streaming kernel. Prints one JSON object; exits 1 with a message when
// there is no usable CUDA device. Used by tests/gpu/run-gpu-checks.sh next to `hearth-cli bench`.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

__global__ void read_sum(const int4* __restrict__ p, size_t n, int* __restrict__ sink) {
    int acc = 0;
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
        const int4 v = p[i];
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x7fffffff) *sink = acc;  // practically never; keeps the loads alive
}

bool ok(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return true;
    std::fprintf(stderr, "hearth-cuda-copybw: %s: %s (%s)\n", what, cudaGetErrorString(e), cudaGetErrorName(e));
    return false;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const size_t mib = argc > 1 ? size_t(std::atol(argv[1])) : 2048;  // buffer size, MiB
    const int reps = argc > 2 ? std::atoi(argv[2]) : 20;
    const size_t bytes = mib << 20;
    int dev = 0;
    cudaDeviceProp prop{};
    if (!ok(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties")) return 1;
    void *a = nullptr, *b = nullptr;
    int* sink = nullptr;
    if (!ok(cudaMalloc(&a, bytes), "cudaMalloc") || !ok(cudaMalloc(&b, bytes), "cudaMalloc") ||
        !ok(cudaMalloc(&sink, sizeof(int)), "cudaMalloc"))
        return 1;
    cudaMemset(a, 1, bytes);
    cudaMemset(b, 0, bytes);
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    std::vector<double> copy_gbps, read_gbps;
    for (int r = 0; r < reps + 2; ++r) {  // the first two are warm-up
        float ms = 0;
        cudaEventRecord(e0);
        cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice);
        cudaEventRecord(e1);
        if (!ok(cudaEventSynchronize(e1), "copy")) return 1;
        cudaEventElapsedTime(&ms, e0, e1);
        if (r >= 2) copy_gbps.push_back(2.0 * double(bytes) / (ms * 1e-3) / 1e9);
        cudaEventRecord(e0);
        read_sum<<<prop.multiProcessorCount * 8, 512>>>(static_cast<const int4*>(a), bytes / sizeof(int4), sink);
        cudaEventRecord(e1);
        if (!ok(cudaEventSynchronize(e1), "read kernel")) return 1;
        cudaEventElapsedTime(&ms, e0, e1);
        if (r >= 2) read_gbps.push_back(double(bytes) / (ms * 1e-3) / 1e9);
    }
    std::printf("{\"device\": \"%s\", \"buffer_mib\": %zu, \"reps\": %d, \"copy_gbps\": %.1f, \"read_gbps\": %.1f}\n",
                prop.name, mib, reps, median(copy_gbps), median(read_gbps));
    return 0;
}
