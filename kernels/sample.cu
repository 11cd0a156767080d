// Greedy / top-k sampling on the device (Backend::sample_top_k), so only a token id crosses the bus.
//
// Stage 1 (k_topk_partial): each warp keeps a descending list of the 64 best keys it has seen
// (kernels/topk_select.h: logit order, ties to the smaller id), two slots per lane (slot lane and
// slot 32 + lane). A warp reads 32 logits per step; a ballot finds the lanes whose key beats the
// list's k-th key (rare after the first steps), and each is inserted in turn: its position is the
// number of slots holding a larger key (two ballots), the slots behind it move down one with shuffles.
// Every warp writes its list to scratch. Stage 2 (k_topk_merge): one warp per row runs the same
// selection over all lists of the row, then its lane 0 draws from the k best (topk_draw).
#include "kernels/common.cuh"
#include "kernels/kernels.h"
#include "kernels/topk_select.h"

namespace hearth::kern {

namespace {

constexpr int kWarpsPerBlock = 4;
constexpr unsigned kFull = 0xffffffffu;
constexpr int kUnroll = 4;  // lines loaded before the first is examined, to keep loads in flight

struct WarpList {
    uint64_t a = 0, b = 0;  // slots lane and 32 + lane; 0 = empty (below every real key)
    uint64_t thr = 0;       // the k-th slot's key: only larger keys enter

    __device__ __forceinline__ void insert(uint64_t x, int lane, int k) {
        const int p = __popc(__ballot_sync(kFull, a > x)) + __popc(__ballot_sync(kFull, b > x));
        const uint64_t a_prev = __shfl_up_sync(kFull, a, 1);
        const uint64_t b_prev = __shfl_up_sync(kFull, b, 1);
        const uint64_t a_last = __shfl_sync(kFull, a, 31);
        const uint64_t na = topk_slot_after_insert(lane, p, x, a, a_prev);
        const uint64_t nb = topk_slot_after_insert(32 + lane, p, x, b, lane == 0 ? a_last : b_prev);
        a = na;
        b = nb;
        thr = __shfl_sync(kFull, k <= 32 ? a : b, (k - 1) & 31);
    }
    // Offers one key per lane; the candidates that beat the threshold enter one at a time.
    __device__ __forceinline__ void offer(uint64_t key, int lane, int k) {
        unsigned m = __ballot_sync(kFull, key > thr);
        while (m) {
            const int src = __ffs(m) - 1;
            m &= m - 1;
            const uint64_t x = __shfl_sync(kFull, key, src);
            if (x > thr) insert(x, lane, k);  // thr may have risen since the ballot (uniform test)
        }
    }
};

__global__ void __launch_bounds__(32 * kWarpsPerBlock)
k_topk_partial(const float* __restrict__ logits, size_t stride, int64_t n, int k, uint64_t* __restrict__ lists) {
    const int lane = threadIdx.x % 32;
    const int n_warps = gridDim.x * kWarpsPerBlock;
    const int w = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
    const int64_t row = blockIdx.y;
    const float* x = at_row<float>(logits, stride, row);
    WarpList L;
    for (int64_t j0 = 0; topk_element(w, n_warps, j0, 0) < n; j0 += kUnroll) {
        uint64_t key[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            const int64_t i = topk_element(w, n_warps, j0 + u, lane);
            key[u] = i < n ? topk_key(x[i], int32_t(i)) : 0;
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) L.offer(key[u], lane, k);
    }
    uint64_t* out = lists + (size_t(row) * n_warps + w) * kTopkSlots;
    out[lane] = L.a;
    out[32 + lane] = L.b;
}

__global__ void __launch_bounds__(32)
k_topk_merge(const uint64_t* __restrict__ lists, int n_lists, int k, float temperature, const double* __restrict__ u,
             int32_t* __restrict__ out) {
    __shared__ uint64_t best[kTopkSlots];
    const int lane = threadIdx.x;
    const int64_t row = blockIdx.x;
    const uint64_t* in = lists + size_t(row) * n_lists * kTopkSlots;
    const int64_t n = int64_t(n_lists) * kTopkSlots;
    WarpList L;
    for (int64_t i0 = 0; i0 < n; i0 += 32 * kUnroll) {
        uint64_t key[kUnroll];
#pragma unroll
        for (int v = 0; v < kUnroll; ++v) {
            const int64_t i = i0 + v * 32 + lane;
            key[v] = i < n ? in[i] : 0;
        }
#pragma unroll
        for (int v = 0; v < kUnroll; ++v) L.offer(key[v], lane, k);
    }
    best[lane] = L.a;
    best[32 + lane] = L.b;
    __syncwarp();
    if (lane != 0) return;
    int count = 0;
    while (count < k && best[count] != 0) ++count;
    int32_t id = 0;  // a row of NaNs only: token 0, as argmax_token would answer
    if (count == 1 || (count > 1 && k == 1)) id = topk_key_id(best[0]);
    else if (count > 1) id = topk_key_id(best[topk_draw(best, count, temperature, u[row])]);
    out[row] = id;
}

}  // namespace

size_t sample_top_k_scratch_bytes(int64_t rows, int64_t cols) {
    return size_t(rows) * size_t(topk_warps_per_row(cols, kWarpsPerBlock)) * kTopkSlots * sizeof(uint64_t);
}

cudaError_t sample_top_k(const float* logits, size_t stride, int64_t rows, int64_t cols, int k, float temperature,
                         const double* u, void* scratch, int32_t* out, cudaStream_t s) {
    if (rows == 0) return cudaSuccess;
    if (k < 1 || k > kTopkSlots || cols < 1 || rows > 65535 || (k > 1 && !u)) return cudaErrorInvalidValue;
    const int n_warps = topk_warps_per_row(cols, kWarpsPerBlock);
    auto* lists = static_cast<uint64_t*>(scratch);
    HEARTH_LAUNCH(dim3(n_warps / kWarpsPerBlock, unsigned(rows)), 32 * kWarpsPerBlock, 0, s, k_topk_partial)(logits, stride, cols, k, lists);
    if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    HEARTH_LAUNCH(unsigned(rows), 32, 0, s, k_topk_merge)(lists, n_warps, k, temperature, u, out);
    return cudaGetLastError();
}

}  // namespace hearth::kern
