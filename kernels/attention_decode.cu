// Decode attention with the query heads of one KV head together (GQA): one block = one (token, KV
// head, group of up to NG of its query heads, KV split), so every K and V cell of the KV head is read
// once for the whole group instead of once per query head as k_attention (attention.cu) does.
//
// Inside a block, four warps take interleaved 32-cell tiles of the token's KV range. Per tile:
// - scores: lane = cell; the lane reads its key row with 16-byte loads and dots it with the group's
//   scaled queries (shared memory, broadcast reads), one online softmax per query head;
// - values: lanes across dimensions, 8 per lane (one 16-byte load of F16, two of F32), so a warp
//   load covers 32 / (head_dim / 8) whole value rows, contiguous; the probabilities go from the
//   score lanes to the value lanes through shared memory.
// Warps then merge their (max, sum, acc) in a fixed order. With one split the block writes the
// output; with several it writes its partial triple, and the last block of its (token, KV head,
// group) to finish — an atomic counter per group, reset by that block — merges the splits, so no
// second kernel is launched. Nothing is summed in an order that depends on timing: the results do
// not change from run to run. The block that writes a head's output also writes its 8-bit form
// when asked (AttnArgs::q8), so the output projection needs no quantizer kernel.
#include <climits>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace hearth::kern {

namespace {

constexpr int kDecodeWarps = 4;
constexpr int kMaxDim = 256;  // head_dim bound of the shared arrays (more would not change the registers)

__device__ __forceinline__ size_t decode_cell_index(const KvLayout& L, int c, int h) {
    return ((size_t(c / 32) * L.n_kv_head + h) * 32 + c % 32) * size_t(L.head_dim);
}

// Eight consecutive cache elements in their stored form: one 16-byte word of F16, two of F32.
template <class E> struct Chunk8 {
    uint4 w[sizeof(E) / 2];
};
template <class E> __device__ __forceinline__ Chunk8<E> load8(const E* p) {
    Chunk8<E> c;
#pragma unroll
    for (int i = 0; i < int(sizeof(E) / 2); ++i) c.w[i] = reinterpret_cast<const uint4*>(p)[i];
    return c;
}
template <class E> __device__ __forceinline__ void unpack8(const Chunk8<E>& c, float* f) {
    if constexpr (sizeof(E) == 2) {
        const uint32_t w[4] = {c.w[0].x, c.w[0].y, c.w[0].z, c.w[0].w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const float2 x = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
            f[2 * i] = x.x;
            f[2 * i + 1] = x.y;
        }
    } else {
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            f[4 * i] = __uint_as_float(c.w[i].x);
            f[4 * i + 1] = __uint_as_float(c.w[i].y);
            f[4 * i + 2] = __uint_as_float(c.w[i].z);
            f[4 * i + 3] = __uint_as_float(c.w[i].w);
        }
    }
}

