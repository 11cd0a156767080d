// Attention over the paged KV cache with an online softmax (flash attention): never more than one
// 32-cell tile of scores exists per warp. One block = one (token, query head, KV split); its four
// warps take interleaved 32-cell tiles (one tile = one cache block), scores one cell per lane, then
// accumulate V with lanes across head dimensions (coalesced rows). For long contexts and few tokens
// (generation) the KV range is split across blocks (flash-decoding) and a second kernel merges the
// partial (max, sum, acc) triples.
#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace hearth::kern {

namespace {

constexpr int kWarps = 4;

__device__ __forceinline__ size_t cell_index(const KvLayout& L, int c, int h) {
    return ((size_t(c / 32) * L.n_kv_head + h) * 32 + c % 32) * size_t(L.head_dim);
}

template <class E> __device__ __forceinline__ float ld(const E* p, int i) {
    if constexpr (sizeof(E) == 2) return __half2float(p[i]);
    else return p[i];
}

// q (already scaled, in shared memory) · one key row.
template <class E>
__device__ __forceinline__ float key_dot(const float* q, const E* k, int hd) {
    float s = 0.0f;
    if constexpr (sizeof(E) == 2) {
        if (hd % 8 == 0) {
            for (int d = 0; d < hd; d += 8) {
                const uint4 u = *reinterpret_cast<const uint4*>(k + d);
                const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
                    s += q[d + 2 * i] * f.x + q[d + 2 * i + 1] * f.y;
                }
            }
            return s;
        }
    } else {
        if (hd % 4 == 0) {
            for (int d = 0; d < hd; d += 4) {
                const float4 f = *reinterpret_cast<const float4*>(k + d);
                s += q[d] * f.x + q[d + 1] * f.y + q[d + 2] * f.z + q[d + 3] * f.w;
            }
            return s;
        }
    }
    for (int d = 0; d < hd; ++d) s += q[d] * ld(k, d);
    return s;
}

template <class E, int DPL>
__global__ void __launch_bounds__(32 * kWarps)
k_attention(KvLayout L, const E* __restrict__ kc, const E* __restrict__ vc, AttnArgs a) {
    __shared__ float qs[32 * DPL];
    __shared__ float wm[kWarps], wl[kWarps];
    __shared__ float wacc[kWarps][32 * DPL];

    const int h = blockIdx.x, t = blockIdx.y, split = blockIdx.z;
    const int hd = L.head_dim;
    const int kh = h / (a.n_head / L.n_kv_head);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

    const float* qrow = at_row<float>(a.q, a.q_stride, t) + size_t(h) * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) qs[d] = qrow[d] * a.scale;
    __syncthreads();

    const int limit = min(a.n_kv, a.pos[t] + 1);  // causal: cells 0..pos
    const int c0 = split * a.cells_per_split;
    const int c1 = min(limit, c0 + a.cells_per_split);

    float m = -INFINITY, l = 0.0f, acc[DPL];
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[i] = 0.0f;

    for (int tile = c0 + warp * 32; tile < c1; tile += kWarps * 32) {
        const int c = tile + lane;
        const bool valid = c < c1;
        const float s = valid ? key_dot(qs, kc + cell_index(L, c, kh), hd) : -INFINITY;
        const float m_new = fmaxf(m, warp_max(s));  // finite: lane 0's cell is valid
        const float corr = __expf(m - m_new);       // 0 on the first tile (m = -inf)
        const float p = valid ? __expf(s - m_new) : 0.0f;
        l = l * corr + warp_sum(p);
#pragma unroll
        for (int i = 0; i < DPL; ++i) acc[i] *= corr;
        const int n_valid = min(32, c1 - tile);  // same for the whole warp
        for (int j = 0; j < n_valid; ++j) {
            const float pj = __shfl_sync(0xffffffffu, p, j);
            const E* vrow = vc + cell_index(L, tile + j, kh);
#pragma unroll
            for (int i = 0; i < DPL; ++i) {
                const int d = lane + 32 * i;
                if (d < hd) acc[i] += pj * ld(vrow, d);
            }
        }
        m = m_new;
    }

    if (lane == 0) { wm[warp] = m; wl[warp] = l; }
#pragma unroll
    for (int i = 0; i < DPL; ++i) wacc[warp][lane + 32 * i] = acc[i];
    __syncthreads();

    float M = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) M = fmaxf(M, wm[w]);
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float sum = 0.0f, out = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) {
            if (wm[w] == -INFINITY) continue;
            const float f = __expf(wm[w] - M);
            sum += wl[w] * f;
            out += wacc[w][d] * f;
        }
        if (a.n_split == 1) {
            at_row_mut<float>(a.out, a.out_stride, t)[size_t(h) * hd + d] = sum > 0.0f ? out / sum : 0.0f;
        } else {
            float* part = a.partials + ((size_t(t) * a.n_head + h) * a.n_split + split) * size_t(hd + 2);
            part[2 + d] = out;
            if (d == 0) { part[0] = M; part[1] = sum; }
        }
    }
}

__global__ void k_attention_merge(AttnArgs a, int hd) {
    const int h = blockIdx.x, t = blockIdx.y;
    const float* P = a.partials + (size_t(t) * a.n_head + h) * a.n_split * size_t(hd + 2);
    float M = -INFINITY;
    for (int s = 0; s < a.n_split; ++s) M = fmaxf(M, P[size_t(s) * (hd + 2)]);
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float sum = 0.0f, out = 0.0f;
        for (int s = 0; s < a.n_split; ++s) {
            const float* p = P + size_t(s) * (hd + 2);
            if (p[0] == -INFINITY) continue;
            const float f = __expf(p[0] - M);
            sum += p[1] * f;
            out += p[2 + d] * f;
        }
        at_row_mut<float>(a.out, a.out_stride, t)[size_t(h) * hd + d] = sum > 0.0f ? out / sum : 0.0f;
    }
}

template <class E, int DPL>
void launch(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    const dim3 grid(a.n_head, a.n_tok, a.n_split);
    k_attention<E, DPL><<<grid, 32 * kWarps, 0, s>>>(L, static_cast<const E*>(k), static_cast<const E*>(v), a);
}

template <class E>
cudaError_t launch_by_dim(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    if (L.head_dim <= 32) launch<E, 1>(L, k, v, a, s);
    else if (L.head_dim <= 64) launch<E, 2>(L, k, v, a, s);
    else if (L.head_dim <= 128) launch<E, 4>(L, k, v, a, s);
    else if (L.head_dim <= 256) launch<E, 8>(L, k, v, a, s);
    else return cudaErrorInvalidValue;
    return cudaGetLastError();
}

}  // namespace

size_t attention_partials_floats(const KvLayout& L, const AttnArgs& a) {
    return a.n_split > 1 ? size_t(a.n_tok) * a.n_head * a.n_split * (L.head_dim + 2) : 0;
}

cudaError_t attention(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    if (a.n_tok == 0 || a.n_head == 0) return cudaSuccess;
    if (L.head_dim > 256 || a.n_head % L.n_kv_head != 0 || a.cells_per_split % 32 != 0 || a.n_split < 1)
        return cudaErrorInvalidValue;
    const cudaError_t e = L.f16 ? launch_by_dim<__half>(L, k, v, a, s) : launch_by_dim<float>(L, k, v, a, s);
    if (e != cudaSuccess || a.n_split == 1) return e;
    k_attention_merge<<<dim3(a.n_head, a.n_tok), L.head_dim <= 128 ? 128 : 256, 0, s>>>(a, L.head_dim);
    return cudaGetLastError();
}

}  // namespace hearth::kern
