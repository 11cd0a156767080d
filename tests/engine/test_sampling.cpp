// Sampling: determinism for a seed, each filter's effect, penalties, logit bias, the PRNG, stop
// strings and the log probabilities the API reports.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "engine/sampling/rng.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/stop_strings.h"
#include "engine/sampling/token_logprobs.h"

using namespace hearth;

namespace {

std::vector<TokenCandidate> from_probs(const std::vector<double>& p) {
    std::vector<TokenCandidate> c;
    for (size_t i = 0; i < p.size(); ++i) c.push_back({int32_t(i), float(std::log(p[i]))});
    return c;
}

std::vector<int32_t> ids(const std::vector<TokenCandidate>& c) {
    std::vector<int32_t> r;
    for (const auto& t : c) r.push_back(t.id);
    return r;
}

std::vector<float> random_logits(int n, uint64_t seed) {
    Rng r(seed);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = float(r.normal() * 3);
    return v;
}

SamplingParams plain(float temp) {
    SamplingParams p;
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    return p;
}

}  // namespace

TEST(Rng, PublishedVectors) {
    // xoshiro256** from state {1, 2, 3, 4} (the reference implementation's test vector).
    Rng r = Rng::from_state(1, 2, 3, 4);
    const uint64_t want[] = {11520ull, 0ull, 1509978240ull, 1215971899390074240ull};
    for (uint64_t w : want) EXPECT_EQ(r.next(), w);
    // splitmix64 from seed 0 gives 0xe220a8397b1dcdaf first: that is the first state word.
    EXPECT_EQ(Rng(0).state(0), 0xe220a8397b1dcdafull);
}

TEST(Rng, SplitMixSeedingAndUniformRange) {
    // The same seed gives the same stream; a different seed a different one. Golden values pin the
    // algorithm (xoshiro256** seeded by splitmix64) so a change that would alter users' seeded
    // results is noticed.
    Rng a(42), b(42), c(43);
    for (int i = 0; i < 100; ++i) {
        const uint64_t x = a.next();
        EXPECT_EQ(x, b.next());
        (void)c;
    }
    Rng g(0);
    const uint64_t first = g.next();
    Rng g2(0);
    EXPECT_EQ(first, g2.next());
    EXPECT_NE(Rng(1).next(), Rng(2).next());
    Rng u(7);
    double mean = 0;
    for (int i = 0; i < 100000; ++i) {
        const double v = u.uniform();
        ASSERT_GE(v, 0.0);
        ASSERT_LT(v, 1.0);
        mean += v;
    }
    EXPECT_NEAR(mean / 100000, 0.5, 0.01);
}

TEST(Sampler, GreedyIsArgmaxWithSmallestIdOnTies) {
    std::vector<float> l = {1, 5, 3, 5, -2};
    Sampler s(plain(0.0f));
    EXPECT_EQ(s.sample(l.data(), 5), 1);
    EXPECT_EQ(argmax_token(l.data(), 5), 1);
    auto big = random_logits(32000, 3);
    EXPECT_EQ(s.sample(big.data(), 32000), argmax_token(big.data(), 32000));
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
    auto l = random_logits(1000, 5);
    SamplingParams p = plain(1.5f);
    p.seed = 1234;
    auto run = [&](uint64_t seed) {
        SamplingParams q = p;
        q.seed = seed;
        Sampler s(q);
        std::vector<int32_t> out;
        for (int i = 0; i < 200; ++i) out.push_back(s.sample(l.data(), 1000));
        return out;
    };
    EXPECT_EQ(run(1234), run(1234));
    EXPECT_NE(run(1234), run(1235));
    // reset() reseeds: the stream starts over
    Sampler s(p);
    const int32_t first = s.sample(l.data(), 1000);
    s.reset();
    EXPECT_EQ(s.sample(l.data(), 1000), first);
}

