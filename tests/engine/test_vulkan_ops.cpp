// Every Vulkan op against the scalar reference (engine/quant dequantize_row for matmul and
// embedding inputs, the reference backend for RoPE, attention and the KV cache ops), for every
// weight type, with odd shapes (rows, columns and token counts that are not multiples of the
// workgroup or tile sizes; KV cells across 32-cell block boundaries), under three feature masks
// (HEARTH_VULKAN_MASK_FEATURES) so every shader variant runs on lavapipe:
//   AllFeatures  ""                        integer-dot 8-bit matvec, F16 matmul tiles, F16 K/V math, subgroups
//   NoIntDot     "dot"                     8-bit storage + integer arithmetic matvec, the rest as above
//   Masked       "fp16,int8,dot,subgroup"  the baseline F32 shaders with shared-memory reductions
// Each check asserts that the variant it means to test really ran (vk::shader_uses) and uses the
// tolerance of that variant's arithmetic, written next to it. Skips with the reason when no Vulkan
// device exists.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "engine/backend/reference/reference_backend.h"
#include "tests/engine/backend_op_checks.h"
#include "tests/engine/vulkan_test_util.h"

using namespace hearth;
using namespace hearth::vktest;

namespace {

const char* kMasks[] = {"", "dot", "fp16,int8,dot,subgroup"};
const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1,
                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

class VulkanOps : public ::testing::TestWithParam<int> {
protected:
    std::string mask() const { return kMasks[GetParam()]; }
};

#ifdef HEARTH_HAVE_VULKAN
vk::Enabled features_of(Backend& b) { return vk::enabled(b); }
uint64_t uses(Backend& b, const std::string& shader) { return vk::shader_uses(b, shader); }
#else
struct NoFeatures { bool vulkan = false, fp16 = false, int8 = false, dot = false, subgroup = false; };
NoFeatures features_of(Backend&) { return {}; }
uint64_t uses(Backend&, const std::string&) { return 0; }
#endif

std::string lower(std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The shader the backend should pick for a weight of type t and n tokens under its features, and
// which arithmetic it uses.
struct MatmulShader {
    std::string name;
    bool q8 = false;   // 8-bit activations
    bool f16 = false;  // F16 tiles
};
MatmulShader expected_matmul_shader(Backend& vb, GgmlType t, int64_t n) {
    const auto f = features_of(vb);
    const std::string tn = lower(std::string(type_name(t))), sg = f.subgroup ? "" : "_nosg";
    const bool quantized = t != GgmlType::F32 && t != GgmlType::F16;
    if (n <= 4) {
        if (quantized && f.dot) return {"mul_mvdot_" + tn + sg, true, false};
        if (quantized && f.int8) return {"mul_mvi8_" + tn + sg, true, false};
        return {"mul_mv_" + tn + sg};
    }
    if (f.fp16 && t != GgmlType::F32) return {"mul_mm_" + tn + "_f16", false, true};
    return {"mul_mm_" + tn};
}

// y = W x for a weight of type t, checked per output against a double-precision reference with the
// tolerance of the variant that runs:
// - F32 arithmetic (baseline shaders): 1e-4 * sum |w x| + 1e-5 (F32 accumulation in another order
//   than the double reference; a layout bug is off by O(sum |w x|)).
// - F16 tiles (mul_mm *_f16): weights, activations and products each rounded to F16, relative
//   2^-11 each: 2e-3 * sum |w x| + 1e-4.
// - 8-bit activations (mul_mvdot_*, mul_mvi8_*): the reference is W . dequant(q8(x)) with x quantized on the host
//   exactly as the shader does; the shader's product is that exactly up to F32 rounding
//   (1e-4 * sum |w x| + 1e-5), plus at most one element whose rounding flips because the GPU's
//   x / d differs from the host's in the last bit: + max_i |w_i| * d_i.
void check_matmul(Backend& vb, GgmlType t, int64_t rows, int64_t cols, int64_t n, bool with_bias, uint32_t seed) {
    std::mt19937 rng(seed);
    auto w = random_weights(t, rows, cols, rng);
    auto x = random_f32(size_t(n * cols), rng);
    auto bias = random_f32(size_t(rows), rng);
    auto wd = dequant(t, w, rows, cols);
    const MatmulShader ms = expected_matmul_shader(vb, t, n);
    const std::string& shader = ms.name;
    const bool q8 = ms.q8, f16 = ms.f16;
    std::vector<float> xq = x, dx(x.size(), 0.0f);
    if (q8) quantize_q8_host(x, xq, dx);
    const uint64_t before = uses(vb, shader);
    DevTensor W = upload(vb, t, rows, cols, w.data());
    DevTensor X = upload(vb, GgmlType::F32, n, cols, x.data());
    DevTensor B = upload(vb, GgmlType::F32, 1, rows, bias.data());
    DevTensor Y = upload(vb, GgmlType::F32, n, rows, nullptr);
    vb.matmul(W.t, X.t, Y.t, with_bias ? &B.t : nullptr);
    auto y = download(vb, Y.t);
    EXPECT_GT(uses(vb, shader), before) << shader << " did not run";
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 5; ++i)
        for (int64_t r = 0; r < rows && bad < 5; ++r) {
            double e = with_bias ? bias[size_t(r)] : 0.0, mag = 0, flip = 0;
            for (int64_t c = 0; c < cols; ++c) {
                const double wv = wd[size_t(r * cols + c)];
                const double p = wv * xq[size_t(i * cols + c)];
                e += p;
                mag += std::fabs(p);
                flip = std::max(flip, std::fabs(wv) * dx[size_t(i * cols + c)]);
            }
            const double tol = f16 ? 2e-3 * mag + 1e-4 : 1e-4 * mag + 1e-5 + 1.01 * flip;
            const double got = y[size_t(i * rows + r)];
            if (!(std::fabs(got - e) <= tol)) {
                ++bad;
                ADD_FAILURE() << shader << " rows=" << rows << " cols=" << cols << " n=" << n << ": y[" << i << "][" << r << "] = " << got
                              << ", expected " << e << " (tolerance " << tol << ")";
            }
        }
}

TEST_P(VulkanOps, MatmulEveryTypeOddShapes) {
    HEARTH_REQUIRE_VULKAN(vb, mask());
    uint32_t seed = 1;
    for (GgmlType t : kTypes) {
        const int qk = traits(t).block_elems;
        const int64_t cols = qk == 1 ? 67 : qk * (qk == 256 ? 2 : 3);  // F32/F16: not a multiple of 8
        // 1..4 tokens: matrix-vector shaders; 5+: tiled (70 crosses a 64-token tile). lavapipe compiles
        // a pipeline per distinct set of push constants (minutes on a cold shader cache), so the masked
        // runs repeat only the shapes whose shader differs from AllFeatures': NoIntDot only the 8-bit
        // storage matvec of block weights, Masked everything but the F32-weight tiled shader.
        const bool quantized = qk > 1;
        for (int64_t n : {1, 3, 70}) {
            if (GetParam() == 1 && (n != 3 || !quantized)) continue;
            if (GetParam() == 2 && n == 70 && t == GgmlType::F32) continue;
            check_matmul(*vb, t, 37, cols, n, n == 3, seed);
            seed++;
        }
        if (GetParam() == 0) check_matmul(*vb, t, 130, cols, 9, true, seed);  // 130 rows: three 64-row tiles, last partial
        seed++;
    }
    Status st = vb->synchronize();
    EXPECT_TRUE(st.ok()) << st.message();
}

TEST_P(VulkanOps, GetRowsEveryType) {
    HEARTH_REQUIRE_VULKAN(vb, mask());
    std::mt19937 rng(7);
    for (GgmlType t : kTypes) {
        const int qk = traits(t).block_elems;
        const int64_t rows = 41, cols = qk == 1 ? 45 : qk * 2;
        auto w = random_weights(t, rows, cols, rng);
        auto wd = dequant(t, w, rows, cols);
        const std::vector<int32_t> ids = {0, 40, 7, 7, 13};
        DevTensor W = upload(*vb, t, rows, cols, w.data());
        DevTensor I = upload(*vb, GgmlType::I32, 1, int64_t(ids.size()), ids.data());
        DevTensor O = upload(*vb, GgmlType::F32, int64_t(ids.size()), cols, nullptr);
        vb->get_rows(W.t, I.t, O.t);
        auto o = download(*vb, O.t);
        for (size_t i = 0; i < ids.size(); ++i)
            for (int64_t c = 0; c < cols; ++c)
                ASSERT_EQ(o[i * size_t(cols) + size_t(c)], wd[size_t(ids[i]) * size_t(cols) + size_t(c)])  // exact: same dequant arithmetic
                    << type_name(t) << " id " << ids[i] << " col " << c;
    }
}

// Both backends run the same op on the same inputs; outputs compared within `tol` (absolute).
struct TwinTensor {
    DevTensor v, r;
};
TwinTensor twin(Backend& vb, Backend& rb, GgmlType type, int64_t rows, int64_t cols, const void* data, size_t stride = 0) {
    return {upload(vb, type, rows, cols, data, stride), upload(rb, type, rows, cols, data, stride)};
}
void expect_close(Backend& vb, Backend& rb, const TwinTensor& t, double tol, const std::string& what) {
    auto a = download(vb, t.v.t), b = download(rb, t.r.t);
    ASSERT_EQ(a.size(), b.size());
    int bad = 0;
    for (size_t i = 0; i < a.size() && bad < 5; ++i)
        if (!(std::fabs(double(a[i]) - b[i]) <= tol)) {
            ++bad;
            ADD_FAILURE() << what << ": element " << i << " vulkan " << a[i] << " reference " << b[i];
        }
}

TEST_P(VulkanOps, NormSoftmaxElementwise) {
    HEARTH_REQUIRE_VULKAN(vb, mask());
    auto rb = create_reference_backend();
    std::mt19937 rng(11);
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{3, 1000}, {5, 33}, {1, 4096}}) {
        auto x = random_f32(size_t(rows * cols), rng, -3, 3), y = random_f32(size_t(rows * cols), rng, -3, 3);
        auto w = random_f32(size_t(cols), rng);
        const std::string s = std::to_string(rows) + "x" + std::to_string(cols);
        // strided views (row_stride > cols * 4) for the inputs of element-wise ops
        TwinTensor X = twin(*vb, *rb, GgmlType::F32, rows, cols, x.data(), size_t(cols + 5) * 4);
        TwinTensor Y = twin(*vb, *rb, GgmlType::F32, rows, cols, y.data());
        TwinTensor W = twin(*vb, *rb, GgmlType::F32, 1, cols, w.data());
        TwinTensor O = twin(*vb, *rb, GgmlType::F32, rows, cols, nullptr);
        TwinTensor S = twin(*vb, *rb, GgmlType::F32, rows, cols, x.data());
        for (auto* b : {vb, rb.get()}) {
            const bool v = b == vb;
            auto& x_ = v ? X.v.t : X.r.t; auto& y_ = v ? Y.v.t : Y.r.t; auto& w_ = v ? W.v.t : W.r.t;
            auto& o_ = v ? O.v.t : O.r.t; auto& s_ = v ? S.v.t : S.r.t;
            b->rms_norm(x_, w_, 1e-5f, o_);
            b->rms_norm(s_, w_, 1e-6f, s_);  // y aliases x
        }
        expect_close(*vb, *rb, O, 1e-5, "rms_norm " + s);
        expect_close(*vb, *rb, S, 1e-5, "rms_norm in place " + s);
        for (auto* b : {vb, rb.get()}) {
            const bool v = b == vb;
            b->silu_mul(v ? X.v.t : X.r.t, v ? Y.v.t : Y.r.t, v ? O.v.t : O.r.t);
        }
        expect_close(*vb, *rb, O, 1e-5, "silu_mul " + s);
        for (auto* b : {vb, rb.get()}) {
            const bool v = b == vb;
            b->add(v ? X.v.t : X.r.t, v ? Y.v.t : Y.r.t, v ? O.v.t : O.r.t);
            b->scale_add(v ? O.v.t : O.r.t, v ? Y.v.t : Y.r.t, -0.37f);
        }
        expect_close(*vb, *rb, O, 1e-5, "add + scale_add " + s);
        for (auto* b : {vb, rb.get()}) {
            const bool v = b == vb;
            b->copy(v ? Y.v.t : Y.r.t, v ? X.v.t : X.r.t);  // into the strided view
            b->softmax_rows(v ? S.v.t : S.r.t);
        }
        expect_close(*vb, *rb, X, 0, "copy " + s);
        expect_close(*vb, *rb, S, 1e-6, "softmax " + s);
    }
}

