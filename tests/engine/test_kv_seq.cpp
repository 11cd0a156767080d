// Several sequences in one KV cache (issue #16): the block allocator's accounting, attention over
// block tables on the host backends, and ModelContext::eval_batch's batch invariance (a sequence's
// logits bit-identical whatever its batch mates, chunking and prefix sharing) on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/reference/reference_backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/context.h"
#include "engine/model/kv_blocks.h"
#include "engine/model/model.h"
#include "engine/testmodels/random_model.h"
#include "tests/engine/cuda_graphs_env.h"
#include "tests/engine/tiny_model.h"
#include "tests/engine/vulkan_test_util.h"
#ifdef HEARTH_HAVE_VULKAN
#include "engine/backend/vulkan/vk_instance.h"
#endif

using namespace hearth;

// ---------------------------------------------------------------- KvBlocks

TEST(KvBlocks, AllocateShareFree) {
    KvBlocks kb(8);
    EXPECT_EQ(kb.n_free(), 8);
    const int a = kb.create_sequence();
    ASSERT_TRUE(kb.reserve(a, 70).ok());  // 3 blocks
    EXPECT_EQ(kb.table(a), (std::vector<int32_t>{0, 1, 2}));  // a lone sequence: the identity table
    EXPECT_EQ(kb.n_free(), 5);
    EXPECT_EQ(kb.cell(a, 33), 33);
    const int b = kb.create_sequence();
    auto shared = kb.share_prefix(b, a, 70);  // full blocks only: 64 cells
    ASSERT_TRUE(shared.ok());
    EXPECT_EQ(*shared, 64);
    EXPECT_EQ(kb.table(b), (std::vector<int32_t>{0, 1}));
    EXPECT_EQ(kb.refcount(0), 2);
    ASSERT_TRUE(kb.reserve(b, 100).ok());  // 2 blocks of its own
    EXPECT_EQ(kb.n_free(), 3);
    EXPECT_TRUE(kb.check().ok()) << kb.check().message();
    kb.free_sequence(a);
    EXPECT_EQ(kb.refcount(0), 1);  // b still reads the prefix
    EXPECT_EQ(kb.n_free(), 4);     // only a's own third block came back
    EXPECT_TRUE(kb.check().ok()) << kb.check().message();
    kb.free_sequence(b);
    EXPECT_EQ(kb.n_free(), 8);
    EXPECT_TRUE(kb.check().ok()) << kb.check().message();
}

TEST(KvBlocks, BadRequestsAreErrorsAndAllocateNothing) {
    KvBlocks kb(4);
    const int a = kb.create_sequence();
    EXPECT_FALSE(kb.reserve(a, 5 * 32).ok());  // 5 blocks of 4
    EXPECT_EQ(kb.n_free(), 4);
    EXPECT_FALSE(kb.reserve(99, 1).ok());
    EXPECT_FALSE(kb.truncate(a, -1).ok());
    const int b = kb.create_sequence();
    ASSERT_TRUE(kb.reserve(b, 1).ok());
    EXPECT_FALSE(kb.share_prefix(b, a, 32).ok());  // b is not empty
    EXPECT_FALSE(kb.share_prefix(a, a, 32).ok());
    EXPECT_TRUE(kb.table(1234).empty());
    EXPECT_TRUE(kb.check().ok());
}

// Random admissions, prefix shares, growth, truncations and frees: the accounting always holds
// and everything comes back at the end (no leak).
TEST(KvBlocks, RandomWorkloadNeverLeaks) {
    KvBlocks kb(64);
    std::mt19937 rng(5);
    std::vector<int> live;
    std::vector<int> len(256, 0);
    for (int step = 0; step < 5000; ++step) {
        const int op = int(rng() % 5);
        if (op == 0 || live.empty()) {
            const int s = kb.create_sequence();
            if (!live.empty() && rng() % 2) {
                const int src = live[rng() % live.size()];
                auto n = kb.share_prefix(s, src, int(rng() % 200));
                ASSERT_TRUE(n.ok()) << n.message();
                len[size_t(s)] = *n;
            } else {
                len[size_t(s)] = 0;
            }
            live.push_back(s);
        } else if (op == 1 || op == 2) {
            const int s = live[rng() % live.size()];
            const int want = len[size_t(s)] + int(rng() % 80);
            const int before = kb.n_free();
            if (kb.reserve(s, want).ok()) len[size_t(s)] = want;
            else EXPECT_EQ(kb.n_free(), before);
        } else if (op == 3) {
            const int s = live[rng() % live.size()];
            const int keep = int(rng() % (len[size_t(s)] + 1));
            ASSERT_TRUE(kb.truncate(s, keep).ok());
            len[size_t(s)] = std::min(len[size_t(s)], KvBlocks::blocks_for(keep) * kKvBlockTokens);
            len[size_t(s)] = std::min(len[size_t(s)], keep);
        } else {
            const size_t i = rng() % live.size();
            kb.free_sequence(live[i]);
            live.erase(live.begin() + long(i));
        }
        ASSERT_TRUE(kb.check().ok()) << "step " << step << ": " << kb.check().message();
    }
    for (int s : live) kb.free_sequence(s);
    EXPECT_EQ(kb.n_free(), 64);
    EXPECT_TRUE(kb.check().ok());
}

// ---------------------------------------------------------------- attention over block tables

