// Every CUDA op against the reference backend (scalar, exact dequantization, double accumulation),
// for every weight type and odd shapes (rows not a multiple of the 4 rows per block, token counts on
// both sides of the matvec/GEMM switch at 8, KV ranges long enough to be split). Skips with the
// reason when no CUDA device is usable. Tolerances are written next to each check.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/reference/reference_backend.h"
#include "engine/quant/quant.h"
#include "engine/sampling/sampler.h"
#include "tests/engine/backend_op_checks.h"

using namespace hearth;

namespace {

struct Pair {
    std::unique_ptr<Backend> cuda, ref;
    std::vector<BufferPtr> keep;

    // The same data in a fresh buffer of each backend.
    std::pair<Tensor, Tensor> put(GgmlType t, int64_t rows, int64_t cols, const void* data) {
        return {put_on(*cuda, t, rows, cols, data), put_on(*ref, t, rows, cols, data)};
    }
    Tensor put_on(Backend& be, GgmlType t, int64_t rows, int64_t cols, const void* data) {
        const size_t bytes = row_bytes(t, cols) * size_t(rows);
        auto b = be.alloc(bytes, BufferUsage::Activations);
        EXPECT_TRUE(b.ok()) << b.message();
        keep.push_back(*b);
        Tensor x = make_tensor(b->get(), 0, t, rows, cols);
        if (data) EXPECT_TRUE(be.upload(x, data).ok());
        return x;
    }
    std::vector<float> get(Backend& be, const Tensor& t) {
        std::vector<float> v(size_t(t.rows * t.cols));
        const Status s = be.download(t, v.data());
        EXPECT_TRUE(s.ok()) << s.message();
        return v;
    }
};

#define REQUIRE_CUDA(P)                                                                  \
    Pair P;                                                                              \
    {                                                                                    \
        auto cb = create_backend("cuda", 0, {});                                         \
        if (!cb.ok()) GTEST_SKIP() << "no usable CUDA device: " << cb.message();         \
        P.cuda = std::move(*cb);                                                         \
        P.ref = create_reference_backend();                                              \
    }

// Gaussian values and weights of every type: the shared op checks' (their recipes for the types
// without a quantizer give the same bytes this file's own copies did).
using opcheck::make_weights;
using opcheck::randn;

double rms(const std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += double(x) * x;
    return v.empty() ? 0 : std::sqrt(s / double(v.size()));
}

struct Diff { double max_abs = 0, rms = 0; };
Diff diff(const std::vector<float>& a, const std::vector<float>& b) {
    Diff d;
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double e = std::fabs(double(a[i]) - b[i]);
        d.max_abs = std::max(d.max_abs, std::isnan(e) ? INFINITY : e);
        s += e * e;
    }
    d.rms = a.empty() ? 0 : std::sqrt(s / double(a.size()));
    return d;
}

const GgmlType kWeightTypes[] = {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                                 GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q5_K,
                                 GgmlType::Q6_K};

}  // namespace

TEST(CudaOps, MatmulEveryWeightTypeAndTokenCount) {
    REQUIRE_CUDA(P);
    const int64_t rows = 67, cols = 512;
    for (GgmlType t : kWeightTypes) {
        const auto wdata = make_weights(t, rows, cols, 7 + uint32_t(t));
        auto [wc, wr] = P.put(t, rows, cols, wdata.data());
        const auto bias = randn(size_t(rows), 5);
        auto [bc, br] = P.put(GgmlType::F32, 1, rows, bias.data());
        for (int n : {1, 2, 5, 8, 9, 40}) {
            const auto x = randn(size_t(n * cols), 100 + n);
            auto [xc, xr] = P.put(GgmlType::F32, n, cols, x.data());
            auto [yc, yr] = P.put(GgmlType::F32, n, rows, nullptr);
            const bool with_bias = n == 5 || n == 40;
            P.cuda->matmul(wc, xc, yc, with_bias ? &bc : nullptr);
            P.ref->matmul(wr, xr, yr, with_bias ? &br : nullptr);
            const auto got = P.get(*P.cuda, yc), want = P.get(*P.ref, yr);
            const Diff d = diff(got, want);
            const double r = rms(want);
            const bool quant = traits(t).quantized;
            double tol_rms, tol_max;
            if (t == GgmlType::F32) { tol_rms = 1e-5 * r; tol_max = 1e-4 * r; }  // F32 math either way
            else if (n <= 8 && !quant) { tol_rms = 1e-5 * r; tol_max = 1e-4 * r; }  // exact weights, F32 activations
            else if (n <= 8) { tol_rms = 0.02 * r; tol_max = 0.08 * r; }  // 8-bit activations (~0.6% per dot)
            else { tol_rms = 3e-3 * r; tol_max = 1.5e-2 * r; }  // F16 activations and weights in the GEMM
            EXPECT_LE(d.rms, tol_rms) << type_name(t) << " n=" << n << " rms(ref)=" << r;
            EXPECT_LE(d.max_abs, tol_max) << type_name(t) << " n=" << n << " rms(ref)=" << r;
        }
    }
}

// Quantized weights are repacked on the device on first use (kernels/packed_unit.h). Long rows that
// span several of the matvec kernel's chunks (128 units, 4096 columns; 8448 columns are 3 chunks,
// the last one partial: the pipelined fetch of the next chunk's weights and its end), rows whose
// stride is not a multiple of 16 bytes (the kernel's 16-bit load path: 2144 and 8480 columns of the
// 32-weight types), a row count that is not a multiple of the 8 rows of a block;
// then the packed buffer read back (= the uploaded bytes), rows re-uploaded into it, and the product
// and get_rows again.
TEST(CudaOps, PackedWeightsLongRowsDownloadAndReupload) {
    REQUIRE_CUDA(P);
    const int64_t rows = 37;
    for (GgmlType t : kWeightTypes) {
        if (!traits(t).quantized) continue;
        const bool kq = traits(t).block_elems == 256;
        const std::vector<int64_t> widths = kq ? std::vector<int64_t>{2816, 4096, 8448} : std::vector<int64_t>{2144, 4096, 8448, 8480};
        for (int64_t cols : widths) {
            auto wdata = make_weights(t, rows, cols, 3 + uint32_t(t) + uint32_t(cols));
            auto [wc, wr] = P.put(t, rows, cols, wdata.data());
            const std::string what = std::string(type_name(t)) + " cols=" + std::to_string(cols) +
                                     (row_bytes(t, cols) % 16 ? " (rows not 16-byte aligned)" : "");
            auto check = [&](const char* when) {
                for (int n : {1, 4, 8}) {
                    const auto x = randn(size_t(n * cols), 200 + n);
                    auto [xc, xr] = P.put(GgmlType::F32, n, cols, x.data());
                    auto [yc, yr] = P.put(GgmlType::F32, n, rows, nullptr);
                    P.cuda->matmul(wc, xc, yc, nullptr);
                    P.ref->matmul(wr, xr, yr, nullptr);
                    const auto want = P.get(*P.ref, yr);
                    const Diff d = diff(P.get(*P.cuda, yc), want);
                    const double r = rms(want);
                    // 8-bit activations (~0.6% per dot product), as MatmulEveryWeightTypeAndTokenCount
                    EXPECT_LE(d.rms, 0.02 * r) << what << " n=" << n << " " << when;
                    EXPECT_LE(d.max_abs, 0.08 * r) << what << " n=" << n << " " << when;
                }
                const std::vector<int32_t> ids = {0, 36, 4, 5};
                auto [ic, ir] = P.put(GgmlType::I32, 1, int64_t(ids.size()), ids.data());
                auto [oc, orf] = P.put(GgmlType::F32, int64_t(ids.size()), cols, nullptr);
                P.cuda->get_rows(wc, ic, oc);
                P.ref->get_rows(wr, ir, orf);
                EXPECT_LE(diff(P.get(*P.cuda, oc), P.get(*P.ref, orf)).max_abs, 1e-5) << what << " get_rows " << when;
            };
            check("first use");
            std::vector<uint8_t> back(wdata.size());
            ASSERT_TRUE(P.cuda->download(wc, back.data()).ok()) << what;
            EXPECT_EQ(back, wdata) << what << ": the packed weights did not read back as uploaded";
            // rows 4..5 replaced
            const size_t rb = row_bytes(t, cols);
            const auto fresh = make_weights(t, 2, cols, 99 + uint32_t(t));
            std::copy(fresh.begin(), fresh.end(), wdata.begin() + 4 * rb);
            ASSERT_TRUE(P.cuda->upload(wc.row_range(4, 2), fresh.data()).ok()) << what;
            ASSERT_TRUE(P.ref->upload(wr.row_range(4, 2), fresh.data()).ok()) << what;
            check("after re-upload");
        }
    }
    EXPECT_TRUE(P.cuda->synchronize().ok());
}

// The 8-bit form of a matmul input is reused while it is unchanged: RMSNorm writes it with the normed
// rows, q/k/v-like matmuls of the same input reuse it; any other op (here add into the input, then a
// matmul overwriting an earlier input) makes the next matmul quantize again; SiLU·mul and GELU·mul
// write the 8-bit form of their output as RMSNorm does. Each product is compared
// with the reference after the whole sequence, so a stale reuse shows as a wrong product.
TEST(CudaOps, QuantizedInputReuseFollowsWrites) {
    REQUIRE_CUDA(P);
    const int64_t cols = 512, n = 2;
    const GgmlType t = GgmlType::Q8_0;
    const auto w1 = make_weights(t, cols, cols, 1), w2 = make_weights(t, 64, cols, 2), w3 = make_weights(t, cols, cols, 3);
    auto [W1c, W1r] = P.put(t, cols, cols, w1.data());
    auto [W2c, W2r] = P.put(t, 64, cols, w2.data());
    auto [W3c, W3r] = P.put(t, cols, cols, w3.data());
    const auto xv = randn(size_t(n * cols), 11), nw = randn(size_t(cols), 12), dv = randn(size_t(n * cols), 13);
    auto [Xc, Xr] = P.put(GgmlType::F32, n, cols, xv.data());
    auto [Nc, Nr] = P.put(GgmlType::F32, 1, cols, nw.data());
    auto [Dc, Dr] = P.put(GgmlType::F32, n, cols, dv.data());
    auto [Hc, Hr] = P.put(GgmlType::F32, n, cols, nullptr);
    std::vector<std::pair<Tensor, Tensor>> outs;
    for (int i = 0; i < 9; ++i) outs.push_back(P.put(GgmlType::F32, n, i == 5 || i == 7 ? cols : 64, nullptr));
    auto both = [&](auto&& f) { f(*P.cuda, 0); f(*P.ref, 1); };
    auto pick = [](std::pair<Tensor, Tensor>& p, int k) -> Tensor& { return k ? p.second : p.first; };
    std::pair<Tensor, Tensor> X{Xc, Xr}, N{Nc, Nr}, D{Dc, Dr}, H{Hc, Hr}, W1{W1c, W1r}, W2{W2c, W2r}, W3{W3c, W3r};
    both([&](Backend& be, int k) {
        be.rms_norm(pick(X, k), pick(N, k), 1e-5f, pick(H, k));     // H and its 8-bit form
        be.matmul(pick(W2, k), pick(H, k), pick(outs[0], k));       // reuses it
        be.matmul(pick(W2, k), pick(H, k), pick(outs[1], k));       // again (k after q)
        be.add(pick(H, k), pick(D, k), pick(H, k));                 // H changes
        be.matmul(pick(W2, k), pick(H, k), pick(outs[2], k));       // must quantize the new H
        be.matmul(pick(W1, k), pick(H, k), pick(outs[5], k));       // a product into a fresh buffer
        be.matmul(pick(W2, k), pick(outs[5], k), pick(outs[3], k)); // of that output
        be.matmul(pick(W3, k), pick(H, k), pick(outs[5], k));       // overwrites that input (matmul never aliases)
        be.matmul(pick(W2, k), pick(outs[5], k), pick(outs[4], k)); // must see the new values
        be.silu_mul(pick(H, k), pick(D, k), pick(outs[7], k));      // fused with its quantization
        be.matmul(pick(W2, k), pick(outs[7], k), pick(outs[6], k)); // reuses it
        be.gelu_mul(pick(H, k), pick(D, k), pick(outs[7], k));      // the same buffer, new values
        be.matmul(pick(W2, k), pick(outs[7], k), pick(outs[8], k)); // reuses the new form
    });
    for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 8}) {
        const auto want = P.get(*P.ref, outs[size_t(i)].second);
        const Diff d = diff(P.get(*P.cuda, outs[size_t(i)].first), want);
        // 8-bit activations, as MatmulEveryWeightTypeAndTokenCount (two chained products for 3–5;
        // 7 is the activation itself, exact up to expf's rounding)
        EXPECT_LE(d.rms, 0.04 * rms(want)) << "product " << i;
    }
}

