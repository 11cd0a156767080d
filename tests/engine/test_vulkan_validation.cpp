// One run of every Vulkan op kind (all shader families, copies, fills, KV cache ops, a replayed
// command buffer; with lavapipe's features the integer-dot matvec, F16 matmul tiles, F16 K/V
// attention math, split attention, and on a second device the 8-bit storage matvec) with the Khronos validation layer enabled (HEARTH_VULKAN_VALIDATION=1, set
// before this process creates its Vulkan instance), capturing its messages with a debug-utils
// messenger: the run must produce zero validation errors or warnings. Skips with the reason when
// there is no Vulkan device or the layer (Debian: vulkan-validationlayers) is not installed.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "tests/engine/vulkan_test_util.h"
#ifdef HEARTH_HAVE_VULKAN
#include "engine/backend/vulkan/vk_instance.h"
#endif

using namespace hearth;
using namespace hearth::vktest;

TEST(VulkanValidation, EveryOpKindWithoutValidationMessages) {
#ifndef HEARTH_HAVE_VULKAN
    GTEST_SKIP() << "the Vulkan backend is not built into this binary";
#else
    setenv("HEARTH_VULKAN_VALIDATION", "1", 1);
    HEARTH_REQUIRE_VULKAN(vb, "");
    if (!vk::validation_enabled()) GTEST_SKIP() << "VK_LAYER_KHRONOS_validation is not installed (Debian: vulkan-validationlayers)";
    std::mt19937 rng(2);
    for (GgmlType t : {GgmlType::Q4_K, GgmlType::F16}) {
        const int64_t rows = 40, cols = 256;
        auto w = random_weights(t, rows, cols, rng);
        DevTensor W = upload(*vb, t, rows, cols, w.data());
        auto x = random_f32(size_t(6 * cols), rng);
        DevTensor X = upload(*vb, GgmlType::F32, 6, cols, x.data());
        DevTensor Y = upload(*vb, GgmlType::F32, 6, rows, nullptr);
        vb->matmul(W.t, X.t.row_range(0, 1), Y.t.row_range(0, 1));  // matrix-vector
        vb->matmul(W.t, X.t, Y.t);                                   // tiled
        std::vector<int32_t> ids = {3, 0};
        DevTensor I = upload(*vb, GgmlType::I32, 1, 2, ids.data());
        DevTensor E = upload(*vb, GgmlType::F32, 2, cols, nullptr);
        vb->get_rows(W.t, I.t, E.t);
        vb->rms_norm(X.t, X.t.row_range(0, 1), 1e-5f, X.t);
        vb->softmax_rows(Y.t);
        vb->silu_mul(X.t, X.t, X.t);
        vb->add(X.t, X.t, X.t);
        vb->scale_add(X.t, X.t, 0.5f);
        vb->copy(E.t, X.t.row_range(0, 2));
        ASSERT_TRUE(vb->synchronize().ok());
    }
    KvCacheDesc d;
    d.n_layer = 1; d.n_kv_head = 2; d.head_dim = 64; d.n_ctx = 64;
    auto kv = vb->create_kv_cache(d);
    auto kv2 = vb->create_kv_cache(d);
    ASSERT_TRUE(kv.ok() && kv2.ok());
    std::vector<int32_t> pos(40);
    std::iota(pos.begin(), pos.end(), 0);
    auto k = random_f32(40 * 128, rng), q = random_f32(40 * 256, rng);
    DevTensor K = upload(*vb, GgmlType::F32, 40, 128, k.data());
    DevTensor Q = upload(*vb, GgmlType::F32, 40, 256, q.data());
    DevTensor P = upload(*vb, GgmlType::I32, 1, 40, pos.data());
    DevTensor O = upload(*vb, GgmlType::F32, 40, 256, nullptr);
    RopeParams rp;
    rp.head_dim = 64; rp.n_dims = 64;
    vb->rope(Q.t, P.t, rp);
    vb->kv_store(**kv, 0, K.t, K.t, P.t);
    vb->attention(Q.t, **kv, 0, P.t, 40, 0.125f, O.t);
    vb->kv_shift(**kv, 2, 5, 40, rp);
    vb->kv_copy(**kv, **kv2, 35);
    ASSERT_TRUE(vb->synchronize().ok());
    for (int token = 0; token < 3; ++token) {  // replayed command buffer
        ASSERT_TRUE(vb->upload(P.t.row_range(0, 1), pos.data() + token).ok());
        vb->attention(Q.t.row_range(0, 1), **kv2, 0, P.t, 35, 0.125f, O.t.row_range(0, 1));
        std::vector<float> o(256);
        ASSERT_TRUE(vb->download(O.t.row_range(0, 1), o.data()).ok());
    }
    // split attention (a long cache: several 128-cell chunks), and the 8-bit storage matvec variant
    KvCacheDesc dl = d;
    dl.n_ctx = 512;
    auto kvl = vb->create_kv_cache(dl);
    ASSERT_TRUE(kvl.ok());
    vb->kv_store(**kvl, 0, K.t, K.t, P.t);
    vb->attention(Q.t.row_range(39, 1), **kvl, 0, P.t.row_range(0, 1), 40, 0.125f, O.t.row_range(0, 1));
    ASSERT_TRUE(vb->synchronize().ok());
    EXPECT_GT(vk::shader_uses(*vb, "attention_merge"), 0u);
    {
        std::string why;
        auto v8 = backend_with({{"HEARTH_VULKAN_MASK_FEATURES", "dot"}}, &why);
        ASSERT_TRUE(v8) << why;
        auto w = random_weights(GgmlType::Q6_K, 8, 256, rng);
        auto x = random_f32(256, rng);
        DevTensor W = upload(*v8, GgmlType::Q6_K, 8, 256, w.data());
        DevTensor X = upload(*v8, GgmlType::F32, 1, 256, x.data());
        DevTensor Y = upload(*v8, GgmlType::F32, 1, 8, nullptr);
        v8->matmul(W.t, X.t, Y.t);
        ASSERT_TRUE(v8->synchronize().ok());
    }
    {  // the diffusion models' ops: every shader of theirs once (im2col + matmul, group_norm's two passes)
        auto x = random_f32(size_t(20 * 48), rng), w = random_f32(size_t(16 * 9 * 48), rng);
        DevTensor X = upload(*vb, GgmlType::F32, 20, 48, x.data());
        DevTensor W = upload(*vb, GgmlType::F32, 16, 9 * 48, w.data());
        DevTensor G = upload(*vb, GgmlType::F32, 1, 48, x.data());
        DevTensor Y = upload(*vb, GgmlType::F32, 20, 16, nullptr);
        DevTensor U = upload(*vb, GgmlType::F32, 80, 48, nullptr);
        DevTensor C = upload(*vb, GgmlType::F32, 20, 96, nullptr), A = upload(*vb, GgmlType::F32, 20, 96, nullptr);
        vb->conv2d(X.t, W.t, nullptr, Conv2dGeometry{4, 5, 3, 1, 1}, Y.t);
        vb->group_norm(X.t, 8, G.t, G.t, 1e-5f, X.t);
        vb->layer_norm(X.t, G.t, G.t, 1e-5f, X.t);
        vb->activate(X.t, Activation::Gelu);
        vb->mul(X.t, X.t, X.t);
        vb->concat_cols(X.t, X.t, C.t);
        vb->upsample_nearest(X.t, 4, 5, 8, 10, U.t);
        vb->attention_qkv(C.t, C.t, C.t, 2, 0.2f, true, A.t);
        ASSERT_TRUE(vb->synchronize().ok());
    }
    const auto msgs = vk::validation_messages();
    EXPECT_TRUE(msgs.empty()) << msgs.size() << " validation messages, first: " << (msgs.empty() ? "" : msgs.front());
    std::printf("[ validation ] %zu validation messages\n", msgs.size());
#endif
}