TEST(Sampler, DrawsFollowTheDistribution) {
    const std::vector<double> probs = {0.5, 0.3, 0.2};
    std::vector<float> l;
    for (double p : probs) l.push_back(float(std::log(p)));
    Sampler s(plain(1.0f));
    std::map<int, int> count;
    const int n = 40000;
    for (int i = 0; i < n; ++i) ++count[s.sample(l.data(), 3)];
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(double(count[i]) / n, probs[size_t(i)], 0.015) << i;
}

TEST(Sampler, TemperatureSharpensAndFlattens) {
    std::vector<float> l = {2.0f, 1.0f, 0.0f};
    auto freq_top = [&](float t) {
        Sampler s(plain(t));
        int top = 0;
        for (int i = 0; i < 20000; ++i) top += s.sample(l.data(), 3) == 0;
        return top / 20000.0;
    };
    const double p1 = std::exp(2.0) / (std::exp(2.0) + std::exp(1.0) + 1.0);
    EXPECT_NEAR(freq_top(1.0f), p1, 0.015);
    EXPECT_GT(freq_top(0.2f), 0.99);   // cold: almost always the argmax
    EXPECT_LT(freq_top(10.0f), 0.40);  // hot: close to uniform (1/3)
}

TEST(Filters, TopK) {
    auto c = from_probs({0.1, 0.4, 0.2, 0.3});
    apply_top_k(c, 2);
    EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 3}));
    c = from_probs({0.1, 0.4, 0.2, 0.3});
    apply_top_k(c, 0);  // off: everything stays, sorted
    EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 3, 2, 0}));
    // top-k 1 is greedy for any temperature and seed
    auto l = random_logits(500, 9);
    SamplingParams p = plain(2.0f);
    p.top_k = 1;
    Sampler s(p);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(l.data(), 500), argmax_token(l.data(), 500));
}

TEST(Filters, TopP) {
    auto c = from_probs({0.5, 0.3, 0.15, 0.05});
    apply_top_p(c, 0.75f);  // 0.5 < 0.75 <= 0.8: two tokens
    EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1}));
    c = from_probs({0.5, 0.3, 0.15, 0.05});
    apply_top_p(c, 0.9f);
    EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1, 2}));
    c = from_probs({0.5, 0.3, 0.15, 0.05});
    apply_top_p(c, 0.01f);  // always keeps at least one
    EXPECT_EQ(ids(c), (std::vector<int32_t>{0}));
    c = from_probs({0.5, 0.3, 0.15, 0.05});
    apply_top_p(c, 1.0f);
    EXPECT_EQ(c.size(), 4u);
}

TEST(Filters, MinP) {
    auto c = from_probs({0.5, 0.3, 0.15, 0.05});
    apply_min_p(c, 0.2f);  // threshold 0.1: drops 0.05
    EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1, 2}));
    c = from_probs({0.5, 0.3, 0.15, 0.05});
    apply_min_p(c, 0.7f);  // threshold 0.35
    EXPECT_EQ(ids(c), (std::vector<int32_t>{0}));
    c = from_probs({0.5, 0.3, 0.15, 0.05});
    apply_min_p(c, 0.0f);
    EXPECT_EQ(c.size(), 4u);
}

TEST(Filters, FilteredTokensAreNeverSampled) {
    auto l = random_logits(2000, 11);
    SamplingParams p = plain(1.0f);
    p.top_k = 5;
    Sampler s(p);
    auto c = std::vector<TokenCandidate>();
    for (int i = 0; i < 2000; ++i) c.push_back({i, l[size_t(i)]});
    apply_top_k(c, 5);
    const auto allowed = ids(c);
    for (int i = 0; i < 500; ++i) {
        const int32_t t = s.sample(l.data(), 2000);
        EXPECT_NE(std::find(allowed.begin(), allowed.end(), t), allowed.end());
    }
}