// Prompt GEMMs (> 8 tokens): weights dequantized in slabs of 64 rows (HEARTH_CUDA_GEMM_SLAB_BYTES
// shrinks them), two in flight on a second stream, so a 300-row weight runs 5 slabs and reuses both
// buffers; and the F16 form of an input shared by several products (q/k/v, gate/up) is made once and
// forgotten whenever the input may have changed: another op, an upload, or a matmul (matvec or
// GEMM) writing over it.
TEST(CudaOps, PromptGemmSlabsAndF16InputReuse) {
    setenv("HEARTH_CUDA_GEMM_SLAB_BYTES", "1", 1);
    auto cb = create_backend("cuda", 0, {});
    unsetenv("HEARTH_CUDA_GEMM_SLAB_BYTES");
    if (!cb.ok()) GTEST_SKIP() << "no usable CUDA device: " << cb.message();
    Pair P;
    P.cuda = std::move(*cb);
    P.ref = create_reference_backend();
    const int64_t cols = 256, n = 20, big = 300;
    const auto w1 = make_weights(GgmlType::Q4_0, big, cols, 1), w2 = make_weights(GgmlType::Q6_K, cols, cols, 2);
    auto [W1c, W1r] = P.put(GgmlType::Q4_0, big, cols, w1.data());
    auto [W2c, W2r] = P.put(GgmlType::Q6_K, cols, cols, w2.data());
    const auto xv = randn(size_t(n * cols), 11), dv = randn(size_t(n * cols), 13), sv = randn(size_t(4 * cols), 14);
    const auto uv = randn(size_t(n * cols), 15);
    auto [Xc, Xr] = P.put(GgmlType::F32, n, cols, xv.data());
    auto [Dc, Dr] = P.put(GgmlType::F32, n, cols, dv.data());
    auto [Sc, Sr] = P.put(GgmlType::F32, 4, cols, sv.data());
    auto [Hc, Hr] = P.put(GgmlType::F32, n, cols, nullptr);
    std::vector<std::pair<Tensor, Tensor>> outs;
    for (int i = 0; i < 7; ++i) outs.push_back(P.put(GgmlType::F32, n, i == 0 || i == 6 ? big : cols, nullptr));
    auto both = [&](auto&& f) { f(*P.cuda, 0); f(*P.ref, 1); };
    auto pick = [](std::pair<Tensor, Tensor>& p, int k) -> Tensor& { return k ? p.second : p.first; };
    std::pair<Tensor, Tensor> X{Xc, Xr}, D{Dc, Dr}, S{Sc, Sr}, H{Hc, Hr}, W1{W1c, W1r}, W2{W2c, W2r};
    both([&](Backend& be, int k) {
        be.add(pick(X, k), pick(D, k), pick(H, k));
        be.matmul(pick(W1, k), pick(H, k), pick(outs[0], k));  // 5 slabs; H converted to F16
        be.matmul(pick(W2, k), pick(H, k), pick(outs[1], k));  // reuses it
        be.add(pick(H, k), pick(D, k), pick(H, k));            // H changes
        be.matmul(pick(W2, k), pick(H, k), pick(outs[2], k));  // must convert the new H
        // a matvec (4 tokens) writing over the first rows of the input just converted
        Tensor head = pick(H, k).row_range(0, 4);
        be.matmul(pick(W2, k), pick(S, k), head);
        be.matmul(pick(W2, k), pick(H, k), pick(outs[3], k));  // must see those rows
        be.matmul(pick(W2, k), pick(H, k), pick(outs[4], k));  // reuses again
    });
    // an upload into the converted input
    ASSERT_TRUE(P.cuda->upload(Hc, uv.data()).ok());
    ASSERT_TRUE(P.ref->upload(Hr, uv.data()).ok());
    both([&](Backend& be, int k) {
        be.matmul(pick(W2, k), pick(H, k), pick(outs[5], k));
        be.matmul(pick(W1, k), pick(outs[5], k), pick(outs[6], k));  // a GEMM over the previous output
    });
    for (int i = 0; i < 7; ++i) {
        const auto want = P.get(*P.ref, outs[size_t(i)].second);
        const Diff d = diff(P.get(*P.cuda, outs[size_t(i)].first), want);
        // F16 activations and weights in the GEMM, as MatmulEveryWeightTypeAndTokenCount (3e-3 rms);
        // product 6 chains two GEMMs (and 3 follows a matvec's 8-bit activations: ~0.6% per dot).
        EXPECT_LE(d.rms, (i == 3 || i == 4 || i == 6 ? 8e-3 : 3e-3) * rms(want)) << "product " << i;
    }
}

// Whole passes as CUDA graphs (Backend::begin_step), without a model: a pass is recorded the first
// time its key is seen, captured the second, replayed by one call from the third on (no op called,
// no closure built), and a replay reads its inputs' new values. After a replay the backend knows
// that its 8-bit scratch holds the pass's normed rows, no longer what the matmul before the pass
// left there: Y's product right after the pass must quantize Y again (a stale claim would give W·H
// for W·Y; it fails without the state restored in begin_step). A flush point inside a pass (an upload) keeps it from being captured, and so
// does a pass cut short (end_step(false), a Stop). 8-bit activations: rms ≤ 0.04 × rms, as
// MatmulEveryWeightTypeAndTokenCount.
TEST(CudaOps, StepGraphsRecordCaptureReplay) {
    REQUIRE_CUDA(P);
    if (P.cuda->max_step_tokens() == 0) GTEST_SKIP() << "CUDA graphs are off (HEARTH_CUDA_GRAPHS=0)";
    const int64_t cols = 512, n = 2;
    const GgmlType t = GgmlType::Q8_0;
    const auto w = make_weights(t, 64, cols, 4);
    const auto nv = randn(size_t(cols), 5), yv = randn(size_t(n * cols), 6);
    auto W = P.put(t, 64, cols, w.data());
    auto N = P.put(GgmlType::F32, 1, cols, nv.data());
    auto Y = P.put(GgmlType::F32, n, cols, yv.data());
    auto X = P.put(GgmlType::F32, n, cols, nullptr);
    auto H = P.put(GgmlType::F32, n, cols, nullptr);
    auto Z = P.put(GgmlType::F32, n, cols, nullptr);
    std::vector<std::pair<Tensor, Tensor>> outs;
    for (int i = 0; i < 4; ++i) outs.push_back(P.put(GgmlType::F32, n, 64, nullptr));
    auto pick = [](std::pair<Tensor, Tensor>& p, int k) -> Tensor& { return k ? p.second : p.first; };
    // One round: Y's product before the pass, the pass (norm + product), Y's and H's products after.
    // `inside` runs between the pass's two ops on the CUDA side (a flush point, or nothing).
    auto round = [&](uint64_t key, int seed, bool complete, const std::function<void()>& inside) {
        const auto xv = randn(size_t(n * cols), seed);
        EXPECT_TRUE(P.cuda->upload(X.first, xv.data()).ok());
        EXPECT_TRUE(P.ref->upload(X.second, xv.data()).ok());
        bool replayed = false;
        for (int k : {0, 1}) {
            Backend& be = k ? *P.ref : *P.cuda;
            be.matmul(pick(W, k), pick(Y, k), pick(outs[0], k));
            if (k == 0 && P.cuda->begin_step(key)) {
                replayed = true;
            } else {
                be.rms_norm(pick(X, k), pick(N, k), 1e-5f, pick(H, k));
                if (k == 0) inside();
                be.matmul(pick(W, k), pick(H, k), pick(outs[1], k));
                if (k == 0) P.cuda->end_step(complete);
            }
            be.matmul(pick(W, k), pick(Y, k), pick(outs[2], k));
            be.matmul(pick(W, k), pick(H, k), pick(outs[3], k));
        }
        for (size_t i = 0; i < outs.size(); ++i) {
            const auto want = P.get(*P.ref, outs[i].second);
            EXPECT_LE(diff(P.get(*P.cuda, outs[i].first), want).rms, 0.04 * rms(want)) << "key " << key << " seed " << seed << " product " << i;
        }
        return replayed;
    };
    const auto none = [] {};
    for (int r = 0; r < 4; ++r) {
        const Backend::StepStats before = P.cuda->step_stats();
        EXPECT_EQ(round(1, 100 + r, true, none), r >= 2) << "round " << r;
        const Backend::StepStats after = P.cuda->step_stats();
        EXPECT_EQ(after.ops_recorded == before.ops_recorded, r >= 2) << "round " << r << ": closures only while recording";
    }
    EXPECT_EQ(P.cuda->step_stats().captures, 1u);
    EXPECT_EQ(P.cuda->step_stats().replays, 2u);
    const std::vector<float> zv(size_t(n * cols), 0.5f);
    for (int r = 0; r < 3; ++r) {
        EXPECT_FALSE(round(2, 200 + r, true, [&] { EXPECT_TRUE(P.cuda->upload(Z.first, zv.data()).ok()); })) << "cut, round " << r;
        EXPECT_FALSE(round(3, 300 + r, false, none)) << "unfinished, round " << r;
    }
    EXPECT_EQ(P.cuda->step_stats().captures, 1u);
    EXPECT_EQ(P.cuda->step_stats().replays, 2u);
}

