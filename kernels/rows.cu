// Row-wise and element-wise ops on F32 activations: embedding lookup, RMSNorm, SiLU·mul, add,
// scale-add, softmax, copy. Memory-bound; simple grid-stride loops.
#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace hearth::kern {

namespace {

#define HK_GRID_LOOP(i, n) \
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// An id outside the table reads nothing and yields a row of zeros (the model validates token ids;
// this keeps a bad one from becoming an illegal address that poisons the CUDA context).
__device__ __forceinline__ bool row_ok(int32_t id, int64_t table_rows) { return id >= 0 && id < table_rows; }

template <GgmlType T>
__global__ void k_get_rows_units(const uint8_t* __restrict__ table, size_t ts, int64_t table_rows, int units,
                                 const int32_t* __restrict__ ids, int n, float* __restrict__ out, size_t os) {
    pdl_wait();
    HK_GRID_LOOP(i, int64_t(n) * units) {
        const int64_t r = i / units;
        const int u = int(i % units);
        float* o = at_row_mut<float>(out, os, r) + size_t(u) * 32;
        const int32_t id = ids[r];
        if (!row_ok(id, table_rows)) {
#pragma unroll
            for (int e = 0; e < 32; ++e) o[e] = 0.0f;
            continue;
        }
        QUnit q;
        load_packed_unit<T>(table + size_t(id) * ts, units, u, q);
#pragma unroll
        for (int e = 0; e < 32; ++e) o[e] = unit_value(q, e);
    }
}

template <GgmlType T>
__global__ void k_get_rows_float(const uint8_t* __restrict__ table, size_t ts, int64_t table_rows, int64_t cols,
                                 const int32_t* __restrict__ ids, int n, float* __restrict__ out, size_t os) {
    pdl_wait();
    HK_ROWS_COLS_LOOP(r, c, n, cols) {
        const int32_t id = ids[r];
        if (!row_ok(id, table_rows)) {
            at_row_mut<float>(out, os, r)[c] = 0.0f;
            continue;
        }
        const uint8_t* row = table + size_t(id) * ts;
        float v;
        if constexpr (T == GgmlType::F32) v = reinterpret_cast<const float*>(row)[c];
        else if constexpr (T == GgmlType::F16) v = __half2float(reinterpret_cast<const __half*>(row)[c]);
        else v = __uint_as_float(uint32_t(reinterpret_cast<const uint16_t*>(row)[c]) << 16);
        at_row_mut<float>(out, os, r)[c] = v;
    }
}

// One block per row; the row is read twice (sum of squares, then scale) so y may alias x (hence no
// __restrict__ on x or y: the compiler must not route x's loads through the read-only cache).
__global__ void k_rms_norm(const float* x, size_t xs, int64_t cols, const float* __restrict__ w, float eps,
                           float* y, size_t ys) {
    __shared__ float red[32];
    const int64_t r = blockIdx.x;
    const float* xr = at_row<float>(x, xs, r);
    float ss = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) ss += xr[c] * xr[c];
    ss = block_sum(ss, red);
    const float inv = rsqrtf(ss / float(cols) + eps);
    float* yr = at_row_mut<float>(y, ys, r);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = xr[c] * inv * w[c];
}

