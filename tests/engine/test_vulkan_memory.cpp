// Vulkan memory paths: a tensor larger than maxStorageBufferRange (128 MiB on lavapipe) split over
// binding windows; buffers split into overlapping segments (forced small with the test switches
// HEARTH_VULKAN_MAX_SEGMENT / HEARTH_VULKAN_MAX_BINDING); out-of-memory as a clear error
// (HEARTH_VULKAN_MAX_MEMORY); and command-buffer replay for a repeated per-token sequence.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/engine/vulkan_test_util.h"

using namespace hearth;
using namespace hearth::vktest;

namespace {

// y = W x checked row by row against a double dot of the dequantized weights and x as the backend
// sees it (x_as_seen: 8-bit blocks for the 8-bit matrix-vector variants). Tolerance: F32 arithmetic
// 1e-4 * sum |w x| + 1e-5 (as test_vulkan_ops.cpp), F16 tiles (f16 = true) 2e-3 * sum |w x| + 1e-4,
// 8-bit activations + one flipped rounding max |w_i| * d_i.
void check_rows(Backend& b, GgmlType t, const std::vector<float>& wd, const std::vector<float>& x_in, const std::vector<float>& y,
                int64_t rows, int64_t cols, int64_t n, const char* what) {
    std::vector<float> dx;
    const std::vector<float> x = x_as_seen(b, t, n, x_in, dx);
#ifdef HEARTH_HAVE_VULKAN
    const bool f16 = n > 4 && t != GgmlType::F32 && vk::enabled(b).fp16;
#else
    const bool f16 = false;
#endif
    int bad = 0;
    for (int64_t tok = 0; tok < n; ++tok)
        for (int64_t r = 0; r < rows && bad < 5; ++r) {
            double e = 0, mag = 0, flip = 0;
            for (int64_t c = 0; c < cols; ++c) {
                const double w = wd[size_t(r * cols + c)];
                const double p = w * x[size_t(tok * cols + c)];
                e += p;
                mag += std::fabs(p);
                flip = std::max(flip, std::fabs(w) * dx[size_t(tok * cols + c)]);
            }
            const double tol = f16 ? 2e-3 * mag + 1e-4 : 1e-4 * mag + 1e-5 + 1.01 * flip;
            if (!(std::fabs(y[size_t(tok * rows + r)] - e) <= tol)) {
                ++bad;
                ADD_FAILURE() << what << ": y[" << tok << "][" << r << "] = " << y[size_t(tok * rows + r)] << ", expected " << e;
            }
        }
}

// 33000 x 2048 F16 = 135.2 MB > 134,217,728 bytes (lavapipe's maxStorageBufferRange): matvec and
// embedding lookup must split it over binding windows.
TEST(VulkanMemory, TensorLargerThanBindingRange) {
    HEARTH_REQUIRE_VULKAN(vb, "");
    const int64_t rows = 33000, cols = 2048;
    std::mt19937 rng(3);
    auto w = random_weights(GgmlType::F16, rows, cols, rng);
    ASSERT_GT(w.size(), size_t(134217728));
    auto x = random_f32(size_t(cols), rng);
    auto buf = vb->import_host(w.data(), w.size());
    ASSERT_TRUE(buf.ok()) << buf.message();
    Tensor W = make_tensor(buf->get(), 0, GgmlType::F16, rows, cols);
    DevTensor X = upload(*vb, GgmlType::F32, 1, cols, x.data());
    DevTensor Y = upload(*vb, GgmlType::F32, 1, rows, nullptr);
    vb->matmul(W, X.t, Y.t);
    auto y = download(*vb, Y.t);
    auto wd = dequant(GgmlType::F16, w, rows, cols);
    w.clear();
    w.shrink_to_fit();
    check_rows(*vb, GgmlType::F16, wd, x, y, rows, cols, 1, "F16 135 MB matvec");

    const std::vector<int32_t> ids = {0, 16383, 32999, 30000, 1};
    DevTensor I = upload(*vb, GgmlType::I32, 1, int64_t(ids.size()), ids.data());
    DevTensor O = upload(*vb, GgmlType::F32, int64_t(ids.size()), cols, nullptr);
    vb->get_rows(W, I.t, O.t);
    auto o = download(*vb, O.t);
    for (size_t i = 0; i < ids.size(); ++i)
        for (int64_t c = 0; c < cols; c += 97) ASSERT_EQ(o[i * size_t(cols) + size_t(c)], wd[size_t(ids[i]) * size_t(cols) + size_t(c)]);
}

// Buffers split into 4 MiB segments (overlapping by 1 MiB) and 1 MiB binding windows: a 4.5 MB
// Q8_0 weight at an odd offset is read correctly by matvec, the tiled matmul and get_rows.
TEST(VulkanMemory, SegmentedBuffersAndSmallWindows) {
#ifndef HEARTH_HAVE_VULKAN
    GTEST_SKIP() << "the Vulkan backend is not built into this binary";
#else
    std::string why;
    auto vb = backend_with({{"HEARTH_VULKAN_MAX_SEGMENT", std::to_string(4 << 20)}, {"HEARTH_VULKAN_MAX_BINDING", std::to_string(1 << 20)}}, &why);
    if (!vb) GTEST_SKIP() << why;
    const int64_t rows = 4100, cols = 1024;
    std::mt19937 rng(9);
    auto w = random_weights(GgmlType::Q8_0, rows, cols, rng);
    std::vector<uint8_t> padded(w.size() + 96);
    std::memcpy(padded.data() + 96, w.data(), w.size());  // tensor at offset 96 inside the buffer
    auto buf = vb->import_host(padded.data(), padded.size());
    ASSERT_TRUE(buf.ok()) << buf.message();
    Tensor W = make_tensor(buf->get(), 96, GgmlType::Q8_0, rows, cols);
    auto wd = dequant(GgmlType::Q8_0, w, rows, cols);
    for (int64_t n : {2, 9}) {
        auto x = random_f32(size_t(n * cols), rng);
        DevTensor X = upload(*vb, GgmlType::F32, n, cols, x.data());
        DevTensor Y = upload(*vb, GgmlType::F32, n, rows, nullptr);
        vb->matmul(W, X.t, Y.t);
        auto y = download(*vb, Y.t);
        check_rows(*vb, GgmlType::Q8_0, wd, x, y, rows, cols, n, n == 2 ? "segmented matvec" : "segmented tiled matmul");
    }
    const std::vector<int32_t> ids = {4099, 0, 2000, 3500};
    DevTensor I = upload(*vb, GgmlType::I32, 1, int64_t(ids.size()), ids.data());
    DevTensor O = upload(*vb, GgmlType::F32, int64_t(ids.size()), cols, nullptr);
    vb->get_rows(W, I.t, O.t);
    auto o = download(*vb, O.t);
    for (size_t i = 0; i < ids.size(); ++i)
        for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(o[i * size_t(cols) + size_t(c)], wd[size_t(ids[i]) * size_t(cols) + size_t(c)]);
    // a download spanning segment boundaries
    std::vector<uint8_t> back(padded.size());
    Tensor all = make_tensor(buf->get(), 0, GgmlType::I8, 1, int64_t(padded.size()));
    all.row_stride = padded.size();
    ASSERT_TRUE(vb->download(all, back.data()).ok());
    EXPECT_EQ(back, padded);
#endif
}

TEST(VulkanMemory, OutOfDeviceMemoryIsAClearError) {
#ifndef HEARTH_HAVE_VULKAN
    GTEST_SKIP() << "the Vulkan backend is not built into this binary";
#else
    std::string why;
    auto vb = backend_with({{"HEARTH_VULKAN_MAX_MEMORY", std::to_string(8 << 20)}}, &why);
    if (!vb) GTEST_SKIP() << why;
    auto small = vb->alloc(1 << 20, BufferUsage::Activations);
    EXPECT_TRUE(small.ok()) << small.message();
    auto big = vb->alloc(16 << 20, BufferUsage::Weights);
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.message().find("out of device memory"), std::string::npos) << big.message();
    std::vector<uint8_t> data(12 << 20);
    auto imp = vb->import_host(data.data(), data.size());
    ASSERT_FALSE(imp.ok());
    KvCacheDesc d;
    d.n_layer = 4; d.n_kv_head = 8; d.head_dim = 128; d.n_ctx = 2048;  // 4 x 2 x 4 MiB
    auto kv = vb->create_kv_cache(d);
    ASSERT_FALSE(kv.ok());
    EXPECT_NE(kv.message().find("out of device memory"), std::string::npos) << kv.message();
    // after the failures the backend still works
    std::vector<float> v = {1, 2, 3, 4};
    DevTensor A = upload(*vb, GgmlType::F32, 1, 4, v.data());
    vb->scale_add(A.t, A.t, 1.0f);
    EXPECT_EQ(download(*vb, A.t), (std::vector<float>{2, 4, 6, 8}));
#endif
}