// RoPE: normal and NeoX, full and partial rotation, freq_factors, YaRN. The shader computes angles
// in F32 (as llama.cpp's shaders do): tolerance grows with the position (angle error ~ pos * 2^-23).
TEST_P(VulkanOps, Rope) {
    HEARTH_REQUIRE_VULKAN(vb, mask());
    auto rb = create_reference_backend();
    std::mt19937 rng(5);
    const int head_dim = 64, n_head = 3;
    const std::vector<int32_t> pos = {0, 1, 31, 32, 100, 1000};
    auto x = random_f32(pos.size() * size_t(n_head * head_dim), rng);
    auto ff = random_f32(size_t(head_dim / 2), rng, 1.0f, 4.0f);
    TwinTensor FF = twin(*vb, *rb, GgmlType::F32, 1, head_dim / 2, ff.data());
    TwinTensor P = twin(*vb, *rb, GgmlType::I32, 1, int64_t(pos.size()), pos.data());
    for (int variant = 0; variant < 6; ++variant) {
        RopeParams p;
        p.mode = variant % 2 ? RopeMode::NeoX : RopeMode::Normal;
        p.head_dim = head_dim;
        p.n_dims = variant >= 4 ? 32 : head_dim;
        p.freq_base = variant >= 2 ? 500000.0f : 10000.0f;
        if (variant == 2 || variant == 3) {  // YaRN
            p.ext_factor = 1.0f; p.freq_scale = 0.25f; p.n_ctx_orig = 4096; p.attn_factor = 1.0f;
        }
        if (variant == 1 || variant == 4) p.attn_factor = 1.1547f;  // LongRoPE: factors and a magnitude without YaRN
        TwinTensor X = twin(*vb, *rb, GgmlType::F32, int64_t(pos.size()), n_head * head_dim, x.data());
        RopeParams pv = p, pr = p;
        if (variant == 1 || variant == 4) { pv.freq_factors = &FF.v.t; pr.freq_factors = &FF.r.t; }
        vb->rope(X.v.t, P.v.t, pv);
        rb->rope(X.r.t, P.r.t, pr);
        expect_close(*vb, *rb, X, 1e-4 + 1000 * 4e-7, "rope variant " + std::to_string(variant));
    }
}