// RMSNorm whose output also leaves in 8-bit form for the next quantized matvecs (matvec.cu's
// quantizer, the same rounding: each warp quantizes whole 32-value blocks of the normed row).
// A decode step runs this on one row with one block, so its time is latency: every x and w the
// thread needs (element threadIdx.x + k · blockDim.x, which is unit warp + k · n_warps at this
// lane) is loaded up front, all in flight at once, and kept in registers for the scaling; the sum
// of squares adds them in k_rms_norm's order, so y is that kernel's bit for bit. Rows longer than
// kNormRegs × blockDim.x go on in k_rms_norm's loop (loaded again) after the kept part.
constexpr int kNormRegs = 16;
__global__ void k_rms_norm_q8(const float* x, size_t xs, int64_t cols, const float* __restrict__ w, float eps, float* y,
                              size_t ys, Q8View q) {
    pdl_trigger();  // the next kernel (a matvec) may start its weight loads now
    pdl_wait();
    __shared__ float red[32];
    const int64_t r = blockIdx.x;
    const float* xr = at_row<float>(x, xs, r);
    const int64_t kept = min(cols, int64_t(kNormRegs) * blockDim.x);
    float xv[kNormRegs], wv[kNormRegs];
#pragma unroll
    for (int k = 0; k < kNormRegs; ++k) {
        const int64_t c = threadIdx.x + int64_t(k) * blockDim.x;
        xv[k] = c < kept ? xr[c] : 0.0f;
        wv[k] = c < kept ? w[c] : 0.0f;
    }
    float ss = 0.0f;
#pragma unroll
    for (int k = 0; k < kNormRegs; ++k)
        if (threadIdx.x + int64_t(k) * blockDim.x < kept) ss += xv[k] * xv[k];
    for (int64_t c = kept + threadIdx.x; c < cols; c += blockDim.x) ss += xr[c] * xr[c];
    ss = block_sum(ss, red);
    const float inv = rsqrtf(ss / float(cols) + eps);
    float* yr = at_row_mut<float>(y, ys, r);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
    const int64_t units = cols / 32, kept_units = kept / 32;
#pragma unroll
    for (int k = 0; k < kNormRegs; ++k) {
        const int64_t u = warp + int64_t(k) * n_warps;  // a warp's units are all kept or all not: no lane waits alone
        if (u >= kept_units) break;
        const int64_t c = u * 32 + lane;
        const float v = xv[k] * inv * wv[k];
        yr[c] = v;
        warp_quantize_q8(v, lane, q, r * units + u);
    }
    for (int64_t u = kept_units + warp; u < units; u += n_warps) {
        const int64_t c = u * 32 + lane;
        const float v = xr[c] * inv * w[c];
        yr[c] = v;
        warp_quantize_q8(v, lane, q, r * units + u);
    }
}

__global__ void k_silu_mul(const float* g, size_t gs, const float* __restrict__ u, size_t us, int64_t rows, int64_t cols,
                           float* out, size_t os) {
    HK_ROWS_COLS_LOOP(r, c, rows, cols) {
        at_row_mut<float>(out, os, r)[c] = silu_f(at_row<float>(g, gs, r)[c]) * at_row<float>(u, us, r)[c];
    }
}

__global__ void k_gelu_mul(const float* g, size_t gs, const float* __restrict__ u, size_t us, int64_t rows, int64_t cols,
                           float* out, size_t os) {
    HK_ROWS_COLS_LOOP(r, c, rows, cols) {
        at_row_mut<float>(out, os, r)[c] = gelu_tanh_f(at_row<float>(g, gs, r)[c]) * at_row<float>(u, us, r)[c];
    }
}

__global__ void k_scale(float* x, size_t xs, int64_t rows, int64_t cols, float sc) {
    HK_ROWS_COLS_LOOP(r, c, rows, cols) {
        at_row_mut<float>(x, xs, r)[c] *= sc;
    }
}

__global__ void k_add(const float* a, size_t as, const float* b, size_t bs, int64_t rows, int64_t cols, float* out, size_t os) {
    HK_ROWS_COLS_LOOP(r, c, rows, cols) {
        at_row_mut<float>(out, os, r)[c] = at_row<float>(a, as, r)[c] + at_row<float>(b, bs, r)[c];
    }
}

__global__ void k_scale_add(float* y, size_t ys, const float* __restrict__ x, size_t xs, int64_t rows, int64_t cols, float sc) {
    HK_ROWS_COLS_LOOP(r, c, rows, cols) {
        at_row_mut<float>(y, ys, r)[c] += sc * at_row<float>(x, xs, r)[c];
    }
}

// y[ids[r]] += w[r] * x[r]: k_scale_add's arithmetic through an id per row (distinct ids: no races).
__global__ void k_add_rows_scaled(float* y, size_t ys, const float* __restrict__ x, size_t xs, const int32_t* __restrict__ ids,
                                  const float* __restrict__ w, int64_t rows, int64_t cols) {
    HK_ROWS_COLS_LOOP(r, c, rows, cols) {
        at_row_mut<float>(y, ys, ids[r])[c] += w[r] * at_row<float>(x, xs, r)[c];
    }
}

__global__ void k_copy(const float* __restrict__ src, size_t ss, int64_t rows, int64_t cols, float* __restrict__ dst, size_t ds) {
    HK_ROWS_COLS_LOOP(r, c, rows, cols) {
        at_row_mut<float>(dst, ds, r)[c] = at_row<float>(src, ss, r)[c];
    }
}