TEST(CudaOps, GetRowsEveryType) {
    REQUIRE_CUDA(P);
    const int64_t rows = 40, cols = 768;
    const std::vector<int32_t> ids = {0, 39, 7, 7, 21};
    for (GgmlType t : kWeightTypes) {
        const auto wdata = make_weights(t, rows, cols, 11 + uint32_t(t));
        auto [tc, tr] = P.put(t, rows, cols, wdata.data());
        auto [ic, ir] = P.put(GgmlType::I32, 1, int64_t(ids.size()), ids.data());
        auto [oc, orf] = P.put(GgmlType::F32, int64_t(ids.size()), cols, nullptr);
        P.cuda->get_rows(tc, ic, oc);
        P.ref->get_rows(tr, ir, orf);
        const Diff d = diff(P.get(*P.cuda, oc), P.get(*P.ref, orf));
        // the unit form a*q + b vs the reference's d*(q - 8): a few float ulps
        EXPECT_LE(d.max_abs, 1e-5) << type_name(t);
    }
}

TEST(CudaOps, RowOps) {
    REQUIRE_CUDA(P);
    for (auto [n, c] : {std::pair<int64_t, int64_t>{3, 1000}, {5, 4097}, {1, 64}}) {
        const auto a = randn(size_t(n * c), 1), b = randn(size_t(n * c), 2), w = randn(size_t(c), 3);
        auto [ac, ar] = P.put(GgmlType::F32, n, c, a.data());
        auto [bc, br] = P.put(GgmlType::F32, n, c, b.data());
        auto [wc, wr] = P.put(GgmlType::F32, 1, c, w.data());
        auto [oc, orf] = P.put(GgmlType::F32, n, c, nullptr);
        auto cmp = [&](const char* what, const Tensor& tc, const Tensor& tr, double tol) {
            const auto want = P.get(*P.ref, tr);
            const Diff d = diff(P.get(*P.cuda, tc), want);
            EXPECT_LE(d.max_abs, tol * (1.0 + rms(want))) << what << " " << n << "x" << c;
        };
        P.cuda->rms_norm(ac, wc, 1e-5f, oc); P.ref->rms_norm(ar, wr, 1e-5f, orf); cmp("rms_norm", oc, orf, 1e-5);
        P.cuda->silu_mul(ac, bc, oc); P.ref->silu_mul(ar, br, orf); cmp("silu_mul", oc, orf, 1e-5);
        P.cuda->add(ac, bc, oc); P.ref->add(ar, br, orf); cmp("add", oc, orf, 1e-6);
        P.cuda->scale_add(oc, bc, 0.37f); P.ref->scale_add(orf, br, 0.37f); cmp("scale_add", oc, orf, 1e-6);
        P.cuda->copy(ac, oc); P.ref->copy(ar, orf); cmp("copy", oc, orf, 0);
        P.cuda->softmax_rows(oc); P.ref->softmax_rows(orf); cmp("softmax", oc, orf, 1e-6);
        // in place: rms_norm with y == x, silu_mul with out == gate
        P.cuda->rms_norm(ac, wc, 1e-6f, ac); P.ref->rms_norm(ar, wr, 1e-6f, ar); cmp("rms_norm in place", ac, ar, 1e-5);
        P.cuda->silu_mul(ac, bc, ac); P.ref->silu_mul(ar, br, ar); cmp("silu_mul in place", ac, ar, 1e-5);
    }
}

TEST(CudaOps, RopeModesFreqFactorsYarn) {
    REQUIRE_CUDA(P);
    const int n = 6, n_head = 3, hd = 64;
    const std::vector<int32_t> pos = {0, 1, 17, 255, 1000, 4095};
    const auto ff = [] { std::vector<float> f(32); for (int i = 0; i < 32; ++i) f[i] = 1.0f + 0.25f * i; return f; }();
    auto [fc, fr] = P.put(GgmlType::F32, 1, 32, ff.data());
    auto [pc, pr] = P.put(GgmlType::I32, 1, n, pos.data());
    for (int variant = 0; variant < 5; ++variant) {
        RopeParams p;
        p.mode = variant % 2 ? RopeMode::NeoX : RopeMode::Normal;
        p.head_dim = hd;
        p.n_dims = variant == 4 ? 32 : hd;  // partial rotation
        p.freq_base = variant == 1 ? 1e6f : 1e4f;
        if (variant == 2) p.attn_factor = 1.1547f;  // LongRoPE: factors and a magnitude without YaRN
        if (variant == 3) { p.ext_factor = 1.0f; p.freq_scale = 0.25f; p.n_ctx_orig = 4096; p.attn_factor = 1.0f; }
        const auto x = randn(size_t(n * n_head * hd), 40 + variant);
        auto [xc, xr] = P.put(GgmlType::F32, n, n_head * hd, x.data());
        RopeParams pc_ = p, pr_ = p;
        if (variant == 2) { pc_.freq_factors = &fc; pr_.freq_factors = &fr; }
        P.cuda->rope(xc, pc, pc_);
        P.ref->rope(xr, pr, pr_);
        const Diff d = diff(P.get(*P.cuda, xc), P.get(*P.ref, xr));
        // float angles (the reference uses double): at position 4095 the product pos * theta alone is
        // off by up to ulp(4095) / 2 = 2.4e-4 rad, on values up to ~4 → ~1e-3; a wrong pairing or
        // frequency would be off by O(1).
        EXPECT_LE(d.max_abs, 5e-3) << "variant " << variant;
    }
}

namespace {

// Fills cells 0..n_cells-1 of every layer of both caches with the same random K/V.
void fill_kv(Pair& P, KvCache& kc, KvCache& kr, int n_cells, uint32_t seed) {
    const auto& d = kc.desc();
    const int w = d.n_kv_head * d.head_dim;
    std::vector<int32_t> pos(static_cast<size_t>(n_cells));
    for (int i = 0; i < n_cells; ++i) pos[size_t(i)] = i;
    auto [pc, pr] = P.put(GgmlType::I32, 1, n_cells, pos.data());
    for (int l = 0; l < d.n_layer; ++l) {
        const auto k = randn(size_t(n_cells) * w, seed + 2 * l), v = randn(size_t(n_cells) * w, seed + 2 * l + 1);
        auto [kc_, kr_] = P.put(GgmlType::F32, n_cells, w, k.data());
        auto [vc_, vr_] = P.put(GgmlType::F32, n_cells, w, v.data());
        P.cuda->kv_store(kc, l, kc_, vc_, pc);
        P.ref->kv_store(kr, l, kr_, vr_, pr);
    }
}

struct AttnCase { int n_head, n_kv_head, head_dim, n_tok, first_pos, n_kv; };

// One attention case on CUDA and on the reference over the same cache contents: a cache of n_layer
// layers whose first `cells` cells are filled (seed kv_seed), queries (seed q_seed) at positions
// first_pos.. attending n_kv cells of the last layer; the difference of the two outputs.
Diff attention_case(Pair& P, const AttnCase& c, GgmlType kv_type, int n_layer, int cells, uint32_t kv_seed, uint32_t q_seed) {
    KvCacheDesc desc;
    desc.n_layer = n_layer;
    desc.n_kv_head = c.n_kv_head;
    desc.head_dim = c.head_dim;
    desc.n_ctx = (cells + 31) / 32 * 32 + 32;
    desc.type = kv_type;
    auto kc = P.cuda->create_kv_cache(desc);
    auto kr = P.ref->create_kv_cache(desc);
    if (!kc.ok() || !kr.ok()) {
        ADD_FAILURE() << "create_kv_cache: " << (kc.ok() ? kr.message() : kc.message());
        return {INFINITY, INFINITY};
    }
    fill_kv(P, **kc, **kr, cells, kv_seed);
    std::vector<int32_t> pos(size_t(c.n_tok));
    for (int i = 0; i < c.n_tok; ++i) pos[size_t(i)] = c.first_pos + i;
    auto [pc, pr] = P.put(GgmlType::I32, 1, c.n_tok, pos.data());
    const auto q = randn(size_t(c.n_tok) * c.n_head * c.head_dim, q_seed);
    auto [qc, qr] = P.put(GgmlType::F32, c.n_tok, c.n_head * c.head_dim, q.data());
    auto [oc, orf] = P.put(GgmlType::F32, c.n_tok, c.n_head * c.head_dim, nullptr);
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    P.cuda->attention(qc, **kc, n_layer - 1, pc, c.n_kv, scale, oc);
    P.ref->attention(qr, **kr, n_layer - 1, pr, c.n_kv, scale, orf);
    return diff(P.get(*P.cuda, oc), P.get(*P.ref, orf));
}

// Prompt attention over an F16 cache on tensor cores (sm_80+ and the simulator, which reports sm_90):
// q·scale and the softmax weights P are rounded to F16 before their products (relative 2^-11 each);
// with unit-variance q/K/V that moves an output by up to ~9e-4 (seen: 2e-4 .. 8.6e-4 on the shapes
// below). The scalar kernels' F32 math stays within 1e-4.
constexpr double kTensorCoreAttnTol = 2e-3;

}  // namespace

TEST(CudaOps, AttentionDecodeAndPromptF16AndF32Cache) {
    REQUIRE_CUDA(P);
    const AttnCase cases[] = {
        {8, 2, 64, 1, 999, 1000},   // generation over a long context: split-K
        {4, 4, 128, 1, 40, 41},     // short context, no split
        {4, 2, 16, 37, 0, 37},      // a whole prompt (the test models' shape)
        {2, 1, 80, 3, 500, 503},    // head_dim 80 (not a multiple of 32), few tokens mid-context
        {4, 2, 36, 1, 600, 601},    // head_dim not a multiple of 8: k_attention (scalar key path) and its merge kernel
        {32, 8, 128, 1, 4000, 4001},
        {4, 1, 256, 9, 100, 109},
        // prompt batches of the tiled kernel (8 tokens per block): a partial last tile, GQA, a head_dim
        // that is not a multiple of 32, and a batch whose tokens start mid-context
        {8, 2, 128, 70, 30, 100},
        {6, 3, 80, 12, 0, 12},
        {4, 4, 64, 5, 60, 65},
    };
    for (GgmlType kt : {GgmlType::F16, GgmlType::F32}) {
        for (const auto& c : cases) {
            const Diff d = attention_case(P, c, kt, 2, c.n_kv, 77, 9);
            // Same cache contents (both round F32→F16 to nearest even); float vs double softmax and sums;
            // prompts over F16 caches may take the tensor-core kernel (F16 q and P).
            const double tol = kt == GgmlType::F16 && c.n_tok >= 4 ? kTensorCoreAttnTol : 1e-4;
            EXPECT_LE(d.max_abs, tol) << "kv=" << type_name(kt) << " heads " << c.n_head << "/" << c.n_kv_head << " hd "
                                       << c.head_dim << " tokens " << c.n_tok << " n_kv " << c.n_kv;
        }
    }
}

