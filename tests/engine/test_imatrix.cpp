// imatrix collection (engine/eval/imatrix.h) on a tiny F32 model: the statistics of blk.0's attention
// input are checked against a direct computation (rms_norm of the token embeddings times the norm
// weight, squared and summed per column); counts, sharing and the GGUF file round trip.
// (Agreement with llama-imatrix on a real model is in tests/bench/README.md.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <tuple>

#include "cli_run.h"
#include "engine/eval/imatrix.h"
#include "engine/gguf/gguf.h"
#include "engine/quant/quantize_model.h"
#include "engine/session/session.h"
#include "tiny_model.h"

namespace hearth {
namespace {

const char* kText =
    "water was the hardest part of the work because the house had no tap in the yard so she collected rain from the "
    "roof in two large barrels and in a dry summer the barrels would be empty by july and she would carry buckets";

// A random F32 model of `shape` written to `path`, opened on the CPU, and kText's statistics
// collected in chunks of 16 tokens. Null model or empty stats after a failure (reported).
struct Collected {
    std::unique_ptr<gguf::File> file;
    std::unique_ptr<Session> model;
    std::map<std::string, eval::ImatrixEntry> stats;
    int n_chunks = 0;
};
Collected collect_on(const std::string& path, const RandomModelShape& shape) {
    Collected c;
    EXPECT_TRUE(write_random_llama_model(path, shape, GgmlType::F32, 9).ok());
    auto f = gguf::File::open(path);
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return c;
    c.file = std::move(*f);
    ModelOptions o;
    o.path = path;
    o.backend = "cpu";
    o.n_ctx = 32;
    o.n_threads = 2;
    auto m = Session::open(o);
    EXPECT_TRUE(m.ok()) << m.message();
    if (!m.ok()) return c;
    c.model = std::move(*m);
    eval::ImatrixOptions io;
    io.n_ctx = 16;
    auto st = eval::collect_imatrix(*c.model, *c.file, kText, io, &c.n_chunks);
    EXPECT_TRUE(st.ok()) << st.message();
    if (st.ok()) c.stats = std::move(*st);
    return c;
}

TEST(Imatrix, MatchesDirectComputationAndRoundTrips) {
    RandomModelShape s;
    s.n_layer = 2;
    const std::string path = test::temp_file("imat_model.gguf"), out = test::temp_file("imat.gguf");
    Collected c = collect_on(path, s);
    ASSERT_TRUE(c.model && !c.stats.empty());
    auto& m = c.model;
    auto& f = c.file;
    const int n_chunks = c.n_chunks;
    const auto* st = &c.stats;
    ASSERT_GE(n_chunks, 2);
    ASSERT_EQ(st->size(), 14u);  // 7 matrices per layer; the output matrix is not collected
    for (const auto& [name, e] : *st) EXPECT_EQ(e.counts, std::vector<int64_t>{int64_t(n_chunks) * 16}) << name;
    // q, k and v read the same input.
    EXPECT_EQ(st->at("blk.1.attn_q.weight").in_sum2, st->at("blk.1.attn_v.weight").in_sum2);

    // Direct: blk.0's attention input is rms_norm(embedding) * attn_norm for each token of each chunk
    // (the first one BOS).
    const auto bos = *m->tokenize("", true, false);
    const auto toks = *m->tokenize(kText, true, false);
    const gguf::TensorInfo* emb = f->tensor("token_embd.weight");
    const gguf::TensorInfo* nw = f->tensor("blk.0.attn_norm.weight");
    const int E = s.n_embd;
    std::vector<double> want(size_t(E), 0.0);
    for (int c = 0; c < n_chunks; ++c) {
        for (int p = 0; p < 16; ++p) {
            const int32_t t = p == 0 && !bos.empty() ? bos[0] : toks[size_t(c * 16 + p)];
            const float* e = reinterpret_cast<const float*>(emb->data) + size_t(t) * size_t(E);
            double ms = 0;
            for (int j = 0; j < E; ++j) ms += double(e[j]) * e[j];
            const double inv = 1.0 / std::sqrt(ms / E + double(s.rms_eps));
            for (int j = 0; j < E; ++j) {
                const double x = e[j] * inv * reinterpret_cast<const float*>(nw->data)[j];
                want[size_t(j)] += x * x;
            }
        }
    }
    const auto& got = st->at("blk.0.attn_q.weight").in_sum2;
    // Float accumulation of ~50 terms and the CPU kernels' rms_norm (float): 1e-4 relative.
    for (int j = 0; j < E; ++j) EXPECT_NEAR(got[size_t(j)], want[size_t(j)], 1e-4 * want[size_t(j)]) << j;

    ASSERT_TRUE(eval::write_imatrix(out, *st, "text.txt", n_chunks, 16).ok());
    auto back = gguf::File::open(out);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*(*back)->get_string("general.type"), "imatrix");
    EXPECT_EQ(*(*back)->get_int("imatrix.chunk_size", 0), 16);
    EXPECT_EQ((*(*back)->get_string_array("imatrix.datasets"))[0], "text.txt");
    auto means = eval::read_imatrix(out);
    ASSERT_TRUE(means.ok()) << means.message();
    EXPECT_NEAR(means->at("blk.0.attn_q.weight")[3], got[3] / float(n_chunks * 16), 1e-6 * got[3]);
    std::remove(out.c_str());
    std::remove(path.c_str());
}

// A mixture of experts: each expert's gate/up and down inputs are collected as their own set, with
// the count of tokens that chose it (the counts of a layer's experts add up to tokens x experts per
// token), written as llama-imatrix writes stacked experts ([n_in, n_expert] sums, [1, n_expert]
// counts), read back as per-expert means, and used by the quantizer for each expert's rows.
TEST(Imatrix, ExpertsHaveOneSetEach) {
    RandomModelShape s;
    s.arch = "qwen3moe";
    s.n_layer = 2;
    s.n_embd = 64;
    s.head_dim = 32;
    s.n_ff_exp = 64;
    s.n_expert = 4;
    s.n_expert_used = 2;
    const std::string path = test::temp_file("imat_moe.gguf"), out = test::temp_file("imat_moe_stats.gguf"),
                      q = test::temp_file("imat_moe_q4.gguf");
    Collected c = collect_on(path, s);
    ASSERT_TRUE(c.model && !c.stats.empty());
    const int n_chunks = c.n_chunks;
    const auto* st = &c.stats;
    ASSERT_EQ(st->size(), 2u * (4 + 3));  // q, k, v, o and the three stacked expert tensors per layer
    const int64_t tokens = int64_t(n_chunks) * 16;
    for (const char* base : {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"}) {
        const eval::ImatrixEntry& e = st->at(std::string("blk.1.") + base + ".weight");
        ASSERT_EQ(e.counts.size(), 4u) << base;
        int64_t total = 0;
        for (int64_t c : e.counts) total += c;
        EXPECT_EQ(total, tokens * 2) << base;
        EXPECT_EQ(e.in_sum2.size(), 4u * 64) << base;
    }
    EXPECT_EQ(st->at("blk.0.ffn_gate_exps.weight").in_sum2, st->at("blk.0.ffn_up_exps.weight").in_sum2);  // one input
    ASSERT_TRUE(eval::write_imatrix(out, *st, "t.txt", n_chunks, 16).ok());
    auto file = gguf::File::open(out);
    ASSERT_TRUE(file.ok());
    EXPECT_EQ((*file)->tensor("blk.0.ffn_down_exps.weight.in_sum2")->dims, (std::vector<int64_t>{64, 4}));
    EXPECT_EQ((*file)->tensor("blk.0.ffn_down_exps.weight.counts")->dims, (std::vector<int64_t>{1, 4}));
    auto back = eval::read_imatrix(out);
    ASSERT_TRUE(back.ok()) << back.message();
    const eval::ImatrixEntry& d = st->at("blk.0.ffn_down_exps.weight");
    const std::vector<float>& mean = back->at("blk.0.ffn_down_exps.weight");
    ASSERT_EQ(mean.size(), 4u * 64);
    for (size_t x = 0; x < 4; ++x)
        for (size_t j = 0; j < 64; j += 21)
            EXPECT_FLOAT_EQ(mean[x * 64 + j], d.counts[x] ? d.in_sum2[x * 64 + j] / float(d.counts[x]) : 1.0f) << x << "," << j;
    // The quantizer takes each expert's set for its rows.
    quant::QuantizeOptions qo;
    qo.preset = *quant::preset_from_name("Q4_0");
    qo.importance = &*back;
    auto plan = quant::quantize_model(path, q, qo);
    EXPECT_TRUE(plan.ok()) << plan.message();
    for (const std::string& p : {path, out, q}) std::remove(p.c_str());
}

TEST(Imatrix, CliWritesTheFileAndReportsErrors) {
    REQUIRE_CLI();
    RandomModelShape s;
    const std::string path = test::temp_file("imat_cli_model.gguf"), out = test::temp_file("imat_cli.gguf"),
                      text = test::temp_file("imat.txt");
    ASSERT_TRUE(write_random_llama_model(path, s, GgmlType::F32, 4).ok());
    std::ofstream(text) << kText;
    auto r = cli::run("imatrix -m " + path + " -f " + text + " -o " + out + " -c 16 --backend cpu -t 2");
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_TRUE(eval::read_imatrix(out).ok());
    r = cli::run("imatrix -m " + path + " -f " + text + " -o " + out + " -c 4096 --backend cpu");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("less than one chunk of 4096"), std::string::npos) << r.out;
    auto bad = eval::read_imatrix(path);  // a model, not an imatrix
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("no imatrix statistics"), std::string::npos) << bad.message();
    std::remove(out.c_str());
    std::remove(path.c_str());
    std::remove(text.c_str());
}

