// Matrix × vector for generation (a few tokens at a time), each weight row read once for up to 8
// tokens. Quantized weights (in the packed layout of packed_unit.h) meet activations quantized to 8
// bits by a separate quantizer kernel (or by the kernel before: the fused norm, attention or
// activation), and the products run on dp4a (sm_61+, all CUDA 13 targets).
// Float weights: one warp per row with 16-byte loads.
#include <atomic>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace hearth::kern {

namespace {

constexpr int kRowsPerBlock = 4;  // float kernels: warps per block, one row each

// One warp per 32-value block: scale from the warp's max |x|, round to nearest even. Rounded as
// llama.cpp's q8_0 activations are (and the CPU backend's): quants from the unrounded 127/max|x|,
// the scale kept at F16 precision. A float scale moves the logits as far from llama.cpp's as the
// 8-bit noise itself does (found on the CUDA simulator: argmax agreement 5 of 8 rows on ref-llama-q4_0).
__global__ void k_quantize_q8(const float* __restrict__ x, size_t xs, int64_t rows, int64_t units, Q8View out) {
    pdl_trigger();  // the next kernel (a matvec) may start its weight loads now
    pdl_wait();
    const int lane = threadIdx.x % 32;
    const int64_t first = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    const int64_t step = int64_t(gridDim.x) * blockDim.x / 32;
    for (int64_t w = first; w < rows * units; w += step) {
        const int64_t r = w / units, u = w % units;
        warp_quantize_q8(at_row<float>(x, xs, r)[u * 32 + lane], lane, out, w);
    }
}

// Quantized matvec over packed weights (packed_unit.h). A row group is kWarps × rows_per_warp rows;
// a block walks every gridDim.x-th group (the grid is what the GPU holds at once), and each group's
// rows in chunks of 32 × kPasses steps (passes<T>: 128 units, 4096 columns, for every type). Per
// chunk, each lane first issues the loads of its kPasses steps of each of its rows (fetch_step: raw
// words, decoded only when used; from the second item on, during the previous item), then the
// block stages the chunk's 8-bit activations (quants and scales, every token) in shared memory for
// all its rows (once for all its groups when a row is one chunk), while rows_per_warp × kPasses
// steps of weight loads per lane are in flight: the latencies overlap instead of adding up. The
// first chunk's weights are fetched before pdl_wait(), so under PDL (where the previous kernel calls
// pdl_trigger) they stream while that kernel finishes. Within one load instruction the lanes read
// consecutive 16-byte chunks of a piece array (the packed layout's point).
// Rows per warp and the register cap (blocks per SM), by type, from the H200's profile
// (tests/gpu/profile-decode.sh, ncu, 8B shape): with two rows per warp at 128 registers, 4 blocks
// (16 warps) per SM, the kernel was latency-bound, not bandwidth-bound: 13.3 cycles between a warp's
// instructions, the Q4_K gate/up launch at 18% of DRAM bandwidth. One row per warp capped at 64
// registers (8 blocks, 32 warps) keeps as many bytes in flight per SM and hides the unpacking's
// latency twice over: Q4_K 873 → 1,049 GB/s (gate/up), 758 → 848 (q/k/o), 8B decode +16%.
// Q5_K and Q6_K, which unpack high bits too, spill 16–28 bytes at 64 registers, and at 80 (6 blocks
// of one row: 24 rows in flight per SM, not 32) Q6_K went 1,166 → 991 GB/s: they keep two rows per
// warp at 128. From 4 tokens on, one row per warp for every type: the accumulators and the staged
// tokens would otherwise spill (ptxas: 96–216 bytes for the K-quants at 8 tokens with two rows).
constexpr int kWarps = 4;
// Steps per lane and row in one chunk: 2 of 2 units for the K-quants, 4 of 1 for the others, so every
// type has 4 units (128 weights) per lane in flight per row and a chunk of 128 units (4096 columns).
template <GgmlType T> __host__ __device__ constexpr int passes() { return units_per_step<T>() == 2 ? 2 : 4; }
template <GgmlType T> __host__ __device__ constexpr bool wide_unpack() { return T == GgmlType::Q5_K || T == GgmlType::Q6_K; }
template <GgmlType T> __host__ __device__ constexpr int rows_per_warp(int n_tok) { return n_tok < 4 && wide_unpack<T>() ? 2 : 1; }
template <GgmlType T> constexpr int matvec_min_blocks(int n_tok) { return n_tok > 2 || wide_unpack<T>() ? 4 : 8; }

__device__ __forceinline__ float step_dot(const QUnit& w, const int4* xq, float d, float s) {
    const int4 a = xq[0], b = xq[1];
    int s0 = 0, s1 = 0;
    s0 = dp4a(w.q[0], a.x, s0); s0 = dp4a(w.q[1], a.y, s0); s0 = dp4a(w.q[2], a.z, s0); s0 = dp4a(w.q[3], a.w, s0);
    s1 = dp4a(w.q[4], b.x, s1); s1 = dp4a(w.q[5], b.y, s1); s1 = dp4a(w.q[6], b.z, s1); s1 = dp4a(w.q[7], b.w, s1);
    return d * (w.a0 * float(s0) + w.a1 * float(s1)) + w.b * s;
}

// The launch's products (MatvecOut) as the kernel takes them: blocks [first[i], first[i + 1]) serve
// part i. Fields are picked by a chain of selects, not by indexing the parameter array with a
// runtime index (which would copy the parameters to local memory).
struct Parts {
    MatvecOut p[kMatvecMaxParts];
    int first[kMatvecMaxParts + 1];
    int n;
    int accumulate;  // y += product (the residual in the epilogue)
    MatvecGlu glu;   // the GLU instances': gate is part 0, up part 1
};
template <class F> __device__ __forceinline__ auto pick(const Parts& P, int i, F f) {
    return i == 0 ? f(P.p[0]) : i == 1 ? f(P.p[1]) : f(P.p[2]);
}
__device__ __forceinline__ int part_of_block(const Parts& P, int b) {
    int i = 0;
#pragma unroll
    for (int k = 1; k < kMatvecMaxParts; ++k)
        if (k < P.n && b >= P.first[k]) i = k;
    return i;
}

// One row group's rows as a warp of k_matvec_packed sees them: its part's weights, the part's row
// count and first group, and the warp's first row in the part. g past the last group gives a group
// with no rows (row0 >= rows), which every use checks.
struct GroupRows {
    const uint8_t* w;
    size_t ws;
    int rows, row0, part, first;
};
__device__ __forceinline__ GroupRows group_rows(const Parts& P, int g, int warp, int rows_per_warp) {
    GroupRows G;
    G.part = part_of_block(P, g);
    G.w = pick(P, G.part, [](const MatvecOut& o) { return static_cast<const uint8_t*>(o.w); });
    G.ws = pick(P, G.part, [](const MatvecOut& o) { return o.w_stride; });
    G.rows = g < P.first[P.n] ? int(pick(P, G.part, [](const MatvecOut& o) { return o.rows; })) : 0;
    G.first = G.part == 0 ? P.first[0] : G.part == 1 ? P.first[1] : P.first[2];
    G.row0 = ((g - G.first) * kWarps + warp) * rows_per_warp;
    return G;
}
// The weights of chunk c0 of a group: each lane's steps c0 + 32·p + lane of each of its rows.
template <GgmlType T, bool A16, int R, int NP>
__device__ __forceinline__ void fetch_item(const GroupRows& G, int units, int steps, int c0, int lane, StepWords<T> (&raw)[R][NP]) {
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
        for (int p = 0; p < NP; ++p) {
            const int st = c0 + p * 32 + lane;
            if (G.row0 + r < G.rows && st < steps) fetch_step<T, A16>(G.w + size_t(G.row0 + r) * G.ws, units, st, raw[r][p]);
        }
}

// Gate/up launches (k_matvec_packed's GLU): a block that has written a group's rows of gate or up
// counts them in their 32 rows' counter; the last of the 2 × 32 / block_rows groups behind those
// rows owes out = act(gate) · up for them and every token, and the 8-bit form, one warp per token
// (the quantizer's unit is those 32 rows), and resets the counter for the next launch or replay.
// The block pays what it owes after its last group (glu_finish): inside the loop, that code's
// registers would add to the loop's while the next group's weights are in flight (ptxas: the
// one-token Q4_K instance spilled 140 bytes). A block owes at most one row set per group it takes,
// and a GLU launch's grid gives no block more than kGluOwedMax groups. The activation is silu_f /
// gelu_tanh_f and the rounding warp_quantize_q8, as act_mul_q8's, so the result is that kernel's
// bit for bit.
constexpr int kGluOwedMax = 32;
__device__ __forceinline__ void glu_count(const Parts& P, int block_row0, int block_rows, int* owed, int& n_owed) {
    __shared__ bool last;
    const int g = block_row0 / 32;
    __threadfence();  // this block's products are visible device-wide before it is counted
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(P.glu.counters + g, 1u) == unsigned(2 * 32 / block_rows - 1);
    __syncthreads();
    if (last) {
        if (threadIdx.x == 0) owed[n_owed] = g;
        ++n_owed;  // in every thread alike: `last` is the block's
    }
}
__device__ __forceinline__ void glu_finish(const Parts& P, int g, int n_tok) {
    __threadfence();
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int row = g * 32 + lane;
    const int64_t units = P.p[0].rows / 32;
    for (int t = warp; t < n_tok; t += kWarps) {
        // volatile: the other blocks' products, never from a cache line this SM read before they were written
        const float gv = static_cast<const volatile float*>(at_row<float>(P.p[0].y, P.p[0].y_stride, t))[row];
        const float uv = static_cast<const volatile float*>(at_row<float>(P.p[1].y, P.p[1].y_stride, t))[row];
        const float v = (P.glu.gelu ? gelu_tanh_f(gv) : silu_f(gv)) * uv;
        at_row_mut<float>(P.glu.out, P.glu.out_stride, t)[row] = v;
        warp_quantize_q8(v, lane, P.glu.q, int64_t(t) * units + g);
    }
    if (threadIdx.x == 0) P.glu.counters[g] = 0u;
}

// GLU: a gate/up launch, finished by glu_count and glu_finish (its own instances, so the plain products' code,
// registers included, is what it would be without it; for 1 and 2 tokens only: matvec_glu_applies).
template <GgmlType T, int NT, bool A16, bool GLU>
__global__ void __launch_bounds__(32 * kWarps, matvec_min_blocks<T>(NT))
k_matvec_packed(Parts P, int units, Q8View x, int n_tok) {
    pdl_trigger();
    constexpr int UPS = units_per_step<T>();
    constexpr int kRowsPerWarp = rows_per_warp<T>(NT);
    constexpr int kPasses = passes<T>();
    constexpr int CH = 32 * kPasses;  // steps per chunk (a multiple of 4: a chunk's units are contiguous)
    constexpr int CU = CH * UPS;      // units per chunk
    // The next item's step is fetched as the current one's is decoded where the compiler keeps that
    // in registers: up to 24 words of weights per lane, rows 16-byte aligned (ptxas, sm_90: Q8_0,
    // Q5_K and Q6_K spill 16-260 bytes with it, Q4_K's unaligned one-token instance 4; they fetch
    // each item when the previous one is done instead).
    constexpr bool kPipeline = A16 && step_words<T>() * kRowsPerWarp * kPasses <= 24;
    __shared__ int4 sq[NT][CU * 2];   // 32 int8 quants per unit = two int4
    __shared__ float sd[NT][CU], ss[NT][CU];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, tid = threadIdx.x;
    const int steps = units / UPS, n_groups = P.first[P.n];
    // The block's work is a sequence of items (row group g, chunk c0): g = blockIdx.x, then every
    // gridDim.x-th group (the grid is at most what the GPU holds at once, launch_packed), each group's
    // chunks in order. Each warp has kRowsPerWarp rows of the group.
    int g = int(blockIdx.x), c0 = 0;
    float acc[kRowsPerWarp][NT];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
        for (int t = 0; t < NT; ++t) acc[r][t] = 0.0f;
    // The first item's weights before anything else: they depend on no earlier kernel (weights are
    // written before any launch that reads them: repack_device syncs), so they are in flight while
    // the activations are staged, and under PDL while the previous kernel finishes.
    StepWords<T> raw[kRowsPerWarp][kPasses];
    fetch_item<T, A16, kRowsPerWarp, kPasses>(group_rows(P, g, warp, kRowsPerWarp), units, steps, 0, lane, raw);
    pdl_wait();  // the activations, y and the counters come from earlier kernels
    bool staged = false;  // rows of one chunk: the activations are staged once for all the block's groups
    __shared__ int owed[GLU ? kGluOwedMax : 1];  // GLU: the row sets this block finishes after its loop
    int n_owed = 0;
    while (g < n_groups) {
        const int u0 = c0 * UPS, nu = min(CU, units - u0);
        // This item's rows and the item after this one (rows recomputed from g where needed: cheaper
        // than keeping them in registers across the loop).
        const GroupRows cur = group_rows(P, g, warp, kRowsPerWarp);
        const bool last_chunk = c0 + CH >= steps;
        const int ng = last_chunk ? g + int(gridDim.x) : g, nc0 = last_chunk ? 0 : c0 + CH;
        if (!staged || steps > CH) {
            staged = true;
            __syncthreads();  // every warp is done with the previous chunk's activations
            // Token by token, each thread its fixed slots of the chunk: no division of a flat index
            // by the chunk's length (a third of the kernel's instructions at one token). Not unrolled
            // over tokens: the fetched weights are live here, and copies of these loads would spill them.
#pragma unroll 1
            for (int t = 0; t < NT; ++t) {
                const bool real = t < n_tok;
                const int4* xq = reinterpret_cast<const int4*>(x.q + (size_t(t) * units + u0) * 32);
#pragma unroll
                for (int j = 0; j < (CU * 2 + 32 * kWarps - 1) / (32 * kWarps); ++j) {
                    const int k = tid + j * 32 * kWarps;
                    if (k < nu * 2) sq[t][k] = real ? xq[k] : make_int4(0, 0, 0, 0);
                }
#pragma unroll
                for (int j = 0; j < (CU + 32 * kWarps - 1) / (32 * kWarps); ++j) {
                    const int k = tid + j * 32 * kWarps;
                    if (k < nu) {
                        sd[t][k] = real ? x.d[size_t(t) * units + u0 + k] : 0.0f;
                        ss[t][k] = real ? x.s[size_t(t) * units + u0 + k] : 0.0f;
                    }
                }
            }
            __syncthreads();
        }
        const GroupRows nxt = kPipeline ? group_rows(P, ng, warp, kRowsPerWarp) : cur;
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
            for (int p = 0; p < kPasses; ++p) {
                const int st = c0 + p * 32 + lane, nst = nc0 + p * 32 + lane;
                const bool here = cur.row0 + r < cur.rows && st < steps;
                QUnit q[UPS];
                if (here) decode_step<T>(raw[r][p], st, q);
                // The same step of the next item, into the words just decoded: in flight during this
                // item's arithmetic, the output and the next staging (kPipeline; otherwise fetched at
                // the top of the next item).
                if (kPipeline && ng < n_groups && nxt.row0 + r < nxt.rows && nst < steps)
                    fetch_step<T, A16>(nxt.w + size_t(nxt.row0 + r) * nxt.ws, units, nst, raw[r][p]);
                if (!here) continue;
#pragma unroll
                for (int k = 0; k < UPS; ++k) {
                    const int cu = step_unit<T>(st, k) - u0;
#pragma unroll
                    for (int t = 0; t < NT; ++t)
                        if (t < n_tok) acc[r][t] += step_dot(q[k], &sq[t][cu * 2], sd[t][cu], ss[t][cu]);
                }
            }
        if (last_chunk) {
            // The group's products. The output's fields are read only here, so they hold no register
            // across the loop.
            float* __restrict__ y = pick(P, cur.part, [](const MatvecOut& o) { return o.y; });
            const size_t ys = pick(P, cur.part, [](const MatvecOut& o) { return o.y_stride; });
            const float* __restrict__ bias = pick(P, cur.part, [](const MatvecOut& o) { return o.bias; });
#pragma unroll
            for (int r = 0; r < kRowsPerWarp; ++r) {
                const int row = cur.row0 + r;
                const float b = bias && row < cur.rows ? bias[row] : 0.0f;
#pragma unroll
                for (int t = 0; t < NT; ++t) {
                    const float v = warp_sum(acc[r][t]);
                    acc[r][t] = 0.0f;
                    if (lane == 0 && t < n_tok && row < cur.rows) {
                        float& out = at_row_mut<float>(y, ys, t)[row];
                        out = P.accumulate ? out + (v + b) : v + b;
                    }
                }
            }
            if constexpr (GLU) glu_count(P, (g - cur.first) * kWarps * kRowsPerWarp, kWarps * kRowsPerWarp, owed, n_owed);
        }
        g = ng;
        c0 = nc0;
        if (!kPipeline && g < n_groups) fetch_item<T, A16, kRowsPerWarp, kPasses>(group_rows(P, g, warp, kRowsPerWarp), units, steps, c0, lane, raw);
    }
    if constexpr (GLU) {
        __syncthreads();  // owed[] as thread 0 wrote it
        for (int i = 0; i < n_owed; ++i) glu_finish(P, owed[i], n_tok);
    }
}

template <GgmlType T> __device__ __forceinline__ float load_weight(const uint8_t* row, int64_t c) {
    if constexpr (T == GgmlType::F32) return reinterpret_cast<const float*>(row)[c];
    else if constexpr (T == GgmlType::F16) return __half2float(reinterpret_cast<const __half*>(row)[c]);
    else return __uint_as_float(uint32_t(reinterpret_cast<const uint16_t*>(row)[c]) << 16);
}

// Float weights: each lane reads V consecutive weights per step (16-byte loads when V > 1).
template <GgmlType T, int NT, int V>
__global__ void __launch_bounds__(32 * kRowsPerBlock)
k_matvec_float(const uint8_t* __restrict__ w, size_t ws, int rows, int cols, const float* __restrict__ x, size_t xs,
               int n_tok, float* __restrict__ y, size_t ys, const float* __restrict__ bias, int accumulate) {
    pdl_wait();
    const int row = blockIdx.x * kRowsPerBlock + threadIdx.y;
    if (row >= rows) return;
    const int lane = threadIdx.x;
    const uint8_t* wr = w + size_t(row) * ws;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[t] = 0.0f;
    for (int c0 = lane * V; c0 < cols; c0 += 32 * V) {
        float wv[V];
        if constexpr (V == 1) {
            wv[0] = load_weight<T>(wr, c0);
        } else if constexpr (T == GgmlType::F32) {
            const float4 a = *reinterpret_cast<const float4*>(wr + size_t(c0) * 4);
            wv[0] = a.x; wv[1] = a.y; wv[2] = a.z; wv[3] = a.w;
        } else {
            const uint4 a = *reinterpret_cast<const uint4*>(wr + size_t(c0) * 2);
            const uint32_t words[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                if constexpr (T == GgmlType::F16) {
                    const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&words[i]));
                    wv[2 * i] = f.x; wv[2 * i + 1] = f.y;
                } else {
                    wv[2 * i] = __uint_as_float(words[i] << 16);
                    wv[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
                }
            }
        }
#pragma unroll
        for (int t = 0; t < NT; ++t) {
            if (t < n_tok) {
                const float* xr = at_row<float>(x, xs, t) + c0;
#pragma unroll
                for (int i = 0; i < V; ++i) acc[t] += wv[i] * xr[i];
            }
        }
    }
    const float b = bias ? bias[row] : 0.0f;
#pragma unroll
    for (int t = 0; t < NT; ++t) {
        const float v = warp_sum(acc[t]);
        if (lane == 0 && t < n_tok) {
            float& out = at_row_mut<float>(y, ys, t)[row];
            out = accumulate ? out + (v + b) : v + b;
        }
    }
}