// Prompt attention on both prompt paths: the tensor-core kernel (attention_mma.cu; sm_80+, which the
// simulator reports, with its mma.sync/ldmatrix emulated from the PTX fragment layouts) and the
// scalar tiled kernel (sm_75), forced by HEARTH_CUDA_PREFILL_ATTN. Head dims 64 and 128, GQA groups
// of 1, 3, 4 and 8 (3 does not divide the kernel's 64 rows), odd prompt lengths, prompts after a
// cached prefix, and over block tables two sequences whose tokens share the kernel's blocks.
namespace {
std::unique_ptr<Backend> cuda_with_prompt_attention(const char* path) {
    setenv("HEARTH_CUDA_PREFILL_ATTN", path, 1);
    auto b = create_backend("cuda", 0, {});
    unsetenv("HEARTH_CUDA_PREFILL_ATTN");
    return b.ok() ? std::move(*b) : nullptr;
}
}  // namespace

TEST(CudaOps, PromptAttentionTensorCoresAndTiled) {
    REQUIRE_CUDA(probe);
    // Tiled: F32 math over the same F16 cache, as AttentionDecodeAndPromptF16AndF32Cache; tensor cores: see kTensorCoreAttnTol.
    const struct { const char* path; double tol; } paths[] = {{"mma", kTensorCoreAttnTol}, {"tiled", 1e-4}};
    const AttnCase cases[] = {
        {8, 2, 64, 37, 0, 37},    // a whole odd-length prompt, GQA 4
        {4, 4, 128, 70, 30, 100}, // after a cached prefix of 30 cells, two blocks of 64 rows
        {12, 4, 64, 23, 0, 23},   // GQA 3: 21 tokens per block, the last 1 row of each warp unused
        {8, 1, 128, 40, 100, 140}, // GQA 8 after a prefix (enough blocks: no KV split)
        {4, 2, 64, 5, 60, 65},    // few tokens, one partial warp
    };
    for (const auto& pa : paths) {
        Pair P;
        P.cuda = cuda_with_prompt_attention(pa.path);
        ASSERT_TRUE(P.cuda);
        P.ref = create_reference_backend();
        for (const auto& c : cases) {
            const Diff d = attention_case(P, c, GgmlType::F16, 2, c.n_kv, 78, 10);
            EXPECT_LE(d.max_abs, pa.tol) << pa.path << " heads " << c.n_head << "/" << c.n_kv_head << " hd " << c.head_dim
                                         << " tokens " << c.n_tok << " from " << c.first_pos;
        }
        // Block tables: sequence 0 on blocks {3, 1}, sequence 1 on {0, 4, 2}; 70 tokens (two blocks of
        // the kernel's 64 rows) in three runs, 1 / 0 / 1, so both blocks hold tokens of both sequences.
        for (int hd : {64, 128}) {
            KvCacheDesc desc;
            desc.n_layer = 1;
            desc.n_kv_head = 2;
            desc.head_dim = hd;
            desc.n_ctx = 5 * 32;
            desc.type = GgmlType::F16;
            auto kc = P.cuda->create_kv_cache(desc);
            auto kr = P.ref->create_kv_cache(desc);
            ASSERT_TRUE(kc.ok() && kr.ok()) << kc.message();
            fill_kv(P, **kc, **kr, 5 * 32, 90);  // every physical cell written
            const std::vector<int32_t> tab = {3, 1, 0, 0, 4, 2};  // row per sequence, 3 columns
            std::vector<int32_t> seq, pos;
            for (int i = 0; i < 30; ++i) { seq.push_back(1); pos.push_back(40 + i); }  // seq 1 after a prefix
            for (int i = 0; i < 33; ++i) { seq.push_back(0); pos.push_back(i); }       // seq 0 from the start
            for (int i = 0; i < 7; ++i) { seq.push_back(1); pos.push_back(70 + i); }
            const int n = int(seq.size()), n_head = 4;
            auto [tc, tr] = P.put(GgmlType::I32, 2, 3, tab.data());
            auto [sc, sr] = P.put(GgmlType::I32, 1, n, seq.data());
            auto [pc, pr] = P.put(GgmlType::I32, 1, n, pos.data());
            const auto q = randn(size_t(n) * n_head * hd, 11);
            auto [qc, qr] = P.put(GgmlType::F32, n, n_head * hd, q.data());
            auto [oc, orf] = P.put(GgmlType::F32, n, n_head * hd, nullptr);
            const float scale = 1.0f / std::sqrt(float(hd));
            P.cuda->attention_paged(qc, **kc, 0, pc, KvTables{tc, sc}, 96, scale, oc);
            P.ref->attention_paged(qr, **kr, 0, pr, KvTables{tr, sr}, 96, scale, orf);
            const Diff d = diff(P.get(*P.cuda, oc), P.get(*P.ref, orf));
            EXPECT_LE(d.max_abs, pa.tol) << pa.path << " block tables, hd " << hd;
        }
        const Status st = P.cuda->synchronize();
        EXPECT_TRUE(st.ok()) << st.message();
        // Sliding windows (their edges inside a tile, tokens of one block starting in different tiles).
        opcheck::Twin tw{*P.cuda, *P.ref};
        opcheck::check_sliding_window_attention(tw, GgmlType::F16, pa.tol);
    }
}

// The decode kernel (attention_decode.cu: one block per token and KV head serving its query heads):
// GQA ratios 1, 3 (a group rounded up to 4 heads, one idle), 4, 7 (rounded up to 8), 12 (two blocks
// of 8 heads per KV head, the second with 4); head dims 32, 64, 80, 96 (value lanes that do not
// fill a warp), 128, 256; contexts long enough to be split (more than 256 cells) with the split
// merge in the kernel, and short ones without. Tolerance as AttentionDecodeAndPromptF16AndF32Cache:
// the same cache contents, float softmax and sums against the reference's double ones.
TEST(CudaOps, AttentionDecodeGqaRatiosHeadDimsAndSplits) {
    REQUIRE_CUDA(P);
    const AttnCase cases[] = {
        {4, 4, 64, 1, 700, 701},     // GQA 1, split
        {6, 2, 128, 1, 100, 101},    // GQA 3, no split
        {8, 2, 128, 2, 1500, 1502},  // GQA 4, split, two tokens
        {14, 2, 64, 1, 900, 901},    // GQA 7, split
        {7, 1, 80, 3, 300, 303},     // GQA 7, head_dim 80 (10 value lanes per row, 3 rows per warp)
        {12, 1, 64, 1, 600, 601},    // GQA 12: two blocks per KV head
        {8, 2, 256, 1, 1000, 1001},  // head_dim 256: one value row per warp load
        {8, 2, 80, 1, 20, 21},       // head_dim 80, a single partial tile
        {4, 1, 96, 2, 400, 402},     // head_dim 96: 12 lanes per row, 8 lanes idle in the value phase
        {4, 2, 32, 1, 300, 301},     // head_dim 32: 8 rows per warp load
        {32, 8, 128, 2, 2000, 1990}, // the 8B shape; n_kv below pos + 1 bounds the cells
        {8, 2, 64, 5, 1200, 1205},   // 5 tokens: too few blocks for the tiled kernel, so split here
    };
    for (GgmlType kt : {GgmlType::F16, GgmlType::F32}) {
        for (const auto& c : cases) {
            const Diff d = attention_case(P, c, kt, 1, c.first_pos + c.n_tok, 41, 13);
            EXPECT_LE(d.max_abs, 1e-4) << "kv=" << type_name(kt) << " heads " << c.n_head << "/" << c.n_kv_head << " hd "
                                       << c.head_dim << " tokens " << c.n_tok << " n_kv " << c.n_kv;
        }
    }
}

namespace {

// attention_paged over scattered blocks: three sequences (700, 333 and 1000 cells) whose logical
// blocks sit in a shuffled order across one cache of 80 blocks, queries of all three in one batch
// (the longest split in 8), each against the reference's attention_paged on the same cache.
void check_paged_decode(Pair& P, GgmlType kt, int n_head, int n_kv_head, int hd, int window) {
    const int n_blocks = 80, kv_dim = n_kv_head * hd, q_dim = n_head * hd;
    KvCacheDesc desc;
    desc.n_layer = 1;
    desc.n_kv_head = n_kv_head;
    desc.head_dim = hd;
    desc.n_ctx = n_blocks * kKvBlockTokens;
    desc.type = kt;
    if (window) desc.window = {window};
    auto kc = P.cuda->create_kv_cache(desc);
    auto kr = P.ref->create_kv_cache(desc);
    ASSERT_TRUE(kc.ok() && kr.ok()) << kc.message();
    std::vector<int> order(n_blocks);
    for (int i = 0; i < n_blocks; ++i) order[size_t(i)] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(7));
    const std::vector<int> lens = {700, 333, 1000};
    const int tab_cols = 32;  // 1000 cells = 32 blocks
    std::vector<int32_t> tab(3 * tab_cols, 0);
    int next = 0;
    for (int s = 0; s < 3; ++s) {
        const int nb = (lens[size_t(s)] + 31) / 32;
        std::vector<int32_t> cells;
        for (int b = 0; b < nb; ++b) tab[size_t(s * tab_cols + b)] = order[size_t(next++)];
        for (int p = 0; p < lens[size_t(s)]; ++p) cells.push_back(tab[size_t(s * tab_cols + p / 32)] * 32 + p % 32);
        const int n = lens[size_t(s)];
        const auto k = randn(size_t(n) * kv_dim, uint32_t(30 + s)), v = randn(size_t(n) * kv_dim, uint32_t(40 + s));
        auto [kc_, kr_] = P.put(GgmlType::F32, n, kv_dim, k.data());
        auto [vc_, vr_] = P.put(GgmlType::F32, n, kv_dim, v.data());
        auto [cc, cr] = P.put(GgmlType::I32, 1, n, cells.data());
        P.cuda->kv_store(**kc, 0, kc_, vc_, cc);
        P.ref->kv_store(**kr, 0, kr_, vr_, cr);
    }
    const std::vector<std::pair<int, int>> qs = {{0, 699}, {1, 332}, {2, 999}, {2, 500}, {0, 31}, {1, 0}};
    std::vector<int32_t> seq, pos;
    for (auto [s, p] : qs) { seq.push_back(s); pos.push_back(p); }
    const int nq = int(qs.size());
    auto [tc, tr] = P.put(GgmlType::I32, 3, tab_cols, tab.data());
    auto [sc, sr] = P.put(GgmlType::I32, 1, nq, seq.data());
    auto [pc, pr] = P.put(GgmlType::I32, 1, nq, pos.data());
    const auto q = randn(size_t(nq) * q_dim, 17);
    auto [qc, qr] = P.put(GgmlType::F32, nq, q_dim, q.data());
    auto [oc, orf] = P.put(GgmlType::F32, nq, q_dim, nullptr);
    const float scale = 1.0f / std::sqrt(float(hd));
    P.cuda->attention_paged(qc, **kc, 0, pc, KvTables{tc, sc}, 1000, scale, oc);
    P.ref->attention_paged(qr, **kr, 0, pr, KvTables{tr, sr}, 1000, scale, orf);
    // as AttentionDecodeGqaRatiosHeadDimsAndSplits: float against double sums, same cache contents
    EXPECT_LE(diff(P.get(*P.cuda, oc), P.get(*P.ref, orf)).max_abs, 1e-4)
        << "kv=" << type_name(kt) << " heads " << n_head << "/" << n_kv_head << " hd " << hd << " window " << window;
}

}  // namespace

