// Checks every backend runs against the reference backend (the same inputs on both, outputs compared
// within the tolerance written beside each check): the ops Gemma 3 / Qwen3 / Phi-3 added (gelu_mul,
// scale, sliding-window attention, RMSNorm over per-head views for QK-norm), and supports_op's claims:
// every (op, type) a backend says it runs does run and match the reference, and every weight type it
// denies makes its get_rows / matmul fail with an error (so the table cannot drift from the dispatch).
// Used by test_cpu_backend, test_vulkan_ops and test_cuda_ops (and the reference's own checks in
// test_model_ops), so each backend is held to one set of checks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/quant/quant.h"

namespace hearth::opcheck {

// The same data in a fresh buffer of each backend (`be` under test, `ref` the reference).
struct Twin {
    Backend& be;
    Backend& ref;
    std::vector<BufferPtr> keep;

    struct T2 { Tensor b, r; };
    Tensor put_on(Backend& x, GgmlType t, int64_t rows, int64_t cols, const void* data) {
        const size_t bytes = row_bytes(t, cols) * size_t(rows);
        auto buf = x.alloc(std::max<size_t>(bytes, 4), BufferUsage::Activations);
        EXPECT_TRUE(buf.ok()) << buf.message();
        if (!buf.ok()) return {};
        keep.push_back(*buf);
        Tensor v = make_tensor(buf->get(), 0, t, rows, cols);
        if (data) {
            const Status s = x.upload(v, data);
            EXPECT_TRUE(s.ok()) << s.message();
        }
        return v;
    }
    T2 put(GgmlType t, int64_t rows, int64_t cols, const void* data) {
        return {put_on(be, t, rows, cols, data), put_on(ref, t, rows, cols, data)};
    }
    T2 f32(int64_t rows, int64_t cols, const std::vector<float>& v) { return put(GgmlType::F32, rows, cols, v.data()); }
    T2 i32(const std::vector<int32_t>& v) { return put(GgmlType::I32, 1, int64_t(v.size()), v.data()); }
    std::vector<float> get(Backend& x, const Tensor& t) {
        std::vector<float> v(size_t(t.rows * t.cols));
        const Status s = x.download(t, v.data());
        EXPECT_TRUE(s.ok()) << s.message();
        return v;
    }
    // Largest |got - want| / (1 + |want|) over the two downloads (NaN counts as infinite).
    double rel_err(const T2& t) {
        const auto got = get(be, t.b), want = get(ref, t.r);
        double e = 0;
        for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
            const double d = std::fabs(double(got[i]) - want[i]) / (1.0 + std::fabs(want[i]));
            e = std::max(e, std::isnan(d) ? INFINITY : d);
        }
        return e;
    }
    double abs_err(const T2& t) {
        const auto got = get(be, t.b), want = get(ref, t.r);
        double e = 0;
        for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
            const double d = std::fabs(double(got[i]) - want[i]);
            e = std::max(e, std::isnan(d) ? INFINITY : d);
        }
        return e;
    }
};

inline std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, sd);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

// Weights of `type`: quantized from Gaussian values where quant.h can, else random blocks whose
// scales (and minimums) are set to small finite F16 values (random bits could be NaN or huge).
inline std::vector<uint8_t> make_weights(GgmlType t, int64_t rows, int64_t cols, uint32_t seed) {
    const size_t rb = row_bytes(t, cols);
    std::vector<uint8_t> w(rb * size_t(rows));
    if (can_quantize(t)) {
        const auto f = randn(size_t(rows * cols), seed, 0.05f);
        for (int64_t r = 0; r < rows; ++r) EXPECT_TRUE(quantize_row(t, f.data() + r * cols, w.data() + r * rb, cols).ok());
        return w;
    }
    std::mt19937 rng(seed);
    for (auto& b : w) b = uint8_t(rng());
    std::uniform_real_distribution<float> scale(0.001f, 0.01f);
    std::vector<size_t> halves;  // byte offsets of the F16 scale fields within a block
    switch (t) {
        case GgmlType::Q4_1: case GgmlType::Q5_1: halves = {0, 2}; break;
        case GgmlType::Q5_0: halves = {0}; break;
        case GgmlType::Q2_K: halves = {offsetof(block_q2_K, d), offsetof(block_q2_K, dmin)}; break;
        case GgmlType::Q3_K: halves = {offsetof(block_q3_K, d)}; break;
        default: ADD_FAILURE() << "make_weights: no recipe for " << type_name(t); break;
    }
    const size_t bb = size_t(traits(t).block_bytes);
    for (size_t off = 0; off < w.size(); off += bb)
        for (size_t at : halves) {
            const f16_t h = f32_to_f16(scale(rng));
            std::memcpy(&w[off + at], &h, 2);
        }
    return w;
}