namespace {

struct HostTensor {
    BufferPtr buf;
    Tensor t;
};
HostTensor upload(Backend& be, GgmlType type, int64_t rows, int64_t cols, const void* data) {
    HostTensor h;
    h.buf = *be.alloc(row_bytes(type, cols) * size_t(rows), BufferUsage::Activations);
    h.t = make_tensor(h.buf.get(), 0, type, rows, cols);
    EXPECT_TRUE(be.upload(h.t, data).ok());
    return h;
}

std::vector<float> randn(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

// Three sequences in one cache of 8 blocks: A (40 tokens, blocks {5, 2}), B (70 tokens, blocks
// {5, 7, 0}: it shares A's first block, so its first 32 tokens are A's), C (3 tokens, block {3}).
// Queries from all three in one batch; each sequence's output must equal attention() over a
// cache holding that sequence alone at its own positions (identity table).
void check_paged_attention(Backend& be, Backend& ref, GgmlType kv_type, int window, double tol = 1e-4) {
    const int n_kv_head = 2, hd = 32, n_head = 4, kv_dim = n_kv_head * hd, q_dim = n_head * hd;
    KvCacheDesc d;
    d.n_layer = 1; d.n_kv_head = n_kv_head; d.head_dim = hd; d.n_ctx = 8 * kKvBlockTokens; d.type = kv_type;
    if (window) d.window = {window};
    const std::vector<std::vector<int32_t>> tables = {{5, 2}, {5, 7, 0}, {3}};
    const std::vector<int> lens = {40, 70, 3};
    // K/V of each sequence's positions; B's first 32 are A's.
    std::vector<std::vector<float>> K(3), V(3);
    for (int s = 0; s < 3; ++s) {
        K[size_t(s)] = randn(size_t(lens[size_t(s)]) * kv_dim, uint32_t(10 + s));
        V[size_t(s)] = randn(size_t(lens[size_t(s)]) * kv_dim, uint32_t(20 + s));
    }
    std::copy_n(K[0].begin(), 32 * kv_dim, K[1].begin());
    std::copy_n(V[0].begin(), 32 * kv_dim, V[1].begin());
    // Queries: positions per sequence, interleaved in the batch.
    const std::vector<std::pair<int, int>> qs = {{0, 39}, {1, 69}, {2, 0}, {1, 31}, {0, 10}, {1, 32}, {2, 2}, {1, 50}, {0, 0}};
    const int nq = int(qs.size());
    const auto qv = randn(size_t(nq) * q_dim, 99);

    auto run_paged = [&](Backend& b) {
        auto kv = b.create_kv_cache(d);
        EXPECT_TRUE(kv.ok());
        // Store each sequence's own cells (B's shared block is written by A only).
        for (int s = 0; s < 3; ++s) {
            const int first = s == 1 ? 32 : 0, n = lens[size_t(s)] - first;
            std::vector<int32_t> cells;
            for (int p = first; p < lens[size_t(s)]; ++p)
                cells.push_back(tables[size_t(s)][size_t(p / 32)] * 32 + p % 32);
            auto k = upload(b, GgmlType::F32, n, kv_dim, K[size_t(s)].data() + size_t(first) * kv_dim);
            auto v = upload(b, GgmlType::F32, n, kv_dim, V[size_t(s)].data() + size_t(first) * kv_dim);
            auto c = upload(b, GgmlType::I32, 1, n, cells.data());
            b.kv_store(**kv, 0, k.t, v.t, c.t);
        }
        std::vector<int32_t> tab(3 * 8, 0), seq, pos;
        for (int s = 0; s < 3; ++s) std::copy(tables[size_t(s)].begin(), tables[size_t(s)].end(), tab.begin() + s * 8);
        for (auto [s, p] : qs) { seq.push_back(s); pos.push_back(p); }
        auto q = upload(b, GgmlType::F32, nq, q_dim, qv.data());
        auto tt = upload(b, GgmlType::I32, 3, 8, tab.data());
        auto st = upload(b, GgmlType::I32, 1, nq, seq.data());
        auto pt = upload(b, GgmlType::I32, 1, nq, pos.data());
        std::vector<float> zero(size_t(nq) * q_dim, 0.0f), out(zero.size());
        auto o = upload(b, GgmlType::F32, nq, q_dim, zero.data());
        b.attention_paged(q.t, **kv, 0, pt.t, KvTables{tt.t, st.t}, 70, 0.125f, o.t);
        EXPECT_TRUE(b.download(o.t, out.data()).ok());
        return out;
    };
    // One sequence alone, identity table, its queries only.
    auto run_alone = [&](Backend& b, int s) {
        auto kv = b.create_kv_cache(d);
        const int n = lens[size_t(s)];
        std::vector<int32_t> cells(static_cast<size_t>(n));
        for (int p = 0; p < n; ++p) cells[size_t(p)] = p;
        auto k = upload(b, GgmlType::F32, n, kv_dim, K[size_t(s)].data());
        auto v = upload(b, GgmlType::F32, n, kv_dim, V[size_t(s)].data());
        auto c = upload(b, GgmlType::I32, 1, n, cells.data());
        b.kv_store(**kv, 0, k.t, v.t, c.t);
        std::vector<float> out(size_t(nq) * q_dim, 0.0f);
        for (int i = 0; i < nq; ++i) {
            if (qs[size_t(i)].first != s) continue;
            const int32_t p = qs[size_t(i)].second;
            auto q = upload(b, GgmlType::F32, 1, q_dim, qv.data() + size_t(i) * q_dim);
            auto pt = upload(b, GgmlType::I32, 1, 1, &p);
            auto o = upload(b, GgmlType::F32, 1, q_dim, out.data());
            b.attention(q.t, **kv, 0, pt.t, n, 0.125f, o.t);
            EXPECT_TRUE(b.download(o.t, out.data() + size_t(i) * q_dim).ok());
        }
        return out;
    };
    const auto paged = run_paged(be), paged_ref = run_paged(ref);
    std::vector<float> alone(paged.size(), 0.0f);
    for (int s = 0; s < 3; ++s) {
        const auto a = run_alone(be, s);
        for (int i = 0; i < nq; ++i)
            if (qs[size_t(i)].first == s) std::copy_n(a.begin() + i * q_dim, q_dim, alone.begin() + i * q_dim);
    }
    // Host backends: bit for bit (same arithmetic per token, only the addresses differ). GPUs may
    // pick another kernel variant for one token (Vulkan: split flash-decoding) than for a batch:
    // then float rounding only, 1e-5 on these O(0.1..1) outputs.
    const bool host = be.device().backend == "cpu" || be.device().backend == "reference";
    for (size_t i = 0; i < paged.size(); ++i) {
        if (host) ASSERT_EQ(paged[i], alone[i]) << "element " << i;
        else ASSERT_NEAR(paged[i], alone[i], 1e-5) << "element " << i;
    }
    // Against the reference (double accumulation): the CPU's float online softmax differs by
    // rounding only; outputs are O(1) averages of N(0,1) values, so 1e-4 absolute is ~100 ulp.
    for (size_t i = 0; i < paged.size(); ++i) ASSERT_NEAR(paged[i], paged_ref[i], tol) << "element " << i;
}

}  // namespace

TEST(PagedAttention, CpuMatchesAloneAndReference) {
    auto cpu = create_cpu_backend(BackendOptions{2});
    auto ref = create_reference_backend();
    ASSERT_TRUE(cpu->supports_op(Op::PagedAttention));
    for (GgmlType t : {GgmlType::F32, GgmlType::F16})
        for (int window : {0, 16}) {
            SCOPED_TRACE(std::string(t == GgmlType::F16 ? "f16" : "f32") + " window " + std::to_string(window));
            check_paged_attention(*cpu, *ref, t, window);
        }
}

// Vulkan (lavapipe here): the PAGED shader against the same shader on a cache holding one
// sequence, bit for bit, and against the reference; 2e-3 covers F16 math (q and p rounded to F16,
// about 1e-3 relative on these O(1) outputs) on devices with shaderFloat16.
TEST(PagedAttention, VulkanMatchesAloneAndReference) {
    std::string why;
    Backend* vk = vktest::backend("", &why);
    if (!vk) GTEST_SKIP() << why;
    auto ref = create_reference_backend();
    ASSERT_TRUE(vk->supports_op(Op::PagedAttention));
    for (GgmlType t : {GgmlType::F32, GgmlType::F16})
        for (int window : {0, 16}) {
            SCOPED_TRACE(std::string(t == GgmlType::F16 ? "f16" : "f32") + " window " + std::to_string(window));
            check_paged_attention(*vk, *ref, t, window, 2e-3);
        }
#ifdef HEARTH_HAVE_VULKAN
    // With HEARTH_VULKAN_VALIDATION=1 (and the Khronos layer installed): the PAGED shaders' 7
    // bindings and longer push constants draw no validation message.
    if (vk::validation_enabled()) EXPECT_TRUE(vk::validation_messages().empty()) << vk::validation_messages().front();
#endif
}

// CUDA (the simulator in CI: sim.PagedAttention.Cuda*): the decode kernel over block tables
// against the same kernel on a cache holding one sequence (bit for bit: one block per token and
// KV head either way, no split below 256 cells), and against the reference within 1e-3 (__expf and
// float accumulation).
TEST(PagedAttention, CudaMatchesAloneAndReference) {
    auto cb = create_backend("cuda", 0, {});
    if (!cb.ok()) GTEST_SKIP() << "no usable CUDA device: " << cb.message();
    auto ref = create_reference_backend();
    ASSERT_TRUE((*cb)->supports_op(Op::PagedAttention));
    for (GgmlType t : {GgmlType::F32, GgmlType::F16})
        for (int window : {0, 16}) {
            SCOPED_TRACE(std::string(t == GgmlType::F16 ? "f16" : "f32") + " window " + std::to_string(window));
            check_paged_attention(**cb, *ref, t, window, 1e-3);
        }
}

TEST(PagedAttention, ReferenceMatchesAlone) {
    auto ref = create_reference_backend();
    auto ref2 = create_reference_backend();
    check_paged_attention(*ref, *ref2, GgmlType::F16, 0);
}

// ---------------------------------------------------------------- batched forward

namespace {

struct Loaded {
    std::unique_ptr<gguf::File> file;
    std::unique_ptr<Backend> be;
    std::unique_ptr<Model> model;
};

Loaded load(const std::string& path, bool reference) {
    Loaded l;
    auto f = gguf::File::open(path);
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return l;
    l.file = std::move(*f);
    l.be = reference ? create_reference_backend() : create_cpu_backend(BackendOptions{2});
    auto m = Model::load(*l.file, *l.be);
    EXPECT_TRUE(m.ok()) << m.message();
    if (m.ok()) l.model = std::move(*m);
    return l;
}

std::vector<int32_t> tokens(int n, uint32_t seed, int n_vocab) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (int32_t& x : t) x = int32_t(rng() % uint32_t(n_vocab));
    return t;
}

int32_t argmax(const float* v, int n) { return int32_t(std::max_element(v, v + n) - v); }

// The prompt's last logits, then `steps` greedy decode logits of each sequence, all sequences
// batched (each prompt in one piece) or each one alone; the context is shared, blocks come from kb.
std::vector<std::vector<float>> run(ModelContext& ctx, KvBlocks& kb, const std::vector<std::vector<int32_t>>& prompts,
                                    int steps, bool batched) {
    const int V = ctx.n_vocab();
    std::vector<std::vector<float>> out(prompts.size());
    auto one_group = [&](const std::vector<size_t>& which) {
        std::vector<int> seq;
        for (size_t i : which) {
            seq.push_back(kb.create_sequence());
            EXPECT_TRUE(kb.reserve(seq.back(), int(prompts[i].size())).ok());
        }
        std::vector<SeqStep> st;
        for (size_t j = 0; j < which.size(); ++j)
            st.push_back({prompts[which[j]].data(), int(prompts[which[j]].size()), 0, &kb.table(seq[j]), 1});
        std::vector<float> lg;
        EXPECT_TRUE(ctx.eval_batch(st, &lg).ok());
        std::vector<int32_t> next(which.size());
        std::vector<int> len(which.size());
        for (size_t j = 0; j < which.size(); ++j) {
            out[which[j]].insert(out[which[j]].end(), lg.begin() + long(j) * V, lg.begin() + long(j + 1) * V);
            next[j] = argmax(lg.data() + j * size_t(V), V);
            len[j] = int(prompts[which[j]].size());
        }
        for (int s = 0; s < steps; ++s) {
            st.clear();
            for (size_t j = 0; j < which.size(); ++j) {
                EXPECT_TRUE(kb.reserve(seq[j], len[j] + 1).ok());  // grows table by table: interleaved blocks
                st.push_back({&next[j], 1, len[j], &kb.table(seq[j]), 1});
            }
            EXPECT_TRUE(ctx.eval_batch(st, &lg).ok());
            for (size_t j = 0; j < which.size(); ++j) {
                out[which[j]].insert(out[which[j]].end(), lg.begin() + long(j) * V, lg.begin() + long(j + 1) * V);
                next[j] = argmax(lg.data() + j * size_t(V), V);
                ++len[j];
            }
        }
        for (int s : seq) kb.free_sequence(s);
    };
    if (batched) {
        std::vector<size_t> all(prompts.size());
        for (size_t i = 0; i < all.size(); ++i) all[i] = i;
        one_group(all);
    } else {
        for (size_t i = 0; i < prompts.size(); ++i) one_group({i});
    }
    return out;
}

void expect_bit_identical(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    size_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff += std::memcmp(&a[i], &b[i], 4) != 0;
    EXPECT_EQ(diff, 0u) << what << ": " << diff << " of " << a.size() << " logits differ";
}

class BatchInvariance : public ::testing::TestWithParam<GgmlType> {};

}  // namespace

