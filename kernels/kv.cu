// KV cache writes, copies and the context shift, in backend.h's paged layout:
// element (cell c, kv head h, dim d) of a layer is at (((c/32) * n_kv_head + h) * 32 + c%32) * head_dim + d.
#include "kernels/common.cuh"
#include "kernels/kernels.h"
#include "kernels/rope_angle.cuh"

namespace hearth::kern {

namespace {

__device__ __forceinline__ size_t cell_index(const KvLayout& L, int c, int h) {
    return ((size_t(c / 32) * L.n_kv_head + h) * 32 + c % 32) * size_t(L.head_dim);
}

template <class E> __device__ __forceinline__ float ld(const E* p, size_t i) {
    if constexpr (sizeof(E) == 2) return __half2float(p[i]);
    else return p[i];
}
template <class E> __device__ __forceinline__ void st(E* p, size_t i, float v) {
    if constexpr (sizeof(E) == 2) p[i] = __float2half_rn(v);
    else p[i] = v;
}

template <class E>
__global__ void k_kv_store(KvLayout L, E* __restrict__ kc, E* __restrict__ vc, const float* __restrict__ k, size_t ks,
                           const float* __restrict__ v, size_t vs, int n_tok, const int32_t* __restrict__ pos) {
    const int64_t per_tok = int64_t(L.n_kv_head) * L.head_dim;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n_tok * per_tok; i += int64_t(gridDim.x) * blockDim.x) {
        const int t = int(i / per_tok);
        const int hd = int(i % per_tok);
        const int h = hd / L.head_dim, d = hd % L.head_dim;
        const int c = pos[t];
        if (c < 0 || c >= L.n_blocks * 32) continue;  // outside the cache: dropped, never a wild write
        const size_t at = cell_index(L, c, h) + d;
        st(kc, at, at_row<float>(k, ks, t)[hd]);
        st(vc, at, at_row<float>(v, vs, t)[hd]);
    }
}

template <class E>
__global__ void k_kv_copy(KvLayout L, const E* __restrict__ sk, const E* __restrict__ sv, E* __restrict__ dk,
                          E* __restrict__ dv, int n) {
    const int64_t per_cell = int64_t(L.n_kv_head) * L.head_dim;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n * per_cell; i += int64_t(gridDim.x) * blockDim.x) {
        const int c = int(i / per_cell);
        const int hd = int(i % per_cell);
        const size_t at = cell_index(L, c, hd / L.head_dim) + hd % L.head_dim;
        dk[at] = sk[at];
        dv[at] = sv[at];
    }
}

// Thread per (head, cell j, element e). Key pairs are rotated by the thread of their first element.
template <class E>
__global__ void k_kv_gather(KvLayout L, const E* __restrict__ kc, const E* __restrict__ vc, int first, int count, RopeArgs a,
                            float delta, E* __restrict__ sk, E* __restrict__ sv) {
    const int hdim = L.head_dim;
    const int64_t n = int64_t(L.n_kv_head) * count * hdim;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int e = int(i % hdim);
        const int64_t hj = i / hdim;
        const int j = int(hj % count), h = int(hj / count);
        const size_t src = cell_index(L, first + j, h);
        const size_t dst = (size_t(h) * count + j) * hdim;
        sv[dst + e] = vc[src + e];
        if (e >= a.n_dims) {
            sk[dst + e] = kc[src + e];
            continue;
        }
        const bool lead = a.mode_neox ? e < a.n_dims / 2 : (e % 2) == 0;
        if (!lead) continue;
        const int pair = a.mode_neox ? e : e / 2;
        int e0, e1;
        rope_pair(a, pair, e0, e1);
        float x0 = ld(kc, src + e0), x1 = ld(kc, src + e1);
        rope_rotate(x0, x1, a, pair, delta, 1.0f);
        st(sk, dst + e0, x0);
        st(sk, dst + e1, x1);
    }
}

