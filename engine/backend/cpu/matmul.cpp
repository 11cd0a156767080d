#include "engine/backend/cpu/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/quant/quant.h"

namespace hearth::cpu {

Scratch::~Scratch() { std::free(p_); }

uint8_t* Scratch::get(size_t bytes) {
    if (bytes <= cap_) return p_;
    const size_t want = (std::max(bytes, cap_ + cap_ / 2) + 63) & ~size_t(63);
    void* q = std::aligned_alloc(64, want);
    if (!q) return nullptr;
    std::free(p_);
    p_ = static_cast<uint8_t*>(q);
    cap_ = want;
    return p_;
}

MatmulEngine::MatmulEngine(ThreadPool& pool, IsaLevel isa) : pool_(pool), isa_(isa), panels_(size_t(pool.size())) {}

bool MatmulEngine::same_input(const MatmulArgs& a, int act_key) const {
    if (!act_valid_ || act_n_ != a.n || act_k_ != a.k || act_kind_ != act_key) return false;
    const size_t row = size_t(a.k) * 4;
    const uint8_t* src = act_src_.data();
    for (int64_t t = 0; t < a.n; ++t)
        if (std::memcmp(a.x + t * a.xs, src + size_t(t) * row, row) != 0) return false;
    return true;
}

namespace {

// Rows per work item. Generation: about 8 items per thread so a thread slowed by another process
// does not hold up the op; multiples of 16 rows keep threads' outputs on separate cache lines.
int64_t gemv_chunk(int64_t rows, int nth) {
    int64_t c = rows / (int64_t(nth) * 8);
    c = (c + 15) / 16 * 16;
    return std::max<int64_t>(c, 16);
}

// Weight types with no table entry (Q8_1/Q8_K weights, never seen in models): exact per-row dequant.
void generic_rows(const MatmulArgs& a, int64_t r0, int64_t rn, std::vector<float>& tmp) {
    tmp.resize(size_t(a.k));
    for (int64_t r = r0; r < r0 + rn; ++r) {
        dequantize_row(a.wtype, a.w + r * a.ws, tmp.data(), a.k);
        for (int64_t t = 0; t < a.n; ++t) {
            const float* x = reinterpret_cast<const float*>(a.x + t * a.xs);
            float s = 0;
            for (int64_t i = 0; i < a.k; ++i) s += tmp[size_t(i)] * x[i];
            a.y[t * a.ldy + r] = s;
        }
    }
}

}  // namespace

bool MatmulEngine::run(const MatmulArgs& a) {
    const MatKernel* mk = mat_kernel(a.wtype, isa_);
    const int nth = pool_.size();
    // Repacked rows multiply a few tokens faster one token at a time (gemv_x8, the 8-row group stays
    // in L1 across the tokens) than through the GEMM, whose panel decode of the interleaved layout
    // is paid per call: a batch of decode steps of several sequences stays on the gemv. The two
    // give bit-identical results (repack_x8_avx2.cpp), so the choice never changes a logit.
    constexpr int64_t kX8MaxToks = 8;
    const bool x8_gemv = mk && a.wx8 && a.rows_x8 > 0 && mk->gemv_x8 && a.n <= kX8MaxToks;
    const bool gemm = mk && mk->gemm_rows && a.n > mk->max_toks && !x8_gemv && (mk->gemm_act != GemmAct::Q8x8 || a.k % 32 == 0);

    // 1. Activations in the form the kernel consumes: packed with tokens in lanes for the GEMM,
    //    per-token rows for the tiles. Cached: q/k/v and gate/up share their input.
    const uint8_t* xa = a.x;
    size_t xs = a.xs;
    const int act_key = gemm ? 16 + int(mk->gemm_act) : (mk ? int(mk->act) : 0);
    if (gemm || (mk && mk->act != ActKind::F32)) {
        const bool hit = same_input(a, act_key);
        const size_t bytes = gemm ? gemm_act_bytes(mk->gemm_act, a.k, a.n) : size_t(a.n) * act_row_bytes(mk->act, a.k);
        uint8_t* buf = act_.get(bytes);
        if (!buf) return false;
        if (!hit) {
            act_valid_ = false;  // buf is about to change
            if (gemm) {
                const GemmAct kind = mk->gemm_act;
                const int64_t groups = (a.n + gemm_group(kind) - 1) / gemm_group(kind);
                pool_.parallel_for(groups, 1, [&](int64_t b, int64_t e, int) { gemm_pack(kind, a.x, a.xs, a.k, a.n, b, e, buf); });
            } else {
                const size_t rs = act_row_bytes(mk->act, a.k);
                const ActQuantFn q = mk->quant;
                if (a.n < 4) {
                    for (int64_t t = 0; t < a.n; ++t) q(reinterpret_cast<const float*>(a.x + t * a.xs), buf + t * rs, a.k);
                } else {
                    pool_.parallel_for(a.n, std::max<int64_t>(1, a.n / (int64_t(nth) * 4)), [&](int64_t b, int64_t e, int) {
                        for (int64_t t = b; t < e; ++t) q(reinterpret_cast<const float*>(a.x + t * a.xs), buf + t * rs, a.k);
                    });
                }
            }
            // Keep the input the conversion came from; without memory for it, simply do not cache.
            const size_t row = size_t(a.k) * 4;
            if (uint8_t* src = act_src_.get(size_t(a.n) * row)) {
                for (int64_t t = 0; t < a.n; ++t) std::memcpy(src + size_t(t) * row, a.x + t * a.xs, row);
                act_valid_ = true;
                act_n_ = a.n; act_k_ = a.k; act_kind_ = act_key;
            }
        }
        xa = buf;
        if (!gemm) xs = act_row_bytes(mk->act, a.k);
    }

    // 2. Work split by output rows, handed out dynamically (chunks of a multiple of 8 rows where a
    //    repacked copy exists, so no chunk splits a group of 8).
    const bool x8 = mk && a.wx8 && a.rows_x8 > 0 && (gemm ? mk->gemm_rows_x8 != nullptr : mk->gemv_x8 != nullptr);
    const int64_t chunk = gemm ? (x8 ? mk->gemm_rows_max / 8 * 8 : mk->gemm_rows_max) : gemv_chunk(a.rows, nth);
    const int64_t n_chunks = (a.rows + chunk - 1) / chunk;
    // A GEMM with few row chunks (a convolution with 128 output channels: 3 chunks of 48 rows) also
    // splits its tokens, so every thread has work: float activations are packed 16 tokens to a
    // contiguous group, so a slice of groups is a slice of the packed buffer.
    const int64_t groups = gemm ? (a.n + 15) / 16 : 1;
    int64_t slices = 1;
    if (gemm && mk->gemm_act == GemmAct::F32x16)
        while (n_chunks * slices < int64_t(nth) * 4 && slices * 2 <= groups) slices *= 2;
    const int64_t per_slice = (groups + slices - 1) / slices;
    size_t sbytes = 0;
    if (gemm) {
        sbytes = mk->gemm_scratch(a.k, a.n);
        for (auto& p : panels_) if (!p.get(sbytes)) return false;
    }
    pool_.parallel_for(n_chunks * slices, 1, [&](int64_t c_begin, int64_t c_end, int ith) {
        std::vector<float> tmp;
        for (int64_t item = c_begin; item < c_end; ++item) {
            // One relaxed load per row block (a few per thread per op in generation): free.
            if (cancel_ && cancel_->load(std::memory_order_relaxed)) return;
            const int64_t c = item / slices, g0 = (item % slices) * per_slice;
            const int64_t r0 = c * chunk, rn = std::min(chunk, a.rows - r0);
            int64_t t0 = 0, tn = a.n;  // this item's tokens
            if (!mk) {
                generic_rows(a, r0, rn, tmp);
            } else if (gemm) {
                if (g0 >= groups) continue;
                t0 = 16 * g0;
                tn = std::min(a.n, 16 * std::min(groups, g0 + per_slice)) - t0;
                const uint8_t* xs_ = slices > 1 ? xa + gemm_act_bytes(mk->gemm_act, a.k, t0) : xa;
                float* y0 = a.y + t0 * a.ldy;
                // rows in the repacked region from there, the rest (< 8 rows) from the file layout
                const int64_t rx = x8 ? std::clamp(a.rows_x8 - r0, int64_t(0), rn) : 0;
                uint8_t* scr = panels_[size_t(ith)].get(0);
                if (rx > 0) mk->gemm_rows_x8(a.k, a.wx8 + r0 * a.xws, a.xws, int(rx), xs_, tn, y0 + r0, a.ldy, scr);
                if (rx < rn)
                    mk->gemm_rows(a.k, a.w + (r0 + rx) * a.ws, a.ws, int(rn - rx), xs_, tn, y0 + r0 + rx, a.ldy, scr);
            } else {
                int64_t r1 = r0;
                if (x8) {
                    alignas(32) float o[8];
                    const int64_t r_end = std::min(r0 + rn, a.rows_x8);
                    // Several tokens: two groups at once where the kernel has it (bit-identical).
                    if (a.n > 1 && mk->gemv_x16_n)
                        for (; r1 + 16 <= r_end; r1 += 16) mk->gemv_x16_n(a.k, a.wx8 + r1 * a.xws, 8 * a.xws, xa, xs, int(a.n), a.y + r1, a.ldy);
                    for (; r1 + 8 <= r_end; r1 += 8) {
                        if (a.n > 1 && mk->gemv_x8_n) {
                            mk->gemv_x8_n(a.k, a.wx8 + r1 * a.xws, xa, xs, int(a.n), a.y + r1, a.ldy);
                            continue;
                        }
                        for (int64_t t = 0; t < a.n; ++t) {
                            mk->gemv_x8(a.k, a.wx8 + r1 * a.xws, xa + t * xs, o);
                            std::copy(o, o + 8, a.y + t * a.ldy + r1);
                        }
                    }
                }
                for (int64_t t0 = 0; t0 < a.n; t0 += mk->max_toks) {
                    const int tn = int(std::min<int64_t>(mk->max_toks, a.n - t0));
                    for (int64_t r = r1; r < r0 + rn; r += mk->max_rows) {
                        const int nr = int(std::min<int64_t>(mk->max_rows, r0 + rn - r));
                        mk->tile(a.k, a.w + r * a.ws, a.ws, nr, xa + t0 * xs, xs, tn, a.y + t0 * a.ldy + r, a.ldy);
                    }
                }
            }
            if (a.bias)
                for (int64_t t = t0; t < t0 + tn; ++t)
                    for (int64_t r = r0; r < r0 + rn; ++r) a.y[t * a.ldy + r] += a.bias[r];
        }
    });
    return true;
}

}  // namespace hearth::cpu