// Eight sequences of different lengths: batched (one prefill pass of 262 tokens split at n_batch,
// then decode steps of 8 rows, their blocks interleaved) against each alone; a prompt prefilled in
// chunks of 1, 7 and 64 tokens; a prompt whose first two blocks come from another sequence; and
// eval() on a plain context. On the CPU with Q4_0 / Q8_0 weights every one is bit-identical.
TEST_P(BatchInvariance, BatchedChunkedAndSharedEqualAlone) {
    const GgmlType type = GetParam();
    const std::string path = test::temp_file("kvseq_" + std::string(type_name(type)) + ".gguf");
    RandomModelShape shape;
    shape.n_embd = 128; shape.n_head = 4; shape.n_kv_head = 2; shape.n_ff = 256; shape.n_layer = 2; shape.n_vocab = 512;
    ASSERT_TRUE(write_random_llama_model(path, shape, type, 3).ok());
    Loaded l = load(path, false);
    ASSERT_TRUE(l.model);
    auto c = ModelContext::create(*l.model, 16 * 128, GgmlType::F16, 256);
    ASSERT_TRUE(c.ok()) << c.message();
    ModelContext& ctx = **c;
    KvBlocks kb(ctx.n_blocks());
    const int V = ctx.n_vocab();
    std::vector<std::vector<int32_t>> prompts;
    for (int n : {1, 5, 17, 32, 33, 40, 64, 70}) prompts.push_back(tokens(n, uint32_t(n), V));

    const auto alone = run(ctx, kb, prompts, 4, false);
    EXPECT_EQ(kb.n_free(), ctx.n_blocks());
    const auto batched = run(ctx, kb, prompts, 4, true);
    EXPECT_EQ(kb.n_free(), ctx.n_blocks());
    for (size_t i = 0; i < prompts.size(); ++i)
        expect_bit_identical(batched[i], alone[i], "sequence of " + std::to_string(prompts[i].size()) + " tokens, batched");

    // Chunked prefill of the 70-token prompt, behind two other sequences' blocks (not the identity table).
    const std::vector<int32_t>& p70 = prompts.back();
    const int filler = kb.create_sequence();
    ASSERT_TRUE(kb.reserve(filler, 40).ok());
    for (int chunk : {1, 7, 64}) {
        const int s = kb.create_sequence();
        ASSERT_TRUE(kb.reserve(s, 70).ok());
        std::vector<float> lg;
        for (int at = 0; at < 70; at += chunk) {
            const int n = std::min(chunk, 70 - at);
            ASSERT_TRUE(ctx.eval_batch({{p70.data() + at, n, at, &kb.table(s), 1}}, &lg).ok());
        }
        expect_bit_identical(lg, std::vector<float>(alone.back().begin(), alone.back().begin() + V),
                             "70 tokens prefilled in chunks of " + std::to_string(chunk));
        kb.free_sequence(s);
    }
    kb.free_sequence(filler);

    // Shared prefix: B = A's first 64 tokens + 10 of its own, with A's two blocks taken copy-free.
    {
        std::vector<int32_t> pb(p70.begin(), p70.begin() + 64);
        const auto tail = tokens(10, 77, V);
        pb.insert(pb.end(), tail.begin(), tail.end());
        const auto b_alone = run(ctx, kb, {pb}, 2, false);
        const int a = kb.create_sequence();
        ASSERT_TRUE(kb.reserve(a, 70).ok());
        std::vector<float> lg;
        ASSERT_TRUE(ctx.eval_batch({{p70.data(), 70, 0, &kb.table(a), 1}}, &lg).ok());
        const int b = kb.create_sequence();
        auto shared = kb.share_prefix(b, a, 70);
        ASSERT_TRUE(shared.ok());
        ASSERT_EQ(*shared, 64);
        ASSERT_TRUE(kb.reserve(b, 75).ok());
        ASSERT_TRUE(ctx.eval_batch({{pb.data() + 64, 10, 64, &kb.table(b), 1}}, &lg).ok());
        std::vector<float> got = lg;
        const int32_t next = argmax(lg.data(), V);
        ASSERT_TRUE(ctx.eval_batch({{&next, 1, 74, &kb.table(b), 1}}, &lg).ok());
        got.insert(got.end(), lg.begin(), lg.end());
        expect_bit_identical(got, std::vector<float>(b_alone[0].begin(), b_alone[0].begin() + 2 * V), "shared 64-token prefix");
        kb.free_sequence(a);
        kb.free_sequence(b);
        EXPECT_EQ(kb.n_free(), ctx.n_blocks());
        EXPECT_TRUE(kb.check().ok());
    }

    // eval() on its own context (identity table, attention() rather than attention_paged()).
    {
        auto c2 = ModelContext::create(*l.model, 128, GgmlType::F16, 256);
        ASSERT_TRUE(c2.ok());
        std::vector<float> lg;
        ASSERT_TRUE((*c2)->eval(p70.data(), 70, 0, 1, &lg).ok());
        expect_bit_identical(lg, std::vector<float>(alone.back().begin(), alone.back().begin() + V), "eval()");
    }
    std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Cpu, BatchInvariance, ::testing::Values(GgmlType::Q4_0, GgmlType::Q8_0),
                         [](const auto& i) { return std::string(type_name(i.param)); });