template <class E>
__global__ void k_kv_scatter(KvLayout L, E* __restrict__ kc, E* __restrict__ vc, int first, int count,
                             const E* __restrict__ sk, const E* __restrict__ sv) {
    const int hdim = L.head_dim;
    const int64_t n = int64_t(L.n_kv_head) * count * hdim;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int e = int(i % hdim);
        const int64_t hj = i / hdim;
        const int j = int(hj % count), h = int(hj / count);
        const size_t dst = cell_index(L, first + j, h) + e;
        const size_t src = (size_t(h) * count + j) * hdim + e;
        kc[dst] = sk[src];
        vc[dst] = sv[src];
    }
}

// RoPE on q and k and the KV store in one pass (Backend::rope_kv_store): a thread per (token, head
// of q then of k, pair of elements). The pairs of a head are the rotated ones (rope_pair) and then
// the unrotated tail (n_dims .. head_dim) two elements at a time, so every element is visited once.
// The rotation is rope.cu's formula, so the fused op writes what rope then kv_store would.
template <class E>
__global__ void k_rope_kv_store(KvLayout L, E* __restrict__ kc, E* __restrict__ vc, float* __restrict__ q, size_t qs, int n_head,
                                float* __restrict__ k, size_t ks, const float* __restrict__ v, size_t vs, int n_tok,
                                const int32_t* __restrict__ pos, const int32_t* __restrict__ cells, RopeArgs a) {
    pdl_wait();
    const int half = L.head_dim / 2, rot = a.n_dims / 2;
    const int per_tok = (n_head + L.n_kv_head) * half;
    for (int t = blockIdx.y; t < n_tok; t += gridDim.y) {
        const float p = float(pos[t]);
        const int c = cells[t];
        for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < per_tok; i += gridDim.x * blockDim.x) {
            const int h = i / half, j = i % half;
            int e0, e1;
            if (j < rot) rope_pair(a, j, e0, e1);
            else e1 = (e0 = a.n_dims + 2 * (j - rot)) + 1;
            if (h < n_head) {
                if (j >= rot) continue;
                float* head = at_row_mut<float>(q, qs, t) + size_t(h) * L.head_dim;
                rope_rotate(head[e0], head[e1], a, j, p, a.magnitude);
                continue;
            }
            const int kh = h - n_head;
            float* head = at_row_mut<float>(k, ks, t) + size_t(kh) * L.head_dim;
            float x0 = head[e0], x1 = head[e1];
            if (j < rot) {
                rope_rotate(x0, x1, a, j, p, a.magnitude);
                head[e0] = x0;
                head[e1] = x1;
            }
            if (c < 0 || c >= L.n_blocks * 32) continue;  // outside the cache: dropped, as kv_store does
            const size_t at = cell_index(L, c, kh);
            const float* vh = at_row<float>(v, vs, t) + size_t(kh) * L.head_dim;
            st(kc, at + e0, x0);
            st(kc, at + e1, x1);
            st(vc, at + e0, vh[e0]);
            st(vc, at + e1, vh[e1]);
        }
    }
}

}  // namespace

cudaError_t rope_kv_store(const KvLayout& L, void* kl, void* vl, float* q, size_t qs, int n_head, float* k, size_t ks,
                          const float* v, size_t vs, int n_tok, const int32_t* pos, const int32_t* cells, const RopeArgs& a,
                          cudaStream_t s) {
    if (L.head_dim % 2 != 0 || a.n_dims % 2 != 0 || a.n_dims > L.head_dim) return cudaErrorInvalidValue;
    const int per_tok = (n_head + L.n_kv_head) * (L.head_dim / 2);
    if (n_tok == 0 || per_tok == 0) return cudaSuccess;
    const dim3 grid(unsigned(ceil_div(per_tok, 256)), unsigned(n_tok < 65535 ? n_tok : 65535));
    if (L.f16)
        HEARTH_LAUNCH_PDL(grid, 256, 0, s, k_rope_kv_store<__half>)(L, static_cast<__half*>(kl), static_cast<__half*>(vl), q, qs, n_head, k,
                                                                  ks, v, vs, n_tok, pos, cells, a);
    else
        HEARTH_LAUNCH_PDL(grid, 256, 0, s, k_rope_kv_store<float>)(L, static_cast<float*>(kl), static_cast<float*>(vl), q, qs, n_head, k, ks,
                                                                 v, vs, n_tok, pos, cells, a);
    return cudaGetLastError();
}