// Both backends' KV caches of one shape, and n_tok random K, V (in [-1, 1]) and Q (in [-2, 2]) rows
// with positions 0..n_tok-1 as tensors on both; null caches (with a failure) if creation fails.
struct KvTwin {
    std::unique_ptr<KvCache> v, r;
    TwinTensor K, V, Q, P;
};
KvTwin make_kv_twin(Backend& vb, Backend& rb, const KvCacheDesc& d, int n_head, int n_tok, uint32_t seed) {
    KvTwin t;
    auto kvv = vb.create_kv_cache(d);
    auto kvr = rb.create_kv_cache(d);
    EXPECT_TRUE(kvv.ok()) << kvv.message();
    EXPECT_TRUE(kvr.ok()) << kvr.message();
    if (!kvv.ok() || !kvr.ok()) return t;
    t.v = std::move(*kvv);
    t.r = std::move(*kvr);
    std::mt19937 rng(seed);
    std::vector<int32_t> pos(static_cast<size_t>(n_tok));
    std::iota(pos.begin(), pos.end(), 0);
    const int kvw = d.n_kv_head * d.head_dim, qw = n_head * d.head_dim;
    auto k = random_f32(size_t(n_tok * kvw), rng), v = random_f32(size_t(n_tok * kvw), rng);
    auto q = random_f32(size_t(n_tok * qw), rng, -2, 2);
    t.K = twin(vb, rb, GgmlType::F32, n_tok, kvw, k.data());
    t.V = twin(vb, rb, GgmlType::F32, n_tok, kvw, v.data());
    t.Q = twin(vb, rb, GgmlType::F32, n_tok, qw, q.data());
    t.P = twin(vb, rb, GgmlType::I32, 1, n_tok, pos.data());
    return t;
}

