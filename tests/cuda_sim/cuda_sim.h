// The device side of the CUDA simulator: what kernels/*.cu need from CUDA C++ when they are compiled
// by the host compiler (forced in with -include; HEARTH_CUDA_SIM is defined). Every thread of a block
// is a fiber; the fibers of one block run by turns on the calling thread, and the block-wide and warp
// collectives (__syncthreads, __shfl*_sync, __ballot_sync, __syncwarp) are the points where a fiber
// waits until every thread it names has arrived. So a kernel runs with CUDA's independent-thread
// semantics (nothing relies on lock-step warps), and a collective whose mask names a thread that
// has exited, or that never arrives, fails the launch with a message instead of hanging.
//
// What this checks: indexing, the collectives' data flow, shared-memory use between barriers, the
// host launchers' grids. What it cannot: timing, memory-model races between unsynchronized threads
// (fibers switch only at collectives), and anything specific to the hardware (occupancy, the
// device's float rounding in __expf, which here is expf).
#pragma once

#ifndef HEARTH_CUDA_SIM
#define HEARTH_CUDA_SIM 1
#endif

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

// The toolkit's host headers turn these into attributes g++ does not know; on the host they mean
// nothing except __shared__: one object per block. Blocks run one at a time, so a static serves.
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __constant__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __constant__ static
#define __launch_bounds__(...)

namespace hearth::cuda_sim {

struct ThreadCoords {
    uint3 thread_idx, block_idx;
    dim3 block_dim, grid_dim;
};
// The fiber that runs now (valid inside a kernel only).
const ThreadCoords& coords();

// Block-wide barrier of the calling thread's block.
void sync_threads();
// Warp collective over the lanes of `mask`: every lane of it contributes `mine`; returns the 32
// contributions (index = lane), valid until this lane's next collective.
const uint64_t* warp_exchange(unsigned mask, uint64_t mine);
int lane_id();

// Launch: runs now, or is recorded when the stream is being captured into a graph.
using KernelThunk = void (*)(void* closure);
struct Launch {
    const char* name;  // the kernel as written at the launch
    dim3 grid, block;
    size_t smem;
    void* closure;  // the kernel and its copied arguments
    KernelThunk run, destroy;
};
void submit(cudaStream_t s, const Launch& l);  // takes the closure

template <class Closure> void submit_closure(const char* name, dim3 g, dim3 b, size_t smem, cudaStream_t s, Closure&& c) {
    using C = std::decay_t<Closure>;
    submit(s, Launch{name, g, b, smem, new C(std::forward<Closure>(c)), [](void* p) { (*static_cast<C*>(p))(); },
                     [](void* p) { delete static_cast<C*>(p); }});
}

// HEARTH_LAUNCH(grid, block, smem, stream, kernel)(args...): the arguments are converted to the
// kernel's parameter types and copied, as a <<<>>> launch does.
template <class... P> auto launch(const char* name, dim3 g, dim3 b, size_t smem, cudaStream_t s, void (*k)(P...)) {
    return [=](auto&&... a) {
        std::tuple<std::decay_t<P>...> args(static_cast<P>(a)...);
        submit_closure(name, g, b, smem, s, [k, args]() { std::apply(k, args); });
    };
}

template <class T> uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>);
    uint64_t u = 0;
    std::memcpy(&u, &v, sizeof(T));
    return u;
}
template <class T> T from_bits(uint64_t u) {
    T v;
    std::memcpy(&v, &u, sizeof(T));
    return v;
}

}  // namespace hearth::cuda_sim

#define threadIdx (::hearth::cuda_sim::coords().thread_idx)
#define blockIdx (::hearth::cuda_sim::coords().block_idx)
#define blockDim (::hearth::cuda_sim::coords().block_dim)
#define gridDim (::hearth::cuda_sim::coords().grid_dim)

inline void __syncthreads() { ::hearth::cuda_sim::sync_threads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::hearth::cuda_sim::warp_exchange(mask, 0); }

template <class T> T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    const uint64_t* all = ::hearth::cuda_sim::warp_exchange(mask, ::hearth::cuda_sim::to_bits(v));
    const int lane = ::hearth::cuda_sim::lane_id();
    const int base = lane & ~(width - 1);
    return ::hearth::cuda_sim::from_bits<T>(all[base + (src & (width - 1))]);
}
template <class T> T __shfl_xor_sync(unsigned mask, T v, int m, int width = 32) {
    const uint64_t* all = ::hearth::cuda_sim::warp_exchange(mask, ::hearth::cuda_sim::to_bits(v));
    const int lane = ::hearth::cuda_sim::lane_id();
    const int src = (lane ^ m) & 31;
    // CUDA: a lane may read from its own or an earlier group of `width` lanes; a later one gives its own value.
    return ::hearth::cuda_sim::from_bits<T>(all[src / width > lane / width ? lane : src]);
}
template <class T> T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32) {
    const uint64_t* all = ::hearth::cuda_sim::warp_exchange(mask, ::hearth::cuda_sim::to_bits(v));
    const int lane = ::hearth::cuda_sim::lane_id();
    const int in_seg = lane & (width - 1);
    return ::hearth::cuda_sim::from_bits<T>(all[in_seg >= int(d) ? lane - int(d) : lane]);
}
template <class T> T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32) {
    const uint64_t* all = ::hearth::cuda_sim::warp_exchange(mask, ::hearth::cuda_sim::to_bits(v));
    const int lane = ::hearth::cuda_sim::lane_id();
    const int in_seg = lane & (width - 1);
    return ::hearth::cuda_sim::from_bits<T>(all[in_seg + int(d) < width ? lane + int(d) : lane]);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
    const uint64_t* all = ::hearth::cuda_sim::warp_exchange(mask, pred ? 1 : 0);
    unsigned m = 0;
    for (int l = 0; l < 32; ++l)
        if ((mask >> l & 1u) && all[l]) m |= 1u << l;
    return m;
}

// CUDA's min/max overloads for the integer and float types.
#define HEARTH_SIM_MINMAX(T) \
    inline T min(T a, T b) { return b < a ? b : a; } \
    inline T max(T a, T b) { return a < b ? b : a; }
HEARTH_SIM_MINMAX(int)
HEARTH_SIM_MINMAX(unsigned)
HEARTH_SIM_MINMAX(long)
HEARTH_SIM_MINMAX(unsigned long)
HEARTH_SIM_MINMAX(long long)
HEARTH_SIM_MINMAX(unsigned long long)
HEARTH_SIM_MINMAX(float)
HEARTH_SIM_MINMAX(double)
#undef HEARTH_SIM_MINMAX

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __uint_as_float(unsigned u) { return ::hearth::cuda_sim::from_bits<float>(u); }
inline int __float2int_rn(float f) { return int(std::nearbyint(f)); }
// Fibers switch only at collectives, so a read-modify-write is atomic here.
inline int atomicMax(int* p, int v) {
    const int old = *p;
    if (v > old) *p = v;
    return old;
}
inline unsigned atomicAdd(unsigned* p, unsigned v) {
    const unsigned old = *p;
    *p = old + v;
    return old;
}
// Blocks run one after another, each to its end: every write is visible to the later ones.
inline void __threadfence() {}