// NG: query heads per block (the group, or a part of it); head_dim % 8 == 0, at most kMaxDim.
// Loads in flight per lane: up to 128 bytes of its key row (8 chunks of F16 for 2–4 heads, 4 for one,
// 2 of F32; with 8 heads, 64 accumulators per lane, 2 F16 chunks to keep the registers under 180)
// and 8 value rows (4 with 8 heads).
template <class E, int NG>
__global__ void __launch_bounds__(32 * kDecodeWarps)
k_attention_decode(KvLayout L, const E* __restrict__ kc, const E* __restrict__ vc, AttnArgs a) {
    pdl_trigger();  // the next kernel (a matvec) may start its weight loads now
    pdl_wait();
    // read by #pragma unroll only (the simulator's g++ ignores it)
    // Short contexts are one tile per warp: the time is the round trips of its key and value loads,
    // so F16 with 2–4 heads keeps 8 key chunks (half of a 128-wide key row) and 8 value rows in
    // flight: 2 + 2 round trips per tile instead of 4 + 4 (ptxas, sm_90: 138 registers, no spills;
    // 1 head, 4 key chunks: 8 would spill).
    [[maybe_unused]] constexpr int kKeyChunks = (NG >= 8 || sizeof(E) == 4) ? 2 : NG == 1 ? 4 : 8;
    constexpr int kRowsInFlight = NG >= 8 ? 4 : 8;
    __shared__ __align__(16) float qs[NG][kMaxDim];             // scaled queries of the block's heads
    __shared__ __align__(16) float ps[kDecodeWarps][32][NG];    // one tile's probabilities, per warp
    __shared__ __align__(16) float red[NG][kMaxDim];            // the warps' accumulators, merged
    __shared__ float wm[kDecodeWarps][NG], wl[kDecodeWarps][NG];
    __shared__ bool last_block;

    const int hd = L.head_dim;
    const int group = a.n_head / L.n_kv_head;  // query heads per KV head
    const int n_part = (group + NG - 1) / NG;  // blocks that share a KV head (more than one when group > NG)
    const int kh = blockIdx.x / n_part;
    const int h0 = kh * group + (blockIdx.x % n_part) * NG;  // the block's first query head
    const int ng = min(NG, kh * group + group - h0);         // its heads, NG or fewer
    const int t = blockIdx.y, split = blockIdx.z;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

    const float* qrow = at_row<float>(a.q, a.q_stride, t);
    for (int i = threadIdx.x; i < NG * hd; i += blockDim.x) {
        const int g = i / hd, d = i % hd;
        qs[g][d] = g < ng ? qrow[size_t(h0 + g) * hd + d] * a.scale : 0.0f;
    }
    for (int i = threadIdx.x; i < NG * hd; i += blockDim.x) red[i / hd][i % hd] = 0.0f;
    __syncthreads();

    // This token's cells [lo, limit), and this split's part of them (the same division as k_attention:
    // from the token's own range, so graph mode's capacity bound and mixed tokens stay balanced).
    const int limit = max(min(a.n_kv, a.pos[t] + 1), 0);
    const int lo = a.window > 0 ? min(max(a.pos[t] - a.window + 1, 0), limit) : 0;
    const int32_t* tab = a.table ? a.table + size_t(a.seq[t]) * a.tab_stride : nullptr;
    auto phys = [tab](int c) { return tab ? tab[c >> 5] * 32 + (c & 31) : c; };
    const int range = limit - lo;
    const int per_split = a.n_split == 1 ? range : ((range + a.n_split - 1) / a.n_split + 31) / 32 * 32;
    const int c0 = lo + split * per_split;
    const int c1 = min(limit, c0 + per_split);

    // Value lanes: `lpr` lanes cover one row (8 dimensions each), `rpw` rows per warp load; lanes
    // from rpw * lpr on (when 32 % lpr != 0) idle in the value phase.
    const int lpr = hd / 8, rpw = 32 / lpr;
    const int vrow = lane / lpr, vdim = (lane % lpr) * 8;

    float m[NG], l_lane[NG], acc[NG][8];
#pragma unroll
    for (int g = 0; g < NG; ++g) {
        m[g] = -INFINITY;
        l_lane[g] = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[g][i] = 0.0f;
    }

    for (int tile = c0 + warp * 32; tile < c1; tile += kDecodeWarps * 32) {
        // ---- scores of this lane's cell for every head of the block
        const int c = tile + lane;
        const bool valid = c < c1;
        float s[NG];
#pragma unroll
        for (int g = 0; g < NG; ++g) s[g] = 0.0f;
        if (valid) {
            const E* krow = kc + decode_cell_index(L, phys(c), kh);
#pragma unroll (kKeyChunks)
            for (int d = 0; d < hd; d += 8) {
                float k8[8];
                unpack8<E>(load8(krow + d), k8);
#pragma unroll
                for (int g = 0; g < NG; ++g) {
                    const float4 qa = *reinterpret_cast<const float4*>(&qs[g][d]);
                    const float4 qb = *reinterpret_cast<const float4*>(&qs[g][d + 4]);
                    s[g] += qa.x * k8[0] + qa.y * k8[1] + qa.z * k8[2] + qa.w * k8[3] + qb.x * k8[4] + qb.y * k8[5] +
                            qb.z * k8[6] + qb.w * k8[7];
                }
            }
        }
        // ---- online softmax per head: the max is warp-wide, the sums stay per lane until the end
        __syncwarp();  // the previous tile's probabilities have been read
#pragma unroll
        for (int g = 0; g < NG; ++g) {
            const float m_new = fmaxf(m[g], warp_max(valid ? s[g] : -INFINITY));  // finite: lane 0's cell is valid
            const float corr = __expf(m[g] - m_new);                               // 0 on the first tile
            const float p = valid ? __expf(s[g] - m_new) : 0.0f;
            l_lane[g] = l_lane[g] * corr + p;
#pragma unroll
            for (int i = 0; i < 8; ++i) acc[g][i] *= corr;
            m[g] = m_new;
            ps[warp][lane][g] = p;
        }
        __syncwarp();

        // ---- values: rows vrow, vrow + rpw, ... of the tile, kRowsInFlight loads before their use
        const int n_valid = min(32, c1 - tile);
        if (vrow < rpw) {
            for (int j0 = vrow; j0 < n_valid; j0 += kRowsInFlight * rpw) {
                Chunk8<E> v[kRowsInFlight];
#pragma unroll
                for (int u = 0; u < kRowsInFlight; ++u) {
                    const int j = j0 + u * rpw;
                    if (j < n_valid) v[u] = load8(vc + decode_cell_index(L, phys(tile + j), kh) + vdim);
                }
#pragma unroll
                for (int u = 0; u < kRowsInFlight; ++u) {
                    const int j = j0 + u * rpw;
                    if (j >= n_valid) break;
                    float v8[8];
                    unpack8<E>(v[u], v8);
#pragma unroll
                    for (int g = 0; g < NG; ++g) {
                        const float p = ps[warp][j][g];
#pragma unroll
                        for (int i = 0; i < 8; ++i) acc[g][i] += p * v8[i];
                    }
                }
            }
        }
    }

    // ---- merge the warps: maxima through shared memory, accumulators added warp by warp and row by
    // row in a fixed order
    float l[NG];
#pragma unroll
    for (int g = 0; g < NG; ++g) l[g] = warp_sum(l_lane[g]);
    if (lane == 0) {
#pragma unroll
        for (int g = 0; g < NG; ++g) {
            wm[warp][g] = m[g];
            wl[warp][g] = l[g];
        }
    }
    __syncthreads();
    float M[NG], S[NG], f[NG];
#pragma unroll
    for (int g = 0; g < NG; ++g) {
        M[g] = -INFINITY;
        for (int w = 0; w < kDecodeWarps; ++w) M[g] = fmaxf(M[g], wm[w][g]);
        S[g] = 0.0f;
        for (int w = 0; w < kDecodeWarps; ++w)
            if (wm[w][g] != -INFINITY) S[g] += wl[w][g] * __expf(wm[w][g] - M[g]);
        f[g] = m[g] == -INFINITY ? 0.0f : __expf(m[g] - M[g]);  // this warp's share
    }
    for (int w = 0; w < kDecodeWarps; ++w) {
        if (warp == w) {
            for (int r = 0; r < rpw; ++r) {
                if (vrow == r) {
#pragma unroll
                    for (int g = 0; g < NG; ++g)
#pragma unroll
                        for (int i = 0; i < 8; ++i) red[g][vdim + i] += acc[g][i] * f[g];
                }
                __syncwarp();
            }
        }
        __syncthreads();
    }

    // ---- the block's result for its heads into red: final when unsplit; otherwise this block's
    // partial goes out, and the last block of its (token, KV head, group) to finish merges them all.
    // Every loop over (g, d) below gives a thread the same elements, so none waits for another.
    unsigned* const counter = a.n_split > 1 ? a.counters + size_t(t) * gridDim.x + blockIdx.x : nullptr;
    if (a.n_split == 1) {
        for (int i = threadIdx.x; i < ng * hd; i += blockDim.x) {
            const int g = i / hd, d = i % hd;
            red[g][d] = S[g] > 0.0f ? red[g][d] / S[g] : 0.0f;
        }
    } else {
        for (int i = threadIdx.x; i < ng * hd; i += blockDim.x) {
            const int g = i / hd, d = i % hd;
            float* part = a.partials + ((size_t(t) * a.n_head + h0 + g) * a.n_split + split) * size_t(hd + 2);
            part[2 + d] = red[g][d];
            if (d == 0) {
                part[0] = M[g];
                part[1] = S[g];
            }
        }
        __threadfence();  // this block's partials are visible device-wide before it is counted
        __syncthreads();
        if (threadIdx.x == 0) last_block = atomicAdd(counter, 1u) == unsigned(a.n_split - 1);
        __syncthreads();
        if (!last_block) return;
        __threadfence();
        for (int i = threadIdx.x; i < ng * hd; i += blockDim.x) {
            const int g = i / hd, d = i % hd;
            // volatile: the other blocks' partials, never from a cache line this SM read before they were written
            const volatile float* P = a.partials + (size_t(t) * a.n_head + h0 + g) * a.n_split * size_t(hd + 2);
            float mx = -INFINITY;
            for (int sp = 0; sp < a.n_split; ++sp) mx = fmaxf(mx, P[size_t(sp) * (hd + 2)]);
            float sum = 0.0f, out = 0.0f;
            for (int sp = 0; sp < a.n_split; ++sp) {
                const volatile float* p = P + size_t(sp) * (hd + 2);
                const float pm = p[0];
                if (pm == -INFINITY) continue;
                const float e = __expf(pm - mx);
                sum += p[1] * e;
                out += p[2 + d] * e;
            }
            red[g][d] = sum > 0.0f ? out / sum : 0.0f;
        }
    }

    // ---- the output, and with a.q8 its 8-bit form: hd % 32 == 0 then, so the 32 consecutive i of a
    // warp (blockDim.x is a multiple of 32) are one quantizer unit of one head, all lanes present.
    const int64_t units = int64_t(a.n_head) * hd / 32;
    for (int i = threadIdx.x; i < ng * hd; i += blockDim.x) {
        const int g = i / hd, d = i % hd;
        const size_t c = size_t(h0 + g) * hd + d;
        at_row_mut<float>(a.out, a.out_stride, t)[c] = red[g][d];
        if (a.q8.q) warp_quantize_q8(red[g][d], lane, a.q8, int64_t(t) * units + int64_t(c / 32));
    }
    if (counter && threadIdx.x == 0) *counter = 0u;  // ready for the next launch (a replayed graph included)
}

