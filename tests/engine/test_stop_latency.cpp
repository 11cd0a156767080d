// Stop during a long prompt evaluation (issue #11, "Worker control"): the app's Stop sets the
// cancel flag that Session::generate passes into evaluation; the call must return within 100 ms of
// it, wherever in the prompt it lands, and the session must stay usable: the next request reuses
// the chunks that were completed and gives the answer an uninterrupted evaluation gives.
//
// StopLatency.TinyLlamaPrefill2000 runs on the TinyLlama-1.1B-shape Q4_0 model of
// `hearth-cli make-model --distinct-rows 256` (written once per run into the temp dir in seconds: only
// 256 rows of each matrix are drawn, the rest repeat them; HEARTH_STOP_LATENCY_MODEL=FILE uses an
// existing one instead) with 2 threads, and prints the latency of each stop and their median and maximum.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "engine/testmodels/model_shapes.h"
#include "engine/testmodels/random_model.h"
#include "engine/sampling/rng.h"
#include "engine/session/session.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;


// GCC says ASan with __SANITIZE_ADDRESS__, clang with __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define HEARTH_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEARTH_ASAN_BUILD 1
#endif
#endif
namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

constexpr int kChunk = 256;  // the session evaluates a prompt in chunks of this many tokens

SamplingParams greedy(int n) {
    SamplingParams sp;
    sp.temperature = 0;
    sp.repeat_penalty = 1.0f;
    sp.max_new_tokens = n;
    return sp;
}

std::vector<int32_t> random_tokens(int n, int vocab, uint64_t seed) {
    Rng r(seed);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = int32_t(3 + r.next() % uint64_t(vocab - 3));
    return t;
}

// Sets `flag` after `delay` on its own thread (as the UI thread's Stop does) and remembers when.
class DelayedStop {
public:
    DelayedStop(std::atomic<bool>& flag, std::chrono::microseconds delay)
        : th_([this, &flag, delay] {
              std::unique_lock<std::mutex> lk(mu_);
              if (cv_.wait_for(lk, delay, [this] { return done_; })) return;
              at_ = Clock::now();
              flag.store(true);
              fired_ = true;
          }) {}
    ~DelayedStop() { finish(); }
    // Cancels the stop if it has not fired yet; returns whether it fired (and when, in *at).
    bool finish(Clock::time_point* at = nullptr) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            done_ = true;
        }
        cv_.notify_all();
        if (th_.joinable()) th_.join();
        if (at) *at = at_;
        return fired_;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false, fired_ = false;
    Clock::time_point at_;
    std::thread th_;
};

// Deletes a model file when the test ends, failed or not (the TinyLlama one is 600 MB).
struct RemoveAtEnd {
    std::string path;
    ~RemoveAtEnd() {
        if (!path.empty()) std::filesystem::remove(path);
    }
};

bool is_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::unique_ptr<Session> open_cpu(const std::string& path, int n_ctx, int threads) {
    ModelOptions o;
    o.path = path;
    o.backend = "cpu";
    o.n_threads = threads;
    o.n_ctx = n_ctx;
    auto s = Session::open(o);
    EXPECT_TRUE(s.ok()) << s.message();
    return s.ok() ? std::move(*s) : nullptr;
}

// Seconds to evaluate `prompt` from an empty context (after a first run that builds the CPU
// backend's repacked weights, which happens once per model).
double prefill_seconds(Session& s, const std::vector<int32_t>& prompt) {
    s.clear();
    auto r = s.generate(prompt, greedy(0), {});
    EXPECT_TRUE(r.ok()) << r.message();
    s.clear();
    return r.ok() ? r->prompt_seconds : 0.0;
}

}  // namespace

