// The diffusion models' ops (backend.h: layer_norm, activate, attention_qkv, conv2d's im2col,
// group_norm, upsample_nearest, mul, concat_cols) on F32 pixel/token rows. Written for correctness
// first: plain CUDA (the simulator in tests/cuda_sim has no tensor-core instructions); conv2d's
// arithmetic is the backend's matmul on the im2col band this file fills.
#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace hearth::kern {

namespace {

#define HK_GRID_LOOP(i, n) \
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

__global__ void k_mul(const float* a, size_t as, const float* b, size_t bs, int64_t rows, int64_t cols, float* out, size_t os) {
    HK_GRID_LOOP(i, rows * cols) {
        const int64_t r = i / cols, c = i % cols;
        at_row_mut<float>(out, os, r)[c] = at_row<float>(a, as, r)[c] * at_row<float>(b, bs, r)[c];
    }
}

__global__ void k_concat_cols(const float* __restrict__ a, size_t as, int64_t ca, const float* __restrict__ b, size_t bs,
                              int64_t cb, int64_t rows, float* __restrict__ out, size_t os) {
    const int64_t cols = ca + cb;
    HK_GRID_LOOP(i, rows * cols) {
        const int64_t r = i / cols, c = i % cols;
        at_row_mut<float>(out, os, r)[c] = c < ca ? at_row<float>(a, as, r)[c] : at_row<float>(b, bs, r)[c - ca];
    }
}

// backend.cpp's nearest_source, the same float arithmetic (torch's rule), so both sides pick the
// same source pixel on odd sizes.
__device__ __forceinline__ int64_t nearest_src(int64_t dst, int64_t in, int64_t out) {
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    const float scale = float(in) / float(out);
    const int64_t s = int64_t(floorf(float(dst) * scale));
    return s < in - 1 ? s : in - 1;
}

__global__ void k_upsample_nearest(const float* __restrict__ x, size_t xs, int64_t cols, int h, int w, int oh, int ow,
                                   float* __restrict__ y, size_t ys) {
    HK_GRID_LOOP(i, int64_t(oh) * ow * cols) {
        const int64_t p = i / cols, c = i % cols;
        const int64_t oy = p / ow, ox = p % ow;
        const int64_t src = nearest_src(oy, h, oh) * w + nearest_src(ox, w, ow);
        at_row_mut<float>(y, ys, p)[c] = at_row<float>(x, xs, src)[c];
    }
}

// act: 0 GELU (erf), 1 quick GELU x·σ(1.702x), 2 SiLU (Activation's order).
__global__ void k_activate(float* x, size_t xs, int64_t rows, int64_t cols, int act) {
    HK_GRID_LOOP(i, rows * cols) {
        const int64_t r = i / cols, c = i % cols;
        float* p = at_row_mut<float>(x, xs, r) + c;
        const float v = *p;
        if (act == 0) *p = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        else if (act == 1) *p = v / (1.0f + expf(-1.702f * v));
        else *p = v / (1.0f + expf(-v));
    }
}

// One block per row. The mean first, then the variance around it (two passes: a one-pass
// E[x²] - E[x]² loses digits on rows with a large mean). y may alias x: every read of a row
// precedes the block_sum barrier before its writes, and a block touches only its row.
__global__ void k_layer_norm(const float* x, size_t xs, int64_t cols, const float* __restrict__ w, const float* __restrict__ b,
                             float eps, float* y, size_t ys) {
    __shared__ float red[32];
    const float* xr = at_row<float>(x, xs, blockIdx.x);
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
    const float mean = block_sum(s, red) / float(cols);
    float v = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) v += (xr[c] - mean) * (xr[c] - mean);
    const float inv = rsqrtf(block_sum(v, red) / float(cols) + eps);
    float* yr = at_row_mut<float>(y, ys, blockIdx.x);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = (xr[c] - mean) * inv * w[c] + b[c];
}

// One block per group: its channels [g·per, (g+1)·per) over every pixel; mean, variance around it,
// then the normalized values (y may alias x: groups are disjoint columns, reads finish at the
// second block_sum's barrier before any write of the group).
__global__ void k_group_norm(const float* x, size_t xs, int64_t rows, int64_t per, const float* __restrict__ w,
                             const float* __restrict__ b, float eps, float* y, size_t ys) {
    __shared__ float red[32];
    const int64_t c0 = int64_t(blockIdx.x) * per, n = rows * per;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += at_row<float>(x, xs, i / per)[c0 + i % per];
    const float mean = block_sum(s, red) / float(n);
    float v = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        const float d = at_row<float>(x, xs, i / per)[c0 + i % per] - mean;
        v += d * d;
    }
    const float inv = rsqrtf(block_sum(v, red) / float(n) + eps);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        const int64_t r = i / per, c = c0 + i % per;
        at_row_mut<float>(y, ys, r)[c] = (at_row<float>(x, xs, r)[c] - mean) * inv * w[c] + b[c];
    }
}

