// The CPU backend's ops against the reference backend (engine/backend/reference), at every kernel
// level the CPU has, on odd shapes: matmul through the tile path (few tokens) and the panel/GEMM
// path (many tokens) with bias, norms, RoPE (normal and NeoX), KV store (byte-identical cache
// layout), flash-style attention with GQA, kv_shift/kv_copy and the elementwise ops.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/host/host_buffer.h"
#include "engine/backend/host/host_kv_cache.h"
#include "engine/backend/reference/reference_backend.h"
#include "engine/quant/quant.h"
#include "engine/util/thread_pool.h"
#include "tests/engine/backend_op_checks.h"

using namespace hearth;

namespace {

std::vector<cpu::IsaLevel> levels() {
    std::vector<cpu::IsaLevel> v{cpu::IsaLevel::Scalar};
    if (cpu::cpu_features().has_avx2_set()) v.push_back(cpu::IsaLevel::Avx2);
    if (cpu::cpu_features().has_avx512_set()) v.push_back(cpu::IsaLevel::Avx512);
    return v;
}

struct Dev {
    std::unique_ptr<Backend> be;
    Tensor make(GgmlType type, int64_t rows, int64_t cols, const void* data) {
        const size_t rb = row_bytes(type, cols);
        auto buf = be->alloc(rb * size_t(rows), BufferUsage::Activations);
        EXPECT_TRUE(buf.ok());
        bufs.push_back(*buf);
        Tensor t = make_tensor(bufs.back().get(), 0, type, rows, cols);
        if (data) EXPECT_TRUE(be->upload(t, data).ok());
        return t;
    }
    std::vector<float> get(const Tensor& t) {
        std::vector<float> v(size_t(t.rows * t.cols));
        EXPECT_TRUE(be->download(t, v.data()).ok());
        return v;
    }
    std::vector<BufferPtr> bufs;
};

std::vector<float> randn(size_t n, std::mt19937& rng, float sd = 1.0f) {
    std::normal_distribution<float> nd(0.0f, sd);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

double rms(const std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += double(x) * x;
    return std::sqrt(s / double(v.size()));
}
double rms_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    return std::sqrt(s / double(a.size()));
}
double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
    return m;
}

class MatmulTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(MatmulTest, MatchesReferenceBackend) {
    const GgmlType type = GetParam();
    const bool k_quant = traits(type).block_elems == 256;
    const int64_t k = k_quant ? 768 : 416, rows = 101;  // 101 rows: partial chunks, tiles and GEMM row blocks (32/48)
    std::mt19937 rng(5);
    const std::vector<float> wf = randn(size_t(rows * k), rng, 0.05f);
    std::vector<uint8_t> wq(row_bytes(type, k) * rows);
    if (can_quantize(type)) {
        for (int64_t r = 0; r < rows; ++r) ASSERT_TRUE(quantize_row(type, wf.data() + r * k, wq.data() + r * row_bytes(type, k), k).ok());
    } else {
        // no reference quantizer for this type: random bytes with small positive F16 scales
        for (auto& b : wq) b = uint8_t(rng());
        const TypeTraits& tt = traits(type);
        for (size_t b = 0; b < wq.size() / tt.block_bytes; ++b) {
            uint8_t* blk = wq.data() + b * tt.block_bytes;
            const f16_t d = f32_to_f16(0.003f), m = f32_to_f16(-0.01f);
            const size_t doff = type == GgmlType::Q2_K ? 80 : type == GgmlType::Q3_K ? 108 : 0;
            std::memcpy(blk + doff, &d, 2);
            if (type == GgmlType::Q4_1 || type == GgmlType::Q5_1) std::memcpy(blk + 2, &m, 2);
            if (type == GgmlType::Q2_K) std::memcpy(blk + 82, &d, 2);
        }
    }
    const std::vector<float> bias = randn(size_t(rows), rng);
    Dev ref{create_reference_backend()};
    for (int n : {1, 2, 5, 33}) {
        const std::vector<float> x = randn(size_t(n * k), rng);
        Tensor rw = ref.make(type, rows, k, wq.data()), rx = ref.make(GgmlType::F32, n, k, x.data());
        Tensor ry = ref.make(GgmlType::F32, n, rows, nullptr), rb = ref.make(GgmlType::F32, 1, rows, bias.data());
        ref.be->matmul(rw, rx, ry, &rb);
        const std::vector<float> want = ref.get(ry);
        for (auto isa : levels()) {
            for (int threads : {1, 2, 3}) {
                Dev cpu{create_cpu_backend(BackendOptions{threads}, isa)};
                Tensor w = cpu.make(type, rows, k, wq.data()), xx = cpu.make(GgmlType::F32, n, k, x.data());
                Tensor y = cpu.make(GgmlType::F32, n, rows, nullptr), b = cpu.make(GgmlType::F32, 1, rows, bias.data());
                cpu.be->matmul(w, xx, y, &b);
                const std::vector<float> got = cpu.get(y);
                SCOPED_TRACE(std::string(type_name(type)) + " " + cpu::isa_name(isa) + " n=" + std::to_string(n) +
                             " threads=" + std::to_string(threads));
                // Float weights: F32 activations, only summation order differs -> 1e-5 relative.
                // Quantized weights on SIMD paths: activations rounded to 8 bits (max|x|/127 steps per
                // block) -> about 0.5% of the output rms; 2% bounds it with margin.
                const bool eight_bit = traits(type).quantized && isa != cpu::IsaLevel::Scalar;
                const double tol = (eight_bit ? 0.02 : 1e-5) * rms(want);
                EXPECT_LE(rms_diff(got, want), tol);
                EXPECT_LE(max_diff(got, want), 5 * tol);
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTest,
    ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                      GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                      GgmlType::Q6_K),
    [](const auto& i) { return std::string(type_name(i.param)); });

// Imported (file-like) Q4_0 / Q4_1 / Q8_0 / Q4_K / Q6_K weights are repacked 8 rows at a time at their first matmul; the
// generation and GEMM paths read the repacked rows (37 rows: 32 repacked + a 5-row tail in the file
// layout) and agree with the reference backend. A new buffer at the same address with other
// contents must not reuse the old repacked copy.
class RepackedTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(RepackedTest, MatchesReference) {
    if (!cpu::cpu_features().has_avx2_set()) GTEST_SKIP() << "the repacked layout is an AVX2 path";
    const GgmlType type = GetParam();
    std::mt19937 rng(77);
    const int64_t k = (type == GgmlType::Q4_K || type == GgmlType::Q6_K) ? 512 : 416, rows = 37;
    const size_t rb = row_bytes(type, k);
    std::vector<uint8_t> store(rb * rows);
    Dev ref{create_reference_backend()};
    Dev cpu{create_cpu_backend(BackendOptions{2}, cpu::IsaLevel::Avx2)};
    for (int version = 0; version < 2; ++version) {
        const std::vector<float> wf = randn(size_t(rows * k), rng, 0.05f);
        if (can_quantize(type)) {
            for (int64_t r = 0; r < rows; ++r) ASSERT_TRUE(quantize_row(type, wf.data() + r * k, store.data() + r * rb, k).ok());
        } else {
            // Q4_1 (no reference quantizer): random quants, small F16 scales and offsets per block
            for (auto& b : store) b = uint8_t(rng());
            for (size_t b = 0; b < store.size() / traits(type).block_bytes; ++b) {
                uint8_t* blk = store.data() + b * traits(type).block_bytes;
                const f16_t d = f32_to_f16(0.001f * float(1 + rng() % 5)), m = f32_to_f16(-0.004f * float(rng() % 5));
                std::memcpy(blk, &d, 2);
                std::memcpy(blk + 2, &m, 2);
            }
        }
        auto imported = cpu.be->import_host(store.data(), store.size());  // the same address both times
        ASSERT_TRUE(imported.ok());
        const Tensor w = make_tensor(imported->get(), 0, type, rows, k);
        for (int n : {1, 2, 33}) {
            SCOPED_TRACE("version " + std::to_string(version) + " n=" + std::to_string(n));
            const std::vector<float> x = randn(size_t(n * k), rng);
            Tensor rw = ref.make(type, rows, k, store.data()), rx = ref.make(GgmlType::F32, n, k, x.data());
            Tensor ry = ref.make(GgmlType::F32, n, rows, nullptr);
            ref.be->matmul(rw, rx, ry, nullptr);
            const std::vector<float> want = ref.get(ry);
            Tensor xx = cpu.make(GgmlType::F32, n, k, x.data()), y = cpu.make(GgmlType::F32, n, rows, nullptr);
            cpu.be->matmul(w, xx, y, nullptr);
            const std::vector<float> got = cpu.get(y);
            // 8-bit activations: as MatmulTest (about 0.5% of the output rms, 2% bound)
            EXPECT_LE(rms_diff(got, want), 0.02 * rms(want));
            EXPECT_LE(max_diff(got, want), 0.1 * rms(want));
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Types, RepackedTest, ::testing::Values(GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K),
                         [](const auto& i) { return std::string(type_name(i.param)); });

// The same input feeding several matmuls is converted to 8 bits once. Every op of the interface,
// run between two matmuls with that input as its output (or, for the KV ops, which write no
// activations, simply run in between), must leave the second matmul exactly what a fresh backend
// computes from the input as it now is. The loop walks every Op by name, so an op added to the
// interface is tested here as soon as the CPU backend says it supports it: it then needs a writer
// below, or the test fails.
TEST(CpuBackend, ActivationCacheSeesEveryWriter) {
    if (!cpu::cpu_features().has_avx2_set()) GTEST_SKIP() << "needs the 8-bit activation path (AVX2)";
    std::mt19937 rng(3);
    const int64_t k = 64, rows = 16;  // k = one head of 64: rope and attention write x directly
    const std::vector<float> wf = randn(size_t(rows * k), rng);
    std::vector<uint8_t> wq(row_bytes(GgmlType::Q8_0, k) * rows);
    for (int64_t r = 0; r < rows; ++r) ASSERT_TRUE(quantize_row(GgmlType::Q8_0, wf.data() + r * k, wq.data() + r * row_bytes(GgmlType::Q8_0, k), k).ok());
    const std::vector<float> wsq = randn(size_t(k * k), rng, 0.1f);  // F32 k x k: matmul as a writer
    const std::vector<float> table = randn(size_t(8 * k), rng);
    const std::vector<float> norm_w = randn(size_t(k), rng);

    // Tile path (few tokens) and GEMM path (many: above every kernel's max_toks).
    for (int64_t n : {int64_t(2), int64_t(40)}) {
        const std::vector<float> x0 = randn(size_t(n * k), rng), other = randn(size_t(n * k), rng);
        std::vector<int32_t> pos(static_cast<size_t>(n)), ids(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) { pos[size_t(i)] = int32_t(i + 3); ids[size_t(i)] = int32_t((i * 5 + 1) % 8); }
        RopeParams rp;
        rp.head_dim = k; rp.n_dims = k; rp.n_ctx_orig = 4096;
        int tested = 0;
        for (int i = 0;; ++i) {
            const Op op = Op(i);
            const std::string name = op_name(op);
            if (name == "?") break;  // past the last op
            Dev cpu{create_cpu_backend(BackendOptions{2})};
            if (!cpu.be->supports_op(op, GgmlType::F32)) continue;
            SCOPED_TRACE(name + " n=" + std::to_string(n));
            Tensor w = cpu.make(GgmlType::Q8_0, rows, k, wq.data()), x = cpu.make(GgmlType::F32, n, k, x0.data());
            Tensor o = cpu.make(GgmlType::F32, n, k, other.data());
            Tensor y1 = cpu.make(GgmlType::F32, n, rows, nullptr), y2 = cpu.make(GgmlType::F32, n, rows, nullptr);
            Tensor tp = cpu.make(GgmlType::I32, 1, n, pos.data());
            KvCacheDesc desc;
            desc.n_layer = 1; desc.n_kv_head = 1; desc.head_dim = int(k); desc.n_ctx = 64; desc.type = GgmlType::F32;
            if (op == Op::SlidingWindow) desc.window = {4};
            auto kv = cpu.be->create_kv_cache(desc), kv2 = cpu.be->create_kv_cache(desc);
            ASSERT_TRUE(kv.ok() && kv2.ok());
            cpu.be->kv_store(**kv, 0, o, o, tp);

            cpu.be->matmul(w, x, y1);  // converts x and keeps the conversion
            bool writes_x = true;
            switch (op) {
                case Op::GetRows: {
                    Tensor tt = cpu.make(GgmlType::F32, 8, k, table.data()), ti = cpu.make(GgmlType::I32, 1, n, ids.data());
                    cpu.be->get_rows(tt, ti, x);
                    break;
                }
                case Op::Matmul: {
                    Tensor ws = cpu.make(GgmlType::F32, k, k, wsq.data());
                    cpu.be->matmul(ws, o, x);
                    break;
                }
                case Op::RmsNorm: {
                    Tensor nw = cpu.make(GgmlType::F32, 1, k, norm_w.data());
                    cpu.be->rms_norm(x, nw, 1e-5f, x);
                    break;
                }
                case Op::Rope: cpu.be->rope(x, tp, rp); break;
                case Op::Attention:
                case Op::SlidingWindow: cpu.be->attention(o, **kv, 0, tp, int(pos.back()) + 1, 0.125f, x); break;
                case Op::PagedAttention: {  // one sequence on blocks {1, 0}: a writer of x like attention
                    const std::vector<int32_t> tab = {1, 0}, seq(size_t(n), 0);
                    Tensor tt = cpu.make(GgmlType::I32, 1, 2, tab.data()), ts = cpu.make(GgmlType::I32, 1, n, seq.data());
                    cpu.be->attention_paged(o, **kv, 0, tp, KvTables{tt, ts}, int(pos.back()) + 1, 0.125f, x);
                    break;
                }
                case Op::PagedKvShift: {
                    const std::vector<int32_t> tab = {1, 0};
                    Tensor tt = cpu.make(GgmlType::I32, 1, 2, tab.data());
                    cpu.be->kv_shift_paged(**kv, tt, 1, 2, int(pos.back()) + 1, rp);
                    writes_x = false;
                    break;
                }
                case Op::KvStore: cpu.be->kv_store(**kv, 0, o, x, tp); writes_x = false; break;
                case Op::KvShift: cpu.be->kv_shift(**kv, 1, 2, int(pos.back()) + 1, rp); writes_x = false; break;
                case Op::KvCopy: cpu.be->kv_copy(**kv, **kv2, int(pos.back()) + 1); writes_x = false; break;
                case Op::SiluMul: cpu.be->silu_mul(x, o, x); break;
                case Op::Add: cpu.be->add(x, o, x); break;
                case Op::ScaleAdd: cpu.be->scale_add(x, o, 0.5f); break;
                case Op::SoftmaxRows: cpu.be->softmax_rows(x); break;
                case Op::Copy: cpu.be->copy(o, x); break;
                case Op::SampleTopK: {
                    // The ids land in x's first bytes (an I32 view of the same memory).
                    Tensor ids_out = make_tensor(x.buf, x.offset, GgmlType::I32, 1, n);
                    ASSERT_TRUE(cpu.be->sample_top_k(o, 1, 1.0f, {}, ids_out).ok());
                    break;
                }
                case Op::GeluMul: cpu.be->gelu_mul(x, o, x); break;
                case Op::Scale: cpu.be->scale(x, 0.5f); break;
                case Op::LayerNorm: {
                    Tensor nw = cpu.make(GgmlType::F32, 1, k, norm_w.data()), nb = cpu.make(GgmlType::F32, 1, k, norm_w.data());
                    cpu.be->layer_norm(x, nw, nb, 1e-5f, x);
                    break;
                }
                case Op::Activate: cpu.be->activate(x, Activation::QuickGelu); break;
                case Op::AttentionQkv: cpu.be->attention_qkv(o, o, o, 1, 0.125f, true, x); break;
                case Op::Conv2d: {  // the n rows as an n×1 image, 3×3 over its k channels
                    const std::vector<float> kern = randn(size_t(k * 9 * k), rng, 0.1f);
                    Tensor kw = cpu.make(GgmlType::F32, k, 9 * k, kern.data());
                    cpu.be->conv2d(o, kw, nullptr, Conv2dGeometry{int(n), 1, 3, 1, 1}, x);
                    break;
                }
                case Op::GroupNorm: {
                    Tensor nw = cpu.make(GgmlType::F32, 1, k, norm_w.data());
                    cpu.be->group_norm(x, 8, nw, nw, 1e-6f, x);
                    break;
                }
                case Op::Mul: cpu.be->mul(x, o, x); break;
                case Op::ConcatCols: {  // o's first k/2 columns then its next k/2 (views with o's row stride), into x
                    Tensor left = o, right = o;
                    left.cols = right.cols = k / 2;
                    right.offset += size_t(k / 2) * 4;
                    cpu.be->concat_cols(left, right, x);
                    break;
                }
                case Op::Upsample2x:  // an (n/4)×1 image of o's rows to (n/2)×2 pixels in x (nothing when n < 4)
                    cpu.be->upsample_nearest(o.row_range(0, n / 4), int(n / 4), 1, int(2 * (n / 4)), 2, x.row_range(0, 4 * (n / 4)));
                    writes_x = n >= 4;
                    break;
                case Op::AddRowsScaled: {  // o's rows into x's, in reverse order, weighted
                    std::vector<int32_t> rev(static_cast<size_t>(n));
                    std::vector<float> wt(static_cast<size_t>(n));
                    for (int64_t i = 0; i < n; ++i) { rev[size_t(i)] = int32_t(n - 1 - i); wt[size_t(i)] = 0.25f + 0.1f * float(i); }
                    Tensor ti = cpu.make(GgmlType::I32, 1, n, rev.data()), tw = cpu.make(GgmlType::F32, 1, n, wt.data());
                    cpu.be->add_rows_scaled(x, o, ti, tw);
                    break;
                }
                default: ADD_FAILURE() << "no writer for op " << name << ": add one to this test"; continue;
            }
            const std::vector<float> now = cpu.get(x);
            if (writes_x) EXPECT_NE(now, x0) << "the op did not change the input; the test proves nothing";
            cpu.be->matmul(w, x, y2);

            // A fresh backend (nothing cached) on the same input: the same kernels on the same
            // bytes, so the results must be bit-identical (a stale conversion differs by far more).
            Dev fresh{create_cpu_backend(BackendOptions{2})};
            Tensor fw = fresh.make(GgmlType::Q8_0, rows, k, wq.data()), fx = fresh.make(GgmlType::F32, n, k, now.data());
            Tensor fy = fresh.make(GgmlType::F32, n, rows, nullptr);
            fresh.be->matmul(fw, fx, fy);
            EXPECT_EQ(cpu.get(y2), fresh.get(fy));
            ++tested;
        }
        EXPECT_GE(tested, 14) << "the ops every backend has were not all tested";

        // Writes that are not ops: upload, and the caller writing host memory directly.
        auto fresh_matmul = [&](const std::vector<float>& in) {
            Dev fresh{create_cpu_backend(BackendOptions{2})};
            Tensor fw = fresh.make(GgmlType::Q8_0, rows, k, wq.data()), fx = fresh.make(GgmlType::F32, n, k, in.data());
            Tensor fy = fresh.make(GgmlType::F32, n, rows, nullptr);
            fresh.be->matmul(fw, fx, fy);
            return fresh.get(fy);
        };
        const std::vector<float> third = randn(size_t(n * k), rng);
        Dev cpu{create_cpu_backend(BackendOptions{2})};
        Tensor w = cpu.make(GgmlType::Q8_0, rows, k, wq.data()), x = cpu.make(GgmlType::F32, n, k, x0.data());
        Tensor y = cpu.make(GgmlType::F32, n, rows, nullptr);
        cpu.be->matmul(w, x, y);
        EXPECT_EQ(cpu.get(y), fresh_matmul(x0));
        ASSERT_TRUE(cpu.be->upload(x, other.data()).ok());
        cpu.be->matmul(w, x, y);
        EXPECT_EQ(cpu.get(y), fresh_matmul(other)) << "upload";
        std::memcpy(host_ptr(x), third.data(), third.size() * 4);  // CPU buffers are host memory
        cpu.be->matmul(w, x, y);
        EXPECT_EQ(cpu.get(y), fresh_matmul(third)) << "a direct write to host memory";
        cpu.be->matmul(w, x, y);  // unchanged input: the cached conversion serves, same result
        EXPECT_EQ(cpu.get(y), fresh_matmul(third)) << "a repeated input";
    }
}

TEST(CpuBackend, ElementwiseOpsMatchReference) {
    std::mt19937 rng(9);
    const int64_t n = 3, c = 1037;
    const std::vector<float> a = randn(size_t(n * c), rng), b = randn(size_t(n * c), rng), w = randn(size_t(c), rng);
    for (auto isa : levels()) {
        SCOPED_TRACE(cpu::isa_name(isa));
        Dev r{create_reference_backend()}, p{create_cpu_backend(BackendOptions{2}, isa)};
        auto run = [&](Dev& d, int op) {
            Tensor ta = d.make(GgmlType::F32, n, c, a.data()), tb = d.make(GgmlType::F32, n, c, b.data());
            Tensor tw = d.make(GgmlType::F32, 1, c, w.data()), out = d.make(GgmlType::F32, n, c, nullptr);
            switch (op) {
                case 0: d.be->rms_norm(ta, tw, 1e-5f, out); break;
                case 1: d.be->silu_mul(ta, tb, out); break;
                case 2: d.be->add(ta, tb, out); break;
                case 3: d.be->scale_add(ta, tb, 0.37f); d.be->copy(ta, out); break;
                case 4: d.be->softmax_rows(ta); d.be->copy(ta, out); break;
            }
            return d.get(out);
        };
        for (int op = 0; op < 5; ++op) {
            const auto want = run(r, op), got = run(p, op);
            // float instead of double arithmetic and a polynomial exp (about 2 ulp): 1e-5 relative
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_NEAR(got[i], want[i], 1e-5 * (std::fabs(want[i]) + 1e-2)) << "op " << op << " at " << i;
        }
    }
}

TEST(CpuBackend, RopeMatchesReference) {
    std::mt19937 rng(2);
    const int hd = 64, n_head = 3, n = 5;
    const std::vector<float> x = randn(size_t(n * n_head * hd), rng);
    const std::vector<int32_t> pos = {0, 1, 7, 100, 4095};
    for (RopeMode mode : {RopeMode::Normal, RopeMode::NeoX}) {
        RopeParams p;
        p.mode = mode; p.head_dim = hd; p.n_dims = hd; p.freq_base = mode == RopeMode::NeoX ? 1e6f : 1e4f;
        if (mode == RopeMode::NeoX) p.attn_factor = 1.1547f;  // LongRoPE's magnitude without YaRN
        Dev r{create_reference_backend()}, c{create_cpu_backend(BackendOptions{2})};
        auto run = [&](Dev& d) {
            Tensor tx = d.make(GgmlType::F32, n, n_head * hd, x.data());
            Tensor tp = d.make(GgmlType::I32, 1, n, pos.data());
            d.be->rope(tx, tp, p);
            d.be->rope(tx, tp, p);  // second call uses the cached table
            return d.get(tx);
        };
        const auto want = run(r), got = run(c);
        // angles in double in both; the CPU backend rotates in float: 1e-5 absolute on N(0,1) data
        EXPECT_LE(max_diff(got, want), 1e-5);
    }
}

// KV store writes the same bytes as the reference (F16 rounding is bit-exact); attention agrees
// with the reference's double-precision softmax; kv_shift and kv_copy give the same caches.
TEST(CpuBackend, KvCacheAndAttentionMatchReference) {
    std::mt19937 rng(4);
    const int hd = 64, n_head = 8, n_kv_head = 2, n_layer = 2, n_ctx = 96;
    for (GgmlType kvt : {GgmlType::F16, GgmlType::F32}) {
        for (auto isa : levels()) {
            SCOPED_TRACE(std::string(type_name(kvt)) + " " + cpu::isa_name(isa));
            KvCacheDesc desc{n_layer, n_kv_head, hd, n_ctx, kvt};
            Dev r{create_reference_backend()}, c{create_cpu_backend(BackendOptions{2}, isa)};
            auto rkv = r.be->create_kv_cache(desc), ckv = c.be->create_kv_cache(desc);
            ASSERT_TRUE(rkv.ok() && ckv.ok());
            // prefill 70 tokens in two batches (37 + 33), then attend for 5 query tokens at various positions
            const int n_fill = 70;
            const std::vector<float> k = randn(size_t(n_fill * n_kv_head * hd), rng), v = randn(size_t(n_fill * n_kv_head * hd), rng);
            std::vector<int32_t> pos(n_fill);
            for (int i = 0; i < n_fill; ++i) pos[size_t(i)] = i;
            for (Dev* d : {&r, &c}) {
                KvCache& kv = d == &r ? **rkv : **ckv;
                for (int l = 0; l < n_layer; ++l) {
                    Tensor tk = d->make(GgmlType::F32, 37, n_kv_head * hd, k.data());
                    Tensor tv = d->make(GgmlType::F32, 37, n_kv_head * hd, v.data());
                    Tensor tp = d->make(GgmlType::I32, 1, 37, pos.data());
                    d->be->kv_store(kv, l, tk, tv, tp);
                    Tensor tk2 = d->make(GgmlType::F32, 33, n_kv_head * hd, k.data() + 37 * n_kv_head * hd);
                    Tensor tv2 = d->make(GgmlType::F32, 33, n_kv_head * hd, v.data() + 37 * n_kv_head * hd);
                    Tensor tp2 = d->make(GgmlType::I32, 1, 33, pos.data() + 37);
                    d->be->kv_store(kv, l, tk2, tv2, tp2);
                }
            }
            const auto& rc = static_cast<const HostKvCache&>(**rkv);
            const auto& cc = static_cast<const HostKvCache&>(**ckv);
            const size_t bytes = size_t(n_layer) * rc.layer_bytes();
            EXPECT_EQ(0, std::memcmp(rc.k(), cc.k(), bytes));
            EXPECT_EQ(0, std::memcmp(rc.v(), cc.v(), bytes));

            // 11 queries: two query blocks of the CPU kernel, positions on both sides of KV-block edges
            const std::vector<int32_t> qpos = {0, 31, 32, 50, 69, 1, 2, 33, 63, 64, 65};
            const std::vector<float> q = randn(qpos.size() * n_head * hd, rng);
            auto attend = [&](Dev& d, KvCache& kv) {
                Tensor tq = d.make(GgmlType::F32, int64_t(qpos.size()), n_head * hd, q.data());
                Tensor tp = d.make(GgmlType::I32, 1, int64_t(qpos.size()), qpos.data());
                Tensor out = d.make(GgmlType::F32, int64_t(qpos.size()), n_head * hd, nullptr);
                d.be->attention(tq, kv, 1, tp, n_fill, 0.125f, out);
                return d.get(out);
            };
            const auto want = attend(r, **rkv), got = attend(c, **ckv);
            // float online softmax vs double: 1e-5 absolute on outputs of magnitude ~0.1..1
            EXPECT_LE(max_diff(got, want), 1e-5);

            RopeParams p;
            p.head_dim = hd; p.n_dims = hd;
            p.attn_factor = 1.1547f;  // LongRoPE's: the re-rotation must stay a pure rotation
            r.be->kv_shift(**rkv, 4, 10, n_fill, p);
            c.be->kv_shift(**ckv, 4, 10, n_fill, p);
            EXPECT_EQ(0, std::memcmp(rc.k(), cc.k(), bytes));
            EXPECT_EQ(0, std::memcmp(rc.v(), cc.v(), bytes));
            auto cdst = c.be->create_kv_cache(desc);
            ASSERT_TRUE(cdst.ok());
            c.be->kv_copy(**ckv, **cdst, n_fill - 10);
            const auto& cd = static_cast<const HostKvCache&>(**cdst);
            for (int l = 0; l < n_layer; ++l)
                for (int cell = 0; cell < n_fill - 10; ++cell)
                    for (int h = 0; h < n_kv_head; ++h)
                        ASSERT_EQ(0, std::memcmp(cd.k() + cd.offset(l, cell, h), cc.k() + cc.offset(l, cell, h), size_t(hd) * cc.elt()));
        }
    }
}

TEST(ThreadPool, RunsEveryThreadAndReusesThem) {
    cpu::ThreadPool pool(3);
    std::vector<int> hits(3, 0);
    for (int rep = 0; rep < 1000; ++rep)
        pool.run([&](int ith, int nth) { EXPECT_EQ(nth, 3); ++hits[size_t(ith)]; });
    EXPECT_EQ(hits, std::vector<int>(3, 1000));
    int64_t b, e, total = 0;
    for (int i = 0; i < 3; ++i) { cpu::split_range(100, i, 3, 16, &b, &e); EXPECT_EQ(b % 16, 0); total += e - b; }
    EXPECT_EQ(total, 100);
}

// parallel_for hands each thread a contiguous run of chunks and lets the others steal what is left
// of it from the back: every item must still be visited exactly once, in chunks of `grain` items
// (the last one shorter), also when one thread is slow (its run is stolen) and when there are
// fewer chunks than threads.
TEST(ThreadPool, ParallelForVisitsEveryItemOnce) {
    for (int nth : {2, 3, 4}) {
        cpu::ThreadPool pool(nth);
        for (int64_t n : {1, 2, 5, 17, 1000})
            for (int64_t grain : {1, 3, 64})
                for (int slow : {-1, 0, 1}) {
                    SCOPED_TRACE("threads " + std::to_string(nth) + " n " + std::to_string(n) + " grain " +
                                 std::to_string(grain) + " slow thread " + std::to_string(slow));
                    std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
                    std::atomic<int> bad{0};
                    pool.parallel_for(n, grain, [&](int64_t b, int64_t e, int ith) {
                        if (ith < 0 || ith >= nth || b % grain != 0 || e <= b || e - b > grain || (e - b < grain && e != n)) ++bad;
                        if (ith == slow) std::this_thread::sleep_for(std::chrono::microseconds(200));
                        for (int64_t i = b; i < e; ++i) seen[size_t(i)].fetch_add(1);
                    });
                    EXPECT_EQ(bad.load(), 0);
                    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[size_t(i)].load(), 1) << "item " << i;
                }
    }
}

TEST(CpuBackend, DeviceInfo) {
    auto be = create_cpu_backend(BackendOptions{2});
    EXPECT_EQ(be->device().backend, "cpu");
    EXPECT_NE(be->device().details.find("2 threads"), std::string::npos);
}

}  // namespace

// The ops of issue #13 and supports_op's table at every kernel level (tests/engine/backend_op_checks.h).
TEST(CpuBackend, GeluMulScaleHeadNormSlidingWindowAndClaims) {
    for (auto isa : levels()) {
        SCOPED_TRACE(cpu::isa_name(isa));
        auto cpu_be = create_cpu_backend(BackendOptions{2}, isa);
        auto ref = create_reference_backend();
        opcheck::Twin tw{*cpu_be, *ref, {}};
        opcheck::check_gelu_mul_and_scale(tw);
        opcheck::check_rms_norm_head_views(tw);
        // same cache bytes; float online softmax and sums against double (F16 values are exact in both)
        opcheck::check_sliding_window_attention(tw, GgmlType::F16, 1e-4);
        opcheck::check_sliding_window_attention(tw, GgmlType::F32, 1e-4);
        opcheck::check_supports_op_claims(tw);
    }
}