bool rows_aligned(const MatvecOut& o) { return reinterpret_cast<uintptr_t>(o.w) % 16 == 0 && o.w_stride % 16 == 0; }

// Blocks of one matvec instance that an SM holds at once, as compiled (its registers and shared
// memory): the occupancy calculator's answer, asked once per device, so that the persistent grid
// fills the GPU. The launch bounds' minimum only guarantees a floor: at 56 registers (Q4_0/Q4_1 at
// one token) an SM holds 9 blocks, not 8; at 72–80 (Q8_0 and the 32-weight types at 4 tokens) 6–7,
// not 4 (ptxas -v, sm_90). The floor where there is no answer: the simulator has no calculator, and a
// failed query leaves its error cleared. A graph captures a pass only on its second sight (step_graphs.h),
// so the first query of an instance never falls inside a capture.
template <auto Kernel> int resident_blocks(int device, int floor_blocks) {
#ifdef HEARTH_CUDA_SIM
    (void)device;
    return floor_blocks;
#else
    static std::atomic<int> known[64];  // 0: not asked on that device yet
    if (device < 0 || device >= 64) return floor_blocks;
    int n = known[device].load(std::memory_order_relaxed);
    if (n > 0) return n;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, Kernel, 32 * kWarps, 0) != cudaSuccess || n <= 0) {
        cudaGetLastError();
        n = floor_blocks;
    }
    known[device].store(n, std::memory_order_relaxed);
    return n;