// The same op sequence per token (new values uploaded into the same buffers) is recorded once and
// replayed: one submission per token, results still follow the new inputs.
TEST(VulkanMemory, CommandBufferReplayPerToken) {
#ifndef HEARTH_HAVE_VULKAN
    GTEST_SKIP() << "the Vulkan backend is not built into this binary";
#else
    std::string why;
    auto vb = backend_with({}, &why);
    if (!vb) GTEST_SKIP() << why;
    const int64_t rows = 50, cols = 64;
    std::mt19937 rng(1);
    auto w = random_weights(GgmlType::Q4_0, rows, cols, rng);
    auto wd = dequant(GgmlType::Q4_0, w, rows, cols);
    DevTensor W = upload(*vb, GgmlType::Q4_0, rows, cols, w.data());
    DevTensor X = upload(*vb, GgmlType::F32, 1, cols, nullptr);
    DevTensor Y = upload(*vb, GgmlType::F32, 1, rows, nullptr);
    ASSERT_TRUE(vb->synchronize().ok());
    const auto before = vk::stats(*vb);
    for (int token = 0; token < 4; ++token) {
        auto x = random_f32(size_t(cols), rng);
        ASSERT_TRUE(vb->upload(X.t, x.data()).ok());
        vb->matmul(W.t, X.t, Y.t);
        vb->softmax_rows(Y.t);
        std::vector<float> y(static_cast<size_t>(rows));
        ASSERT_TRUE(vb->download(Y.t, y.data()).ok());
        // softmax(W x) with x as the backend sees it (8-bit blocks for the 8-bit matvec variants:
        // one flipped rounding moves a logit by at most max |w| * d, well under 1% of p here)
        std::vector<float> dx;
        const std::vector<float> xs = x_as_seen(*vb, GgmlType::Q4_0, 1, x, dx);
        std::vector<double> e(static_cast<size_t>(rows));
        double mx = -1e300, sum = 0;
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) e[size_t(r)] += double(wd[size_t(r * cols + c)]) * xs[size_t(c)];
            mx = std::max(mx, e[size_t(r)]);
        }
        for (auto& v : e) sum += (v = std::exp(v - mx));
        for (int64_t r = 0; r < rows; ++r) {
            const double p = e[size_t(r)] / sum;
            ASSERT_NEAR(y[size_t(r)], p, 1e-5 + 0.01 * p) << "token " << token;
        }
    }
    const auto after = vk::stats(*vb);
    EXPECT_EQ(after.submits - before.submits, 4u);
    EXPECT_EQ(after.recordings - before.recordings, 1u);
    EXPECT_EQ(after.replays - before.replays, 3u);
