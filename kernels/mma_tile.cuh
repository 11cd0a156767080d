// Tensor-core building blocks for the prompt attention kernel (attention_mma.cu): the warp-wide
// F16 matrix product mma.sync.aligned.m16n8k16 (F32 accumulation) and the shared-memory fragment
// loads ldmatrix (.x2, .x4, .x2.trans). On sm_80+ each is one PTX instruction. The CUDA simulator
// has no tensor cores, so its build emulates them from the PTX ISA's fragment layouts: every lane
// puts its part (fragment registers or row address) in a per-warp buffer, __syncwarp, every lane
// computes its own result from the whole warp's parts, __syncwarp before the buffer is reused. The
// kernel source is then the same on both, and the simulator checks that it hands the instructions
// the fragments the layouts require (a wrong index gives wrong attention, not just slow attention).
//
// Layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type"), with
// g = lane / 4 and t = lane % 4; a register holds two halves, the lower 16 bits the first:
//   A 16×16 (row-major): a[0] = A[g][2t..2t+1], a[1] = A[g+8][2t..], a[2] = A[g][2t+8..], a[3] = A[g+8][2t+8..]
//   B 16×8  (k × n):     b[0] = B[2t..2t+1][g],  b[1] = B[2t+8..2t+9][g]
//   C/D 16×8 (F32):      c[0..1] = C[g][2t..2t+1], c[2..3] = C[g+8][2t..2t+1]
// ldmatrix: lanes 8j..8j+7 give the addresses of the 8 rows (8 halves each, 16 bytes) of matrix j;
// lane i receives in register j the halves (i%4)*2, +1 of row i/4 of matrix j, or with .trans the
// halves at column i/4 of rows (i%4)*2 and (i%4)*2+1.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

namespace hearth::kern::mma {

// Two floats → one register of two halves (round to nearest even), the first in the low 16 bits.
__device__ __forceinline__ uint32_t pack_half2(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&h);
}

#ifdef HEARTH_CUDA_SIM

namespace emu {

inline int warp_of_thread() {
    const int linear = int(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
    return linear / 32;
}
inline float half_at(uint32_t reg, int which) {
    __half_raw raw;
    raw.x = uint16_t(which ? reg >> 16 : reg & 0xffffu);
    return __half2float(__half(raw));
}
// One block runs at a time in the simulator, so one buffer per warp index serves every block.
struct MmaParts { uint32_t a[4], b[2]; };
inline MmaParts g_mma[32][32];
inline const void* g_rows[32][32];

inline void exchange_rows(const void* row) {
    g_rows[warp_of_thread()][::hearth::cuda_sim::lane_id()] = row;
    __syncwarp();
}

}  // namespace emu

// d = A·B + c, in place on c.
inline void mma_m16n8k16(float c[4], const uint32_t a[4], const uint32_t b[2]) {
    const int w = emu::warp_of_thread(), lane = ::hearth::cuda_sim::lane_id();
    auto& mine = emu::g_mma[w][lane];
    for (int i = 0; i < 4; ++i) mine.a[i] = a[i];
    for (int i = 0; i < 2; ++i) mine.b[i] = b[i];
    __syncwarp();
    const auto& all = emu::g_mma[w];
    auto A = [&](int r, int k) {  // element (r, k) from the lane and register that hold it
        const int reg = (r >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
        return emu::half_at(all[4 * (r % 8) + (k % 8) / 2].a[reg], k % 2);
    };
    auto B = [&](int k, int n) { return emu::half_at(all[4 * n + (k % 8) / 2].b[k >= 8 ? 1 : 0], k % 2); };
    const int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
        const int r = g + (i >= 2 ? 8 : 0), n = 2 * t + (i % 2);
        float s = 0.0f;  // F16 products are exact in F32; the hardware's summation order is unspecified
        for (int k = 0; k < 16; ++k) s += A(r, k) * B(k, n);
        c[i] += s;
    }
    __syncwarp();  // every lane has read the parts before any lane's next call overwrites them
}

// Four 8×8 matrices (lanes 0..31 give row addresses).
inline void ldmatrix_x4(uint32_t r[4], const void* row) {
    emu::exchange_rows(row);
    const int w = emu::warp_of_thread(), lane = ::hearth::cuda_sim::lane_id();
    for (int j = 0; j < 4; ++j) r[j] = static_cast<const uint32_t*>(emu::g_rows[w][8 * j + lane / 4])[lane % 4];
    __syncwarp();
}
// Two 8×8 matrices (lanes 0..15 give row addresses; the others' are ignored, as on the device).
inline void ldmatrix_x2(uint32_t r[2], const void* row) {
    emu::exchange_rows(row);
    const int w = emu::warp_of_thread(), lane = ::hearth::cuda_sim::lane_id();
    for (int j = 0; j < 2; ++j) r[j] = static_cast<const uint32_t*>(emu::g_rows[w][8 * j + lane / 4])[lane % 4];
    __syncwarp();
}
inline void ldmatrix_x2_trans(uint32_t r[2], const void* row) {
    emu::exchange_rows(row);
    const int w = emu::warp_of_thread(), lane = ::hearth::cuda_sim::lane_id();
    for (int j = 0; j < 2; ++j) {
        const uint16_t lo = static_cast<const uint16_t*>(emu::g_rows[w][8 * j + 2 * (lane % 4)])[lane / 4];
        const uint16_t hi = static_cast<const uint16_t*>(emu::g_rows[w][8 * j + 2 * (lane % 4) + 1])[lane / 4];
        r[j] = uint32_t(lo) | uint32_t(hi) << 16;
    }
    __syncwarp();
}

#else  // nvcc

// The kernels that use these are launched on sm_80+ only (attention.cu's dispatch); the plugin is
// also compiled for sm_75, where they trap instead of failing the build.
__device__ __forceinline__ void mma_m16n8k16(float c[4], const uint32_t a[4], const uint32_t b[2]) {
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap();
#endif
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* row) {
    const unsigned addr = unsigned(__cvta_generic_to_shared(row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x2(uint32_t r[2], const void* row) {
    const unsigned addr = unsigned(__cvta_generic_to_shared(row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t r[2], const void* row) {
    const unsigned addr = unsigned(__cvta_generic_to_shared(row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
}

#endif

}  // namespace hearth::kern::mma