TEST(CudaOps, PagedAttentionScatteredBlocksSplit) {
    REQUIRE_CUDA(P);
    for (GgmlType kt : {GgmlType::F16, GgmlType::F32}) {
        check_paged_decode(P, kt, 8, 2, 128, 0);
        check_paged_decode(P, kt, 7, 1, 64, 0);
        check_paged_decode(P, kt, 8, 2, 80, 100);  // sliding window: ranges that start mid-block
    }
}

// Graph mode (HEARTH_CUDA_GRAPHS=1): the bound is the cache's capacity (2,048 cells, so 16 splits
// planned), each step's cells come from the positions on the device, and the same recorded
// attention is replayed for every step: the split counters must be back at zero after each run.
// Steps jump between long and short contexts (most splits empty at position 40).
TEST(CudaOps, AttentionDecodeGraphReplays) {
    setenv("HEARTH_CUDA_GRAPHS", "1", 1);  // read when the backend is created
    auto cb = create_backend("cuda", 0, {});
    unsetenv("HEARTH_CUDA_GRAPHS");
    if (!cb.ok()) GTEST_SKIP() << "no usable CUDA device: " << cb.message();
    Pair P;
    P.cuda = std::move(*cb);
    P.ref = create_reference_backend();
    const int n_head = 8, n_kv_head = 2, hd = 128;
    KvCacheDesc desc;
    desc.n_layer = 2;
    desc.n_kv_head = n_kv_head;
    desc.head_dim = hd;
    desc.n_ctx = 2048;
    desc.type = GgmlType::F16;
    auto kc = P.cuda->create_kv_cache(desc);
    auto kr = P.ref->create_kv_cache(desc);
    ASSERT_TRUE(kc.ok() && kr.ok()) << kc.message();
    fill_kv(P, **kc, **kr, 1300, 23);
    int32_t p0 = 0;
    auto [pc, pr] = P.put(GgmlType::I32, 1, 1, &p0);
    auto [qc, qr] = P.put(GgmlType::F32, 1, n_head * hd, nullptr);
    auto [oc, orf] = P.put(GgmlType::F32, 1, n_head * hd, nullptr);
    const int steps[] = {1000, 1001, 1002, 40, 1299, 700, 41};
    for (int i = 0; i < int(std::size(steps)); ++i) {
        const int32_t p = steps[i];
        const auto q = randn(size_t(n_head) * hd, uint32_t(50 + i));
        ASSERT_TRUE(P.cuda->upload(qc, q.data()).ok() && P.cuda->upload(pc, &p).ok());
        ASSERT_TRUE(P.ref->upload(qr, q.data()).ok() && P.ref->upload(pr, &p).ok());
        P.cuda->attention(qc, **kc, 1, pc, p + 1, 0.088f, oc);
        P.ref->attention(qr, **kr, 1, pr, p + 1, 0.088f, orf);
        // as AttentionDecodeGqaRatiosHeadDimsAndSplits
        EXPECT_LE(diff(P.get(*P.cuda, oc), P.get(*P.ref, orf)).max_abs, 1e-4) << "step " << i << " position " << p;
    }
}

// The fused forms of issue #17 (Backend::matmul_parts, matmul_add, rope_kv_store) against the ops
// they replace, on the same CUDA backend: the same kernels' arithmetic, so bit for bit; and
// rope_kv_store also against the reference (RoPE's float-angle bound of RopeModesFreqFactorsYarn).
TEST(CudaOps, FusedPartsAndResidualEqualTheSeparateOps) {
    REQUIRE_CUDA(P);
    Backend& be = *P.cuda;
    const int64_t cols = 256;
    const int64_t rows[] = {96, 32, 40};  // q, k, v (or gate, up): rows not a multiple of a block's 8
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16}) {
        std::vector<Tensor> w, b;
        for (int i = 0; i < 3; ++i) {
            const auto wd = make_weights(t, rows[i], cols, uint32_t(70 + 3 * i) + uint32_t(t));
            w.push_back(P.put_on(be, t, rows[i], cols, wd.data()));
            const auto bd = randn(size_t(rows[i]), uint32_t(80 + i));
            b.push_back(P.put_on(be, GgmlType::F32, 1, rows[i], bd.data()));
        }
        for (int n : {1, 3, 8, 11}) {  // matvec widths, and 11: the GEMM path (one matmul each)
            const auto xd = randn(size_t(n * cols), uint32_t(90 + n));
            const Tensor x = P.put_on(be, GgmlType::F32, n, cols, xd.data());
            for (int n_parts : {2, 3}) {
                std::vector<MatmulPart> parts;
                std::vector<Tensor> alone;
                for (int i = 0; i < n_parts; ++i) {
                    parts.push_back({w[size_t(i)], P.put_on(be, GgmlType::F32, n, rows[i], nullptr), i == 1 ? &b[1] : nullptr});
                    alone.push_back(P.put_on(be, GgmlType::F32, n, rows[i], nullptr));
                }
                be.matmul_parts(x, parts.data(), n_parts);
                for (int i = 0; i < n_parts; ++i) be.matmul(w[size_t(i)], x, alone[size_t(i)], i == 1 ? &b[1] : nullptr);
                for (int i = 0; i < n_parts; ++i)
                    EXPECT_EQ(diff(P.get(be, parts[size_t(i)].y), P.get(be, alone[size_t(i)])).max_abs, 0.0)
                        << type_name(t) << " n=" << n << " part " << i << " of " << n_parts;
            }
            // matmul_add into a residual == matmul then add (the add kernel's one rounding).
            const auto rd = randn(size_t(n * rows[0]), uint32_t(95 + n), 3.0f);
            const Tensor acc = P.put_on(be, GgmlType::F32, n, rows[0], rd.data());
            const Tensor res = P.put_on(be, GgmlType::F32, n, rows[0], rd.data());
            const Tensor prod = P.put_on(be, GgmlType::F32, n, rows[0], nullptr);
            be.matmul_add(w[0], x, acc, &b[0]);
            be.matmul(w[0], x, prod, &b[0]);
            be.add(res, prod, res);
            const Diff d = diff(P.get(be, acc), P.get(be, res));
            // The GEMM adds inside cuBLAS (beta = 1, then the bias): rounded differently from the add
            // kernel, so one float ulp of values up to ~10.
            EXPECT_LE(d.max_abs, n > 8 ? 4e-6 : 0.0) << "matmul_add " << type_name(t) << " n=" << n;
        }
    }
    ASSERT_TRUE(be.synchronize().ok());
}

// matmul_glu (the FFN's gate/up launch finishing with act(gate) · up and its 8-bit form, written by
// the last block of each 32 rows) against the ops it replaces: matmul_parts, then silu_mul /
// gelu_mul (which write their own 8-bit form), on the same backend. Same arithmetic, so bit for bit:
// the products, the activation, and the down projection that reads the 8-bit form. Each fused
// launch runs twice, so the second sees the counters the first left (they must be back at zero).
TEST(CudaOps, GluEpilogueEqualsPartsThenActivation) {
    REQUIRE_CUDA(P);
    Backend& be = *P.cuda;
    struct Case { GgmlType t; int64_t ff, cols; };
    const Case cases[] = {
        {GgmlType::Q4_0, 256, 256}, {GgmlType::Q4_1, 256, 256}, {GgmlType::Q5_0, 256, 256}, {GgmlType::Q8_0, 256, 256},
        {GgmlType::Q4_K, 256, 256}, {GgmlType::Q5_K, 256, 256}, {GgmlType::Q6_K, 256, 256},
        {GgmlType::Q8_0, 416, 256},  // 13 units of 32 rows
        {GgmlType::Q4_K, 512, 512},
        {GgmlType::Q4_0, 256, 288},  // rows of 162 bytes, not 16-byte aligned: the 16-bit-load instances
    };
    for (const Case& c : cases) {
        const GgmlType t = c.t;
        const int64_t ff = c.ff, cols = c.cols;
        const auto wg = make_weights(t, ff, cols, 11 + uint32_t(t)), wu = make_weights(t, ff, cols, 12 + uint32_t(t));
        const auto wd = make_weights(t, cols, ff, 13 + uint32_t(t));
        const Tensor Wg = P.put_on(be, t, ff, cols, wg.data()), Wu = P.put_on(be, t, ff, cols, wu.data());
        const Tensor Wd = P.put_on(be, t, cols, ff, wd.data());
        const auto bd = randn(size_t(ff), 14);
        const Tensor Bg = P.put_on(be, GgmlType::F32, 1, ff, bd.data());
        // 1 and 2 tokens fused (2 rows a warp, 8 a block); 3 and 8 the separate ops (4 and 8 rows a
        // block), 11 the GEMM path
        for (int n : {1, 2, 3, 8, 11}) {
            if (n == 11 && !(t == GgmlType::Q8_0 && ff == 256)) continue;
            const auto xd = randn(size_t(n * cols), uint32_t(15 + n));
            const Tensor x = P.put_on(be, GgmlType::F32, n, cols, xd.data());
            for (bool gelu : {false, true}) {
                if (gelu && n == 3) continue;
                const std::string what = std::string(type_name(t)) + " ff=" + std::to_string(ff) + " cols=" + std::to_string(cols) +
                                         " n=" + std::to_string(n) + (gelu ? " GELU" : " SiLU");
                const Tensor g2 = P.put_on(be, GgmlType::F32, n, ff, nullptr), u2 = P.put_on(be, GgmlType::F32, n, ff, nullptr);
                const Tensor y2 = P.put_on(be, GgmlType::F32, n, cols, nullptr);
                const MatmulPart sep[2] = {{Wg, g2, &Bg}, {Wu, u2, nullptr}};
                be.matmul_parts(x, sep, 2);
                if (gelu) be.gelu_mul(g2, u2, g2);
                else be.silu_mul(g2, u2, g2);
                be.matmul(Wd, g2, y2);
                const auto want_g = P.get(be, g2), want_u = P.get(be, u2), want_y = P.get(be, y2);
                if (!gelu) {
                    // The products against the reference backend's too (8-bit activations, as
                    // MatmulEveryWeightTypeAndTokenCount): a fault that the fused and separate paths
                    // share (the matvec both launch) would otherwise hide behind their agreement.
                    Backend& rb = *P.ref;
                    const Tensor rWg = P.put_on(rb, t, ff, cols, wg.data()), rWu = P.put_on(rb, t, ff, cols, wu.data());
                    const Tensor rB = P.put_on(rb, GgmlType::F32, 1, ff, bd.data()), rx = P.put_on(rb, GgmlType::F32, n, cols, xd.data());
                    const Tensor rg = P.put_on(rb, GgmlType::F32, n, ff, nullptr), ru = P.put_on(rb, GgmlType::F32, n, ff, nullptr);
                    const MatmulPart rs[2] = {{rWg, rg, &rB}, {rWu, ru, nullptr}};
                    rb.matmul_parts(rx, rs, 2);
                    const auto ref_u = P.get(rb, ru);  // (g2 holds act·up by now: up is the raw product)
                    const Diff d = diff(want_u, ref_u);
                    EXPECT_LE(d.rms, 0.02 * rms(ref_u)) << what << " up against the reference";
                    EXPECT_LE(d.max_abs, 0.08 * rms(ref_u)) << what << " up against the reference";
                }
                for (int run = 0; run < 2; ++run) {
                    const Tensor g1 = P.put_on(be, GgmlType::F32, n, ff, nullptr), u1 = P.put_on(be, GgmlType::F32, n, ff, nullptr);
                    const Tensor y1 = P.put_on(be, GgmlType::F32, n, cols, nullptr);
                    be.matmul_glu(x, {Wg, g1, &Bg}, {Wu, u1, nullptr}, gelu, g1);  // the output over gate, as a layer has it
                    be.matmul(Wd, g1, y1);
                    EXPECT_EQ(diff(P.get(be, u1), want_u).max_abs, 0.0) << what << " up, run " << run;
                    EXPECT_EQ(diff(P.get(be, g1), want_g).max_abs, 0.0) << what << " act·up, run " << run;
                    EXPECT_EQ(diff(P.get(be, y1), want_y).max_abs, 0.0) << what << " down, run " << run;
                }
            }
        }
    }
    ASSERT_TRUE(be.synchronize().ok());
}

