// Small device helpers shared by the kernels.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

// Kernel launch: HEARTH_LAUNCH(grid, block, shared_bytes, stream, kernel)(args...). Under nvcc it is
// the <<<>>> launch; in the CPU simulator's build (tests/cuda_sim, which defines HEARTH_CUDA_SIM and
// compiles these files with the host compiler) the simulator runs the kernel's blocks as fibers.
#ifdef HEARTH_CUDA_SIM
#define HEARTH_LAUNCH(grid, block, smem, stream, ...) \
    ::hearth::cuda_sim::launch(#__VA_ARGS__, grid, block, smem, stream, __VA_ARGS__)
#else
#define HEARTH_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<grid, block, smem, stream>>>
#endif

#include <utility>

namespace hearth::kern {

// ---- programmatic dependent launch (sm_90+, issue #17; off unless HEARTH_CUDA_PDL=1)
// A kernel launched with HEARTH_LAUNCH_PDL may be scheduled while the previous kernel of its stream
// is still finishing, so its launch overlaps that kernel's tail. It must call pdl_wait() before it
// touches global memory that an earlier kernel writes or reads (weights, written before any launch,
// are the exception): griddepcontrol.wait returns once the previous kernel has completed and its
// writes are visible. Compiled to nothing below sm_90 and in the simulator (which runs one kernel
// after another), and a no-op for a kernel launched without the attribute.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
// Lets the stream's next kernel, when it is launched with the attribute, be scheduled once every
// block of this one has called it, instead of when they have all exited: its blocks then take the
// SMs this kernel leaves free and do their work that needs no earlier result (the matvec's weight
// loads) while this one finishes. Safe for any kernel: the next one still waits in pdl_wait() for
// this one to complete. Called first thing by the kernels a matvec follows (the norm, the decode
// attention, the quantizer and the matvec itself), a no-op without the attribute.
__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
// Per device, how its kernels are launched (the backend sets it at creation: kernels.h's
// set_programmatic_launch and set_matvec_sms); device_launch() is the current device's.
struct DeviceLaunch {
    bool pdl = false;    // HEARTH_LAUNCH_PDL sets the attribute
    int matvec_sms = 0;  // the SM count the quantized matvec sizes its grid by (0: a block per row group)
    int device = -1;     // which device this is (device_launch() fills it in; -1: none of the 64)
};
inline DeviceLaunch g_device_launch[64] = {};
inline DeviceLaunch device_launch() {
    int dev = 0;
    cudaGetDevice(&dev);
    if (dev < 0 || dev >= 64) return DeviceLaunch{};
    DeviceLaunch d = g_device_launch[dev];
    d.device = dev;
    return d;
}

#ifdef HEARTH_CUDA_SIM
#define HEARTH_LAUNCH_PDL HEARTH_LAUNCH
#else
template <class... P> struct PdlLaunch {
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    void (*kernel)(P...);
    template <class... A> void operator()(A&&... args) const {
        cudaLaunchAttribute attr[1];
        attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[0].val.programmaticStreamSerializationAllowed = 1;
        cudaLaunchConfig_t cfg = {};
        cfg.gridDim = grid;
        cfg.blockDim = block;
        cfg.dynamicSmemBytes = smem;
        cfg.stream = stream;
        cfg.attrs = attr;
        cfg.numAttrs = device_launch().pdl ? 1 : 0;
        cudaLaunchKernelEx(&cfg, kernel, std::forward<A>(args)...);  // an error is left for cudaGetLastError
    }
};
template <class... P> PdlLaunch(dim3, dim3, size_t, cudaStream_t, void (*)(P...)) -> PdlLaunch<P...>;
#define HEARTH_LAUNCH_PDL(grid, block, smem, stream, ...) \
    ::hearth::kern::PdlLaunch{dim3(grid), dim3(block), size_t(smem), stream, __VA_ARGS__}
#endif

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ int warp_sum_int(int v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a block of blockDim.x threads (a multiple of 32, at most 1024); every thread gets it.
__device__ __forceinline__ float block_sum(float v, float* smem /* >= 32 floats */) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
    v = warp_sum(v);
    __syncthreads();  // smem may still be read by a previous call
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    v = lane < n_warps ? smem[lane] : 0.0f;
    return warp_sum(v);
}
__device__ __forceinline__ float block_max(float v, float* smem) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    v = lane < n_warps ? smem[lane] : -INFINITY;
    return warp_max(v);
}

// One warp turns 32 consecutive values (v: this lane's) into 8-bit block `b` of the activation
// quantization every quantized matvec reads (Q8View: quants, the F16-rounded scale d, and d·Σq).
// The one rounding rule for the plain quantizer and the fused norm / activation epilogues alike.
template <class Q8>
__device__ __forceinline__ void warp_quantize_q8(float v, int lane, const Q8& q, int64_t b) {
    const float amax = warp_max(fabsf(v));
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    const float d = __half2float(__float2half_rn(amax / 127.0f));
    const int qv = __float2int_rn(v * id);
    const int sum = warp_sum_int(qv);
    q.q[b * 32 + lane] = int8_t(qv);
    if (lane == 0) {
        q.d[b] = d;
        q.s[b] = d * float(sum);
    }
}

// The FFN's activations, one formula for every kernel that applies them (silu_mul, gelu_mul, their
// 8-bit forms and the gate/up matvec's epilogue), so fused and separate ops agree bit for bit.
// gelu_tanh(x) = 0.5 x (1 + tanh(z)), z = sqrt(2/pi) (x + 0.044715 x^3), as x / (1 + e^(-2z)): the same
// function; expf of a huge argument gives inf and x / inf = 0, never NaN.
__device__ __forceinline__ float silu_f(float x) { return x / (1.0f + expf(-x)); }
__device__ __forceinline__ float gelu_tanh_f(float x) {
    return x / (1.0f + expf(-1.5957691216057308f * (x + 0.044715f * x * x * x)));
}

template <class T> __device__ __forceinline__ const T* at_row(const void* base, size_t stride, int64_t r) {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(base) + size_t(r) * stride);
}
template <class T> __device__ __forceinline__ T* at_row_mut(void* base, size_t stride, int64_t r) {
    return reinterpret_cast<T*>(static_cast<uint8_t*>(base) + size_t(r) * stride);
}