// im2col of output pixels [p0, p0 + n): row j = the kernel window of pixel p0 + j laid out
// [ky][kx][c] like the re-laid weights, zeros outside the image.
__global__ void k_im2col(const float* __restrict__ x, size_t xs, int64_t cin, int h, int w, int k, int stride, int pad, int ow,
                         int64_t p0, int64_t n, float* __restrict__ col) {
    const int64_t kc = int64_t(k) * k * cin;
    HK_GRID_LOOP(i, n * kc) {
        const int64_t j = i / kc, e = i % kc;
        const int64_t p = p0 + j, oy = p / ow, ox = p % ow;
        const int64_t tap = e / cin, c = e % cin;
        const int64_t iy = oy * stride + tap / k - pad, ix = ox * stride + tap % k - pad;
        col[i] = (iy < 0 || iy >= h || ix < 0 || ix >= w) ? 0.0f : at_row<float>(x, xs, iy * w + ix)[c];
    }
}

// attention_qkv: blockIdx.y = head; each thread one query (kAttnQueries per block) with its own
// running softmax (max, sum), its query (pre-scaled) and output accumulator in MaxD registers
// (loops unrolled to MaxD with a d guard, so the arrays are not in local memory: SD's heads of 40
// use the 64 variant); the block stages tiles of keys and values in shared memory (as many keys as
// fit in kAttnTileFloats). No reductions across threads, so it also runs quickly on the simulator.
constexpr int kAttnQueries = 64;
constexpr int kAttnNarrowDim = 256;  // the widest head k_attention_qkv keeps in registers
constexpr int kAttnTileFloats = 4096;

template <int MaxD>
__global__ void k_attention_qkv(const float* __restrict__ q, size_t qs, const float* __restrict__ k, size_t ks,
                                const float* __restrict__ v, size_t vs, int64_t n_q, int64_t n_kv, int d, float scale,
                                int causal, float* __restrict__ out, size_t os) {
    __shared__ float kt[kAttnTileFloats];
    __shared__ float vt[kAttnTileFloats];
    const int head = blockIdx.y;
    const int64_t q0 = int64_t(blockIdx.x) * kAttnQueries, t = q0 + threadIdx.x;
    const bool live = t < n_q;
    const int tile = kAttnTileFloats / d;
    // Keys any query of this block sees.
    int64_t end = n_kv;
    if (causal) {
        const int64_t last = (q0 + kAttnQueries < n_q ? q0 + kAttnQueries : n_q);
        end = last < n_kv ? last : n_kv;
    }
    const int64_t mine = live ? (causal ? (t + 1 < n_kv ? t + 1 : n_kv) : n_kv) : 0;
    float qv[MaxD], acc[MaxD];
    const float* qr = live ? at_row<float>(q, qs, t) + size_t(head) * d : nullptr;
#pragma unroll
    for (int i = 0; i < MaxD; ++i) {
        qv[i] = (live && i < d) ? qr[i] * scale : 0.0f;
        acc[i] = 0.0f;
    }
    float mx = -INFINITY, sum = 0.0f;
    for (int64_t s0 = 0; s0 < end; s0 += tile) {
        const int n = int(end - s0 < tile ? end - s0 : tile);
        __syncthreads();  // the previous tile is no longer read
        for (int i = threadIdx.x; i < n * d; i += blockDim.x) {
            const int64_t s = s0 + i / d;
            kt[i] = at_row<float>(k, ks, s)[size_t(head) * d + i % d];
            vt[i] = at_row<float>(v, vs, s)[size_t(head) * d + i % d];
        }
        __syncthreads();
        const int upto = int(mine - s0 < n ? (mine - s0 > 0 ? mine - s0 : 0) : n);
        for (int j = 0; j < upto; ++j) {
            const float* kj = kt + j * d;
            float sc = 0.0f;
#pragma unroll
            for (int i = 0; i < MaxD; ++i)
                if (i < d) sc += qv[i] * kj[i];
            if (sc > mx) {
                const float corr = expf(mx - sc);  // 0 on the first key (mx = -inf)
                sum *= corr;
#pragma unroll
                for (int i = 0; i < MaxD; ++i) acc[i] *= corr;
                mx = sc;
            }
            const float p = expf(sc - mx);
            sum += p;
            const float* vj = vt + j * d;
#pragma unroll
            for (int i = 0; i < MaxD; ++i)
                if (i < d) acc[i] += p * vj[i];
        }
    }
    if (!live) return;
    float* o = at_row_mut<float>(out, os, t) + size_t(head) * d;
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
#pragma unroll
    for (int i = 0; i < MaxD; ++i)
        if (i < d) o[i] = acc[i] * inv;
}