// Stops at random moments while a prompt is evaluated, resuming each time: every stop leaves the
// context a whole number of chunks of the prompt, and the answer after the last resume is the one
// an uninterrupted session gives (the chunks fall on the same boundaries, so bit for bit).
TEST(StopLatency, InterruptedPrefillResumesToTheSameAnswer) {
    const std::string path = test::temp_file("resume.gguf");
    const RemoveAtEnd cleanup{path};
    RandomModelShape shape;
    shape.n_vocab = 4096;
    shape.n_embd = 768;
    shape.n_layer = 6;
    shape.n_head = 12;
    shape.n_kv_head = 4;
    shape.n_ff = 2048;
    shape.n_ctx_train = 2048;
#if defined(HEARTH_ASAN_BUILD)
    // A sixth of the work under the sanitizers (87 s of CI there otherwise): the walk and its
    // checks are the same, only the chunks are shorter.
    shape.n_embd = 384;
    shape.n_head = 6;
    shape.n_kv_head = 2;
    shape.n_ff = 1024;
    shape.n_layer = 3;
#endif
    ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::Q4_0, 21).ok());
    const auto prompt = random_tokens(1100, shape.n_vocab, 3);

    auto fresh = open_cpu(path, 2048, 2);
    ASSERT_TRUE(fresh);
    (void)prefill_seconds(*fresh, random_tokens(kChunk, shape.n_vocab, 4));  // repack the weights
    const double t_chunk = prefill_seconds(*fresh, prompt) * kChunk / double(prompt.size());
    auto want = fresh->generate(prompt, greedy(8), {});
    ASSERT_TRUE(want.ok()) << want.message();

    auto s = open_cpu(path, 2048, 2);
    ASSERT_TRUE(s);
    (void)prefill_seconds(*s, random_tokens(kChunk, shape.n_vocab, 4));
    Rng rng(7);
    int stops = 0, kept = 0, no_progress = 0;
    bool compared = false;
    // t_chunk was measured before the walk; when other tests load the cores (ctest -j), a chunk
    // can take twice as long, and stops timed from it would never let a chunk finish. So a late
    // stop that kept nothing new lengthens the later ones by half.
    double late_scale = 1.0;
    for (int attempt = 0; attempt < 200 && !compared; ++attempt) {
        std::atomic<bool> cancel{false};
        const size_t before = s->context_tokens().size();
        // Every other stop early in the first chunk it evaluates (that chunk is lost), the others
        // after one chunk or more (so the walk advances).
        const double u = double(rng.next() % 1000) / 1000.0;
        const bool late = attempt % 2 == 1;
        const double at = late ? late_scale * (1.0 + 0.5 * u) : 0.6 * u;
        const auto delay = std::chrono::microseconds(int64_t(at * t_chunk * 1e6));
        DelayedStop stop(cancel, delay);
        auto got = s->generate(prompt, greedy(8), {}, &cancel);
        stop.finish();
        ASSERT_TRUE(got.ok()) << got.message();
        const std::vector<int32_t>& ctx = s->context_tokens();
        if (got->stop_reason != "cancelled") {  // the whole prompt and the answer are done
            EXPECT_EQ(got->tokens, want->tokens) << "the resumed prompt must give the uninterrupted answer";
            EXPECT_EQ(got->n_reused % kChunk, 0) << "only whole chunks are kept";
            compared = true;
            break;
        }
        ++stops;
        // Stopped while answering, or just after the last prompt chunk before the first answer token:
        // the prompt was complete (its last chunk need not be a whole one).
        if (ctx.size() >= prompt.size()) {
            ASSERT_TRUE(is_prefix(prompt, ctx));
            EXPECT_TRUE(is_prefix(got->tokens, want->tokens)) << "the answer so far must be the uninterrupted one";
            compared = true;
            break;
        }
        ASSERT_TRUE(is_prefix(ctx, prompt)) << "the cache must hold a prefix of the prompt after a stop";
        EXPECT_EQ(ctx.size() % kChunk, 0u) << "a stop keeps whole chunks only: " << ctx.size();
        EXPECT_GE(ctx.size(), before / kChunk * kChunk) << "completed chunks are never lost";
        if (!ctx.empty()) ++kept;
        if (ctx.size() == before) ++no_progress;
        if (late && ctx.size() == before) late_scale = std::min(late_scale * 1.5, 20.0);
    }
    std::printf("[ resume ] %d stops (%d kept completed chunks, %d lost the chunk they stopped), "
                "chunk %.0f ms\n", stops, kept, no_progress, t_chunk * 1000);
    ASSERT_TRUE(compared) << "200 stops and the prompt never completed";
    EXPECT_GT(kept, 0);
    EXPECT_GT(no_progress, 0) << "no stop landed inside a chunk";
}

