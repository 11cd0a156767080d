// Every Vulkan op against the scalar reference (engine/quant dequantize_row for matmul and
// embedding inputs, the reference backend for RoPE, attention and the KV cache ops), for every
// weight type, with odd shapes (rows, columns and token counts that are not multiples of the
// workgroup or tile sizes; KV cells across 32-cell block boundaries), with the device features on
// and masked off (HEARTH_VULKAN_MASK_FEATURES=fp16,int8,dot,subgroup: the shared-memory reduction
// variants). Runs on lavapipe in CI; skips with the reason when no Vulkan device exists.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "engine/backend/reference/reference_backend.h"
#include "tests/engine/vulkan_test_util.h"

using namespace hearth;
using namespace hearth::vktest;

namespace {

const char* kMasks[] = {"", "fp16,int8,dot,subgroup"};
const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1,
                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

class VulkanOps : public ::testing::TestWithParam<int> {
protected:
    std::string mask() const { return kMasks[GetParam()]; }
};

// y = W x for a weight of type t; tolerance per output: 1e-4 * sum |w x| + 1e-5 (F32 accumulation
// in a different order than the double reference; a layout bug is off by O(sum |w x|)).
void check_matmul(Backend& vb, GgmlType t, int64_t rows, int64_t cols, int64_t n, bool with_bias, uint32_t seed) {
    std::mt19937 rng(seed);
    auto w = random_weights(t, rows, cols, rng);
    auto x = random_f32(size_t(n * cols), rng);
    auto bias = random_f32(size_t(rows), rng);
    auto wd = dequant(t, w, rows, cols);
    DevTensor W = upload(vb, t, rows, cols, w.data());
    DevTensor X = upload(vb, GgmlType::F32, n, cols, x.data());
    DevTensor B = upload(vb, GgmlType::F32, 1, rows, bias.data());
    DevTensor Y = upload(vb, GgmlType::F32, n, rows, nullptr);
    vb.matmul(W.t, X.t, Y.t, with_bias ? &B.t : nullptr);
    auto y = download(vb, Y.t);
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 5; ++i)
        for (int64_t r = 0; r < rows && bad < 5; ++r) {
            double e = with_bias ? bias[size_t(r)] : 0.0, mag = 0;
            for (int64_t c = 0; c < cols; ++c) {
                const double p = double(wd[size_t(r * cols + c)]) * x[size_t(i * cols + c)];
                e += p;
                mag += std::fabs(p);
            }
            const double got = y[size_t(i * rows + r)];
            if (std::fabs(got - e) > 1e-4 * mag + 1e-5) {
                ++bad;
                ADD_FAILURE() << type_name(t) << " rows=" << rows << " cols=" << cols << " n=" << n << ": y[" << i << "][" << r
                              << "] = " << got << ", expected " << e;
            }
        }
}

TEST_P(VulkanOps, MatmulEveryTypeOddShapes) {
    HEARTH_REQUIRE_VULKAN(vb, mask());
    uint32_t seed = 1;
    for (GgmlType t : kTypes) {
        const int qk = traits(t).block_elems;
        const int64_t cols = qk == 1 ? 67 : qk * (qk == 256 ? 2 : 3);  // F32/F16: not a multiple of 8
        // 1..4 tokens: matrix-vector shader (the one masking changes); 5+: tiled (70 crosses a 64-token
        // tile). lavapipe recompiles a shader per distinct set of push constants, so the masked run
        // only repeats the shapes whose shader differs, keeping cold-cache CI time down.
        const bool masked = !mask().empty();
        for (int64_t n : {1, 3, 70}) {
            if (masked && n > 4) continue;
            check_matmul(*vb, t, 37, cols, n, n == 3, seed++);
        }
        if (!masked) check_matmul(*vb, t, 130, cols, 9, true, seed++);  // 130 rows: three 64-row tiles, last partial
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
        TwinTensor X = twin(*vb, *rb, GgmlType::F32, int64_t(pos.size()), n_head * head_dim, x.data());
        RopeParams pv = p, pr = p;
        if (variant == 1 || variant == 4) { pv.freq_factors = &FF.v.t; pr.freq_factors = &FF.r.t; }
        vb->rope(X.v.t, P.v.t, pv);
        rb->rope(X.r.t, P.r.t, pr);
        expect_close(*vb, *rb, X, 1e-4 + 1000 * 4e-7, "rope variant " + std::to_string(variant));
    }
}

