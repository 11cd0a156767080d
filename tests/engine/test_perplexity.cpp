// Perplexity (engine/eval/perplexity.h) on tiny random models, checked against a direct computation
// from eval_logits written here: every chunk evaluated whole (all n_ctx rows), the first token
// replaced by BOS, -log softmax of the next token over the second half, averaged, exponentiated.
// (llama-perplexity's own figure on a real model is in tests/bench/README.md.)
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "engine/eval/perplexity.h"
#include "engine/session/session.h"
#include "cli_run.h"
#include "tiny_model.h"

namespace hearth {
namespace {

const char* kText =
    "the garden was divided into four beds and each year the crops moved one bed to the left so the beans went "
    "where the cabbages had been and the cabbages went where the potatoes had been and the roots went where the "
    "beans had grown she explained that the beans left something good in the soil for the hungry cabbages and "
    "that moving the potatoes kept the diseases from finding them water was the hardest part of the work because "
    "the house had no tap in the yard so she collected rain from the roof in two large barrels";

std::unique_ptr<Session> open_model(const std::string& path) {
    ModelOptions o;
    o.path = path;
    o.backend = "cpu";
    o.n_ctx = 64;
    o.n_threads = 2;
    auto s = Session::open(o);
    EXPECT_TRUE(s.ok()) << s.message();
    return s.ok() ? std::move(*s) : nullptr;
}

struct Direct {
    double ppl = 0, kl = 0, top1 = 0;
    int n = 0;
};

// The direct computation, with a base model for KL(base || model) and top-1 agreement.
Direct direct(Session& m, Session* base, const std::string& text, int n_ctx) {
    const auto bos = *m.tokenize("", true, false);
    const auto toks = *m.tokenize(text, true, false);
    const int V = m.info().n_vocab;
    const int n_chunks = int(toks.size()) / n_ctx;
    double nll = 0, kl = 0;
    int same = 0, n = 0;
    auto logp = [V](const float* row) {
        double mx = row[0];
        for (int i = 1; i < V; ++i) mx = std::max(mx, double(row[i]));
        double s = 0;
        for (int i = 0; i < V; ++i) s += std::exp(double(row[i]) - mx);
        std::vector<double> lp(static_cast<size_t>(V), 0.0);
        for (int i = 0; i < V; ++i) lp[size_t(i)] = double(row[i]) - mx - std::log(s);
        return lp;
    };
    for (int c = 0; c < n_chunks; ++c) {
        std::vector<int32_t> chunk(toks.begin() + c * n_ctx, toks.begin() + (c + 1) * n_ctx);
        if (!bos.empty()) chunk[0] = bos[0];
        const auto L = *m.eval_logits(chunk, n_ctx);
        std::vector<float> B;
        if (base) B = *base->eval_logits(chunk, n_ctx);
        for (int p = n_ctx / 2; p < n_ctx - 1; ++p) {
            const float* row = L.data() + size_t(p) * size_t(V);
            const auto lp = logp(row);
            nll -= lp[size_t(toks[size_t(c * n_ctx + p + 1)])];
            if (base) {
                const float* brow = B.data() + size_t(p) * size_t(V);
                const auto lb = logp(brow);
                for (int i = 0; i < V; ++i) kl += std::exp(lb[size_t(i)]) * (lb[size_t(i)] - lp[size_t(i)]);
                same += std::max_element(row, row + V) - row == std::max_element(brow, brow + V) - brow;
            }
            ++n;
        }
    }
    return {std::exp(nll / n), kl / n, double(same) / n, n};
}

class Perplexity : public ::testing::Test {
protected:
    void SetUp() override {
        RandomModelShape s;
        s.n_vocab = 600;
        ASSERT_TRUE(write_random_llama_model(a_, s, GgmlType::F32, 21).ok());
        ASSERT_TRUE(write_random_llama_model(b_, s, GgmlType::F32, 22).ok());
    }
    void TearDown() override {
        std::remove(a_.c_str());
        std::remove(b_.c_str());
    }
    std::string a_ = test::temp_file("ppl_a.gguf"), b_ = test::temp_file("ppl_b.gguf");
};

TEST_F(Perplexity, MatchesDirectComputationFromEvalLogits) {
    auto m = open_model(a_);
    auto base = open_model(b_);
    ASSERT_TRUE(m && base);
    ASSERT_FALSE(m->tokenize("", true, false)->empty()) << "the generated vocabulary adds BOS: the chunk rule is exercised";
    for (int n_ctx : {16, 32}) {
        SCOPED_TRACE(n_ctx);
        eval::PerplexityOptions o;
        o.n_ctx = n_ctx;
        int calls = 0;
        o.progress = [&](int done, int total, double) { ++calls; EXPECT_LE(done, total); };
        auto r = eval::perplexity(*m, kText, o, base.get());
        ASSERT_TRUE(r.ok()) << r.message();
        const Direct d = direct(*m, base.get(), kText, n_ctx);
        EXPECT_EQ(r->n_scored, d.n);
        EXPECT_EQ(calls, r->n_chunks);
        EXPECT_EQ(r->n_scored, int64_t(r->n_chunks) * (n_ctx - n_ctx / 2 - 1));
        // Same logits (the last rows of one evaluation vs all rows of it) and the same double
        // arithmetic up to summation order: 1e-9 relative.
        EXPECT_NEAR(r->ppl, d.ppl, 1e-9 * d.ppl);
        EXPECT_NEAR(r->mean_kl, d.kl, 1e-9 * std::max(1.0, d.kl));
        EXPECT_DOUBLE_EQ(r->top1_agree, d.top1);
        EXPECT_GT(r->mean_kl, 0.01);  // two different random models disagree
        // A random model over 600 tokens: perplexity of the order of the vocabulary.
        EXPECT_GT(r->ppl, 50.0);
        EXPECT_LT(r->ppl, 5000.0);
        EXPECT_GT(r->ppl_err, 0.0);
    }
}

TEST_F(Perplexity, SameModelAsBaseHasNoDivergence) {
    auto m = open_model(a_);
    auto same = open_model(a_);
    ASSERT_TRUE(m && same);
    eval::PerplexityOptions o;
    o.n_ctx = 16;
    auto r = eval::perplexity(*m, kText, o, same.get());
    ASSERT_TRUE(r.ok()) << r.message();
    // Identical logits: KL is a sum of p * 0 exactly; agreement is total.
    EXPECT_NEAR(r->mean_kl, 0.0, 1e-12);
    EXPECT_EQ(r->top1_agree, 1.0);
}

TEST_F(Perplexity, ClearErrors) {
    auto m = open_model(a_);
    ASSERT_TRUE(m);
    eval::PerplexityOptions o;
    o.n_ctx = 16;
    auto r = eval::perplexity(*m, "too short", o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("needs at least 32"), std::string::npos) << r.message();
    o.n_ctx = 128;  // the session was opened with 64
    r = eval::perplexity(*m, kText, o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("fewer than the chunk size 128"), std::string::npos) << r.message();
    std::atomic<bool> cancel{true};
    o.n_ctx = 16;
    o.cancel = &cancel;
    r = eval::perplexity(*m, kText, o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "cancelled");
}

TEST_F(Perplexity, CliJsonLastLine) {
    REQUIRE_CLI();
    const std::string text = test::temp_file("ppl.txt");
    std::ofstream(text) << kText;
    const auto r = cli::run("perplexity -m " + a_ + " -f " + text + " -c 16 --kl-base " + b_ + " --json --backend cpu -t 2");
    ASSERT_EQ(r.rc, 0) << r.out;
    // stderr (progress) and stdout are merged here; the JSON object is still the last line.
    std::string body = r.out;
    while (!body.empty() && body.back() == '\n') body.pop_back();
    const std::string last = body.substr(body.rfind('\n') + 1);
    EXPECT_EQ(last.front(), '{') << r.out;
    for (const char* key : {"\"ppl\": ", "\"n_chunks\": ", "\"n_ctx\": 16", "\"kl\": ", "\"top1_agree\": "})
        EXPECT_NE(last.find(key), std::string::npos) << key << " in " << last;
    // The same figure as the engine call.
    auto m = open_model(a_);
    auto base = open_model(b_);
    eval::PerplexityOptions o;
    o.n_ctx = 16;
    auto e = eval::perplexity(*m, kText, o, base.get());
    ASSERT_TRUE(e.ok());
    const double ppl = std::stod(last.substr(last.find("\"ppl\": ") + 7));
    EXPECT_NEAR(ppl, e->ppl, 1e-9 * e->ppl);
    const auto bad = cli::run("perplexity -m " + a_ + " -f " + text + " -c 512 --backend cpu");
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.out.find("353 tokens; a context of 512 needs at least 1024"), std::string::npos) << bad.out;
    std::remove(text.c_str());
}

}  // namespace
}  // namespace hearth