cudaError_t kv_store(const KvLayout& L, void* kl, void* vl, const float* k, size_t ks, const float* v, size_t vs, int n_tok,
                     const int32_t* pos, cudaStream_t s) {
    const int64_t n = int64_t(n_tok) * L.n_kv_head * L.head_dim;
    if (n == 0) return cudaSuccess;
    if (L.f16)
        HEARTH_LAUNCH(grid_for(n, 256), 256, 0, s, k_kv_store<__half>)(L, static_cast<__half*>(kl), static_cast<__half*>(vl), k, ks, v, vs, n_tok, pos);
    else
        HEARTH_LAUNCH(grid_for(n, 256), 256, 0, s, k_kv_store<float>)(L, static_cast<float*>(kl), static_cast<float*>(vl), k, ks, v, vs, n_tok, pos);
    return cudaGetLastError();
}

cudaError_t kv_copy_layer(const KvLayout& L, const void* sk, const void* sv, void* dk, void* dv, int n, cudaStream_t s) {
    const int64_t total = int64_t(n) * L.n_kv_head * L.head_dim;
    if (total == 0) return cudaSuccess;
    if (L.f16)
        HEARTH_LAUNCH(grid_for(total, 256), 256, 0, s, k_kv_copy<__half>)(L, static_cast<const __half*>(sk), static_cast<const __half*>(sv),
                                                                 static_cast<__half*>(dk), static_cast<__half*>(dv), n);
    else
        HEARTH_LAUNCH(grid_for(total, 256), 256, 0, s, k_kv_copy<float>)(L, static_cast<const float*>(sk), static_cast<const float*>(sv),
                                                                static_cast<float*>(dk), static_cast<float*>(dv), n);
    return cudaGetLastError();
}

cudaError_t kv_gather_rotated(const KvLayout& L, const void* kl, const void* vl, int first, int count, const RopeArgs& a,
                              float delta, void* sk, void* sv, cudaStream_t s) {
    const int64_t n = int64_t(L.n_kv_head) * count * L.head_dim;
    if (n == 0) return cudaSuccess;
    if (L.f16)
        HEARTH_LAUNCH(grid_for(n, 256), 256, 0, s, k_kv_gather<__half>)(L, static_cast<const __half*>(kl), static_cast<const __half*>(vl),
                                                               first, count, a, delta, static_cast<__half*>(sk), static_cast<__half*>(sv));
    else
        HEARTH_LAUNCH(grid_for(n, 256), 256, 0, s, k_kv_gather<float>)(L, static_cast<const float*>(kl), static_cast<const float*>(vl),
                                                              first, count, a, delta, static_cast<float*>(sk), static_cast<float*>(sv));
    return cudaGetLastError();
}

cudaError_t kv_scatter(const KvLayout& L, void* kl, void* vl, int first, int count, const void* sk, const void* sv,
                       cudaStream_t s) {
    const int64_t n = int64_t(L.n_kv_head) * count * L.head_dim;
    if (n == 0) return cudaSuccess;
    if (L.f16)
        HEARTH_LAUNCH(grid_for(n, 256), 256, 0, s, k_kv_scatter<__half>)(L, static_cast<__half*>(kl), static_cast<__half*>(vl), first, count,
                                                                static_cast<const __half*>(sk), static_cast<const __half*>(sv));
    else
        HEARTH_LAUNCH(grid_for(n, 256), 256, 0, s, k_kv_scatter<float>)(L, static_cast<float*>(kl), static_cast<float*>(vl), first, count,
                                                               static_cast<const float*>(sk), static_cast<const float*>(sv));
    return cudaGetLastError();
}

}  // namespace hearth::kern