#endif
}

// One instance's launch: at most the blocks the GPU holds at once, and for GLU launches at least one
// block per kGluOwedMax row groups (what a block may owe). A block walks every gridDim.x-th row group,
// fetching the next group's weights while it finishes the current one, instead of exiting and being
// replaced.
template <GgmlType T, int NT, bool A16, bool GLU>
void launch_packed(const Parts& P, int units, const Q8View& xq, int n_tok, cudaStream_t s) {
    constexpr auto kernel = k_matvec_packed<T, NT, A16, GLU>;
    const int groups = P.first[P.n];
    const DeviceLaunch d = device_launch();
    int grid_blocks = d.matvec_sms > 0
                          ? std::min(groups, d.matvec_sms * resident_blocks<kernel>(d.device, matvec_min_blocks<T>(NT)))
                          : groups;
    if (GLU) grid_blocks = std::max(grid_blocks, int(ceil_div(groups, kGluOwedMax)));
    HEARTH_LAUNCH_PDL(unsigned(grid_blocks), 32 * kWarps, 0, s, kernel)(P, units, xq, n_tok);
}

template <GgmlType T, int NT>
cudaError_t launch_quant(Parts P, int units, Q8View xq, int n_tok, bool glu, cudaStream_t s) {
    // Part i's blocks follow part i - 1's.
    P.first[0] = 0;
    bool aligned = true;
    for (int i = 0; i < P.n; ++i) {
        P.first[i + 1] = P.first[i] + ceil_div(int(P.p[i].rows), kWarps * rows_per_warp<T>(NT));
        aligned = aligned && rows_aligned(P.p[i]);
    }
    for (int i = P.n; i < kMatvecMaxParts; ++i) P.first[i + 1] = P.first[P.n];
    if (P.first[P.n] == 0) return cudaSuccess;
    // Rows that start 16-byte aligned read every piece with 128-bit loads; others (row strides that
    // are not multiples of 16, e.g. Q4_0 rows of 32 × odd units) with 16-bit ones.
    if (glu) {
        if constexpr (NT <= kMatvecGluMaxTokens) {
            if (aligned) launch_packed<T, NT, true, true>(P, units, xq, n_tok, s);
            else launch_packed<T, NT, false, true>(P, units, xq, n_tok, s);
            return cudaGetLastError();
        }
        return cudaErrorInvalidValue;  // matvec_glu_applies said no
    }
    if (aligned) launch_packed<T, NT, true, false>(P, units, xq, n_tok, s);
    else launch_packed<T, NT, false, false>(P, units, xq, n_tok, s);
    return cudaGetLastError();
}