// Every type id of types.h.
inline std::vector<GgmlType> all_types() {
    return {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
            GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
            GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K, GgmlType::I8,   GgmlType::I16,  GgmlType::I32,
            GgmlType::I64,  GgmlType::F64};
}
inline bool is_weight_type(GgmlType t) { return t != GgmlType::I8 && t != GgmlType::I16 && t != GgmlType::I32 && t != GgmlType::I64 && t != GgmlType::F64; }

inline std::vector<Op> all_ops() {
    return {Op::GetRows, Op::Matmul, Op::RmsNorm,  Op::Rope,        Op::KvStore, Op::Attention, Op::KvShift, Op::KvCopy,  Op::SiluMul,
            Op::Add,     Op::ScaleAdd, Op::SoftmaxRows, Op::Copy,   Op::SampleTopK, Op::GeluMul, Op::Scale,  Op::SlidingWindow,
            Op::LayerNorm, Op::Activate, Op::AttentionQkv, Op::Conv2d, Op::GroupNorm, Op::Upsample2x, Op::Mul, Op::ConcatCols,
            Op::MatmulAdd, Op::AddRowsScaled};
}

// ---------------------------------------------------------------- gelu_mul and scale
// rows 1, 7, 33 and cols that are not multiples of 8 (SIMD tails, partial workgroups); inputs with
// sd 3 plus a few extremes (±30: the tanh saturates, x^3 is large) in the first row.
inline void check_gelu_mul_and_scale(Twin& tw) {
    for (int64_t rows : {1, 7, 33})
        for (int64_t cols : {1, 13, 100, 1031}) {
            auto g = randn(size_t(rows * cols), uint32_t(rows * 7 + cols), 3.0f), u = randn(size_t(rows * cols), uint32_t(cols), 1.0f);
            const float extremes[] = {30.0f, -30.0f, 0.0f, -4.0f, 6.0f};
            for (size_t i = 0; i < 5 && i < size_t(cols); ++i) g[i] = extremes[i];
            const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
            auto G = tw.f32(rows, cols, g), U = tw.f32(rows, cols, u), O = tw.f32(rows, cols, std::vector<float>(g.size(), 0.0f));
            tw.be.gelu_mul(G.b, U.b, O.b);
            tw.ref.gelu_mul(G.r, U.r, O.r);
            // float exp (std::exp, the 2-ulp Cephes polynomial, GLSL exp within 3+2|x| ulp, CUDA expf)
            // against the reference's double tanh, times |u| up to ~4: well under 1e-5 relative.
            EXPECT_LE(tw.rel_err(O), 2e-5) << "gelu_mul " << shape;
            tw.be.gelu_mul(G.b, U.b, G.b);  // out aliases gate
            tw.ref.gelu_mul(G.r, U.r, G.r);
            EXPECT_LE(tw.rel_err(G), 2e-5) << "gelu_mul in place " << shape;
            tw.be.scale(U.b, -0.37f);
            tw.ref.scale(U.r, -0.37f);
            EXPECT_LE(tw.rel_err(U), 1e-7) << "scale " << shape;  // one float multiply each: exact
        }
    const Status s = tw.be.synchronize();
    EXPECT_TRUE(s.ok()) << s.message();
}