// Heads wider than kAttnNarrowDim (a VAE's one head over all 512 channels of its middle block) do
// not fit k_attention_qkv's per-thread registers: one block per (query, head) instead, as Vulkan's
// attention_qkv.comp does. Each thread scores kWideKeys keys of a tile against the query staged in
// shared memory, the block takes the tile's max and sum (online softmax), and each thread then
// accumulates its own dimensions (d / kWideThreads of them) over the tile's probabilities.
constexpr int kWideThreads = 128, kWideKeys = 4, kWideTile = kWideThreads * kWideKeys;

__global__ void __launch_bounds__(kWideThreads)
k_attention_qkv_wide(const float* __restrict__ q, size_t qs, const float* __restrict__ k, size_t ks, const float* __restrict__ v,
                     size_t vs, int64_t n_kv, int d, float scale, int causal, float* __restrict__ out, size_t os) {
    constexpr int kPer = kAttnMaxDim / kWideThreads;
    __shared__ float qsh[kAttnMaxDim];
    __shared__ float ps[kWideTile];
    __shared__ float red[32];
    const int64_t t = blockIdx.x;
    const int head = blockIdx.y, tid = threadIdx.x;
    const size_t hd = size_t(head) * d;
    for (int i = tid; i < d; i += kWideThreads) qsh[i] = at_row<float>(q, qs, t)[hd + i] * scale;
    __syncthreads();
    const int64_t limit = causal ? (t + 1 < n_kv ? t + 1 : n_kv) : n_kv;
    float m = -INFINITY, l = 0.0f, acc[kPer];
#pragma unroll
    for (int i = 0; i < kPer; ++i) acc[i] = 0.0f;
    for (int64_t s0 = 0; s0 < limit; s0 += kWideTile) {
        float sc[kWideKeys], m_loc = -INFINITY;
#pragma unroll
        for (int u = 0; u < kWideKeys; ++u) {
            const int64_t s = s0 + u * kWideThreads + tid;
            sc[u] = -INFINITY;
            if (s < limit) {
                const float* kr = at_row<float>(k, ks, s) + hd;
                float dot = 0.0f;
                for (int i = 0; i < d; ++i) dot += qsh[i] * kr[i];
                sc[u] = dot;
            }
            m_loc = fmaxf(m_loc, sc[u]);
        }
        const float m_new = fmaxf(m, block_max(m_loc, red));  // finite: key s0 is valid
        const float corr = expf(m - m_new);                    // 0 on the first tile
        float p_loc = 0.0f;
#pragma unroll
        for (int u = 0; u < kWideKeys; ++u) {
            const float p = s0 + u * kWideThreads + tid < limit ? expf(sc[u] - m_new) : 0.0f;
            ps[u * kWideThreads + tid] = p;
            p_loc += p;
        }
        l = l * corr + block_sum(p_loc, red);  // its barriers also publish ps
        m = m_new;
        const int n_tile = int(limit - s0 < kWideTile ? limit - s0 : kWideTile);
#pragma unroll
        for (int i = 0; i < kPer; ++i) {
            const int c = tid + i * kWideThreads;
            if (c >= d) break;
            float a = acc[i] * corr;
            for (int j = 0; j < n_tile; ++j) a += ps[j] * at_row<float>(v, vs, s0 + j)[hd + c];
            acc[i] = a;
        }
        __syncthreads();  // ps is rewritten by the next tile
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        const int c = tid + i * kWideThreads;
        if (c < d) at_row_mut<float>(out, os, t)[hd + c] = acc[i] * inv;
    }
}

}  // namespace