// One block per row: max, sum of exponentials, normalize (three passes over the row).
__global__ void k_softmax(float* x, size_t xs, int64_t cols) {
    __shared__ float red[32];
    float* xr = at_row_mut<float>(x, xs, blockIdx.x);
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) mx = fmaxf(mx, xr[c]);
    mx = block_max(mx, red);
    float sum = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) sum += expf(xr[c] - mx);
    sum = block_sum(sum, red);
    const float inv = 1.0f / sum;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) xr[c] = expf(xr[c] - mx) * inv;
}

template <GgmlType T>
cudaError_t launch_get_rows_units(const void* table, size_t ts, int64_t tr, int64_t cols, const int32_t* ids, int n, float* out,
                                  size_t os, cudaStream_t s) {
    const int units = int(cols / 32);
    HEARTH_LAUNCH_PDL(grid_for(int64_t(n) * units, 128), 128, 0, s, k_get_rows_units<T>)(static_cast<const uint8_t*>(table), ts, tr, units,
                                                                           ids, n, out, os);
    return cudaGetLastError();
}

template <GgmlType T>
cudaError_t launch_get_rows_float(const void* table, size_t ts, int64_t tr, int64_t cols, const int32_t* ids, int n, float* out,
                                  size_t os, cudaStream_t s) {
    HEARTH_LAUNCH_PDL(grid_rows_cols(n, cols, 256), 256, 0, s, k_get_rows_float<T>)(static_cast<const uint8_t*>(table), ts, tr, cols,
                                                                          ids, n, out, os);
    return cudaGetLastError();
}

__global__ void k_add_i32(int32_t* x, int64_t n, int32_t v) {
    pdl_wait();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) x[i] += v;
}

}  // namespace

cudaError_t get_rows(GgmlType t, const void* table, size_t ts, int64_t table_rows, int64_t cols, const int32_t* ids, int n,
                     float* out, size_t os, cudaStream_t s) {
    if (n == 0 || cols == 0) return cudaSuccess;
    switch (t) {
        case GgmlType::Q4_0: return launch_get_rows_units<GgmlType::Q4_0>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::Q4_1: return launch_get_rows_units<GgmlType::Q4_1>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::Q5_0: return launch_get_rows_units<GgmlType::Q5_0>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::Q5_1: return launch_get_rows_units<GgmlType::Q5_1>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::Q8_0: return launch_get_rows_units<GgmlType::Q8_0>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::Q4_K: return launch_get_rows_units<GgmlType::Q4_K>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::Q5_K: return launch_get_rows_units<GgmlType::Q5_K>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::Q6_K: return launch_get_rows_units<GgmlType::Q6_K>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::F32: return launch_get_rows_float<GgmlType::F32>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::F16: return launch_get_rows_float<GgmlType::F16>(table, ts, table_rows, cols, ids, n, out, os, s);
        case GgmlType::BF16: return launch_get_rows_float<GgmlType::BF16>(table, ts, table_rows, cols, ids, n, out, os, s);
        default: return cudaErrorInvalidValue;
    }
}

cudaError_t rms_norm(const float* x, size_t xs, int64_t rows, int64_t cols, const float* w, float eps, float* y, size_t ys,
                     cudaStream_t s) {
    if (rows == 0) return cudaSuccess;
    const int threads = cols >= 1024 ? 512 : (cols >= 256 ? 256 : 64);
    HEARTH_LAUNCH(unsigned(rows), threads, 0, s, k_rms_norm)(x, xs, cols, w, eps, y, ys);
    return cudaGetLastError();
}

// SiLU·mul (gelu = false) or GELU·mul of generation-size rows, whose output is the next quantized
// matvec's input (the FFN down projection): also written in 8-bit form, as quantize_q8 rounds it.
// One warp per 32-value block.
__global__ void k_act_mul_q8(const float* g, size_t gs, const float* __restrict__ u, size_t us, int64_t rows, int64_t cols,
                             float* out, size_t os, Q8View q, bool gelu) {
    pdl_trigger();  // the next kernel (a matvec) may start its weight loads now
    pdl_wait();
    const int lane = threadIdx.x % 32;
    const int64_t units = cols / 32;
    const int64_t first = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    const int64_t step = int64_t(gridDim.x) * blockDim.x / 32;
    for (int64_t b = first; b < rows * units; b += step) {
        const int64_t r = b / units, c = (b % units) * 32 + lane;
        const float x = at_row<float>(g, gs, r)[c];
        const float a = gelu ? gelu_tanh_f(x) : silu_f(x);
        const float v = a * at_row<float>(u, us, r)[c];
        at_row_mut<float>(out, os, r)[c] = v;
        warp_quantize_q8(v, lane, q, b);
    }
}