// ---------------------------------------------------------------- RMSNorm over per-head views
// QK-norm: q (n tokens x n_head*head_dim, contiguous, here at an offset inside a larger buffer as
// a slice of a fused activation would be) normalized per head as (n*n_head) rows x head_dim cols
// with a [head_dim] weight. Row counts that are not multiples of anything, head_dim 64..256, out
// of place and in place.
inline void check_rms_norm_head_views(Twin& tw) {
    for (int n : {1, 7, 33})
        for (int n_head : {3, 8})
            for (int hd : {64, 80, 128, 256}) {
                const int64_t lead = 5;  // rows of something else before q in the buffer
                const int64_t width = int64_t(n_head) * hd;
                const auto x = randn(size_t((lead + n) * width), uint32_t(n * 100 + n_head * 10 + hd), 2.0f);
                const auto w = randn(size_t(hd), uint32_t(hd), 1.0f);
                auto X = tw.f32(lead + n, width, x), W = tw.f32(1, hd, w);
                auto Y = tw.f32(int64_t(n) * n_head, hd, std::vector<float>(size_t(n * width), 0.0f));
                Twin::T2 V;
                V.b = make_tensor(X.b.buf, size_t(lead * width) * 4, GgmlType::F32, int64_t(n) * n_head, hd);
                V.r = make_tensor(X.r.buf, size_t(lead * width) * 4, GgmlType::F32, int64_t(n) * n_head, hd);
                const std::string what = std::to_string(n) + " tokens x " + std::to_string(n_head) + " heads x " + std::to_string(hd);
                tw.be.rms_norm(V.b, W.b, 1e-6f, Y.b);
                tw.ref.rms_norm(V.r, W.r, 1e-6f, Y.r);
                // float sum of squares over <= 256 values vs double: a few ulps of the result
                EXPECT_LE(tw.rel_err(Y), 1e-5) << "rms_norm head view " << what;
                tw.be.rms_norm(V.b, W.b, 1e-6f, V.b);  // in place, as the model does it
                tw.ref.rms_norm(V.r, W.r, 1e-6f, V.r);
                EXPECT_LE(tw.rel_err(V), 1e-5) << "rms_norm head view in place " << what;
                EXPECT_LE(tw.rel_err(X), 1e-5) << "rows around the view " << what;  // the lead rows untouched
            }
    // A long prompt's view: 2190 tokens x 32 heads = 70080 rows, more than one grid dimension of
    // 65535 workgroups holds (Vulkan splits such grids over y).
    {
        const int64_t rows = 2190 * 32, hd = 64;
        auto X = tw.f32(rows, hd, randn(size_t(rows * hd), 4, 1.5f));
        auto W = tw.f32(1, hd, randn(size_t(hd), 5));
        tw.be.rms_norm(X.b, W.b, 1e-6f, X.b);
        tw.ref.rms_norm(X.r, W.r, 1e-6f, X.r);
        EXPECT_LE(tw.rel_err(X), 1e-5) << "rms_norm over " << rows << " head rows";
    }
    const Status s = tw.be.synchronize();
    EXPECT_TRUE(s.ok()) << s.message();
}

// ---------------------------------------------------------------- sliding-window attention
struct KvPair {
    std::unique_ptr<KvCache> b, r;
};
// A cache of `layers` layers (window per layer as given) with cells 0..n_cells-1 filled with the
// same random K/V on both backends.
inline KvPair filled_kv(Twin& tw, GgmlType kt, int n_kv_head, int hd, int n_cells, const std::vector<int>& window, uint32_t seed) {
    KvCacheDesc d;
    d.n_layer = int(window.size());
    d.n_kv_head = n_kv_head;
    d.head_dim = hd;
    d.n_ctx = (n_cells + 31) / 32 * 32 + 32;
    d.type = kt;
    d.window = window;
    auto kb = tw.be.create_kv_cache(d);
    auto kr = tw.ref.create_kv_cache(d);
    EXPECT_TRUE(kb.ok() && kr.ok()) << kb.message();
    if (!kb.ok() || !kr.ok()) return {};
    std::vector<int32_t> pos(static_cast<size_t>(n_cells));
    for (int i = 0; i < n_cells; ++i) pos[size_t(i)] = i;
    auto P = tw.i32(pos);
    const int w = n_kv_head * hd;
    for (int l = 0; l < d.n_layer; ++l) {
        auto K = tw.f32(n_cells, w, randn(size_t(n_cells) * w, seed + 2 * uint32_t(l)));
        auto V = tw.f32(n_cells, w, randn(size_t(n_cells) * w, seed + 2 * uint32_t(l) + 1));
        tw.be.kv_store(**kb, l, K.b, V.b, P.b);
        tw.ref.kv_store(**kr, l, K.r, V.r, P.r);
    }
    return {std::move(*kb), std::move(*kr)};
}

struct WindowCase { int n_tok, first_pos, n_kv; };