cudaError_t mul(const float* a, size_t as, const float* b, size_t bs, int64_t rows, int64_t cols, float* out, size_t os,
                cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_for(rows * cols, 256), 256, 0, s, k_mul)(a, as, b, bs, rows, cols, out, os);
    return cudaGetLastError();
}

cudaError_t concat_cols(const float* a, size_t as, int64_t ca, const float* b, size_t bs, int64_t cb, int64_t rows, float* out,
                        size_t os, cudaStream_t s) {
    if (rows * (ca + cb) == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_for(rows * (ca + cb), 256), 256, 0, s, k_concat_cols)(a, as, ca, b, bs, cb, rows, out, os);
    return cudaGetLastError();
}

cudaError_t upsample_nearest(const float* x, size_t xs, int64_t cols, int h, int w, int oh, int ow, float* y, size_t ys,
                             cudaStream_t s) {
    const int64_t n = int64_t(oh) * ow * cols;
    if (n == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_for(n, 256), 256, 0, s, k_upsample_nearest)(x, xs, cols, h, w, oh, ow, y, ys);
    return cudaGetLastError();
}

cudaError_t activate(float* x, size_t xs, int64_t rows, int64_t cols, int act, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_for(rows * cols, 256), 256, 0, s, k_activate)(x, xs, rows, cols, act);
    return cudaGetLastError();
}

cudaError_t layer_norm(const float* x, size_t xs, int64_t rows, int64_t cols, const float* w, const float* b, float eps, float* y,
                       size_t ys, cudaStream_t s) {
    if (rows == 0) return cudaSuccess;
    const int threads = cols >= 1024 ? 512 : (cols >= 256 ? 256 : 64);
    HEARTH_LAUNCH(unsigned(rows), threads, 0, s, k_layer_norm)(x, xs, cols, w, b, eps, y, ys);
    return cudaGetLastError();
}

cudaError_t group_norm(const float* x, size_t xs, int64_t rows, int64_t cols, int n_groups, const float* w, const float* b,
                       float eps, float* y, size_t ys, cudaStream_t s) {
    if (rows == 0 || n_groups <= 0 || cols % n_groups != 0) return rows == 0 ? cudaSuccess : cudaErrorInvalidValue;
    HEARTH_LAUNCH(unsigned(n_groups), 512, 0, s, k_group_norm)(x, xs, rows, cols / n_groups, w, b, eps, y, ys);
    return cudaGetLastError();
}

cudaError_t im2col(const float* x, size_t xs, int64_t cin, int h, int w, int k, int stride, int pad, int ow, int64_t p0,
                   int64_t n, float* col, cudaStream_t s) {
    const int64_t total = n * k * k * cin;
    if (total == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_for(total, 256), 256, 0, s, k_im2col)(x, xs, cin, h, w, k, stride, pad, ow, p0, n, col);
    return cudaGetLastError();
}

cudaError_t attention_qkv(const float* q, size_t qs, const float* k, size_t ks, const float* v, size_t vs, int64_t n_q,
                          int64_t n_kv, int n_head, int d, float scale, bool causal, float* out, size_t os, cudaStream_t s) {
    if (n_q == 0) return cudaSuccess;
    if (d <= 0 || d > kAttnMaxDim || n_head <= 0) return cudaErrorInvalidValue;
    const dim3 grid(unsigned((n_q + kAttnQueries - 1) / kAttnQueries), unsigned(n_head));
    if (d <= 64)
        HEARTH_LAUNCH(grid, kAttnQueries, 0, s, k_attention_qkv<64>)(q, qs, k, ks, v, vs, n_q, n_kv, d, scale, int(causal), out, os);
    else if (d <= 128)
        HEARTH_LAUNCH(grid, kAttnQueries, 0, s, k_attention_qkv<128>)(q, qs, k, ks, v, vs, n_q, n_kv, d, scale, int(causal), out, os);
    else if (d <= kAttnNarrowDim)
        HEARTH_LAUNCH(grid, kAttnQueries, 0, s, k_attention_qkv<kAttnNarrowDim>)(q, qs, k, ks, v, vs, n_q, n_kv, d, scale, int(causal), out, os);
    else
        HEARTH_LAUNCH(dim3(unsigned(n_q), unsigned(n_head)), kWideThreads, 0, s, k_attention_qkv_wide)(q, qs, k, ks, v, vs, n_kv, d, scale,
                                                                                                   int(causal), out, os);
    return cudaGetLastError();
}

}  // namespace hearth::kern