// A mixture of experts (qwen3moe, 8 experts, 2 per token) batched: each expert gathers the rows of
// every sequence that chose it, and each token still gets exactly its own experts' sum, in the same
// order, so the CPU's batched logits equal each sequence alone bit for bit.
TEST(BatchInvarianceExperts, BatchedEqualsAlone) {
    const std::string path = test::temp_file("kvseq_moe.gguf");
    RandomModelShape shape;
    shape.arch = "qwen3moe";
    shape.n_embd = 128; shape.n_head = 4; shape.n_kv_head = 2; shape.n_ff = 256; shape.n_layer = 2; shape.n_vocab = 512;
    shape.n_ff_exp = 96; shape.n_expert = 8; shape.n_expert_used = 2;
    ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::Q8_0, 5).ok());
    Loaded l = load(path, false);
    ASSERT_TRUE(l.model);
    auto c = ModelContext::create(*l.model, 1024, GgmlType::F16, 128);
    ASSERT_TRUE(c.ok()) << c.message();
    KvBlocks kb((*c)->n_blocks());
    std::vector<std::vector<int32_t>> prompts;
    for (int n : {1, 9, 33, 64}) prompts.push_back(tokens(n, uint32_t(n) + 100, (*c)->n_vocab()));
    const auto alone = run(**c, kb, prompts, 4, false);
    const auto batched = run(**c, kb, prompts, 4, true);
    for (size_t i = 0; i < prompts.size(); ++i)
        expect_bit_identical(batched[i], alone[i], "experts, sequence of " + std::to_string(prompts[i].size()) + " tokens");
    EXPECT_EQ(kb.n_free(), (*c)->n_blocks());
    std::filesystem::remove(path);
}