inline unsigned int ceil_div(int64_t a, int64_t b) { return unsigned((a + b - 1) / b); }

// Row-wise element kernels on a 2-D grid: blockIdx.y walks the rows and blockIdx.x the columns,
// each with a grid stride, so no flat index is split into (row, column) by a 64-bit divide (tens of
// instructions per element). grid_rows_cols covers a row with x blocks and caps y at the grid's
// 65535 (more rows loop).
#define HK_ROWS_COLS_LOOP(r, c, rows, cols)                           \
    for (int64_t r = blockIdx.y; r < (rows); r += gridDim.y)          \
        for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < (cols); c += int64_t(gridDim.x) * blockDim.x)
inline dim3 grid_rows_cols(int64_t rows, int64_t cols, int threads) {
    const int64_t gx = (cols + threads - 1) / threads, gy = rows;
    return dim3(unsigned(gx < 1 ? 1 : (gx > 65535 ? 65535 : gx)), unsigned(gy < 1 ? 1 : (gy > 65535 ? 65535 : gy)));
}

// Grid for `n` independent items with `threads` per block, capped to the 1-D grid limit; kernels
// loop with a grid stride, so any n works.
inline unsigned int grid_for(int64_t n, int threads) {
    const int64_t g = (n + threads - 1) / threads;
    return unsigned(g < 1 ? 1 : (g > 1048576 ? 1048576 : g));
}

}  // namespace hearth::kern