// KV store + attention (GQA 4 heads over 2 KV heads), cells across block boundaries, F16 and F32
// caches, prefill and single-token decode; then kv_shift (keys re-rotated) and kv_copy.
TEST_P(VulkanOps, KvCacheAttentionShiftCopy) {
    HEARTH_REQUIRE_VULKAN(vb, mask());
    auto rb = create_reference_backend();
    for (GgmlType kt : {GgmlType::F16, GgmlType::F32}) {
        for (int head_dim : {64, 80}) {
            const int n_kv_head = 2, n_head = 4, n_tok = 70, n_layer = 2;
            KvCacheDesc d;
            d.n_layer = n_layer; d.n_kv_head = n_kv_head; d.head_dim = head_dim; d.n_ctx = 96; d.type = kt;
            KvTwin kt2 = make_kv_twin(*vb, *rb, d, n_head, n_tok, uint32_t(head_dim) + (kt == GgmlType::F16 ? 1 : 2));
            ASSERT_TRUE(kt2.v && kt2.r);
            auto& kvv = kt2.v;
            auto& kvr = kt2.r;
            TwinTensor &K = kt2.K, &V = kt2.V, &Q = kt2.Q, &P = kt2.P;
            TwinTensor O = twin(*vb, *rb, GgmlType::F32, n_tok, n_head * head_dim, nullptr);
            const float scale = 1.0f / std::sqrt(float(head_dim));
            const std::string s = std::string(type_name(kt)) + " head_dim " + std::to_string(head_dim);
            // F32 math: 2e-5 (F32 sums in another order). F16 K/V math (F16 cache, fp16 device): q and p
            // rounded to F16 and F16 products, relative 2^-11 each, on scores |scale q.k| of a few units:
            // score errors ~1e-3 move the softmax weights by ~1e-3 of |v| <= 1: 2e-3.
            const bool h = kt == GgmlType::F16 && features_of(*vb).fp16;
            const double tol = h ? 2e-3 : 2e-5;
            const std::string attn = std::string("attention_") + (kt == GgmlType::F16 ? "f16" : "f32") + (h ? "_h" : "") +
                                     (features_of(*vb).subgroup ? "" : "_nosg");
            const uint64_t attn_before = uses(*vb, attn);
            // store in two batches (cells 0..40, 41..69) into layer 1
            vb->kv_store(*kvv, 1, K.v.t.row_range(0, 41), V.v.t.row_range(0, 41), P.v.t);
            rb->kv_store(*kvr, 1, K.r.t.row_range(0, 41), V.r.t.row_range(0, 41), P.r.t);
            Tensor pv2 = P.v.t, pr2 = P.r.t;
            pv2.offset += 41 * 4; pr2.offset += 41 * 4; pv2.cols = pr2.cols = n_tok - 41;
            vb->kv_store(*kvv, 1, K.v.t.row_range(41, n_tok - 41), V.v.t.row_range(41, n_tok - 41), pv2);
            rb->kv_store(*kvr, 1, K.r.t.row_range(41, n_tok - 41), V.r.t.row_range(41, n_tok - 41), pr2);
            vb->attention(Q.v.t, *kvv, 1, P.v.t, n_tok, scale, O.v.t);
            rb->attention(Q.r.t, *kvr, 1, P.r.t, n_tok, scale, O.r.t);
            expect_close(*vb, *rb, O, tol, "attention prefill " + s);
            EXPECT_GT(uses(*vb, attn), attn_before) << attn << " did not run";

            // decode: one query at position 69
            Tensor q1v = Q.v.t.row_range(n_tok - 1, 1), q1r = Q.r.t.row_range(n_tok - 1, 1);
            Tensor p1v = P.v.t, p1r = P.r.t;
            p1v.offset += (n_tok - 1) * 4; p1r.offset += (n_tok - 1) * 4; p1v.cols = p1r.cols = 1;
            TwinTensor O1 = twin(*vb, *rb, GgmlType::F32, 1, n_head * head_dim, nullptr);
            vb->attention(q1v, *kvv, 1, p1v, n_tok, scale, O1.v.t);
            rb->attention(q1r, *kvr, 1, p1r, n_tok, scale, O1.r.t);
            expect_close(*vb, *rb, O1, tol, "attention decode " + s);

            // context shift: keep 4, discard 10 of 70 cells, keys re-rotated (NeoX, YaRN)
            RopeParams rp;
            rp.mode = RopeMode::NeoX; rp.head_dim = head_dim; rp.n_dims = head_dim; rp.freq_base = 1e6f;
            rp.ext_factor = 1.0f; rp.freq_scale = 0.5f; rp.n_ctx_orig = 2048;
            rp.attn_factor = 1.1547f;  // as a LongRoPE file's: the re-rotation must stay a pure rotation
            vb->kv_shift(*kvv, 4, 10, n_tok, rp);
            rb->kv_shift(*kvr, 4, 10, n_tok, rp);
            Tensor qs_v = Q.v.t.row_range(0, 60), qs_r = Q.r.t.row_range(0, 60);
            Tensor ps_v = P.v.t, ps_r = P.r.t;
            ps_v.cols = ps_r.cols = 60;
            TwinTensor O2 = twin(*vb, *rb, GgmlType::F32, 60, n_head * head_dim, nullptr);
            vb->attention(qs_v, *kvv, 1, ps_v, 60, scale, O2.v.t);
            rb->attention(qs_r, *kvr, 1, ps_r, 60, scale, O2.r.t);
            expect_close(*vb, *rb, O2, kt == GgmlType::F16 ? 2e-3 : 5e-5, "attention after kv_shift " + s);

            // kv_copy of the first 45 cells (one full block + a partial one) into a fresh cache
            auto kv2v = vb->create_kv_cache(d);
            auto kv2r = rb->create_kv_cache(d);
            ASSERT_TRUE(kv2v.ok());
            vb->kv_copy(*kvv, **kv2v, 45);
            rb->kv_copy(*kvr, **kv2r, 45);
            Tensor pc_v = P.v.t, pc_r = P.r.t;
            pc_v.cols = pc_r.cols = 45;
            TwinTensor O3 = twin(*vb, *rb, GgmlType::F32, 45, n_head * head_dim, nullptr);
            vb->attention(Q.v.t.row_range(0, 45), **kv2v, 1, pc_v, 45, scale, O3.v.t);
            rb->attention(Q.r.t.row_range(0, 45), **kv2r, 1, pc_r, 45, scale, O3.r.t);
            expect_close(*vb, *rb, O3, kt == GgmlType::F16 ? 2e-3 : 5e-5, "attention after kv_copy " + s);
            Status st = vb->synchronize();
            EXPECT_TRUE(st.ok()) << st.message();
        }
    }
}