// Windows 1, 5, 32, 512 over caches of 40..1100 cells: decode (1 token at the end), few tokens
// (split / flash-decoding paths), prompt batches whose positions span the window's edge (tokens
// whose windows start in different 32-cell blocks, and a batch from position 0 where p < window),
// GQA (8 query heads over 2 KV heads). Layer 1 is local and layer 0 global in the same cache, so
// the window is per layer. `tol`: the backend's attention tolerance for that KV type.
inline void check_sliding_window_attention(Twin& tw, GgmlType kt, double tol) {
    const int n_head = 8, n_kv_head = 2, hd = 64;
    const WindowCase cases[] = {{1, 99, 100}, {1, 1099, 1100}, {3, 700, 703}, {40, 60, 100},
                                {40, 0, 40},  {37, 1063, 1100}, {9, 500, 509}};
    for (int window : {1, 5, 32, 512}) {
        KvPair kv = filled_kv(tw, kt, n_kv_head, hd, 1100, {0, window}, 31 + uint32_t(window));
        if (!kv.b) return;
        for (const auto& c : cases) {
            std::vector<int32_t> pos(size_t(c.n_tok));
            for (int i = 0; i < c.n_tok; ++i) pos[size_t(i)] = c.first_pos + i;
            auto P = tw.i32(pos);
            auto Q = tw.f32(c.n_tok, n_head * hd, randn(size_t(c.n_tok) * n_head * hd, 9 + uint32_t(c.first_pos)));
            auto O = tw.f32(c.n_tok, n_head * hd, std::vector<float>(size_t(c.n_tok) * n_head * hd, 0.0f));
            const float scale = 1.0f / std::sqrt(float(hd));
            for (int layer : {1, 0}) {
                tw.be.attention(Q.b, *kv.b, layer, P.b, c.n_kv, scale, O.b);
                tw.ref.attention(Q.r, *kv.r, layer, P.r, c.n_kv, scale, O.r);
                EXPECT_LE(tw.abs_err(O), tol) << type_name(kt) << " window " << window << (layer == 0 ? " (global layer)" : "")
                                              << " tokens " << c.n_tok << " from " << c.first_pos << " n_kv " << c.n_kv;
                if (window != 32 && window != 512) break;  // the global layer once per cache is enough
            }
        }
    }
    const Status s = tw.be.synchronize();
    EXPECT_TRUE(s.ok()) << s.message();
}

// ---------------------------------------------------------------- supports_op claims
// Runs get_rows and matmul with a `t` weight (67 x 512: rows not a multiple of any tile; K-quant
// blocks fit) and, when claimed, compares with the reference; when denied, expects an error from
// the backend's next synchronize() (device backends report failed ops there).
inline void check_weight_type(Twin& tw, GgmlType t, bool claimed_rows, bool claimed_mm) {
    const int64_t rows = 67, cols = 512;
    const auto wdata = make_weights(t, rows, cols, 7 + uint32_t(t));
    auto W = tw.put(t, rows, cols, wdata.data());
    const std::vector<int32_t> ids = {0, 66, 7, 7, 21};
    auto I = tw.i32(ids);
    auto R = tw.f32(int64_t(ids.size()), cols, std::vector<float>(ids.size() * cols, 0.0f));
    if (claimed_rows) {
        tw.be.get_rows(W.b, I.b, R.b);
        tw.ref.get_rows(W.r, I.r, R.r);
        // the same dequantization formula, at most reordered (a*q + b vs d*(q - 8)): a few float ulps
        EXPECT_LE(tw.abs_err(R), 1e-5) << "get_rows " << type_name(t);
    } else {
        tw.be.get_rows(W.b, I.b, R.b);
        EXPECT_FALSE(tw.be.synchronize().ok()) << "get_rows of a denied type " << type_name(t) << " did not fail";
    }
    for (int n : {3, 9}) {  // the matrix-vector and the GEMM paths of the device backends
        auto X = tw.f32(n, cols, randn(size_t(n) * cols, 100 + uint32_t(n)));
        auto Y = tw.f32(n, rows, std::vector<float>(size_t(n) * rows, 0.0f));
        if (!claimed_mm) {
            tw.be.matmul(W.b, X.b, Y.b);
            EXPECT_FALSE(tw.be.synchronize().ok()) << "matmul of a denied type " << type_name(t) << " did not fail";
            break;
        }
        tw.be.matmul(W.b, X.b, Y.b);
        tw.ref.matmul(W.r, X.r, Y.r);
        const auto got = tw.get(tw.be, Y.b), want = tw.get(tw.ref, Y.r);
        double rms = 0, err = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            rms += double(want[i]) * want[i];
            const double e = std::fabs(double(got[i]) - want[i]);
            err = std::max(err, std::isnan(e) ? INFINITY : e);
        }
        rms = std::sqrt(rms / double(got.size()));
        // F32 weights: F32 math everywhere. Others: 8-bit activations for block weights (~0.6% per
        // dot product, as llama.cpp) or F16 activations in a GEMM; 8% of the output rms bounds both.
        const double tol = t == GgmlType::F32 ? 1e-4 * rms : 0.08 * rms;
        EXPECT_LE(err, tol) << "matmul " << type_name(t) << " n=" << n << " rms(ref)=" << rms;
        if (tw.be.supports_op(Op::MatmulAdd, t)) {
            // The same product added into a residual of unit size: the product's bound plus the
            // float rounding of the sum.
            auto Z = tw.f32(n, rows, randn(size_t(n) * rows, 300 + uint32_t(n)));
            tw.be.matmul_add(W.b, X.b, Z.b);
            tw.ref.matmul_add(W.r, X.r, Z.r);
            EXPECT_LE(tw.abs_err(Z), tol + 1e-5) << "matmul_add " << type_name(t) << " n=" << n;
        }
    }
    EXPECT_TRUE(claimed_mm || !tw.be.supports_op(Op::MatmulAdd, t)) << "matmul_add claimed without matmul: " << type_name(t);
}