template <GgmlType T>
cudaError_t dispatch_quant(const MatvecOut* parts, int n_parts, int units, Q8View xq, int n_tok, bool accumulate,
                           cudaStream_t s, const MatvecGlu* glu = nullptr) {
    for (int t0 = 0; t0 < n_tok; t0 += 8) {
        const int nt = n_tok - t0 < 8 ? n_tok - t0 : 8;
        Q8View xt = xq;
        xt.q += size_t(t0) * units * 32;
        xt.d += size_t(t0) * units;
        xt.s += size_t(t0) * units;
        Parts P{};
        P.n = n_parts;
        P.accumulate = accumulate ? 1 : 0;
        if (glu) P.glu = *glu;  // n_tok <= 8: one pass of this loop
        for (int i = 0; i < n_parts; ++i) {
            P.p[i] = parts[i];
            P.p[i].y = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(parts[i].y) + size_t(t0) * parts[i].y_stride);
        }
        cudaError_t e;
        const bool g = glu != nullptr;
        if (nt == 1) e = launch_quant<T, 1>(P, units, xt, nt, g, s);
        else if (nt == 2) e = launch_quant<T, 2>(P, units, xt, nt, g, s);
        else if (nt <= 4) e = launch_quant<T, 4>(P, units, xt, nt, g, s);
        else e = launch_quant<T, 8>(P, units, xt, nt, g, s);
        if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
}