// The reference backend (double accumulation per row): batched equals alone too.
TEST(BatchInvarianceReference, BatchedEqualsAlone) {
    const std::string path = test::temp_file("kvseq_ref.gguf");
    RandomModelShape shape;
    ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::F32, 4).ok());
    Loaded l = load(path, true);
    ASSERT_TRUE(l.model);
    auto c = ModelContext::create(*l.model, 512, GgmlType::F32, 64);
    ASSERT_TRUE(c.ok());
    KvBlocks kb((*c)->n_blocks());
    std::vector<std::vector<int32_t>> prompts;
    for (int n : {3, 33, 40}) prompts.push_back(tokens(n, uint32_t(n), (*c)->n_vocab()));
    const auto alone = run(**c, kb, prompts, 3, false);
    const auto batched = run(**c, kb, prompts, 3, true);
    for (size_t i = 0; i < prompts.size(); ++i) expect_bit_identical(batched[i], alone[i], "reference");
    std::filesystem::remove(path);
}

TEST(EvalBatch, BadStepsAreErrors) {
    const std::string path = test::temp_file("kvseq_bad.gguf");
    ASSERT_TRUE(write_random_llama_model(path, RandomModelShape{}, GgmlType::F32, 4).ok());
    Loaded l = load(path, true);
    ASSERT_TRUE(l.model);
    auto c = ModelContext::create(*l.model, 128, GgmlType::F32, 64);
    ASSERT_TRUE(c.ok());
    const std::vector<int32_t> t = {1, 2, 3}, short_table = {0}, bad_block = {0, 99};
    std::vector<float> lg;
    EXPECT_FALSE((*c)->eval_batch({}, &lg).ok());
    EXPECT_FALSE((*c)->eval_batch({{t.data(), 3, 0, nullptr, 1}}, &lg).ok());
    EXPECT_FALSE((*c)->eval_batch({{t.data(), 3, 30, &short_table, 1}}, &lg).ok());  // cells 30..32 need 2 blocks
    EXPECT_FALSE((*c)->eval_batch({{t.data(), 3, 30, &bad_block, 1}}, &lg).ok());
    const std::vector<int32_t> bad_tok = {1, 100000};
    EXPECT_FALSE((*c)->eval_batch({{bad_tok.data(), 2, 0, &short_table, 1}}, &lg).ok());
    EXPECT_FALSE((*c)->eval_batch({{t.data(), 3, 0, &short_table, 4}}, &lg).ok());
    EXPECT_TRUE((*c)->eval_batch({{t.data(), 3, 0, &short_table, 2}}, &lg).ok());
    EXPECT_EQ(lg.size(), size_t(2 * (*c)->n_vocab()));
    std::filesystem::remove(path);
}