// Split-K ("flash-decoding") attention for generation: with at most 4 query tokens and a cache
// longer than one chunk, the cells are split over workgroups and a merge pass combines them. With
// HEARTH_VULKAN_ATTN_CHUNK=32 the split boundaries fall on the KV block boundaries, so n_kv = 1,
// 31, 32, 33 (one cell past a split), 64, 65 and a few hundred cover an empty / partial / exactly
// full last split; the default chunk (128 cells for this n_ctx) is checked at a few hundred too.
// Decode (1 query) and a 3-token batch, F16 and F32 caches, GQA; same tolerances as above.
TEST_P(VulkanOps, SplitAttentionAtCellBoundaries) {
#ifndef HEARTH_HAVE_VULKAN
    GTEST_SKIP() << "the Vulkan backend is not built into this binary";
#else
    auto rb = create_reference_backend();
    for (const char* chunk : {"32", ""}) {
        std::string why;
        auto vbp = backend_with({{"HEARTH_VULKAN_MASK_FEATURES", mask()}, {"HEARTH_VULKAN_ATTN_CHUNK", chunk}}, &why);
        if (!vbp) GTEST_SKIP() << why;
        Backend* vb = vbp.get();
        const bool sg = features_of(*vb).subgroup;
        for (GgmlType kt : {GgmlType::F16, GgmlType::F32}) {
            const int head_dim = 64, n_kv_head = 2, n_head = 4, n_ctx = 400;
            KvCacheDesc d;
            d.n_layer = 1; d.n_kv_head = n_kv_head; d.head_dim = head_dim; d.n_ctx = n_ctx; d.type = kt;
            KvTwin kt2 = make_kv_twin(*vb, *rb, d, n_head, n_ctx, kt == GgmlType::F16 ? 21 : 22);
            ASSERT_TRUE(kt2.v && kt2.r);
            auto& kvv = kt2.v;
            auto& kvr = kt2.r;
            TwinTensor &K = kt2.K, &V = kt2.V, &Q = kt2.Q, &P = kt2.P;
            vb->kv_store(*kvv, 0, K.v.t, V.v.t, P.v.t);
            rb->kv_store(*kvr, 0, K.r.t, V.r.t, P.r.t);
            const bool h = kt == GgmlType::F16 && features_of(*vb).fp16;
            const double tol = h ? 2e-3 : 2e-5;  // as KvCacheAttentionShiftCopy
            const std::string split = std::string("attention_") + (kt == GgmlType::F16 ? "f16" : "f32") + (h ? "_h" : "") + "_split" +
                                      (sg ? "" : "_nosg");
            const uint64_t split_before = uses(*vb, split), merge_before = uses(*vb, "attention_merge");
            const std::vector<int> n_kvs = *chunk ? std::vector<int>{1, 31, 32, 33, 64, 65, 300, 400} : std::vector<int>{1, 129, 300};
            for (int n_kv : n_kvs) {
                for (int nq : {1, 3}) {
                    if (nq > n_kv) continue;
                    const int first = n_kv - nq;  // queries at positions first .. n_kv-1
                    Tensor qv = Q.v.t.row_range(first, nq), qr = Q.r.t.row_range(first, nq);
                    Tensor pv = P.v.t, pr = P.r.t;
                    pv.offset += size_t(first) * 4; pr.offset += size_t(first) * 4; pv.cols = pr.cols = nq;
                    TwinTensor O = twin(*vb, *rb, GgmlType::F32, nq, n_head * head_dim, nullptr);
                    vb->attention(qv, *kvv, 0, pv, n_kv, 0.125f, O.v.t);
                    rb->attention(qr, *kvr, 0, pr, n_kv, 0.125f, O.r.t);
                    expect_close(*vb, *rb, O, tol, split + " chunk '" + chunk + "' n_kv " + std::to_string(n_kv) + " queries " + std::to_string(nq));
                }
            }
            EXPECT_GT(uses(*vb, split), split_before) << split << " did not run";
            EXPECT_GT(uses(*vb, "attention_merge"), merge_before);
        }
        Status st = vb->synchronize();
        EXPECT_TRUE(st.ok()) << st.message();
    }
#endif
}

