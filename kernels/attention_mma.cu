// Prompt attention on tensor cores (sm_80+; issue #17 item 5): flash attention whose two products,
// Q·Kᵀ and P·V, are mma.sync m16n8k16 (F16 in, F32 accumulate; kernels/mma_tile.cuh), with the
// online softmax kept in the accumulators' registers. sm_75 and F32 caches keep attention.cu's
// k_attention_tiled (scalar F32 tiles).
//
// One block = one KV head × 64 query rows, a row being a (token, query head of that KV head's
// group) pair: with GQA the group's heads share every K/V tile, so a tile is read from the cache
// once per block for all of them. Each of the 4 warps owns 16 rows; its Q fragments stay in
// registers for the whole kernel. A KV tile is one 32-cell cache block (so the block table is read
// once per tile), copied to shared memory with 16-byte loads; rows padded by 8 halves so that
// ldmatrix's eight 16-byte row reads fall in distinct banks.
//
// Masking is per row: a row sees cells [lo, hi) of its own sequence (causal by position, sliding
// window, n_kv). Over block tables the tokens of one block may belong to several sequences: the
// block then makes one pass over the tiles per distinct sequence, rows of other sequences masked
// out, so a K/V tile is only ever shared by rows of the sequence it belongs to.
#include <climits>

#include "kernels/common.cuh"
#include "kernels/kernels.h"
#include "kernels/mma_tile.cuh"