// A context shift of one sequence on a scattered table gives the logits of the same shift on a
// plain context (identity table), bit for bit; a shared block is reported as not owned.
TEST(KvShiftSeq, EqualsPlainContextShift) {
    const std::string path = test::temp_file("kvseq_shift.gguf");
    RandomModelShape shape;
    shape.n_embd = 128; shape.n_head = 4; shape.n_kv_head = 2; shape.n_ff = 256;
    ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::Q4_0, 6).ok());
    Loaded l = load(path, false);
    ASSERT_TRUE(l.model);
    auto plain = ModelContext::create(*l.model, 128, GgmlType::F16, 128);
    auto shared = ModelContext::create(*l.model, 512, GgmlType::F16, 128);
    ASSERT_TRUE(plain.ok() && shared.ok());
    const auto p = tokens(100, 8, (*plain)->n_vocab());
    KvBlocks kb((*shared)->n_blocks());
    const int filler = kb.create_sequence();
    ASSERT_TRUE(kb.reserve(filler, 50).ok());
    const int s = kb.create_sequence();
    ASSERT_TRUE(kb.reserve(s, 100).ok());
    std::vector<float> a, b;
    ASSERT_TRUE((*plain)->eval(p.data(), 100, 0, 1, &a).ok());
    ASSERT_TRUE((*shared)->eval_batch({{p.data(), 100, 0, &kb.table(s), 1}}, &b).ok());
    expect_bit_identical(b, a, "before the shift");
    // keep 4, discard 37 (not whole blocks: cells move across blocks), then one more token
    ASSERT_TRUE(kb.owns_from(s, 4));
    ASSERT_TRUE((*plain)->kv_shift(4, 37, 100).ok());
    ASSERT_TRUE((*shared)->kv_shift_seq(kb.table(s), 4, 37, 100).ok());
    ASSERT_TRUE(kb.truncate(s, 63).ok());
    ASSERT_TRUE(kb.reserve(s, 64).ok());
    const int32_t next = 7;
    ASSERT_TRUE((*plain)->eval(&next, 1, 63, 1, &a).ok());
    ASSERT_TRUE((*shared)->eval_batch({{&next, 1, 63, &kb.table(s), 1}}, &b).ok());
    expect_bit_identical(b, a, "after the shift");
    const int t = kb.create_sequence();
    ASSERT_TRUE(kb.share_prefix(t, s, 64).ok());
    EXPECT_FALSE(kb.owns_from(s, 4));
    EXPECT_TRUE(kb.owns_from(s, 64));
    EXPECT_FALSE((*shared)->kv_shift_seq(kb.table(s), 4, 37, 1000).ok());  // beyond its blocks
    std::filesystem::remove(path);
}