#endif
}

}  // namespace

namespace {

// Ops return void: a bad request is kept and reported by the next synchronize()/download(), with
// a message naming the op, and the backend keeps working afterwards.
TEST(VulkanErrors, BadOpsAreReportedBySynchronize) {
    HEARTH_REQUIRE_VULKAN(vb, "");
    std::mt19937 rng(4);
    auto w = random_weights(GgmlType::Q2_K, 4, 256, rng);
    DevTensor W = upload(*vb, GgmlType::Q2_K, 4, 256, w.data());
    DevTensor X = upload(*vb, GgmlType::F32, 1, 256, random_f32(256, rng).data());
    DevTensor Y = upload(*vb, GgmlType::F32, 1, 4, nullptr);
    vb->matmul(W.t, X.t, Y.t);
    Status st = vb->synchronize();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("Q2_K"), std::string::npos) << st.message();
    EXPECT_TRUE(vb->synchronize().ok());  // the error was reported once; the backend goes on

    KvCacheDesc d;
    d.n_layer = 1; d.n_kv_head = 1; d.head_dim = 512; d.n_ctx = 32;
    auto big_head = vb->create_kv_cache(d);
    ASSERT_FALSE(big_head.ok());
    EXPECT_NE(big_head.message().find("head_dim"), std::string::npos);