// The two 8-bit scratches: matmul_glu reads its input's form from one and writes its output's to
// the other, so products over other inputs in between, and a glu whose input's form sits in the
// second scratch, must each find (or make) the right one. Against the reference's ops.
TEST(CudaOps, GluScratchesFollowTheirInputs) {
    REQUIRE_CUDA(P);
    const int64_t cols = 256, ff = 512, n = 3;
    const GgmlType t = GgmlType::Q8_0;
    const auto wg = make_weights(t, ff, cols, 21), wu = make_weights(t, ff, cols, 22), wd = make_weights(t, cols, ff, 23);
    const auto w2 = make_weights(t, ff, ff, 24);
    auto W = [&](const std::vector<uint8_t>& d, int64_t r, int64_t c) { return P.put(t, r, c, d.data()); };
    auto Wg = W(wg, ff, cols), Wu = W(wu, ff, cols), Wd = W(wd, cols, ff), W2 = W(w2, ff, ff);
    const auto xv = randn(size_t(n * cols), 25), nw = randn(size_t(cols), 26);
    auto X = P.put(GgmlType::F32, n, cols, xv.data()), N = P.put(GgmlType::F32, 1, cols, nw.data());
    auto H = P.put(GgmlType::F32, n, cols, nullptr);
    std::vector<std::pair<Tensor, Tensor>> o;
    for (int i = 0; i < 8; ++i) o.push_back(P.put(GgmlType::F32, n, i < 4 ? ff : cols, nullptr));
    auto pick = [](std::pair<Tensor, Tensor>& p, int k) -> Tensor& { return k ? p.second : p.first; };
    for (int k = 0; k < 2; ++k) {
        Backend& be = k ? *P.ref : *P.cuda;
        be.rms_norm(pick(X, k), pick(N, k), 1e-5f, pick(H, k));  // H's form in the first scratch
        be.matmul_glu(pick(H, k), {pick(Wg, k), pick(o[0], k)}, {pick(Wu, k), pick(o[1], k)}, false, pick(o[0], k));
        be.matmul(pick(W2, k), pick(o[0], k), pick(o[2], k));  // reads the glu's form (second scratch)
        be.matmul(pick(Wd, k), pick(o[2], k), pick(o[4], k));  // another input: quantized into the second scratch
        be.matmul_glu(pick(o[4], k), {pick(Wg, k), pick(o[3], k)}, {pick(Wu, k), pick(o[1], k)}, true, pick(o[3], k));
        be.matmul(pick(Wd, k), pick(o[3], k), pick(o[5], k));  // the second glu's form, in the first scratch
        be.matmul(pick(Wd, k), pick(o[0], k), pick(o[6], k));  // the first glu's output again: quantized anew
    }
    for (int i : {0, 2, 3, 4, 5, 6}) {
        const auto want = P.get(*P.ref, o[size_t(i)].second);
        // 8-bit activations, as QuantizedInputReuseFollowsWrites (chains of up to five products)
        EXPECT_LE(diff(P.get(*P.cuda, o[size_t(i)].first), want).rms, 0.05 * rms(want)) << "output " << i;
    }
}

// Attention of generation-size rows writes its output's 8-bit form for the output projection (the
// decode kernel as it writes the output; after the other kernels, the quantizer). The product that
// reads it equals a product over a copy of the output, which quantizes the copy: bit for bit. Cases
// cover the decode kernel unsplit and split (the merging block writes it), two blocks per KV head,
// head sizes not a multiple of 32 (quantized after), prompt-size rows on the tiled kernel, and block
// tables.
TEST(CudaOps, AttentionWritesTheOutputProjectionsInput) {
    REQUIRE_CUDA(P);
    Backend& be = *P.cuda;
    const AttnCase cases[] = {
        {8, 2, 64, 1, 40, 41},       // decode, one split
        {8, 2, 128, 1, 999, 1000},   // decode, split-K
        {12, 1, 64, 2, 600, 602},    // two blocks per KV head, split
        {8, 2, 80, 1, 300, 301},     // head_dim 80: a unit would straddle heads
        {8, 2, 64, 8, 100, 108},     // 8 tokens: the tiled kernel on enough blocks, or decode
        {32, 8, 128, 1, 1500, 1501}, // the 8B shape
    };
    for (GgmlType kt : {GgmlType::F16, GgmlType::F32}) {
        for (const AttnCase& c : cases) {
            const std::string what = std::string("kv=") + std::string(type_name(kt)) + " heads " + std::to_string(c.n_head) + "/" +
                                     std::to_string(c.n_kv_head) + " hd " + std::to_string(c.head_dim) + " tokens " +
                                     std::to_string(c.n_tok);
            const int64_t qd = int64_t(c.n_head) * c.head_dim;
            KvCacheDesc desc;
            desc.n_layer = 1;
            desc.n_kv_head = c.n_kv_head;
            desc.head_dim = c.head_dim;
            desc.n_ctx = (c.n_kv + 31) / 32 * 32 + 32;
            desc.type = kt;
            auto kc = be.create_kv_cache(desc);
            auto kr = P.ref->create_kv_cache(desc);
            ASSERT_TRUE(kc.ok() && kr.ok()) << kc.message();
            fill_kv(P, **kc, **kr, c.n_kv, 31);
            std::vector<int32_t> pos(size_t(c.n_tok));
            for (int i = 0; i < c.n_tok; ++i) pos[size_t(i)] = c.first_pos + i;
            const Tensor pc = P.put_on(be, GgmlType::I32, 1, c.n_tok, pos.data());
            const auto qv = randn(size_t(c.n_tok * qd), 32);
            const Tensor q = P.put_on(be, GgmlType::F32, c.n_tok, qd, qv.data());
            const auto wv = make_weights(GgmlType::Q8_0, 64, qd, 33);
            const Tensor w = P.put_on(be, GgmlType::Q8_0, 64, qd, wv.data());
            const Tensor out = P.put_on(be, GgmlType::F32, c.n_tok, qd, nullptr), copy = P.put_on(be, GgmlType::F32, c.n_tok, qd, nullptr);
            const Tensor y1 = P.put_on(be, GgmlType::F32, c.n_tok, 64, nullptr), y2 = P.put_on(be, GgmlType::F32, c.n_tok, 64, nullptr);
            for (bool paged : {false, true}) {
                if (paged) {  // one sequence on the identity table
                    std::vector<int32_t> tab(size_t(desc.n_ctx / 32)), seq(size_t(c.n_tok), 0);
                    for (size_t b = 0; b < tab.size(); ++b) tab[b] = int32_t(b);
                    const Tensor tt = P.put_on(be, GgmlType::I32, 1, int64_t(tab.size()), tab.data());
                    const Tensor st = P.put_on(be, GgmlType::I32, 1, c.n_tok, seq.data());
                    be.attention_paged(q, **kc, 0, pc, KvTables{tt, st}, c.first_pos + c.n_tok, 0.07f, out);  // not the last run's output
                } else {
                    be.attention(q, **kc, 0, pc, c.first_pos + c.n_tok, 0.1f, out);
                }
                be.matmul(w, out, y1);  // over the form attention wrote
                be.copy(out, copy);
                be.matmul(w, copy, y2);  // quantizes the copy
                EXPECT_EQ(diff(P.get(be, y1), P.get(be, y2)).max_abs, 0.0) << what << (paged ? " paged" : "");
            }
        }
    }
    ASSERT_TRUE(be.synchronize().ok());
}

// add_i32 (a generation step advancing its position): the kernel and the interface's default
// (download, add, upload), which the reference backend runs, give the same integers.
TEST(CudaOps, AddI32KernelAndHostDefault) {
    REQUIRE_CUDA(P);
    const std::vector<int32_t> v = {0, -5, 41, 2147483000, 7};
    auto [xc, xr] = P.put(GgmlType::I32, 1, int64_t(v.size()), v.data());
    P.cuda->add_i32(xc, 600);
    P.ref->add_i32(xr, 600);
    P.cuda->add_i32(xc.row_range(0, 1), -3);
    P.ref->add_i32(xr.row_range(0, 1), -3);
    std::vector<int32_t> got(v.size()), want(v.size()), expect(v.size());
    ASSERT_TRUE(P.cuda->download(xc, got.data()).ok());
    ASSERT_TRUE(P.ref->download(xr, want.data()).ok());
    for (size_t i = 0; i < v.size(); ++i) expect[i] = v[i] + 597;
    EXPECT_EQ(got, expect);
    EXPECT_EQ(want, expect);
}