// The ops of issue #13 and supports_op's table (tests/engine/backend_op_checks.h), under each mask:
// gelu_mul / scale (eltwise.comp), rms_norm over per-head views, sliding-window attention in the
// one-pass, split (<= 4 queries over more than one chunk) and merge shaders, F16 and F32 caches.
TEST_P(VulkanOps, GeluMulScaleHeadNormSlidingWindowAndClaims) {
    HEARTH_REQUIRE_VULKAN(vb, mask());
    auto rb = create_reference_backend();
    opcheck::Twin tw{*vb, *rb, {}};
    opcheck::check_gelu_mul_and_scale(tw);
    opcheck::check_rms_norm_head_views(tw);
    const std::string sg = features_of(*vb).subgroup ? "" : "_nosg";
    const std::string h = features_of(*vb).fp16 ? "_h" : "";
    const std::string one_f16 = "attention_f16" + h + sg, split_f16 = "attention_f16" + h + "_split" + sg;
    const std::string one_f32 = "attention_f32" + sg, split_f32 = "attention_f32_split" + sg;
    const uint64_t before[4] = {uses(*vb, one_f16), uses(*vb, split_f16), uses(*vb, one_f32), uses(*vb, split_f32)};
    // as KvCacheAttentionShiftCopy: F16 K/V math (q and p rounded to F16) where the device has it
    opcheck::check_sliding_window_attention(tw, GgmlType::F16, features_of(*vb).fp16 ? 2e-3 : 5e-5);
    opcheck::check_sliding_window_attention(tw, GgmlType::F32, 5e-5);
    // both the one-pass shader (prompt batches) and the split one (<= 4 queries) ran, for each cache type
    EXPECT_GT(uses(*vb, one_f16), before[0]) << one_f16;
    EXPECT_GT(uses(*vb, split_f16), before[1]) << split_f16;
    EXPECT_GT(uses(*vb, one_f32), before[2]) << one_f32;
    EXPECT_GT(uses(*vb, split_f32), before[3]) << split_f32;
    opcheck::check_supports_op_claims(tw);
#ifdef HEARTH_HAVE_VULKAN
    // With 32-cell chunks the window's own splits start mid-block (they count from its first cell)
    // and window 32 and 512 split too: the same checks and tolerances.
    std::string why;
    auto vb32 = backend_with({{"HEARTH_VULKAN_MASK_FEATURES", mask()}, {"HEARTH_VULKAN_ATTN_CHUNK", "32"}}, &why);
    ASSERT_TRUE(vb32) << why;
    opcheck::Twin tw32{*vb32, *rb, {}};
    opcheck::check_sliding_window_attention(tw32, GgmlType::F16, features_of(*vb32).fp16 ? 2e-3 : 5e-5);
    opcheck::check_sliding_window_attention(tw32, GgmlType::F32, 5e-5);
#endif
}