// Vulkan: a batch of sequences against each alone (tolerance: the matmul shaders differ between
// one token and several, mul_mv against mul_mm, so the GPU is not batch-invariant bit for bit;
// logits are O(1..10) and differ by float rounding of Q8_0 products), and a one-sequence context
// shift on a scattered table against the plain context's shift on the same backend.
namespace {
// Batched against alone on a GPU backend (within the bound below); the context stays for more checks.
void check_gpu_batch(ModelContext& ctx, KvBlocks& kb, const char* tag) {
    std::vector<std::vector<int32_t>> prompts;
    for (int n : {3, 33, 40, 70}) prompts.push_back(tokens(n, uint32_t(n), ctx.n_vocab()));
    const auto alone = run(ctx, kb, prompts, 3, false);
    const auto batched = run(ctx, kb, prompts, 3, true);
    // The bound of test_vulkan_model.cpp for quantized weights and an F16 cache: 1% of the logits'
    // rms plus 0.05 (matrix-vector and matrix-matrix shaders, F16 math).
    for (size_t i = 0; i < prompts.size(); ++i) {
        ASSERT_EQ(alone[i].size(), batched[i].size());
        double worst = 0, ss = 0;
        for (size_t j = 0; j < alone[i].size(); ++j) {
            worst = std::max(worst, double(std::fabs(alone[i][j] - batched[i][j])));
            ss += double(alone[i][j]) * alone[i][j];
        }
        const double tol = 0.01 * std::sqrt(ss / double(alone[i].size())) + 0.05;
        EXPECT_LE(worst, tol) << "sequence " << i;
        std::printf("[ %s ] sequence of %zu tokens: batched vs alone max |d| %.3g (tol %.3g)\n", tag, prompts[i].size(), worst, tol);
    }
}
}  // namespace

TEST(EvalBatchVulkan, BatchedNearAloneAndShiftEqualsPlain) {
    std::string why;
    Backend* vk = vktest::backend("", &why);
    if (!vk) GTEST_SKIP() << why;
    const std::string path = test::temp_file("kvseq_vk.gguf");
    RandomModelShape shape;
    shape.n_embd = 128; shape.n_head = 4; shape.n_kv_head = 2; shape.n_ff = 256;
    ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::Q8_0, 9).ok());
    auto f = gguf::File::open(path);
    ASSERT_TRUE(f.ok());
    auto m = Model::load(**f, *vk);
    ASSERT_TRUE(m.ok()) << m.message();
    auto c = ModelContext::create(**m, 1024, GgmlType::F16, 128);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->can_batch());
    KvBlocks kb((*c)->n_blocks());
    check_gpu_batch(**c, kb, "vulkan");
    // shift: plain context vs a sequence behind another's blocks
    auto plain = ModelContext::create(**m, 128, GgmlType::F16, 128);
    ASSERT_TRUE(plain.ok());
    const auto p = tokens(100, 8, (*c)->n_vocab());
    const int filler = kb.create_sequence(), s = kb.create_sequence();
    ASSERT_TRUE(kb.reserve(filler, 50).ok());
    ASSERT_TRUE(kb.reserve(s, 100).ok());
    std::vector<float> a, b;
    ASSERT_TRUE((*plain)->eval(p.data(), 100, 0, 1, &a).ok());
    ASSERT_TRUE((*c)->eval_batch({{p.data(), 100, 0, &kb.table(s), 1}}, &b).ok());
    ASSERT_TRUE((*plain)->kv_shift(4, 37, 100).ok());
    ASSERT_TRUE((*c)->kv_shift_seq(kb.table(s), 4, 37, 100).ok());
    const int32_t next = 7;
    ASSERT_TRUE((*plain)->eval(&next, 1, 63, 1, &a).ok());
    ASSERT_TRUE((*c)->eval_batch({{&next, 1, 63, &kb.table(s), 1}}, &b).ok());
    double worst = 0;
    for (size_t j = 0; j < a.size(); ++j) worst = std::max(worst, double(std::fabs(a[j] - b[j])));
    EXPECT_LT(worst, 1e-4) << "one token, same shaders: only the cache addresses differ";
#ifdef HEARTH_HAVE_VULKAN
    if (vk::validation_enabled()) EXPECT_TRUE(vk::validation_messages().empty()) << vk::validation_messages().front();
#endif
    std::filesystem::remove(path);
}

