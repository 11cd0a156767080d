// RoPE in place on n tokens × n_head heads (normal and NeoX pairings, freq_factors, YaRN).
#include "kernels/common.cuh"
#include "kernels/kernels.h"
#include "kernels/rope_angle.cuh"

namespace hearth::kern {

namespace {

__global__ void k_rope(float* x, size_t xs, int64_t rows, int n_head, const int32_t* __restrict__ pos, RopeArgs a) {
    const int half = a.n_dims / 2;
    const int64_t n = rows * n_head * half;
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < n; idx += int64_t(gridDim.x) * blockDim.x) {
        const int i = int(idx % half);
        const int64_t th = idx / half;
        const int h = int(th % n_head);
        const int64_t t = th / n_head;
        float* head = at_row_mut<float>(x, xs, t) + size_t(h) * a.head_dim;
        int e0, e1;
        rope_pair(a, i, e0, e1);
        rope_rotate(head[e0], head[e1], a, i, float(pos[t]), a.magnitude);
    }
}

}  // namespace

cudaError_t rope(float* x, size_t xs, int64_t rows, int n_head, const int32_t* pos, const RopeArgs& a, cudaStream_t s) {
    const int64_t n = rows * n_head * (a.n_dims / 2);
    if (n == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_for(n, 256), 256, 0, s, k_rope)(x, xs, rows, n_head, pos, a);
    return cudaGetLastError();
}

}  // namespace hearth::kern