// The diffusion ops at the shapes the op checks do not reach: conv2d over more pixels than one
// band of im2col.comp's scratch (a 64 KiB binding limit makes 16x12 pixels of 48 channels take
// several bands, the last partial), attention_qkv with SD 1.5's largest heads (8 x 160) over more
// than one 256-key tile (causal, 300 rows) and over CLIP's 77 rows, and group / layer norm over
// rows of the UNet's widths. Tolerances as backend_op_checks.h has them for the same ops.
TEST_P(VulkanOps, DiffusionOpsInBandsAndAtUNetShapes) {
    HEARTH_REQUIRE_VULKAN(vb, mask());
    auto rb = create_reference_backend();
    opcheck::Twin tw{*vb, *rb, {}};
    for (bool causal : {true, false}) {
        const int64_t nq = causal ? 300 : 70, n_kv = causal ? nq : 77, c = 8 * 160;
        auto Q = tw.f32(nq, c, opcheck::randn(size_t(nq * c), 21, 0.3f));
        auto K = tw.f32(n_kv, c, opcheck::randn(size_t(n_kv * c), 22, 0.3f)), V = tw.f32(n_kv, c, opcheck::randn(size_t(n_kv * c), 23));
        auto O = tw.f32(nq, c, std::vector<float>(size_t(nq * c), 0.0f));
        tw.be.attention_qkv(Q.b, K.b, V.b, 8, 1.0f / std::sqrt(160.0f), causal, O.b);
        tw.ref.attention_qkv(Q.r, K.r, V.r, 8, 1.0f / std::sqrt(160.0f), causal, O.r);
        EXPECT_LE(tw.abs_err(O), 1e-4) << (causal ? "attention_qkv causal" : "attention_qkv cross");
    }
    for (int64_t ch : {64, 320}) {  // 2 and 10 channels per group, 400 pixels
        auto X = tw.f32(400, ch, opcheck::randn(size_t(400 * ch), 24, 3.0f)), G = tw.f32(1, ch, opcheck::randn(size_t(ch), 25));
        auto B = tw.f32(1, ch, opcheck::randn(size_t(ch), 26));
        auto Y = tw.f32(400, ch, std::vector<float>(size_t(400 * ch), 0.0f));
        tw.be.group_norm(X.b, 32, G.b, B.b, 1e-5f, Y.b);
        tw.ref.group_norm(X.r, 32, G.r, B.r, 1e-5f, Y.r);
        EXPECT_LE(tw.rel_err(Y), 2e-5) << "group_norm " << ch;
        tw.be.layer_norm(X.b, G.b, B.b, 1e-5f, X.b);  // in place, as the transformer blocks call it
        tw.ref.layer_norm(X.r, G.r, B.r, 1e-5f, X.r);
        EXPECT_LE(tw.rel_err(X), 2e-5) << "layer_norm " << ch;
    }
#ifdef HEARTH_HAVE_VULKAN
    std::string why;
    auto small = backend_with({{"HEARTH_VULKAN_MASK_FEATURES", mask()}, {"HEARTH_VULKAN_MAX_BINDING", std::to_string(64 << 10)}}, &why);
    ASSERT_TRUE(small) << why;
    opcheck::Twin ts{*small, *rb, {}};
    for (GgmlType wt : {GgmlType::F32, GgmlType::F16})
        for (Conv2dGeometry g : {Conv2dGeometry{16, 12, 3, 1, 1}, Conv2dGeometry{16, 12, 3, 2, 1}}) {
            const int64_t cin = 48, cout = 24, kc = 9 * cin, n_in = int64_t(g.height) * g.width;
            const auto wf = opcheck::randn(size_t(cout * kc), 27, 0.1f);
            std::vector<uint8_t> wbytes(row_bytes(wt, kc) * size_t(cout));
            for (int64_t r = 0; r < cout; ++r)
                ASSERT_TRUE(quantize_row(wt, wf.data() + r * kc, wbytes.data() + size_t(r) * row_bytes(wt, kc), kc).ok());
            auto W = ts.put(wt, cout, kc, wbytes.data());
            auto X = ts.f32(n_in, cin, opcheck::randn(size_t(n_in * cin), 28)), Bi = ts.f32(1, cout, opcheck::randn(size_t(cout), 29));
            const int64_t n_out = int64_t(g.out_height()) * g.out_width();
            auto Y = ts.f32(n_out, cout, std::vector<float>(size_t(n_out * cout), 0.0f));
            const uint64_t bands = uses(*small, "im2col");
            ts.be.conv2d(X.b, W.b, &Bi.b, g, Y.b);
            ts.ref.conv2d(X.r, W.r, &Bi.r, g, Y.r);
            // 1728 bytes per unrolled pixel: under 38 pixels per band of a 64 KiB window
            EXPECT_GE(uses(*small, "im2col") - bands, uint64_t((n_out + 37) / 38)) << "conv2d ran in bands";
            EXPECT_LE(ts.rel_err(Y), wt == GgmlType::F32 ? 2e-5 : 5e-3) << "conv2d " << type_name(wt) << " s" << g.stride;
        }
    const Status st = small->synchronize();
    EXPECT_TRUE(st.ok()) << st.message();
#endif
    const Status s = vb->synchronize();
    EXPECT_TRUE(s.ok()) << s.message();
}

INSTANTIATE_TEST_SUITE_P(Features, VulkanOps, ::testing::Values(0, 1, 2), [](const auto& info) {
    return std::string(info.param == 0 ? "AllFeatures" : info.param == 1 ? "NoIntDot" : "Masked");
});

}  // namespace