// KV store + attention (GQA 4 heads over 2 KV heads), cells across block boundaries, F16 and F32
// caches, prefill and single-token decode; then kv_shift (keys re-rotated) and kv_copy.
TEST_P(VulkanOps, KvCacheAttentionShiftCopy) {
    HEARTH_REQUIRE_VULKAN(vb, mask());
    auto rb = create_reference_backend();
    for (GgmlType kt : {GgmlType::F16, GgmlType::F32}) {
        for (int head_dim : {64, 80}) {
            std::mt19937 rng(uint32_t(head_dim) + (kt == GgmlType::F16 ? 1 : 2));
            const int n_kv_head = 2, n_head = 4, n_tok = 70, n_layer = 2;
            KvCacheDesc d;
            d.n_layer = n_layer; d.n_kv_head = n_kv_head; d.head_dim = head_dim; d.n_ctx = 96; d.type = kt;
            auto kvv = vb->create_kv_cache(d);
            auto kvr = rb->create_kv_cache(d);
            ASSERT_TRUE(kvv.ok()) << kvv.message();
            ASSERT_TRUE(kvr.ok());
            std::vector<int32_t> pos(n_tok);
            std::iota(pos.begin(), pos.end(), 0);
            auto k = random_f32(size_t(n_tok * n_kv_head * head_dim), rng), v = random_f32(size_t(n_tok * n_kv_head * head_dim), rng);
            auto q = random_f32(size_t(n_tok * n_head * head_dim), rng, -2, 2);
            TwinTensor K = twin(*vb, *rb, GgmlType::F32, n_tok, n_kv_head * head_dim, k.data());
            TwinTensor V = twin(*vb, *rb, GgmlType::F32, n_tok, n_kv_head * head_dim, v.data());
            TwinTensor Q = twin(*vb, *rb, GgmlType::F32, n_tok, n_head * head_dim, q.data());
            TwinTensor P = twin(*vb, *rb, GgmlType::I32, 1, n_tok, pos.data());
            TwinTensor O = twin(*vb, *rb, GgmlType::F32, n_tok, n_head * head_dim, nullptr);
            const float scale = 1.0f / std::sqrt(float(head_dim));
            const std::string s = std::string(type_name(kt)) + " head_dim " + std::to_string(head_dim);
            // store in two batches (cells 0..40, 41..69) into layer 1
            vb->kv_store(**kvv, 1, K.v.t.row_range(0, 41), V.v.t.row_range(0, 41), P.v.t);
            rb->kv_store(**kvr, 1, K.r.t.row_range(0, 41), V.r.t.row_range(0, 41), P.r.t);
            Tensor pv2 = P.v.t, pr2 = P.r.t;
            pv2.offset += 41 * 4; pr2.offset += 41 * 4; pv2.cols = pr2.cols = n_tok - 41;
            vb->kv_store(**kvv, 1, K.v.t.row_range(41, n_tok - 41), V.v.t.row_range(41, n_tok - 41), pv2);
            rb->kv_store(**kvr, 1, K.r.t.row_range(41, n_tok - 41), V.r.t.row_range(41, n_tok - 41), pr2);
            vb->attention(Q.v.t, **kvv, 1, P.v.t, n_tok, scale, O.v.t);
            rb->attention(Q.r.t, **kvr, 1, P.r.t, n_tok, scale, O.r.t);
            expect_close(*vb, *rb, O, 2e-5, "attention prefill " + s);

            // decode: one query at position 69
            Tensor q1v = Q.v.t.row_range(n_tok - 1, 1), q1r = Q.r.t.row_range(n_tok - 1, 1);
            Tensor p1v = P.v.t, p1r = P.r.t;
            p1v.offset += (n_tok - 1) * 4; p1r.offset += (n_tok - 1) * 4; p1v.cols = p1r.cols = 1;
            TwinTensor O1 = twin(*vb, *rb, GgmlType::F32, 1, n_head * head_dim, nullptr);
            vb->attention(q1v, **kvv, 1, p1v, n_tok, scale, O1.v.t);
            rb->attention(q1r, **kvr, 1, p1r, n_tok, scale, O1.r.t);
            expect_close(*vb, *rb, O1, 2e-5, "attention decode " + s);

            // context shift: keep 4, discard 10 of 70 cells, keys re-rotated (NeoX, YaRN)
            RopeParams rp;
            rp.mode = RopeMode::NeoX; rp.head_dim = head_dim; rp.n_dims = head_dim; rp.freq_base = 1e6f;
            rp.ext_factor = 1.0f; rp.freq_scale = 0.5f; rp.n_ctx_orig = 2048;
            vb->kv_shift(**kvv, 4, 10, n_tok, rp);
            rb->kv_shift(**kvr, 4, 10, n_tok, rp);
            Tensor qs_v = Q.v.t.row_range(0, 60), qs_r = Q.r.t.row_range(0, 60);
            Tensor ps_v = P.v.t, ps_r = P.r.t;
            ps_v.cols = ps_r.cols = 60;
            TwinTensor O2 = twin(*vb, *rb, GgmlType::F32, 60, n_head * head_dim, nullptr);
            vb->attention(qs_v, **kvv, 1, ps_v, 60, scale, O2.v.t);
            rb->attention(qs_r, **kvr, 1, ps_r, 60, scale, O2.r.t);
            expect_close(*vb, *rb, O2, kt == GgmlType::F16 ? 2e-3 : 5e-5, "attention after kv_shift " + s);

            // kv_copy of the first 45 cells (one full block + a partial one) into a fresh cache
            auto kv2v = vb->create_kv_cache(d);
            auto kv2r = rb->create_kv_cache(d);
            ASSERT_TRUE(kv2v.ok());
            vb->kv_copy(**kvv, **kv2v, 45);
            rb->kv_copy(**kvr, **kv2r, 45);
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

INSTANTIATE_TEST_SUITE_P(Features, VulkanOps, ::testing::Values(0, 1),
                         [](const auto& info) { return info.param == 0 ? std::string("AllFeatures") : std::string("Masked"); });

}  // namespace
