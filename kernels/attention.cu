// Attention over the paged KV cache with an online softmax (flash attention): never more than one
// 32-cell tile of scores exists per warp. Prompt batches use k_attention_tiled (K/V tiles in shared
// memory shared by 8 query tokens). Generation and batches over block tables use the decode kernel
// of attention_decode.cu (one block serves all query heads of a KV head). k_attention remains for
// head sizes that kernel does not take (not a multiple of 8): one block = one (token, query head, KV
// split), its four warps on interleaved 32-cell tiles, scores one cell per lane, then V with lanes
// across head dimensions; for long contexts and few tokens the KV range is split across blocks
// (flash-decoding) and a second kernel merges the partial (max, sum, acc) triples.
#include <climits>

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

    const int limit = max(min(a.n_kv, a.pos[t] + 1), 0);  // causal: cells 0..pos
    const int lo = a.window > 0 ? min(max(a.pos[t] - a.window + 1, 0), limit) : 0;  // sliding window
    // block tables: logical cell -> physical cell of this token's sequence
    const int32_t* tab = a.table ? a.table + size_t(a.seq[t]) * a.tab_stride : nullptr;
    auto phys = [tab](int c) { return tab ? tab[c >> 5] * 32 + (c & 31) : c; };
    // The split of the KV range is re-derived from this token's own range [lo, limit), so the splits stay
    // balanced when n_kv is only an upper bound (graph mode passes the cache capacity) or tokens differ.
    const int range = limit - lo;
    const int per_split = a.n_split == 1 ? range : ((range + a.n_split - 1) / a.n_split + 31) / 32 * 32;
    const int c0 = lo + split * per_split;
    const int c1 = min(limit, c0 + per_split);

    float m = -INFINITY, l = 0.0f, acc[DPL];
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[i] = 0.0f;

    for (int tile = c0 + warp * 32; tile < c1; tile += kWarps * 32) {
        const int c = tile + lane;
        const bool valid = c < c1;
        const float s = valid ? key_dot(qs, kc + cell_index(L, phys(c), kh), hd) : -INFINITY;
        const float m_new = fmaxf(m, warp_max(s));  // finite: lane 0's cell is valid
        const float corr = __expf(m - m_new);       // 0 on the first tile (m = -inf)
        const float p = valid ? __expf(s - m_new) : 0.0f;
        l = l * corr + warp_sum(p);
#pragma unroll
        for (int i = 0; i < DPL; ++i) acc[i] *= corr;
        const int n_valid = min(32, c1 - tile);  // same for the whole warp
        for (int j = 0; j < n_valid; ++j) {
            const float pj = __shfl_sync(0xffffffffu, p, j);
            const E* vrow = vc + cell_index(L, phys(tile + j), kh);
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

// Prompt batches: one block = one query head × a tile of QT consecutive query tokens, one warp per
// token. Each 32-cell K/V tile (one cache block, contiguous per kv head) is loaded into shared memory
// once and used by all QT tokens, instead of once per token as k_attention does. K rows are padded
// by one 32-bit word so the lanes' reads (lane = cell) fall in distinct banks. Each warp keeps its
// own online softmax over the cells ≤ its token's position; no split, no cross-warp merge.
template <class E, int DPL, int QT>
__global__ void __launch_bounds__(32 * QT)
k_attention_tiled(KvLayout L, const E* __restrict__ kc, const E* __restrict__ vc, AttnArgs a) {
    constexpr int kHdMax = 32 * DPL;
    constexpr int kEltPerWord = 4 / int(sizeof(E));
    constexpr int kRowWords = kHdMax / kEltPerWord + 1;  // odd: conflict-free column reads
    __shared__ uint32_t ks[32 * kRowWords];
    __shared__ E vs[32 * kHdMax];
    __shared__ float qs[QT][kHdMax];
    __shared__ int block_limit, block_neg_lo;

    const int h = blockIdx.x, t0 = blockIdx.y * QT;
    const int hd = L.head_dim;
    const int kh = h / (a.n_head / L.n_kv_head);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int t = t0 + warp;
    const bool active = t < a.n_tok;

    if (threadIdx.x == 0) { block_limit = 0; block_neg_lo = INT_MIN; }
    for (int i = threadIdx.x; i < QT * hd; i += blockDim.x) {
        const int w = i / hd, d = i % hd;
        qs[w][d] = t0 + w < a.n_tok ? at_row<float>(a.q, a.q_stride, t0 + w)[size_t(h) * hd + d] * a.scale : 0.0f;
    }
    const int limit = active ? max(min(a.n_kv, a.pos[t] + 1), 0) : 0;  // causal: cells 0..pos
    // sliding window: this token's cells start at lo; the block's tiles start at the lowest lo
    const int lo = active && a.window > 0 ? min(max(a.pos[t] - a.window + 1, 0), limit) : 0;
    __syncthreads();
    if (lane == 0) {
        atomicMax(&block_limit, limit);
        if (lo < limit) atomicMax(&block_neg_lo, -lo);  // the lowest lo, as a max (no atomicMin needed)
    }
    __syncthreads();
    const int n_cells = block_limit;
    const int first_tile = block_neg_lo == INT_MIN ? n_cells : -block_neg_lo / 32 * 32;

    float m = -INFINITY, l = 0.0f, acc[DPL];
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[i] = 0.0f;
    E* const krow = reinterpret_cast<E*>(ks);

    for (int tile = first_tile; tile < n_cells; tile += 32) {
        __syncthreads();  // every warp is done with the previous tile
        const size_t base = cell_index(L, tile, kh);  // the tile's 32 cells: 32 * hd contiguous elements
        for (int i = threadIdx.x; i < 32 * hd; i += blockDim.x) {
            const int row = i / hd, d = i % hd;
            krow[row * kRowWords * kEltPerWord + d] = kc[base + i];
            vs[row * kHdMax + d] = vc[base + i];
        }
        __syncthreads();
        // warp-uniform: this token's cells [lo, limit) miss the tile (lo < limit leaves a valid lane)
        if (tile >= limit || tile + 32 <= lo || lo >= limit) continue;
        const int c = tile + lane;
        const bool valid = c >= lo && c < limit;
        float s = 0.0f;
        if (valid) {
            const uint32_t* kr = ks + lane * kRowWords;
            const float* q = qs[warp];
            if constexpr (sizeof(E) == 2) {
                for (int w = 0; w < hd / 2; ++w) {
                    const float2 f = __half22float2(*reinterpret_cast<const __half2*>(kr + w));
                    s += q[2 * w] * f.x + q[2 * w + 1] * f.y;
                }
            } else {
                for (int d = 0; d < hd; ++d) s += q[d] * __uint_as_float(kr[d]);
            }
        } else {
            s = -INFINITY;
        }
        const float m_new = fmaxf(m, warp_max(s));  // finite: lane 0's cell is valid
        const float corr = __expf(m - m_new);
        const float p = valid ? __expf(s - m_new) : 0.0f;
        l = l * corr + warp_sum(p);
#pragma unroll
        for (int i = 0; i < DPL; ++i) acc[i] *= corr;
        const int n_valid = min(32, limit - tile);  // cells past it may hold stale values: never touched
        for (int j = max(0, lo - tile); j < n_valid; ++j) {  // nor those below the window
            const float pj = __shfl_sync(0xffffffffu, p, j);
            const E* vrow = vs + j * kHdMax;
#pragma unroll
            for (int i = 0; i < DPL; ++i) {
                const int d = lane + 32 * i;
                if (d < hd) acc[i] += pj * ld(vrow, d);
            }
        }
        m = m_new;
    }
    if (!active) return;
    float* o = at_row_mut<float>(a.out, a.out_stride, t) + size_t(h) * hd;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
        const int d = lane + 32 * i;
        if (d < hd) o[d] = l > 0.0f ? acc[i] / l : 0.0f;
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
    HEARTH_LAUNCH(grid, 32 * kWarps, 0, s, k_attention<E, DPL>)(L, static_cast<const E*>(k), static_cast<const E*>(v), a);
}

constexpr int kTileTokens = 8;  // query tokens per block of the tiled prompt kernel

template <class E, int DPL>
void launch_tiled(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    const dim3 grid(a.n_head, ceil_div(a.n_tok, kTileTokens));
    HEARTH_LAUNCH(grid, 32 * kTileTokens, 0, s, k_attention_tiled<E, DPL, kTileTokens>)(L, static_cast<const E*>(k), static_cast<const E*>(v), a);
}

// The tiled kernel serves prompt batches (enough tokens to share a tile, no KV split) with an even
// head_dim whose tiles fit the 48 KiB of static shared memory (F32 caches: head_dim <= 128).
template <class E>
bool launch_tiled_by_dim(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    if (a.n_split != 1 || a.n_tok < 4 || L.head_dim % 2 != 0 || a.table) return false;
    if (L.head_dim <= 64) launch_tiled<E, 2>(L, k, v, a, s);
    else if (L.head_dim <= 128) launch_tiled<E, 4>(L, k, v, a, s);
    else if constexpr (sizeof(E) == 2) {  // an F32 tile of 256 dims would not fit
        if (L.head_dim > 256) return false;
        launch_tiled<E, 8>(L, k, v, a, s);
    } else {
        return false;
    }
    return true;
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

size_t attention_counters(const KvLayout& L, const AttnArgs& a) {
    return a.n_split > 1 && attention_decode_supported(L) ? size_t(attention_decode_blocks(L, a.n_tok, a.n_head)) : 0;
}

int attention_blocks(const KvLayout& L, int n_tok, int n_head, bool tables, int enough) {
    const bool tiled = n_tok >= 4 && !tables && n_tok * n_head >= enough;  // launch_tiled_by_dim's test, unsplit
    return attention_decode_supported(L) && !tiled ? attention_decode_blocks(L, n_tok, n_head) : n_tok * n_head;
}

// Prompt batches go to the tiled kernel; everything else to the decode kernel (attention_decode.cu),
// or, for head sizes it does not take (not a multiple of 8), to k_attention and its merge kernel.
cudaError_t attention(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    if (a.n_tok == 0 || a.n_head == 0) return cudaSuccess;
    if (L.head_dim > 256 || a.n_head % L.n_kv_head != 0 || a.cells_per_split % 32 != 0 || a.n_split < 1)
        return cudaErrorInvalidValue;
    // Only the decode kernel writes a.q8 itself; after the others the quantizer makes it.
    AttnArgs plain = a;
    plain.q8 = {};
    cudaError_t e;
    if (a.tensor_cores && attention_mma_applies(L, a)) {
        e = attention_mma(L, k, v, plain, s);
    } else if (L.f16 ? launch_tiled_by_dim<__half>(L, k, v, plain, s) : launch_tiled_by_dim<float>(L, k, v, plain, s)) {
        e = cudaGetLastError();
    } else if (attention_decode_supported(L)) {
        return attention_decode(L, k, v, a, s);
    } else {
        e = L.f16 ? launch_by_dim<__half>(L, k, v, plain, s) : launch_by_dim<float>(L, k, v, plain, s);
        if (e == cudaSuccess && a.n_split > 1) {
            HEARTH_LAUNCH(dim3(a.n_head, a.n_tok), L.head_dim <= 128 ? 128 : 256, 0, s, k_attention_merge)(plain, L.head_dim);
            e = cudaGetLastError();
        }
    }
    if (e != cudaSuccess || !a.q8.q) return e;
    return quantize_q8(a.out, a.out_stride, a.n_tok, int64_t(a.n_head) * L.head_dim, a.q8, s);
}

}  // namespace hearth::kern