template <GgmlType T, int NT>
cudaError_t launch_float(const void* w, size_t ws, int rows, int cols, const float* x, size_t xs, int n_tok, float* y,
                         size_t ys, const float* bias, bool vec, int acc, cudaStream_t s) {
    const dim3 block(32, kRowsPerBlock), grid(ceil_div(rows, kRowsPerBlock));
    const auto* wb = static_cast<const uint8_t*>(w);
    constexpr int V = T == GgmlType::F32 ? 4 : 8;
    if (vec) HEARTH_LAUNCH_PDL(grid, block, 0, s, k_matvec_float<T, NT, V>)(wb, ws, rows, cols, x, xs, n_tok, y, ys, bias, acc);
    else HEARTH_LAUNCH_PDL(grid, block, 0, s, k_matvec_float<T, NT, 1>)(wb, ws, rows, cols, x, xs, n_tok, y, ys, bias, acc);
    return cudaGetLastError();
}

template <GgmlType T>
cudaError_t dispatch_float(const void* w, size_t ws, int rows, int cols, const float* x, size_t xs, int n_tok, float* y,
                           size_t ys, const float* bias, bool accumulate, cudaStream_t s) {
    const int acc = accumulate ? 1 : 0;
    // 16-byte vector loads need 16-byte aligned rows of weights and activations.
    const int elt = T == GgmlType::F32 ? 4 : 2;
    const int v = T == GgmlType::F32 ? 4 : 8;
    const bool vec = cols % v == 0 && ws % 16 == 0 && xs % 16 == 0 && (reinterpret_cast<uintptr_t>(w) % 16) == 0 &&
                     (reinterpret_cast<uintptr_t>(x) % 16) == 0 && size_t(cols) * elt <= ws;
    for (int t0 = 0; t0 < n_tok; t0 += 8) {
        const int nt = n_tok - t0 < 8 ? n_tok - t0 : 8;
        const float* xt = reinterpret_cast<const float*>(reinterpret_cast<const uint8_t*>(x) + size_t(t0) * xs);
        float* yt = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(y) + size_t(t0) * ys);
        cudaError_t e;
        if (nt == 1) e = launch_float<T, 1>(w, ws, rows, cols, xt, xs, nt, yt, ys, bias, vec, acc, s);
        else if (nt == 2) e = launch_float<T, 2>(w, ws, rows, cols, xt, xs, nt, yt, ys, bias, vec, acc, s);
        else if (nt <= 4) e = launch_float<T, 4>(w, ws, rows, cols, xt, xs, nt, yt, ys, bias, vec, acc, s);
        else e = launch_float<T, 8>(w, ws, rows, cols, xt, xs, nt, yt, ys, bias, vec, acc, s);
        if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
}

}  // namespace