namespace hearth::kern {

namespace {

constexpr int kMmaWarps = 4;
constexpr int kMmaRows = 16 * kMmaWarps;  // query rows per block
constexpr int kTileCells = 32;            // one cache block per K/V tile

template <int D>
__global__ void __launch_bounds__(32 * kMmaWarps)
k_attention_mma(KvLayout L, const __half* __restrict__ kc, const __half* __restrict__ vc, AttnArgs a) {
    constexpr int kStride = D + 8;  // halves per shared row: 16 bytes of padding (bank-conflict-free ldmatrix)
    constexpr int kChunks = D / 8;  // 16-byte chunks per row
    // Declared as uint4 for the 16-byte alignment that the vector stores and ldmatrix need.
    __shared__ uint4 qs_raw[kMmaRows * kStride / 8], ks_raw[kTileCells * kStride / 8], vs_raw[kTileCells * kStride / 8];
    __half* const qs = reinterpret_cast<__half*>(qs_raw);
    __half* const ks = reinterpret_cast<__half*>(ks_raw);
    __half* const vs = reinterpret_cast<__half*>(vs_raw);
    __shared__ int row_tok[kMmaRows], row_lo[kMmaRows], row_hi[kMmaRows], row_seq[kMmaRows];
    __shared__ int pass_seq, pass_lo, pass_hi, warp_lo[kMmaWarps], warp_hi[kMmaWarps];  // pass_lo: a cell, not a tile

    const int kh = blockIdx.x;
    const int group = a.n_head / L.n_kv_head;
    const int tok_per_block = kMmaRows / group;  // the host guarantees group <= kMmaRows
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

    // Rows: token blockIdx.y * tok_per_block + r / group, head kh * group + r % group.
    if (threadIdx.x < kMmaRows) {
        const int r = threadIdx.x;
        const int t = blockIdx.y * tok_per_block + r / group;
        const bool valid = r < tok_per_block * group && t < a.n_tok;
        int lo = 0, hi = 0;
        if (valid) {
            hi = max(min(a.n_kv, a.pos[t] + 1), 0);  // causal: cells 0..pos
            lo = a.window > 0 ? min(max(a.pos[t] - a.window + 1, 0), hi) : 0;
        }
        row_tok[r] = valid ? t : -1;
        row_lo[r] = lo;
        row_hi[r] = hi;
        row_seq[r] = valid ? (a.seq ? a.seq[t] : 0) : INT_MIN;
    }
    for (int i = threadIdx.x; i < kMmaRows * kChunks; i += blockDim.x) {
        const int r = i / kChunks, d = i % kChunks * 8;
        const int t = blockIdx.y * tok_per_block + r / group;
        const bool valid = r < tok_per_block * group && t < a.n_tok;
        const float* q = valid ? at_row<float>(a.q, a.q_stride, t) + size_t(kh * group + r % group) * D + d : nullptr;
        uint32_t packed[4];
#pragma unroll
        for (int j = 0; j < 4; ++j)
            packed[j] = valid ? mma::pack_half2(q[2 * j] * a.scale, q[2 * j + 1] * a.scale) : 0u;
        *reinterpret_cast<uint4*>(&qs[r * kStride + d]) = make_uint4(packed[0], packed[1], packed[2], packed[3]);
    }
    __syncthreads();

    // This warp's Q as A fragments, one per 16 dimensions.
    uint32_t qa[D / 16][4];
#pragma unroll
    for (int s = 0; s < D / 16; ++s)
        mma::ldmatrix_x4(qa[s], &qs[(16 * warp + lane % 16) * kStride + 16 * s + lane / 16 * 8]);

    // This lane's two rows (C fragment rows g and g + 8 of the warp's 16).
    const int g = lane / 4, tq = lane % 4;
    const int rows[2] = {16 * warp + g, 16 * warp + g + 8};
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    float o[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) o[n][i] = 0.0f;

    int prev_seq = INT_MIN;
    for (;;) {
        __syncthreads();  // the previous pass's tiles and bounds are no longer read
        if (threadIdx.x == 0) {
            // The next sequence of this block (in increasing order) and the cells its rows see.
            int s = INT_MAX;
            for (int r = 0; r < kMmaRows; ++r)
                if (row_tok[r] >= 0 && row_seq[r] > prev_seq && row_seq[r] < s) s = row_seq[r];
            int lo = INT_MAX, hi = 0;
            for (int w = 0; w < kMmaWarps; ++w) { warp_lo[w] = INT_MAX; warp_hi[w] = 0; }
            for (int r = 0; r < kMmaRows; ++r) {
                if (row_tok[r] < 0 || row_seq[r] != s || row_lo[r] >= row_hi[r]) continue;
                lo = min(lo, row_lo[r]);
                hi = max(hi, row_hi[r]);
                warp_lo[r / 16] = min(warp_lo[r / 16], row_lo[r]);
                warp_hi[r / 16] = max(warp_hi[r / 16], row_hi[r]);
            }
            pass_seq = s;
            pass_lo = lo == INT_MAX ? 0 : lo;
            pass_hi = hi;
        }
        __syncthreads();
        const int seq = pass_seq, lowest = pass_lo, last = pass_hi, wlo = warp_lo[warp], whi = warp_hi[warp];
        const int first = lowest / kTileCells * kTileCells;
        if (seq == INT_MAX) break;
        prev_seq = seq;
        const int32_t* tab = a.table ? a.table + size_t(seq) * a.tab_stride : nullptr;
        // Per row of this lane: the cells it sees in this pass (an empty range when it belongs to another sequence).
        int lo_r[2], hi_r[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const bool mine = row_tok[rows[h]] >= 0 && row_seq[rows[h]] == seq;
            lo_r[h] = mine ? row_lo[rows[h]] : 0;
            hi_r[h] = mine ? row_hi[rows[h]] : 0;
        }

        for (int tile = first; tile < last; tile += kTileCells) {
            if (tile != first) __syncthreads();  // every warp is done with the previous tile
            const int blk = tab ? tab[tile / kTileCells] : tile / kTileCells;
            const size_t base = (size_t(blk) * L.n_kv_head + kh) * kTileCells * size_t(D);  // 32 × D contiguous halves
            for (int i = threadIdx.x; i < kTileCells * kChunks; i += blockDim.x) {
                const int c = i / kChunks, d = i % kChunks * 8;
                const uint4 k4 = *reinterpret_cast<const uint4*>(kc + base + size_t(c) * D + d);
                // Cells outside the pass's range may be stale or uninitialised memory: P is 0 there,
                // but 0 × NaN is NaN in P·V, so their V rows are zeros.
                const uint4 v4 = tile + c >= lowest && tile + c < last ? *reinterpret_cast<const uint4*>(vc + base + size_t(c) * D + d)
                                                 : make_uint4(0u, 0u, 0u, 0u);
                *reinterpret_cast<uint4*>(&ks[c * kStride + d]) = k4;
                *reinterpret_cast<uint4*>(&vs[c * kStride + d]) = v4;
            }
            __syncthreads();
            if (tile >= whi || tile + kTileCells <= wlo) continue;  // warp-uniform: none of its rows sees the tile

            // S = Q·Kᵀ: four 16 × 8 tiles of cells; B fragments straight from K's rows (B[k][n] = K[n][k]).
            float sc[4][4];
#pragma unroll
            for (int j = 0; j < 4; ++j) {
#pragma unroll
                for (int i = 0; i < 4; ++i) sc[j][i] = 0.0f;
#pragma unroll
                for (int s = 0; s < D / 16; ++s) {
                    uint32_t b[2];
                    mma::ldmatrix_x2(b, &ks[(8 * j + lane % 8) * kStride + 16 * s + (lane / 8) % 2 * 8]);
                    mma::mma_m16n8k16(sc[j], qa[s], b);
                }
            }
            // Online softmax per row; a row's max is shared by the 4 lanes (tq) that hold it.
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                float mx = -INFINITY;
#pragma unroll
                for (int j = 0; j < 4; ++j)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const int c = tile + 8 * j + 2 * tq + e;
                        float& v = sc[j][2 * h + e];
                        if (c < lo_r[h] || c >= hi_r[h]) v = -INFINITY;
                        mx = fmaxf(mx, v);
                    }
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                const float m_new = fmaxf(m[h], mx);
                // A row that has seen no cell yet (m_new = -inf) keeps its zero state.
                const float corr = m_new == -INFINITY ? 1.0f : __expf(m[h] - m_new);
                float sum = 0.0f;
#pragma unroll
                for (int j = 0; j < 4; ++j)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        float& v = sc[j][2 * h + e];
                        v = m_new == -INFINITY ? 0.0f : __expf(v - m_new);
                        sum += v;
                    }
                l[h] = l[h] * corr + sum;  // this lane's share; the 4 lanes' shares are added at the end
                m[h] = m_new;
#pragma unroll
                for (int n = 0; n < D / 8; ++n) {
                    o[n][2 * h] *= corr;
                    o[n][2 * h + 1] *= corr;
                }
            }
            // P as A fragments (C tile 2k and 2k+1 form the 16 cells of step k), then O += P·V with
            // V's B fragments through ldmatrix.trans (B[k][n] = V[cell k][dim n]).
            uint32_t pa[2][4];
#pragma unroll
            for (int k = 0; k < 2; ++k) {
                pa[k][0] = mma::pack_half2(sc[2 * k][0], sc[2 * k][1]);
                pa[k][1] = mma::pack_half2(sc[2 * k][2], sc[2 * k][3]);
                pa[k][2] = mma::pack_half2(sc[2 * k + 1][0], sc[2 * k + 1][1]);
                pa[k][3] = mma::pack_half2(sc[2 * k + 1][2], sc[2 * k + 1][3]);
            }
#pragma unroll
            for (int n = 0; n < D / 8; ++n)
#pragma unroll
                for (int k = 0; k < 2; ++k) {
                    uint32_t b[2];
                    mma::ldmatrix_x2_trans(b, &vs[(16 * k + lane % 16) * kStride + 8 * n]);
                    mma::mma_m16n8k16(o[n], pa[k], b);
                }
        }
    }