TEST(Penalties, RepeatPresenceFrequency) {
    std::deque<int32_t> recent = {1, 2, 2};
    std::vector<TokenCandidate> c = {{0, 2.0f}, {1, 2.0f}, {2, -1.0f}};
    apply_penalties(c, recent, 2.0f, 0.0f, 0.0f);
    EXPECT_FLOAT_EQ(c[0].logit, 2.0f);   // not recent
    EXPECT_FLOAT_EQ(c[1].logit, 1.0f);   // positive: divided
    EXPECT_FLOAT_EQ(c[2].logit, -2.0f);  // negative: multiplied
    c = {{0, 2.0f}, {1, 2.0f}, {2, 2.0f}};
    apply_penalties(c, recent, 1.0f, 0.5f, 0.25f);
    EXPECT_FLOAT_EQ(c[0].logit, 2.0f);
    EXPECT_FLOAT_EQ(c[1].logit, 2.0f - 0.5f - 0.25f);
    EXPECT_FLOAT_EQ(c[2].logit, 2.0f - 0.5f - 0.5f);  // seen twice
}

TEST(Penalties, WindowLimitsWhatIsPenalized) {
    // Token 0 leads slightly; a repeat penalty makes greedy avoid it only while it is in the window.
    std::vector<float> l = {3.0f, 2.9f, 0.0f};
    SamplingParams p = plain(0.0f);
    p.repeat_penalty = 1.5f;
    p.penalty_last_n = 2;
    Sampler s(p);
    EXPECT_EQ(s.sample(l.data(), 3), 0);
    s.accept(0);
    EXPECT_EQ(s.sample(l.data(), 3), 1);  // 0 penalized
    s.accept(2);
    EXPECT_EQ(s.sample(l.data(), 3), 1);  // still within the last 2
    s.accept(2);
    EXPECT_EQ(s.sample(l.data(), 3), 0);  // 0 left the window
}

TEST(Sampler, LogitBiasMovesTheChoiceAndBans) {
    const std::vector<float> logits = random_logits(1000, 5);
    SamplingParams p = plain(0.0f);
    const int32_t top = argmax_token(logits.data(), 1000);
    // -100 takes the argmax out; +100 on any token makes it the choice, greedy or sampled.
    p.logit_bias = {{top, -100.0f}};
    const int32_t second = Sampler(p).sample(logits.data(), 1000);
    EXPECT_NE(second, top);
    std::vector<float> without = logits;
    without[size_t(top)] = -INFINITY;
    EXPECT_EQ(second, argmax_token(without.data(), 1000));
    p.logit_bias = {{7, 100.0f}, {999, -3.0f}};
    EXPECT_EQ(Sampler(p).sample(logits.data(), 1000), 7);
    SamplingParams q = plain(1.0f);
    q.logit_bias = {{123, 100.0f}};
    Sampler s(q);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(logits.data(), 1000), 123);
    // A banned token is never drawn, at any seed.
    q.logit_bias = {{top, -100.0f}};
    for (uint64_t seed = 1; seed <= 200; ++seed) {
        q.seed = seed;
        EXPECT_NE(Sampler(q).sample(logits.data(), 1000), top);
    }
    // The caller's logits are untouched, and a bias leaves device sampling out.
    EXPECT_EQ(without[7], logits[7]);
    EXPECT_FALSE(Sampler::device_compatible(q));
}