cudaError_t act_mul_q8(bool gelu, const float* g, size_t gs, const float* u, size_t us, int64_t rows, int64_t cols, float* out,
                       size_t os, Q8View q, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH_PDL(grid_for(rows * cols, 256), 256, 0, s, k_act_mul_q8)(g, gs, u, us, rows, cols, out, os, q, gelu);
    return cudaGetLastError();
}

cudaError_t rms_norm_q8(const float* x, size_t xs, int64_t rows, int64_t cols, const float* w, float eps, float* y, size_t ys,
                        Q8View q, cudaStream_t s) {
    if (rows == 0) return cudaSuccess;
    const int threads = cols >= 1024 ? 512 : (cols >= 256 ? 256 : 64);
    HEARTH_LAUNCH_PDL(unsigned(rows), threads, 0, s, k_rms_norm_q8)(x, xs, cols, w, eps, y, ys, q);
    return cudaGetLastError();
}

cudaError_t silu_mul(const float* g, size_t gs, const float* u, size_t us, int64_t rows, int64_t cols, float* out,
                     size_t os, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_rows_cols(rows, cols, 256), 256, 0, s, k_silu_mul)(g, gs, u, us, rows, cols, out, os);
    return cudaGetLastError();
}

cudaError_t gelu_mul(const float* g, size_t gs, const float* u, size_t us, int64_t rows, int64_t cols, float* out,
                     size_t os, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_rows_cols(rows, cols, 256), 256, 0, s, k_gelu_mul)(g, gs, u, us, rows, cols, out, os);
    return cudaGetLastError();
}

cudaError_t scale(float* x, size_t xs, int64_t rows, int64_t cols, float sc, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_rows_cols(rows, cols, 256), 256, 0, s, k_scale)(x, xs, rows, cols, sc);
    return cudaGetLastError();
}

cudaError_t add(const float* a, size_t as, const float* b, size_t bs, int64_t rows, int64_t cols, float* out, size_t os,
                cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_rows_cols(rows, cols, 256), 256, 0, s, k_add)(a, as, b, bs, rows, cols, out, os);
    return cudaGetLastError();
}

cudaError_t scale_add(float* y, size_t ys, const float* x, size_t xs, int64_t rows, int64_t cols, float sc, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_rows_cols(rows, cols, 256), 256, 0, s, k_scale_add)(y, ys, x, xs, rows, cols, sc);
    return cudaGetLastError();
}

cudaError_t add_rows_scaled(float* y, size_t ys, const float* x, size_t xs, const int32_t* ids, const float* w, int64_t rows,
                            int64_t cols, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_rows_cols(rows, cols, 256), 256, 0, s, k_add_rows_scaled)(y, ys, x, xs, ids, w, rows, cols);
    return cudaGetLastError();
}

cudaError_t softmax_rows(float* x, size_t xs, int64_t rows, int64_t cols, cudaStream_t s) {
    if (rows == 0) return cudaSuccess;
    HEARTH_LAUNCH(unsigned(rows), 256, 0, s, k_softmax)(x, xs, cols);
    return cudaGetLastError();
}

void set_programmatic_launch(int device, bool on) {
    if (device >= 0 && device < 64) g_device_launch[device].pdl = on;
}

cudaError_t add_i32(int32_t* x, int64_t n, int32_t v, cudaStream_t s) {
    if (n == 0) return cudaSuccess;
    HEARTH_LAUNCH_PDL(grid_for(n, 256), 256, 0, s, k_add_i32)(x, n, v);
    return cudaGetLastError();
}

cudaError_t copy_rows(const float* src, size_t ss, int64_t rows, int64_t cols, float* dst, size_t ds, cudaStream_t s) {
    if (rows * cols == 0) return cudaSuccess;
    HEARTH_LAUNCH(grid_rows_cols(rows, cols, 256), 256, 0, s, k_copy)(src, ss, rows, cols, dst, ds);
    return cudaGetLastError();
}

}  // namespace hearth::kern