// Heads per block for a group of `group` query heads per KV head: the group whole up to 8 (rounded
// up to 1, 2, 4 or 8; the extra heads are idle), else parts of 8.
int heads_per_block(int group) { return group <= 1 ? 1 : group <= 2 ? 2 : group <= 4 ? 4 : 8; }

template <class E, int NG>
void launch_decode(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    const int group = a.n_head / L.n_kv_head;
    const dim3 grid(L.n_kv_head * ceil_div(group, NG), a.n_tok, a.n_split);
    HEARTH_LAUNCH_PDL(grid, 32 * kDecodeWarps, 0, s, k_attention_decode<E, NG>)(L, static_cast<const E*>(k), static_cast<const E*>(v), a);
}

template <class E>
void launch_decode_by_group(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    switch (heads_per_block(a.n_head / L.n_kv_head)) {
    case 1: return launch_decode<E, 1>(L, k, v, a, s);
    case 2: return launch_decode<E, 2>(L, k, v, a, s);
    case 4: return launch_decode<E, 4>(L, k, v, a, s);
    default: return launch_decode<E, 8>(L, k, v, a, s);
    }
}

}  // namespace

bool attention_decode_supported(const KvLayout& L) { return L.head_dim % 8 == 0 && L.head_dim >= 8 && L.head_dim <= kMaxDim; }

int attention_decode_blocks(const KvLayout& L, int n_tok, int n_head) {
    const int group = n_head / L.n_kv_head;
    const int ng = heads_per_block(group);
    return n_tok * L.n_kv_head * ((group + ng - 1) / ng);
}

cudaError_t attention_decode(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    if (a.n_tok == 0 || a.n_head == 0) return cudaSuccess;
    if (!attention_decode_supported(L) || L.n_kv_head <= 0 || a.n_head % L.n_kv_head != 0 || a.n_split < 1 ||
        (a.n_split > 1 && (!a.partials || !a.counters)))
        return cudaErrorInvalidValue;
    if (a.q8.q && L.head_dim % 32 != 0) {  // a unit would straddle two heads: quantize afterwards
        AttnArgs plain = a;
        plain.q8 = {};
        const cudaError_t e = attention_decode(L, k, v, plain, s);
        return e != cudaSuccess ? e : quantize_q8(a.out, a.out_stride, a.n_tok, int64_t(a.n_head) * L.head_dim, a.q8, s);
    }
    if (L.f16) launch_decode_by_group<__half>(L, k, v, a, s);
    else launch_decode_by_group<float>(L, k, v, a, s);
    return cudaGetLastError();
}

}  // namespace hearth::kern