// One small run of each claimed op without a type, against the reference.
inline void check_claimed_op(Twin& tw, Op op) {
    const int64_t n = 5, c = 96;
    auto A = tw.f32(n, c, randn(size_t(n * c), 1)), B = tw.f32(n, c, randn(size_t(n * c), 2));
    auto O = tw.f32(n, c, std::vector<float>(size_t(n * c), 0.0f));
    auto Wt = tw.f32(1, c, randn(size_t(c), 3));
    const char* name = op_name(op);
    switch (op) {
        case Op::GetRows: case Op::Matmul: case Op::MatmulAdd: return;  // per type, check_weight_type
        case Op::RmsNorm: tw.be.rms_norm(A.b, Wt.b, 1e-5f, O.b); tw.ref.rms_norm(A.r, Wt.r, 1e-5f, O.r); break;
        case Op::SiluMul: tw.be.silu_mul(A.b, B.b, O.b); tw.ref.silu_mul(A.r, B.r, O.r); break;
        case Op::GeluMul: tw.be.gelu_mul(A.b, B.b, O.b); tw.ref.gelu_mul(A.r, B.r, O.r); break;
        case Op::Add: tw.be.add(A.b, B.b, O.b); tw.ref.add(A.r, B.r, O.r); break;
        case Op::Copy: tw.be.copy(A.b, O.b); tw.ref.copy(A.r, O.r); break;
        case Op::ScaleAdd: tw.be.scale_add(A.b, B.b, 0.5f); tw.ref.scale_add(A.r, B.r, 0.5f); O = A; break;
        case Op::Scale: tw.be.scale(A.b, 1.5f); tw.ref.scale(A.r, 1.5f); O = A; break;
        case Op::AddRowsScaled: {  // the 5 rows of A into 5 of Y's 7 rows, in scrambled order, one weight 0
            auto Y = tw.f32(7, c, randn(size_t(7 * c), 5));
            auto ids = tw.i32({6, 0, 3, 5, 1});
            auto W = tw.f32(1, n, {0.5f, -1.25f, 2.0f, 0.0f, 0.75f});
            tw.be.add_rows_scaled(Y.b, A.b, ids.b, W.b);
            tw.ref.add_rows_scaled(Y.r, A.r, ids.r, W.r);
            O = Y;
            break;
        }
        case Op::SoftmaxRows: tw.be.softmax_rows(A.b); tw.ref.softmax_rows(A.r); O = A; break;
        case Op::LayerNorm: tw.be.layer_norm(A.b, Wt.b, Wt.b, 1e-5f, O.b); tw.ref.layer_norm(A.r, Wt.r, Wt.r, 1e-5f, O.r); break;
        case Op::Activate:
            for (Activation act : {Activation::Gelu, Activation::QuickGelu, Activation::Silu}) {
                auto X = tw.f32(n, c, randn(size_t(n * c), 4, 4.0f));
                tw.be.activate(X.b, act);
                tw.ref.activate(X.r, act);
                EXPECT_LE(tw.rel_err(X), 2e-5) << name << " " << int(act);
            }
            return;
        case Op::AttentionQkv:
            // 3 heads of 32: causal self-attention (5 rows) and cross-attention of 5 queries over 11 rows.
            for (bool causal : {true, false}) {
                const int64_t n_kv = causal ? n : 11;
                auto K = tw.f32(n_kv, c, randn(size_t(n_kv * c), 5)), V = tw.f32(n_kv, c, randn(size_t(n_kv * c), 6));
                auto Ob = tw.f32(n, c, std::vector<float>(size_t(n * c), 0.0f));
                tw.be.attention_qkv(A.b, K.b, V.b, 3, 0.2f, causal, Ob.b);
                tw.ref.attention_qkv(A.r, K.r, V.r, 3, 0.2f, causal, Ob.r);
                EXPECT_LE(tw.abs_err(Ob), 1e-4) << name << (causal ? " causal" : " cross");
            }
            // Long enough for the CPU's GEMM path (two blocks of queries, the second partial): 300
            // queries in 2 heads of 40 (the UNet's head size), causal self-attention and
            // cross-attention over 77 rows. Same bound: the scores differ only by summation order.
            for (bool causal : {true, false}) {
                const int64_t nq = 300, n_kv = causal ? nq : 77, cc = 80;
                auto Q = tw.f32(nq, cc, randn(size_t(nq * cc), 7));
                auto K = tw.f32(n_kv, cc, randn(size_t(n_kv * cc), 8)), V = tw.f32(n_kv, cc, randn(size_t(n_kv * cc), 9));
                auto Ob = tw.f32(nq, cc, std::vector<float>(size_t(nq * cc), 0.0f));
                tw.be.attention_qkv(Q.b, K.b, V.b, 2, 0.16f, causal, Ob.b);
                tw.ref.attention_qkv(Q.r, K.r, V.r, 2, 0.16f, causal, Ob.r);
                EXPECT_LE(tw.abs_err(Ob), 1e-4) << name << (causal ? " long causal" : " long cross");
            }
            {
                // The UNet's self-attention length at 512×512: 4,096 pixels attending to all 4,096
                // (2 heads of 8 keep the reference backend's double loops to about a second).
                const int64_t np = 4096, cc = 16;
                auto Q = tw.f32(np, cc, randn(size_t(np * cc), 10)), K = tw.f32(np, cc, randn(size_t(np * cc), 11));
                auto V = tw.f32(np, cc, randn(size_t(np * cc), 12)), Ob = tw.f32(np, cc, std::vector<float>(size_t(np * cc), 0.0f));
                tw.be.attention_qkv(Q.b, K.b, V.b, 2, 0.35f, false, Ob.b);
                tw.ref.attention_qkv(Q.r, K.r, V.r, 2, 0.35f, false, Ob.r);
                EXPECT_LE(tw.abs_err(Ob), 1e-4) << name << " 4096 tokens";
            }
            // Heads wider than 256: a VAE middle block's one head over its 512 channels (CUDA's
            // one-block-per-query kernel, Vulkan's MAXD 512), and 2 heads of 320 (a partial last
            // slice of each thread's dimensions), causal. 70 queries: more than one tile of neither.
            for (int heads : {1, 2}) {
                const int64_t nq = 70, cc = heads == 1 ? 512 : 640;
                const bool causal = heads == 2;
                auto Q = tw.f32(nq, cc, randn(size_t(nq * cc), 13)), K = tw.f32(nq, cc, randn(size_t(nq * cc), 14));
                auto V = tw.f32(nq, cc, randn(size_t(nq * cc), 15)), Ob = tw.f32(nq, cc, std::vector<float>(size_t(nq * cc), 0.0f));
                const float sc = 1.0f / std::sqrt(float(cc / heads));
                tw.be.attention_qkv(Q.b, K.b, V.b, heads, sc, causal, Ob.b);
                tw.ref.attention_qkv(Q.r, K.r, V.r, heads, sc, causal, Ob.r);
                EXPECT_LE(tw.abs_err(Ob), 1e-4) << name << " head size " << cc / heads;
            }
            return;
        case Op::Conv2d:
            // An odd image (5×7), odd channel counts, 3×3 stride 1 and 2 and 1×1, F32 and F16 kernels.
            for (GgmlType wt : {GgmlType::F32, GgmlType::F16})
                for (Conv2dGeometry g : {Conv2dGeometry{5, 7, 3, 1, 1}, Conv2dGeometry{5, 7, 3, 2, 1}, Conv2dGeometry{5, 7, 1, 1, 0}}) {
                    const int64_t cin = 13, cout = 9, kc = int64_t(g.kernel) * g.kernel * cin;
                    const auto wf = randn(size_t(cout * kc), 11, 0.2f);
                    std::vector<uint8_t> wbytes(row_bytes(wt, kc) * size_t(cout));
                    for (int64_t r = 0; r < cout; ++r)
                        EXPECT_TRUE(quantize_row(wt, wf.data() + r * kc, wbytes.data() + size_t(r) * row_bytes(wt, kc), kc).ok());
                    auto W = tw.put(wt, cout, kc, wbytes.data());
                    auto X = tw.f32(35, cin, randn(size_t(35 * cin), 12)), Bi = tw.f32(1, cout, randn(size_t(cout), 13));
                    const int64_t n_out = int64_t(g.out_height()) * g.out_width();
                    auto Y = tw.f32(n_out, cout, std::vector<float>(size_t(n_out * cout), 0.0f));
                    tw.be.conv2d(X.b, W.b, &Bi.b, g, Y.b);
                    tw.ref.conv2d(X.r, W.r, &Bi.r, g, Y.r);
                    // F16 kernels may meet F16-converted pixels in a GEMM: ~1e-3 of a sum of ~100 terms.
                    EXPECT_LE(tw.rel_err(Y), wt == GgmlType::F32 ? 2e-5 : 5e-3) << name << " k" << g.kernel << " s" << g.stride;
                }
            return;
        case Op::GroupNorm:
            // 96 and 160 channels in 32 groups: 3 and 5 channels per group (not powers of two).
            for (int64_t ch : {96, 160}) {
                auto X = tw.f32(7, ch, randn(size_t(7 * ch), 14, 3.0f)), G = tw.f32(1, ch, randn(size_t(ch), 15));
                auto Y = tw.f32(7, ch, std::vector<float>(size_t(7 * ch), 0.0f));
                tw.be.group_norm(X.b, 32, G.b, G.b, 1e-6f, Y.b);
                tw.ref.group_norm(X.r, 32, G.r, G.r, 1e-6f, Y.r);
                EXPECT_LE(tw.rel_err(Y), 2e-5) << name << " " << ch;
            }
            return;
        case Op::Mul: tw.be.mul(A.b, B.b, O.b); tw.ref.mul(A.r, B.r, O.r); break;
        case Op::ConcatCols: {
            auto Y = tw.f32(n, 2 * c, std::vector<float>(size_t(2 * n * c), 0.0f));
            tw.be.concat_cols(A.b, B.b, Y.b);
            tw.ref.concat_cols(A.r, B.r, Y.r);
            EXPECT_EQ(tw.abs_err(Y), 0.0) << name;
            return;
        }
        case Op::Upsample2x: {
            auto X = tw.f32(15, 7, randn(size_t(15 * 7), 16)), Y = tw.f32(60, 7, std::vector<float>(60 * 7, 0.0f));
            tw.be.upsample_nearest(X.b, 3, 5, 6, 10, Y.b);
            tw.ref.upsample_nearest(X.r, 3, 5, 6, 10, Y.r);
            EXPECT_EQ(tw.abs_err(Y), 0.0) << name;
            // To a UNet skip's odd size (3×5 → 5×9): torch's float-scale rule, same on both.
            auto Z = tw.f32(45, 7, std::vector<float>(45 * 7, 0.0f));
            tw.be.upsample_nearest(X.b, 3, 5, 5, 9, Z.b);
            tw.ref.upsample_nearest(X.r, 3, 5, 5, 9, Z.r);
            EXPECT_EQ(tw.abs_err(Z), 0.0) << name << " odd";
            return;
        }
        case Op::Rope: {
            RopeParams p;
            p.mode = RopeMode::NeoX;
            p.head_dim = p.n_dims = 32;
            auto P = tw.i32({0, 3, 17, 100, 4000});
            tw.be.rope(A.b, P.b, p);
            tw.ref.rope(A.r, P.r, p);
            O = A;
            break;
        }
        case Op::SampleTopK: {
            auto ids = tw.put(GgmlType::I32, 1, n, nullptr);
            EXPECT_TRUE(tw.be.sample_top_k(A.b, 1, 1.0f, {}, ids.b).ok());
            EXPECT_TRUE(tw.ref.sample_top_k(A.r, 1, 1.0f, {}, ids.r).ok());
            std::vector<int32_t> gb(static_cast<size_t>(n)), gr(static_cast<size_t>(n));
            EXPECT_TRUE(tw.be.download(ids.b, gb.data()).ok());
            EXPECT_TRUE(tw.ref.download(ids.r, gr.data()).ok());
            EXPECT_EQ(gb, gr) << name;  // greedy: exact
            return;
        }
        case Op::KvStore: case Op::Attention: case Op::KvShift: case Op::KvCopy: case Op::SlidingWindow: {
            // 2 layers (layer 1 local, window 16 when checking SlidingWindow), 70 cells, then the op.
            const int hd = 32, n_kv_head = 1, n_head = 3;
            KvPair kv = filled_kv(tw, GgmlType::F32, n_kv_head, hd, 70, {0, op == Op::SlidingWindow ? 16 : 0}, 5);
            if (!kv.b) return;
            if (op == Op::KvShift) {
                RopeParams p;
                p.head_dim = p.n_dims = hd;
                tw.be.kv_shift(*kv.b, 4, 10, 70, p);
                tw.ref.kv_shift(*kv.r, 4, 10, 70, p);
            }
            KvPair copy;
            const KvCache* kb = kv.b.get();
            const KvCache* kr = kv.r.get();
            if (op == Op::KvCopy) {
                auto cb = tw.be.create_kv_cache(kv.b->desc());
                auto cr = tw.ref.create_kv_cache(kv.r->desc());
                ASSERT_TRUE(cb.ok() && cr.ok());
                copy = {std::move(*cb), std::move(*cr)};
                tw.be.kv_copy(*kv.b, *copy.b, 60);
                tw.ref.kv_copy(*kv.r, *copy.r, 60);
                kb = copy.b.get();
                kr = copy.r.get();
            }
            std::vector<int32_t> pos = {0, 31, 32, 45, 59};
            auto P = tw.i32(pos);
            auto Q = tw.f32(5, n_head * hd, randn(size_t(5 * n_head * hd), 8));
            auto Ob = tw.f32(5, n_head * hd, std::vector<float>(size_t(5 * n_head * hd), 0.0f));
            tw.be.attention(Q.b, *kb, 1, P.b, 60, 0.2f, Ob.b);
            tw.ref.attention(Q.r, *kr, 1, P.r, 60, 0.2f, Ob.r);
            // F32 cache: float softmax and sums against double
            EXPECT_LE(tw.abs_err(Ob), 1e-4) << name;
            return;
        }
    }
    // element-wise and row ops: float against double, one rounding or a short float sum. RoPE: the
    // float angle p * theta at p = 4000 is off by up to ~2.4e-4 rad on devices (4000 * 2^-24 * 1.0).
    EXPECT_LE(tw.rel_err(O), op == Op::Rope ? 5e-4 : 2e-5) << name;
}