// Log probabilities against log-softmax computed in long double (tolerance: one float rounding of
// a value near -20, 4e-6, with the float-to-double input exact), over a vocabulary the size of
// Qwen2's; top entries in order with ties to the smaller id; -inf and NaN logits; all -inf.
TEST(TokenLogprobs, MatchLogSoftmaxInLongDouble) {
    const int n = 151936;
    std::vector<float> x = random_logits(n, 99);
    x[17] = x[18] = 40.0f;  // a tie at the top: 17 before 18
    x[5] = -INFINITY;
    x[6] = std::nanf("");
    long double mx = -INFINITY, sum = 0;
    for (float v : x)
        if (std::isfinite(v)) mx = std::max(mx, (long double)v);
    for (float v : x)
        if (std::isfinite(v)) sum += std::exp((long double)v - mx);
    auto ref = [&](int i) { return double((long double)x[size_t(i)] - mx - std::log(sum)); };
    for (int chosen : {0, 17, 18, 1000, n - 1}) {
        const LogprobEntry e = token_logprobs(x.data(), n, chosen, 5);
        EXPECT_EQ(e.chosen.id, chosen);
        EXPECT_NEAR(e.chosen.logprob, ref(chosen), 4e-6);
        ASSERT_EQ(e.top.size(), 5u);
        EXPECT_EQ(e.top[0].id, 17);
        EXPECT_EQ(e.top[1].id, 18);
        for (size_t k = 0; k < e.top.size(); ++k) {
            EXPECT_NEAR(e.top[k].logprob, ref(e.top[k].id), 4e-6);
            if (k > 0) EXPECT_LE(e.top[k].logprob, e.top[k - 1].logprob);
        }
        // The third is the best of the rest.
        std::vector<float> rest = x;
        rest[17] = rest[18] = -INFINITY;
        rest[6] = -INFINITY;
        EXPECT_EQ(e.top[2].id, argmax_token(rest.data(), n));
    }
    EXPECT_EQ(token_logprobs(x.data(), n, 5, 0).chosen.logprob, -INFINITY);
    EXPECT_EQ(token_logprobs(x.data(), n, 6, 0).chosen.logprob, -INFINITY);  // NaN counts as -inf
    EXPECT_TRUE(token_logprobs(x.data(), n, 5, 0).top.empty());
    EXPECT_EQ(token_logprobs(x.data(), n, 5, 500).top.size(), size_t(kMaxTopLogprobs));
    // Two tokens, probabilities 1/4 and 3/4.
    const float two[2] = {0.0f, float(std::log(3.0))};
    EXPECT_NEAR(token_logprobs(two, 2, 0, 2).chosen.logprob, std::log(0.25), 1e-7);
    EXPECT_EQ(token_logprobs(two, 2, 0, 5).top.size(), 2u);
    // Every logit -inf: uniform, as nothing is preferred.
    const float none[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    EXPECT_NEAR(token_logprobs(none, 4, 2, 0).chosen.logprob, std::log(0.25), 1e-7);
}

TEST(StopStrings, HoldBackReleaseAndStop) {
    StopStringFilter f({"</end>", "STOP"});
    EXPECT_EQ(f.feed("Hello "), "Hello ");
    EXPECT_EQ(f.feed("wor</"), "wor");      // "</" could start "</end>"
    EXPECT_EQ(f.feed("b>"), "</b>");        // no longer can: released
    EXPECT_EQ(f.feed("ST"), "");
    EXPECT_EQ(f.feed("OP and more"), "");   // stop string completed: nothing after it
    EXPECT_TRUE(f.stopped());
    EXPECT_EQ(f.feed("x"), "");
    StopStringFilter g({"STOP"});
    EXPECT_EQ(g.feed("abcST"), "abc");
    EXPECT_EQ(g.flush(), "ST");             // end of generation: held text released
    StopStringFilter h({"\xE6\x96\x87", ""});  // a Chinese stop string; empty ones are ignored
    EXPECT_EQ(h.feed("a\xE6\x96\x87z"), "a");
    EXPECT_TRUE(h.stopped());
    StopStringFilter none({});
    EXPECT_EQ(none.feed("anything"), "anything");
}

// ---- device sampling (Backend::sample_top_k): its host reference must make the host Sampler's choice
#include "engine/backend/backend.h"

TEST(DeviceSampling, TopKRowMatchesHostSampler) {
    // Same parameters, same uniform stream: identical tokens (the host reference uses the same
    // double-precision softmax as the Sampler, so equality is exact here).
    for (int k : {1, 2, 5, 40, kMaxDeviceTopK}) {
        for (float temp : {0.0f, 0.5f, 1.0f, 1.7f}) {
            SamplingParams p;
            p.temperature = temp;
            p.top_k = k;
            p.top_p = 1.0f;
            p.min_p = 0.0f;
            p.repeat_penalty = 1.0f;
            p.seed = 1234 + k;
            ASSERT_TRUE(Sampler::device_compatible(p));
            Sampler host(p), dev(p);
            for (int step = 0; step < 50; ++step) {
                const std::vector<float> l = random_logits(997, uint64_t(step * 31 + k));
                const int32_t a = host.sample(l.data(), int(l.size()));
                const int kk = temp <= 0 ? 1 : k;
                const int32_t b = sample_top_k_row(l.data(), int(l.size()), kk, temp, kk > 1 ? dev.next_uniform() : 0.0);
                ASSERT_EQ(a, b) << "k " << k << " temperature " << temp << " step " << step;
            }
        }
    }
}

TEST(DeviceSampling, CompatibilityRule) {
    SamplingParams p;  // defaults: top-p, min-p and a repeat penalty are on
    EXPECT_FALSE(Sampler::device_compatible(p));
    p.temperature = 0;  // greedy, but the repeat penalty still changes logits
    EXPECT_FALSE(Sampler::device_compatible(p));
    p.repeat_penalty = 1.0f;
    EXPECT_TRUE(Sampler::device_compatible(p));
    p.temperature = 0.7f;
    p.top_k = 40;
    EXPECT_FALSE(Sampler::device_compatible(p));  // top-p 0.95
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    EXPECT_TRUE(Sampler::device_compatible(p));
    p.top_k = kMaxDeviceTopK + 1;
    EXPECT_FALSE(Sampler::device_compatible(p));
    p.top_k = 0;  // top-k off means the whole vocabulary: host
    EXPECT_FALSE(Sampler::device_compatible(p));
}

TEST(DeviceSampling, BackendDefaultOnHostBackends) {
    for (const char* name : {"reference", "cpu"}) {
        auto be = create_backend(name, 0, {});
        ASSERT_TRUE(be.ok()) << be.message();
        const int n = 3, V = 513;
        auto buf = (*be)->alloc(size_t(n) * V * 4 + 64, BufferUsage::Activations);
        ASSERT_TRUE(buf.ok());
        const Tensor logits = make_tensor(buf->get(), 0, GgmlType::F32, n, V);
        const Tensor out = make_tensor(buf->get(), size_t(n) * V * 4, GgmlType::I32, 1, n);
        std::vector<float> host;
        for (int r = 0; r < n; ++r) {
            auto l = random_logits(V, uint64_t(77 + r));
            host.insert(host.end(), l.begin(), l.end());
        }
        ASSERT_TRUE((*be)->upload(logits, host.data()).ok());
        const std::vector<double> u = {0.1, 0.5, 0.999};
        for (int k : {1, 7, kMaxDeviceTopK}) {
            ASSERT_TRUE((*be)->sample_top_k(logits, k, 0.9f, u, out).ok());
            std::vector<int32_t> got(static_cast<size_t>(n));
            ASSERT_TRUE((*be)->download(out, got.data()).ok());
            for (int r = 0; r < n; ++r)
                EXPECT_EQ(got[size_t(r)], sample_top_k_row(host.data() + size_t(r) * V, V, k, 0.9f, u[size_t(r)])) << name << " k " << k;
        }
        // Bad arguments are errors, not crashes.
        EXPECT_FALSE((*be)->sample_top_k(logits, 0, 1.0f, u, out).ok());
        EXPECT_FALSE((*be)->sample_top_k(logits, kMaxDeviceTopK + 1, 1.0f, u, out).ok());
        EXPECT_FALSE((*be)->sample_top_k(logits, 5, 0.0f, u, out).ok());
        EXPECT_FALSE((*be)->sample_top_k(logits, 5, 1.0f, {0.5}, out).ok());
    }
}