// CUDA (the simulator in CI): a batch against each alone, within the Vulkan test's bound, and a
// one-sequence context shift on a scattered table against the plain context's shift.
TEST(EvalBatchCuda, BatchedNearAlone) {
    auto cb = create_backend("cuda", 0, {});
    if (!cb.ok()) GTEST_SKIP() << "no usable CUDA device: " << cb.message();
    const std::string path = test::temp_file("kvseq_cuda.gguf");
    RandomModelShape shape;
    shape.n_embd = 128; shape.n_head = 4; shape.n_kv_head = 2; shape.n_ff = 256;
    ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::Q8_0, 9).ok());
    auto f = gguf::File::open(path);
    ASSERT_TRUE(f.ok());
    auto m = Model::load(**f, **cb);
    ASSERT_TRUE(m.ok()) << m.message();
    auto c = ModelContext::create(**m, 1024, GgmlType::F16, 128);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->can_batch());
    KvBlocks kb((*c)->n_blocks());
    check_gpu_batch(**c, kb, "cuda");
    auto plain = ModelContext::create(**m, 128, GgmlType::F16, 128);
    ASSERT_TRUE(plain.ok());
    const auto p = tokens(100, 8, (*c)->n_vocab());
    const int filler = kb.create_sequence(), s = kb.create_sequence();
    ASSERT_TRUE(kb.reserve(filler, 50).ok());
    ASSERT_TRUE(kb.reserve(s, 100).ok());
    std::vector<float> a, b;
    ASSERT_TRUE((*plain)->eval(p.data(), 100, 0, 1, &a).ok());
    ASSERT_TRUE((*c)->eval_batch({{p.data(), 100, 0, &kb.table(s), 1}}, &b).ok());
    ASSERT_TRUE((*plain)->kv_shift(4, 37, 100).ok());
    ASSERT_TRUE((*c)->kv_shift_seq(kb.table(s), 4, 37, 100).ok());
    const int32_t next = 7;
    ASSERT_TRUE((*plain)->eval(&next, 1, 63, 1, &a).ok());
    ASSERT_TRUE((*c)->eval_batch({{&next, 1, 63, &kb.table(s), 1}}, &b).ok());
    double worst = 0;
    for (size_t j = 0; j < a.size(); ++j) worst = std::max(worst, double(std::fabs(a[j] - b[j])));
    EXPECT_LT(worst, 1e-4) << "one token, same kernels: only the cache addresses differ";
    std::filesystem::remove(path);
}

// Batched generation steps as CUDA graphs (the server's decode): three sequences of different
// lengths step together, each pass keyed by its shape (3 tokens, 3 tables, the rows wanted); after
// the first two steps every step is a replay that reads the new tokens, positions, cells and tables
// (a sequence crosses into a new block on the way). Equal to the same steps with graphs off: the
// kernels are the same and attention's bucket bound masks the same cells, so 1e-5 only allows for a
// different split of a long range (none here).
TEST(EvalBatchCuda, DecodeStepsReplayedEqualDirectLaunches) {
    const std::string path = test::temp_file("kvseq_cuda_graphs.gguf");
    RandomModelShape shape;
    shape.n_embd = 128; shape.n_head = 4; shape.n_kv_head = 2; shape.n_ff = 256;
    ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::Q8_0, 11).ok());
    auto run = [&](bool graphs, std::vector<float>* all, Backend::StepStats* stats) {
        auto cb = [&] {
            test::CudaGraphsEnv env(graphs);
            return create_backend("cuda", 0, {});
        }();
        if (!cb.ok()) GTEST_SKIP() << "no usable CUDA device: " << cb.message();
        auto f = gguf::File::open(path);
        ASSERT_TRUE(f.ok());
        auto m = Model::load(**f, **cb);
        ASSERT_TRUE(m.ok()) << m.message();
        auto c = ModelContext::create(**m, 256, GgmlType::F16, 64);
        ASSERT_TRUE(c.ok());
        KvBlocks kb((*c)->n_blocks());
        std::vector<int> seqs, len;
        for (int i = 0; i < 3; ++i) {
            const int s = kb.create_sequence(), n = 20 + 5 * i;
            const auto p = tokens(n, 40 + i, (*c)->n_vocab());
            ASSERT_TRUE(kb.reserve(s, n).ok());
            std::vector<float> l;
            ASSERT_TRUE((*c)->eval_batch({{p.data(), n, 0, &kb.table(s), 1}}, &l).ok());
            seqs.push_back(s);
            len.push_back(n);
        }
        std::vector<int32_t> next(3);
        for (int i = 0; i < 3; ++i) next[size_t(i)] = int32_t(7 + i);
        for (int step = 0; step < 8; ++step) {
            std::vector<SeqStep> steps;
            for (int i = 0; i < 3; ++i) {
                ASSERT_TRUE(kb.reserve(seqs[size_t(i)], len[size_t(i)] + 1).ok());
                steps.push_back({&next[size_t(i)], 1, len[size_t(i)], &kb.table(seqs[size_t(i)]), 1});
            }
            std::vector<float> l;
            ASSERT_TRUE((*c)->eval_batch(steps, &l).ok());
            all->insert(all->end(), l.begin(), l.end());
            const int nv = (*c)->n_vocab();
            for (int i = 0; i < 3; ++i) {
                const float* row = l.data() + size_t(i) * size_t(nv);
                next[size_t(i)] = int32_t(std::max_element(row, row + nv) - row);
                ++len[size_t(i)];
            }
        }
        *stats = (*cb)->step_stats();
    };
    std::vector<float> direct, graphed;
    Backend::StepStats off, on;
    run(false, &direct, &off);
    if (IsSkipped()) return;
    run(true, &graphed, &on);
    ASSERT_EQ(direct.size(), graphed.size());
    double worst = 0;
    for (size_t j = 0; j < direct.size(); ++j) worst = std::max(worst, double(std::fabs(direct[j] - graphed[j])));
    std::printf("[ cuda graphs ] 8 batched steps of 3 sequences: %llu captures, %llu replays, max |d| %.3g\n",
                (unsigned long long)on.captures, (unsigned long long)on.replays, worst);
    EXPECT_EQ(off.replays, 0u);
    EXPECT_EQ(on.captures, 1u);
    EXPECT_EQ(on.replays, 6u);
    EXPECT_LE(worst, 1e-5);
    std::filesystem::remove(path);
}