bool is_quantized_weight(GgmlType t) {
    switch (t) {
        case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q8_0:
        case GgmlType::Q4_K: case GgmlType::Q5_K: case GgmlType::Q6_K: return true;
        default: return false;
    }
}

void set_matvec_sms(int device, int sms) {
    if (device >= 0 && device < 64) g_device_launch[device].matvec_sms = sms;
}

bool is_float_weight(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

cudaError_t quantize_q8(const float* x, size_t x_stride, int64_t rows, int64_t cols, Q8View out, cudaStream_t s) {
    const int64_t units = cols / 32;
    if (rows * units == 0) return cudaSuccess;
    HEARTH_LAUNCH_PDL(grid_for(rows * units * 32, 256), 256, 0, s, k_quantize_q8)(x, x_stride, rows, units, out);
    return cudaGetLastError();
}

// The one switch from the weight type to the kernels' template argument, for both entry points.
static cudaError_t quant_by_type(GgmlType t, const MatvecOut* parts, int n_parts, int64_t cols, Q8View xq, int n_tok, bool accumulate,
                          cudaStream_t s, const MatvecGlu* glu) {
    const int units = int(cols / 32);
    switch (t) {
        case GgmlType::Q4_0: return dispatch_quant<GgmlType::Q4_0>(parts, n_parts, units, xq, n_tok, accumulate, s, glu);
        case GgmlType::Q4_1: return dispatch_quant<GgmlType::Q4_1>(parts, n_parts, units, xq, n_tok, accumulate, s, glu);
        case GgmlType::Q5_0: return dispatch_quant<GgmlType::Q5_0>(parts, n_parts, units, xq, n_tok, accumulate, s, glu);
        case GgmlType::Q5_1: return dispatch_quant<GgmlType::Q5_1>(parts, n_parts, units, xq, n_tok, accumulate, s, glu);
        case GgmlType::Q8_0: return dispatch_quant<GgmlType::Q8_0>(parts, n_parts, units, xq, n_tok, accumulate, s, glu);
        case GgmlType::Q4_K: return dispatch_quant<GgmlType::Q4_K>(parts, n_parts, units, xq, n_tok, accumulate, s, glu);
        case GgmlType::Q5_K: return dispatch_quant<GgmlType::Q5_K>(parts, n_parts, units, xq, n_tok, accumulate, s, glu);
        case GgmlType::Q6_K: return dispatch_quant<GgmlType::Q6_K>(parts, n_parts, units, xq, n_tok, accumulate, s, glu);
        default: return cudaErrorInvalidValue;
    }
}

cudaError_t matvec_quant(GgmlType t, const MatvecOut* parts, int n_parts, int64_t cols, Q8View xq, int n_tok, bool accumulate,
                         cudaStream_t s) {
    if (n_parts < 1 || n_parts > kMatvecMaxParts) return cudaErrorInvalidValue;
    return quant_by_type(t, parts, n_parts, cols, xq, n_tok, accumulate, s, nullptr);
}

bool matvec_glu_applies(const MatvecOut& gate, const MatvecOut& up, int n_tok) {
    return n_tok >= 1 && n_tok <= kMatvecGluMaxTokens && gate.rows == up.rows && gate.rows % 32 == 0;
}

cudaError_t matvec_quant_glu(GgmlType t, const MatvecOut& gate, const MatvecOut& up, int64_t cols, Q8View xq, int n_tok,
                             const MatvecGlu& glu, cudaStream_t s) {
    if (!matvec_glu_applies(gate, up, n_tok) || !glu.out || !glu.counters || !glu.q.q) return cudaErrorInvalidValue;
    const MatvecOut parts[2] = {gate, up};
    return quant_by_type(t, parts, 2, cols, xq, n_tok, false, s, &glu);
}

cudaError_t matvec_float(GgmlType t, const void* w, size_t ws, int64_t rows, int64_t cols, const float* x, size_t xs,
                         int n_tok, float* y, size_t ys, const float* bias, cudaStream_t s, bool accumulate) {
    switch (t) {
        case GgmlType::F32: return dispatch_float<GgmlType::F32>(w, ws, int(rows), int(cols), x, xs, n_tok, y, ys, bias, accumulate, s);
        case GgmlType::F16: return dispatch_float<GgmlType::F16>(w, ws, int(rows), int(cols), x, xs, n_tok, y, ys, bias, accumulate, s);
        case GgmlType::BF16: return dispatch_float<GgmlType::BF16>(w, ws, int(rows), int(cols), x, xs, n_tok, y, ys, bias, accumulate, s);
        default: return cudaErrorInvalidValue;
    }
}

}  // namespace hearth::kern