    Tensor odd = X.t;
    odd.offset = 2;  // F32 activations must be 4-byte aligned
    vb->softmax_rows(odd);
    st = vb->synchronize();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("softmax"), std::string::npos) << st.message();
}

}  // namespace

namespace {

// Backend::memory_free() is live (the coordinator's automatic layer split sizes N from it): with
// HEARTH_VULKAN_MAX_MEMORY it is the cap minus what Hearth holds, it falls by what each allocation
// takes and rises again when the buffer is freed; DeviceInfo::memory_free (the snapshot taken when
// the backend was created) honours the cap too. Without a cap it is positive and at most the total.
TEST(VulkanMemory, MemoryFreeFollowsAllocationsAndCap) {
#ifndef HEARTH_HAVE_VULKAN
    GTEST_SKIP() << "the Vulkan backend is not built into this binary";
#else
    std::string why;
    const uint64_t cap = uint64_t(64) << 20;
    auto vb = backend_with({{"HEARTH_VULKAN_MAX_MEMORY", std::to_string(cap)}}, &why);
    if (!vb) GTEST_SKIP() << why;
    EXPECT_LE(vb->device().memory_free, cap);
    const uint64_t free0 = vb->memory_free();
    EXPECT_LE(free0, cap);
    EXPECT_EQ(free0, cap - vk::stats(*vb).allocated);
    {
        auto a = vb->alloc(size_t(16) << 20, BufferUsage::Weights);
        ASSERT_TRUE(a.ok()) << a.message();
        const uint64_t held = vk::stats(*vb).allocated;
        EXPECT_GE(free0 - vb->memory_free(), uint64_t(16) << 20);
        EXPECT_EQ(vb->memory_free(), cap - held);
        auto too_big = vb->alloc(size_t(vb->memory_free()) + (1 << 20), BufferUsage::Weights);  // just past what it reports
        EXPECT_FALSE(too_big.ok());
    }
    EXPECT_EQ(vb->memory_free(), free0);  // the buffer went back

    auto plain = backend_with({}, &why);
    ASSERT_TRUE(plain) << why;
    EXPECT_GT(plain->memory_free(), 0u);
    EXPECT_LE(plain->memory_free(), plain->device().memory_total);
    std::printf("[ memory ] %s: total %llu MiB, free %llu MiB (capped backend: %llu MiB)\n", plain->device().name.c_str(),
                (unsigned long long)(plain->device().memory_total >> 20), (unsigned long long)(plain->memory_free() >> 20),
                (unsigned long long)(free0 >> 20));
#endif
}

}  // namespace