// The bound of issue #11: a 2,000-token prefill of the TinyLlama-shape Q4_0 model on 2 threads,
// stopped once inside each 256-token chunk at a random moment: Stop to return <= 100 ms.
TEST(StopLatency, TinyLlamaPrefill2000) {
#if defined(HEARTH_ASAN_BUILD)
    // A latency bound measured under ASan at -O1 says nothing about the product, and writing and
    // prefilling the 1.1B-shape model there takes many minutes of CI: the Release build runs it.
    GTEST_SKIP() << "timing bound: runs in the Release build, not under the sanitizers";
#endif
    std::string path;
    RemoveAtEnd cleanup;
    if (const char* m = std::getenv("HEARTH_STOP_LATENCY_MODEL"); m && *m) {
        path = m;
    } else {
        path = test::temp_file("tinyllama-q4_0.gguf");
        auto shape = named_model_shape("tinyllama-1.1b");
        ASSERT_TRUE(shape.ok());
        auto type = apply_file_type("Q4_0", shape->n_layer, &*shape);
        ASSERT_TRUE(type.ok());
        shape->distinct_rows = 256;  // only the time matters here: rows repeat (written in seconds, not ~30 s)
        const auto t0 = Clock::now();
        cleanup.path = path;
        ASSERT_TRUE(write_random_llama_model(path, *shape, *type, 1).ok());
        std::printf("[ model  ] TinyLlama-1.1B-shape Q4_0 written in %.1f s\n", ms_between(t0, Clock::now()) / 1000);
    }
    auto s = open_cpu(path, 2048, 2);
    ASSERT_TRUE(s);
    const int n_vocab = s->info().n_vocab;
    const auto prompt = random_tokens(2000, n_vocab, 11);
    (void)prefill_seconds(*s, random_tokens(kChunk, n_vocab, 12));  // repack the weights
    const double t_chunk = prefill_seconds(*s, random_tokens(kChunk, n_vocab, 13));
    std::printf("[ chunk  ] %d tokens in %.2f s (%.1f tok/s)\n", kChunk, t_chunk, kChunk / t_chunk);

    Rng rng(5);
    std::vector<double> lat;
    for (int k = 0; k * kChunk < int(prompt.size()); ++k) {
        // The cache holds prompt[0, 256k): evaluate up to there (a stop never keeps a partial chunk).
        const int upto = k * kChunk;
        if (upto > 0 && int(s->context_tokens().size()) < upto) {
            auto adv = s->generate(std::vector<int32_t>(prompt.begin(), prompt.begin() + upto), greedy(0), {});
            ASSERT_TRUE(adv.ok()) << adv.message();
        }
        const int left = int(prompt.size()) - int(s->context_tokens().size());
        const double span = t_chunk * std::min(left, kChunk) / kChunk;  // the time this chunk takes
        std::atomic<bool> cancel{false};
        const auto delay = std::chrono::microseconds(int64_t((0.05 + 0.9 * double(rng.next() % 1000) / 1000.0) * span * 1e6));
        const size_t at_pos = s->context_tokens().size();
        DelayedStop stop(cancel, delay);
        auto r = s->generate(prompt, greedy(0), {}, &cancel);  // the prompt only
        const auto returned = Clock::now();
        Clock::time_point stopped;
        const bool fired = stop.finish(&stopped);
        ASSERT_TRUE(r.ok()) << r.message();
        if (r->stop_reason != "cancelled") {  // the machine was faster than the estimate: the prompt was done first
            std::printf("[ stop   ] the prompt from %zu was done before its stop (%.0f ms)\n", at_pos, delay.count() / 1000.0);
            continue;
        }
        ASSERT_TRUE(fired);
        const double ms = ms_between(stopped, returned);
        lat.push_back(ms);
        std::printf("[ stop   ] evaluating from %4zu, stop %6.0f ms in: returned %6.1f ms later; %zu tokens kept\n", at_pos,
                    delay.count() / 1000.0, ms, s->context_tokens().size());
        ASSERT_TRUE(is_prefix(s->context_tokens(), prompt));
    }
    ASSERT_GE(lat.size(), 4u) << "too few stops landed inside the prompt";
    std::sort(lat.begin(), lat.end());
    const double median = lat[lat.size() / 2], worst = lat.back();
    std::printf("[ latency] %zu stops during a 2000-token prefill (2 threads): median %.1f ms, max %.1f ms\n", lat.size(),
                median, worst);
    EXPECT_LE(worst, 100.0);
    // The session still answers after all those stops.
    auto r = s->generate(prompt, greedy(1), {});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_NE(r->stop_reason, "cancelled");
}