// Every (op, type) the backend claims runs and matches; every weight type it denies fails; no
// backend claims an integer or F64 "weight". Prints the backend's table.
inline void check_supports_op_claims(Twin& tw) {
    const Backend& be = tw.be;
    std::string table = be.device().backend + " supports_op:";
    for (Op op : all_ops()) {
        if (op == Op::GetRows || op == Op::Matmul || op == Op::MatmulAdd) continue;
        const bool yes = be.supports_op(op);
        table += std::string(" ") + op_name(op) + (yes ? "=yes" : "=NO");
        if (yes) check_claimed_op(tw, op);
    }
    for (Op op : {Op::GetRows, Op::Matmul, Op::MatmulAdd}) {
        table += std::string("\n  ") + op_name(op) + ":";
        for (GgmlType t : all_types())
            if (be.supports_op(op, t)) table += std::string(" ") + std::string(type_name(t));
    }
    std::printf("%s\n", table.c_str());
    for (GgmlType t : all_types()) {
        const bool rows = be.supports_op(Op::GetRows, t), mm = be.supports_op(Op::Matmul, t);
        if (!is_weight_type(t)) {
            EXPECT_FALSE(rows || mm) << type_name(t) << " is not a weight type";
            continue;
        }
        check_weight_type(tw, t, rows, mm);
    }
    const Status s = tw.be.synchronize();
    EXPECT_TRUE(s.ok()) << s.message();
}

}  // namespace hearth::opcheck