// A damaged file (found by tests/fuzz/fuzz_imatrix): a negative or non-finite sum of squares, or a
// token count that is not a whole number, is an error naming the tensor, not NaN weights given to
// the quantizers.
TEST(Imatrix, DamagedStatisticsAreRefused) {
    const std::string path = test::temp_file("imat_damaged.gguf");
    auto write = [&](float sum, float count) {
        std::map<std::string, eval::ImatrixEntry> e;
        e["blk.0.ffn_down.weight"].in_sum2 = {1.0f, sum, 2.0f};
        e["blk.0.ffn_down.weight"].counts = {4};
        ASSERT_TRUE(eval::write_imatrix(path, e, "t.txt", 1, 16).ok());
        // The count as written is 4: patch it to `count` (its F32 tensor's bytes) and write the file again.
        std::ifstream in(path, std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto f = gguf::File::from_memory(bytes.data(), bytes.size());
        ASSERT_TRUE(f.ok());
        const gguf::TensorInfo* c = (*f)->tensor("blk.0.ffn_down.weight.counts");
        ASSERT_NE(c, nullptr);
        std::memcpy(bytes.data() + (c->data - bytes.data()), &count, 4);
        std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    };
    write(3.0f, 4.0f);
    auto ok = eval::read_imatrix(path);
    ASSERT_TRUE(ok.ok()) << ok.message();
    EXPECT_FLOAT_EQ((*ok)["blk.0.ffn_down.weight"][1], 0.75f);
    for (auto [sum, count, what] : {std::tuple{-1.0f, 4.0f, "sum of squares of -1"},
                                    std::tuple{NAN, 4.0f, "sum of squares of nan"},
                                    std::tuple{INFINITY, 4.0f, "sum of squares of inf"},
                                    std::tuple{3.0f, NAN, "token count of nan"},
                                    std::tuple{3.0f, -2.0f, "token count of -2"},
                                    std::tuple{3.0f, 1e-30f, "token count of 0.0"}}) {
        write(sum, count);
        auto bad = eval::read_imatrix(path);
        ASSERT_FALSE(bad.ok()) << what;
        EXPECT_NE(bad.message().find(what), std::string::npos) << bad.message();
        EXPECT_NE(bad.message().find("blk.0.ffn_down.weight"), std::string::npos) << bad.message();
    }
    std::remove(path.c_str());
}

}  // namespace
}  // namespace hearth