TEST(CudaOps, RopeKvStoreFusedEqualsRopeThenStore) {
    REQUIRE_CUDA(P);
    Backend& be = *P.cuda;
    const int n_head = 6, n_kv_head = 2, hd = 64;
    for (GgmlType kt : {GgmlType::F16, GgmlType::F32}) {
        for (int variant = 0; variant < 4; ++variant) {
            RopeParams p;
            p.mode = variant % 2 ? RopeMode::NeoX : RopeMode::Normal;
            p.head_dim = hd;
            p.n_dims = variant == 2 ? 32 : hd;  // partial rotation: the unrotated tail is stored too
            if (variant == 3) { p.ext_factor = 1.0f; p.freq_scale = 0.25f; p.n_ctx_orig = 4096; }
            for (int n : {1, 5, 12}) {
                // Positions after a prefix; the cells a scattered block table gives them (paged).
                std::vector<int32_t> pos(static_cast<size_t>(n)), cells(static_cast<size_t>(n));
                for (int i = 0; i < n; ++i) {
                    pos[size_t(i)] = 37 + i;
                    cells[size_t(i)] = ((pos[size_t(i)] / 32) == 1 ? 3 : 0) * 32 + pos[size_t(i)] % 32;
                }
                KvCacheDesc desc;
                desc.n_layer = 2;
                desc.n_kv_head = n_kv_head;
                desc.head_dim = hd;
                desc.n_ctx = 128;
                desc.type = kt;
                auto fused_kv = be.create_kv_cache(desc), ops_kv = be.create_kv_cache(desc), ref_kv = P.ref->create_kv_cache(desc);
                ASSERT_TRUE(fused_kv.ok() && ops_kv.ok() && ref_kv.ok());
                const auto qd = randn(size_t(n) * n_head * hd, uint32_t(10 * variant + n));
                const auto kd = randn(size_t(n) * n_kv_head * hd, uint32_t(10 * variant + n + 100));
                const auto vd = randn(size_t(n) * n_kv_head * hd, uint32_t(10 * variant + n + 200));
                const Tensor q1 = P.put_on(be, GgmlType::F32, n, n_head * hd, qd.data()), q2 = P.put_on(be, GgmlType::F32, n, n_head * hd, qd.data());
                const Tensor k1 = P.put_on(be, GgmlType::F32, n, n_kv_head * hd, kd.data()), k2 = P.put_on(be, GgmlType::F32, n, n_kv_head * hd, kd.data());
                const Tensor v = P.put_on(be, GgmlType::F32, n, n_kv_head * hd, vd.data());
                const Tensor pc = P.put_on(be, GgmlType::I32, 1, n, pos.data()), cc = P.put_on(be, GgmlType::I32, 1, n, cells.data());
                be.rope_kv_store(q1, k1, v, pc, cc, p, **fused_kv, 1);
                be.Backend::rope_kv_store(q2, k2, v, pc, cc, p, **ops_kv, 1);  // rope, rope, kv_store
                const Tensor qr = P.put_on(*P.ref, GgmlType::F32, n, n_head * hd, qd.data());
                const Tensor kr = P.put_on(*P.ref, GgmlType::F32, n, n_kv_head * hd, kd.data());
                const Tensor vr = P.put_on(*P.ref, GgmlType::F32, n, n_kv_head * hd, vd.data());
                const Tensor pr = P.put_on(*P.ref, GgmlType::I32, 1, n, pos.data()), cr = P.put_on(*P.ref, GgmlType::I32, 1, n, cells.data());
                P.ref->rope_kv_store(qr, kr, vr, pr, cr, p, **ref_kv, 1);
                const std::string what = std::string(type_name(kt)) + " variant " + std::to_string(variant) + " n=" + std::to_string(n);
                EXPECT_EQ(diff(P.get(be, q1), P.get(be, q2)).max_abs, 0.0) << what;
                EXPECT_EQ(diff(P.get(be, k1), P.get(be, k2)).max_abs, 0.0) << what;
                EXPECT_LE(diff(P.get(be, q1), P.get(*P.ref, qr)).max_abs, 5e-3) << what;  // RoPE's float angles
                // The caches, read through attention of the same queries over the stored cells (the
                // paged form with one sequence whose table is 0, 3, 2, 1).
                const std::vector<int32_t> table = {0, 3, 2, 1}, seq(size_t(n), 0);
                const Tensor tc = P.put_on(be, GgmlType::I32, 1, 4, table.data()), sc = P.put_on(be, GgmlType::I32, 1, n, seq.data());
                const Tensor tr = P.put_on(*P.ref, GgmlType::I32, 1, 4, table.data()), sr = P.put_on(*P.ref, GgmlType::I32, 1, n, seq.data());
                const Tensor o1 = P.put_on(be, GgmlType::F32, n, n_head * hd, nullptr), o2 = P.put_on(be, GgmlType::F32, n, n_head * hd, nullptr);
                const Tensor orf = P.put_on(*P.ref, GgmlType::F32, n, n_head * hd, nullptr);
                const KvTables tabc{tc, sc}, tabr{tr, sr};
                // Cells below 37 were never written (zeros in both): attention starts at 37 through a window.
                be.attention_paged(q1, **fused_kv, 1, pc, tabc, 37 + n, 0.125f, o1);
                be.attention_paged(q1, **ops_kv, 1, pc, tabc, 37 + n, 0.125f, o2);
                P.ref->attention_paged(qr, **ref_kv, 1, pr, tabr, 37 + n, 0.125f, orf);
                EXPECT_EQ(diff(P.get(be, o1), P.get(be, o2)).max_abs, 0.0) << what << " (cache)";
                // F16 cells round the keys and values (2^-11 relative) on top of the angle bound.
                EXPECT_LE(diff(P.get(be, o1), P.get(*P.ref, orf)).max_abs, kt == GgmlType::F16 ? 1e-2 : 5e-3) << what << " (cache)";
            }
        }
    }
    ASSERT_TRUE(be.synchronize().ok());
}

TEST(CudaOps, KvShiftAndCopy) {
    REQUIRE_CUDA(P);
    for (RopeMode mode : {RopeMode::Normal, RopeMode::NeoX}) {
        KvCacheDesc desc;
        desc.n_layer = 2;
        desc.n_kv_head = 2;
        desc.head_dim = 64;
        desc.n_ctx = 128;
        desc.type = GgmlType::F16;
        auto kc = P.cuda->create_kv_cache(desc);
        auto kr = P.ref->create_kv_cache(desc);
        ASSERT_TRUE(kc.ok() && kr.ok());
        fill_kv(P, **kc, **kr, 100, 5);
        RopeParams rp;
        rp.mode = mode;
        rp.head_dim = rp.n_dims = 64;
        rp.freq_base = 1e4f;
        rp.attn_factor = 1.1547f;  // LongRoPE's: the re-rotation must stay a pure rotation (backend.h)
        P.cuda->kv_shift(**kc, 4, 30, 100, rp);
        P.ref->kv_shift(**kr, 4, 30, 100, rp);
        // Attention from position 69 over the 70 cells left sees the shifted keys and values.
        const int n_head = 4, hd = 64;
        const std::vector<int32_t> pos = {69};
        auto [pc, pr] = P.put(GgmlType::I32, 1, 1, pos.data());
        const auto q = randn(size_t(n_head * hd), 3);
        auto [qc, qr] = P.put(GgmlType::F32, 1, n_head * hd, q.data());
        auto [oc, orf] = P.put(GgmlType::F32, 1, n_head * hd, nullptr);
        for (int l = 0; l < 2; ++l) {
            P.cuda->attention(qc, **kc, l, pc, 70, 0.125f, oc);
            P.ref->attention(qr, **kr, l, pr, 70, 0.125f, orf);
            // keys re-rotated in float vs double, then rounded to F16: an F16 ulp on a few keys
            EXPECT_LE(diff(P.get(*P.cuda, oc), P.get(*P.ref, orf)).max_abs, 2e-3) << "layer " << l;
        }
        // kv_copy of the first 50 cells into a fresh cache: attention from position 49 is unchanged.
        auto kc2 = P.cuda->create_kv_cache(desc);
        ASSERT_TRUE(kc2.ok());
        P.cuda->kv_copy(**kc, **kc2, 50);
        const std::vector<int32_t> pos49 = {49};
        Tensor p49 = P.put_on(*P.cuda, GgmlType::I32, 1, 1, pos49.data());
        auto o2 = P.put_on(*P.cuda, GgmlType::F32, 1, n_head * hd, nullptr);
        P.cuda->attention(qc, **kc, 1, p49, 50, 0.125f, oc);
        P.cuda->attention(qc, **kc2, 1, p49, 50, 0.125f, o2);
        EXPECT_EQ(diff(P.get(*P.cuda, oc), P.get(*P.cuda, o2)).max_abs, 0.0);
    }
}

// Device top-k sampling against the host sampler (sample_top_k_row) on the same logits: greedy must
// match exactly; a draw may differ only where u lies within 1e-9 of a cumulative-probability boundary
// (exp() of the device and of libm may differ in the last bit), and such rows are not compared.
TEST(CudaOps, SampleTopKMatchesHost) {
    REQUIRE_CUDA(P);
    std::mt19937 rng(99);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    int compared = 0;
    for (int64_t vocab : {int64_t(1), int64_t(100), int64_t(4097), int64_t(32000), int64_t(128256)}) {
        const int64_t rows = 3;
        auto x = randn(size_t(rows * vocab), uint32_t(vocab), 3.0f);
        if (vocab > 100) {
            x[size_t(vocab) + 17] = 50.0f;  // a tie at the top of row 1: the smaller id wins
            x[size_t(vocab) + 5] = 50.0f;
        }
        Tensor lc = P.put_on(*P.cuda, GgmlType::F32, rows, vocab, x.data());
        Tensor oc = P.put_on(*P.cuda, GgmlType::I32, 1, rows, nullptr);
        for (int k : {1, 2, 5, 40, 64}) {
            for (float t : {0.5f, 1.0f, 1.7f}) {
                std::vector<double> u(static_cast<size_t>(rows));
                for (auto& v : u) v = uni(rng);
                ASSERT_TRUE(P.cuda->sample_top_k(lc, k, t, u, oc).ok());
                std::vector<int32_t> got(static_cast<size_t>(rows));
                ASSERT_TRUE(P.cuda->download(oc, got.data()).ok());
                for (int64_t r = 0; r < rows; ++r) {
                    const float* row = x.data() + size_t(r * vocab);
                    const int32_t want = sample_top_k_row(row, int(vocab), k, t, u[size_t(r)]);
                    if (k > 1) {
                        std::vector<TokenCandidate> c(static_cast<size_t>(vocab));
                        for (int64_t i = 0; i < vocab; ++i) c[size_t(i)] = {int32_t(i), row[i]};
                        apply_top_k(c, k);
                        apply_temperature(c, t);
                        double cum = 0, nearest = 1;
                        for (double p : softmax_probs(c)) nearest = std::min(nearest, std::fabs(u[size_t(r)] - (cum += p)));
                        if (nearest < 1e-9) continue;
                    }
                    EXPECT_EQ(got[size_t(r)], want) << "vocab " << vocab << " row " << r << " k " << k << " t " << t;
                    ++compared;
                }
                if (vocab > 100 && k == 1) EXPECT_EQ(got[1], 5);
            }
        }
    }
    EXPECT_GT(compared, 200);
    // Bad arguments are errors, not launches.
    Tensor lc = P.put_on(*P.cuda, GgmlType::F32, 1, 10, nullptr);
    Tensor oc = P.put_on(*P.cuda, GgmlType::I32, 1, 1, nullptr);
    EXPECT_FALSE(P.cuda->sample_top_k(lc, 65, 1.0f, {0.5}, oc).ok());
    EXPECT_FALSE(P.cuda->sample_top_k(lc, 5, 0.0f, {0.5}, oc).ok());
    EXPECT_FALSE(P.cuda->sample_top_k(lc, 5, 1.0f, {}, oc).ok());
}