#pragma unroll
    for (int h = 0; h < 2; ++h) {
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int t = row_tok[rows[h]];
        if (t < 0) continue;
        const int head = kh * group + rows[h] % group;
        float* out = at_row_mut<float>(a.out, a.out_stride, t) + size_t(head) * D;
        const float inv = l[h] > 0.0f ? 1.0f / l[h] : 0.0f;  // no visible cell: zeros, as the other kernels
#pragma unroll
        for (int n = 0; n < D / 8; ++n) {
            out[8 * n + 2 * tq] = o[n][2 * h] * inv;
            out[8 * n + 2 * tq + 1] = o[n][2 * h + 1] * inv;
        }
    }
}

template <int D>
void launch_mma(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    const int tok_per_block = kMmaRows / (a.n_head / L.n_kv_head);
    const dim3 grid(L.n_kv_head, ceil_div(a.n_tok, tok_per_block));
    HEARTH_LAUNCH(grid, 32 * kMmaWarps, 0, s, k_attention_mma<D>)(L, static_cast<const __half*>(k), static_cast<const __half*>(v), a);
}

}  // namespace

bool attention_mma_applies(const KvLayout& L, const AttnArgs& a) {
    return L.f16 && (L.head_dim == 64 || L.head_dim == 128) && a.n_split == 1 && a.n_tok >= 4 && L.n_kv_head > 0 &&
           a.n_head % L.n_kv_head == 0 && a.n_head / L.n_kv_head <= kMmaRows;
}

cudaError_t attention_mma(const KvLayout& L, const void* k, const void* v, const AttnArgs& a, cudaStream_t s) {
    if (!attention_mma_applies(L, a)) return cudaErrorInvalidValue;
    if (L.head_dim == 64) launch_mma<64>(L, k, v, a, s);
    else launch_mma<128>(L, k, v, a, s);
    return cudaGetLastError();
}

}  // namespace hearth::kern