// HEARTH_CUDA_MAX_MEMORY caps what a backend may hold; memory_free() reports the cap minus what it
// holds and gives freed bytes back; an allocation over the cap is a clear error naming the limit.
TEST(CudaOps, MemoryCapAndLiveFreeMemory) {
    setenv("HEARTH_CUDA_MAX_MEMORY", "64M", 1);
    auto cb = create_backend("cuda", 0, {});
    unsetenv("HEARTH_CUDA_MAX_MEMORY");
    if (!cb.ok()) GTEST_SKIP() << "no usable CUDA device: " << cb.message();
    Backend& be = **cb;
    const uint64_t cap = uint64_t(64) << 20;
    EXPECT_EQ(be.memory_free(), cap);
    {
        auto b = be.alloc(size_t(40) << 20, BufferUsage::Weights);
        ASSERT_TRUE(b.ok()) << b.message();
        EXPECT_EQ(be.memory_free(), cap - (uint64_t(40) << 20));
        auto c = be.alloc(size_t(30) << 20, BufferUsage::Activations);
        ASSERT_FALSE(c.ok());
        EXPECT_NE(c.message().find("HEARTH_CUDA_MAX_MEMORY"), std::string::npos) << c.message();
        EXPECT_NE(c.message().find("30 MiB"), std::string::npos) << c.message();
    }
    EXPECT_EQ(be.memory_free(), cap);  // the buffer's bytes came back
    // Without a cap: the live figure, below the total.
    auto plain = create_backend("cuda", 0, {});
    ASSERT_TRUE(plain.ok());
    EXPECT_GT((*plain)->memory_free(), 0u);
    EXPECT_LE((*plain)->memory_free(), (*plain)->device().memory_total);
}

TEST(CudaOps, ErrorsAreReportedNotCrashes) {
    REQUIRE_CUDA(P);
    // A tensor of another backend passed to a CUDA op: the next synchronize says so.
    const auto x = randn(64, 1);
    Tensor host = P.put_on(*P.ref, GgmlType::F32, 1, 64, x.data());
    Tensor dev = P.put_on(*P.cuda, GgmlType::F32, 1, 64, nullptr);
    P.cuda->copy(host, dev);
    const Status s = P.cuda->synchronize();
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("CUDA"), std::string::npos) << s.message();
    // Token ids outside the table give rows of zeros, not an illegal address that would poison the context.
    const auto table = randn(4 * 64, 2);
    Tensor tab = P.put_on(*P.cuda, GgmlType::F32, 4, 64, table.data());
    const std::vector<int32_t> bad_ids = {-1, 4, 1};
    Tensor ids = P.put_on(*P.cuda, GgmlType::I32, 1, 3, bad_ids.data());
    Tensor rows = P.put_on(*P.cuda, GgmlType::F32, 3, 64, nullptr);
    P.cuda->get_rows(tab, ids, rows);
    const auto got = P.get(*P.cuda, rows);
    ASSERT_TRUE(P.cuda->synchronize().ok());
    for (int c = 0; c < 64; ++c) {
        EXPECT_EQ(got[size_t(c)], 0.0f);
        EXPECT_EQ(got[size_t(64 + c)], 0.0f);
        EXPECT_EQ(got[size_t(128 + c)], table[size_t(64 + c)]);
    }
    // An impossible allocation is a clear out-of-memory error.
    auto big = P.cuda->alloc(size_t(1) << 50, BufferUsage::Weights);
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.message().find("out of GPU memory"), std::string::npos) << big.message();
}

// An upload larger than both pinned staging buffers (2 x 32 MiB) takes three chunks, so a staging
// buffer is refilled while the copy stream may still read it; the copy stream must wait for the
// compute stream's earlier work and the compute stream for the last chunk. On the CUDA simulator,
// whose streams run only when waited for, a missing wait shows as wrong data here.
TEST(CudaOps, LargeUploadThroughStagingBuffers) {
    REQUIRE_CUDA(P);
    const int64_t rows = 5120, cols = 4096;  // 80 MiB of F32
    std::vector<float> x(size_t(rows * cols));
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 1000003) * 0.5f;
    Tensor t = P.put_on(*P.cuda, GgmlType::F32, rows, cols, x.data());
    // The compute stream reads the tensor (a copy of its last rows), then it is overwritten by a
    // second large upload: the copy must see the first contents, the download the second.
    Tensor tail = P.put_on(*P.cuda, GgmlType::F32, 4, cols, nullptr);
    P.cuda->copy(t.row_range(rows - 4, 4), tail);
    std::vector<float> x2(x.size());
    for (size_t i = 0; i < x2.size(); ++i) x2[i] = -float(i % 999983);
    ASSERT_TRUE(P.cuda->upload(t, x2.data()).ok());
    const auto got_tail = P.get(*P.cuda, tail);
    const auto got = P.get(*P.cuda, t);
    ASSERT_TRUE(P.cuda->synchronize().ok());
    size_t bad = 0, bad_tail = 0;
    for (size_t i = 0; i < got.size(); ++i) bad += got[i] != x2[i];
    for (size_t i = 0; i < got_tail.size(); ++i) bad_tail += got_tail[i] != x[size_t(rows - 4) * cols + i];
    EXPECT_EQ(bad, 0u) << "values of the second upload that did not arrive";
    EXPECT_EQ(bad_tail, 0u) << "values the copy read after the second upload had overwritten them";
}

// The ops of issue #13 and supports_op's table (tests/engine/backend_op_checks.h).
TEST(CudaOps, GeluMulScaleHeadNormSlidingWindowAndClaims) {
    REQUIRE_CUDA(P);
    opcheck::Twin tw{*P.cuda, *P.ref, {}};
    opcheck::check_gelu_mul_and_scale(tw);
    opcheck::check_rms_norm_head_views(tw);
    // as AttentionDecodeAndPromptF16AndF32Cache: same cache contents, float vs double softmax and sums
    opcheck::check_sliding_window_attention(tw, GgmlType::F16, kTensorCoreAttnTol);  // prompts: tensor cores (tiled: PromptAttention*)
    opcheck::check_sliding_window_attention(tw, GgmlType::F32, 1e-4);
    opcheck::check_supports_op_claims(tw);
}

// conv2d's im2col bands (HEARTH_CUDA_CONV_BAND_BYTES shrinks them from 64 MiB to 12 rows here): a
// 9×11 image in 9 bands of 12 output pixels (the GEMM path) and a last one of 3 (the matvec path),
// stride 1 and 2, F32 and F16 kernels, against the reference. Bounds as the shared Conv2d check's
// (rel_err: F32 2e-5; F16 kernels meet F16-rounded pixels in the GEMM, 5e-3).
TEST(CudaOps, Conv2dBandsLargeAttentionHeadsAndBadShapes) {
    setenv("HEARTH_CUDA_CONV_BAND_BYTES", std::to_string(12 * 9 * 13 * 4).c_str(), 1);
    auto cb = create_backend("cuda", 0, {});
    unsetenv("HEARTH_CUDA_CONV_BAND_BYTES");
    if (!cb.ok()) GTEST_SKIP() << "no usable CUDA device: " << cb.message();
    Pair P;
    P.cuda = std::move(*cb);
    P.ref = create_reference_backend();
    opcheck::Twin tw{*P.cuda, *P.ref, {}};
    for (GgmlType wt : {GgmlType::F32, GgmlType::F16})
        for (Conv2dGeometry g : {Conv2dGeometry{9, 11, 3, 1, 1}, Conv2dGeometry{9, 11, 3, 2, 1}}) {
            const int64_t cin = 13, cout = 7, kc = 9 * cin, n_in = int64_t(g.height) * g.width;
            const auto wf = randn(size_t(cout * kc), 21, 0.2f);
            std::vector<uint8_t> wbytes(row_bytes(wt, kc) * size_t(cout));
            for (int64_t r = 0; r < cout; ++r)
                ASSERT_TRUE(quantize_row(wt, wf.data() + r * kc, wbytes.data() + size_t(r) * row_bytes(wt, kc), kc).ok());
            auto W = tw.put(wt, cout, kc, wbytes.data());
            auto X = tw.f32(n_in, cin, randn(size_t(n_in * cin), 22)), Bi = tw.f32(1, cout, randn(size_t(cout), 23));
            const int64_t n_out = int64_t(g.out_height()) * g.out_width();
            auto Y = tw.f32(n_out, cout, std::vector<float>(size_t(n_out * cout), 0.0f));
            tw.be.conv2d(X.b, W.b, &Bi.b, g, Y.b);
            tw.ref.conv2d(X.r, W.r, &Bi.r, g, Y.r);
            EXPECT_LE(tw.rel_err(Y), wt == GgmlType::F32 ? 2e-5 : 5e-3) << type_name(wt) << " stride " << g.stride;
        }
    // attention_qkv's register variants for heads of more than 64 and 128 values (the shared checks
    // use heads of 8 to 40): 70 queries, causal self-attention and cross-attention over 77 rows. The
    // shared check's bound (1e-4: float sums in another order than the reference's doubles).
    for (int64_t d : {100, 160, 256})
        for (bool causal : {true, false}) {
            const int64_t nq = 70, n_kv = causal ? nq : 77, cc = 2 * d;
            auto Q = tw.f32(nq, cc, randn(size_t(nq * cc), 31)), Ob = tw.f32(nq, cc, std::vector<float>(size_t(nq * cc), 0.0f));
            auto K = tw.f32(n_kv, cc, randn(size_t(n_kv * cc), 32)), V = tw.f32(n_kv, cc, randn(size_t(n_kv * cc), 33));
            const float sc = 1.0f / std::sqrt(float(d));
            tw.be.attention_qkv(Q.b, K.b, V.b, 2, sc, causal, Ob.b);
            tw.ref.attention_qkv(Q.r, K.r, V.r, 2, sc, causal, Ob.r);
            EXPECT_LE(tw.abs_err(Ob), 1e-4) << "attention_qkv head size " << d << (causal ? " causal" : " cross");
        }
    ASSERT_TRUE(tw.be.synchronize().ok());
    // Shapes that do not match are reported at the next synchronize, never a crash.
    auto X = tw.f32(35, 13, randn(35 * 13, 24)), Y = tw.f32(35, 9, std::vector<float>(35 * 9, 0.0f));
    auto W = tw.f32(9, 100, randn(900, 25));
    tw.be.conv2d(X.b, W.b, nullptr, Conv2dGeometry{5, 7, 3, 1, 1}, Y.b);
    Status s = tw.be.synchronize();
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("conv2d"), std::string::npos) << s.message();
    auto Q = tw.f32(4, 1200, randn(4800, 26)), O = tw.f32(4, 1200, std::vector<float>(4800, 0.0f));
    tw.be.attention_qkv(Q.b, Q.b, Q.b, 2, 1.0f, false, O.b);  // heads of 600 > 512
    s = tw.be.synchronize();
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("head size 600"), std::string::npos) << s.message();
    auto G = tw.f32(1, 13, randn(13, 27));
    tw.be.group_norm(X.b, 4, G.b, G.b, 1e-5f, X.b);  // 13 channels in 4 groups
    s = tw.be.synchronize();
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("group_norm"), std::string::npos) << s.message();
}
