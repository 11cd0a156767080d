// The batching scheduler's use of KV blocks (issue #16, engine/serve/scheduler): a prompt prefix
// shared with another slot's running sequence is mapped copy-free instead of recomputed, and a pool
// too small for every slot at once preempts the youngest sequence and recomputes it later. In both
// cases every answer must equal the one the same request gets alone: on the CPU with Q4_0 weights
// the batched forward is bit-identical whatever the batch, the chunking or the blocks (context.h),
// so the texts are compared exactly, sampled ones (fixed seeds) included. The block accounting is
// checked after every round (SchedulerOptions::check_blocks).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <random>
#include <thread>

#include "engine/serve/scheduler.h"
#include "engine/testmodels/random_model.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;

namespace {

constexpr int kVocab = 512;

const std::string& model_path() {
    static const std::string path = [] {
        const std::string p = test::temp_file("sched_q4_0.gguf");
        RandomModelShape shape;
        shape.n_embd = 128, shape.n_head = 4, shape.n_kv_head = 2, shape.n_ff = 256, shape.n_layer = 2, shape.n_vocab = kVocab;
        if (Status s = write_random_llama_model(p, shape, GgmlType::Q4_0, 21); !s.ok()) return std::string();
        return p;
    }();
    return path;
}

std::unique_ptr<Scheduler> make(int parallel, int n_ctx, int kv_tokens = 0, int chunk = 64) {
    SchedulerOptions so;
    so.model.path = model_path();
    so.model.n_ctx = n_ctx;
    so.model.backend = "cpu";
    so.model.n_threads = 2;
    so.n_parallel = parallel;
    so.prefill_chunk = chunk;
    so.kv_tokens = kv_tokens;
    so.check_blocks = true;
    auto s = Scheduler::create(so);
    EXPECT_TRUE(s.ok()) << s.message();
    return s.ok() ? std::move(*s) : nullptr;
}

// Token ids that are neither special (<unk>, <s>, </s>) nor repeated runs.
std::vector<int32_t> tokens(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = int32_t(3 + rng() % (kVocab - 3));
    return t;
}

struct Answer {
    std::promise<ServeEvent> done;
    std::string text;                // the loop thread's until `done` is set
    std::atomic<int> n_pieces{0};
    ServeEvent end;
};

ServeRequest request(std::vector<int32_t> prompt, int max_tokens, float temperature, uint64_t seed) {
    ServeRequest r;
    r.prompt = std::move(prompt);
    r.sampling.temperature = temperature;
    r.sampling.seed = seed;
    r.sampling.max_new_tokens = max_tokens;
    return r;
}

void submit(Scheduler& s, Answer& run, ServeRequest r) {
    auto id = s.submit(std::move(r), [&run](const ServeEvent& e) {
        if (e.kind == ServeEvent::Kind::Text) run.text += e.text, run.n_pieces.fetch_add(1);
        else run.done.set_value(e);
    });
    ASSERT_TRUE(id.ok()) << id.message();
}

// The request's text alone: one slot, a pool of its own.
std::string alone(const ServeRequest& r, int n_ctx, ServeEvent* end = nullptr) {
    auto s = make(1, n_ctx);
    if (!s) return "<no scheduler>";
    Answer run;
    submit(*s, run, r);
    const ServeEvent e = run.done.get_future().get();
    if (end) *end = e;
    return run.text;
}

}  // namespace

// Two requests with a 200-token system prompt in common: the second starts while the first is
// decoding and maps the first's six whole blocks (192 cells) instead of evaluating them, and its
// text equals its text alone; a third, after both, finds the same prefix in an idle slot.
TEST(SchedulerBlocks, SystemPromptIsComputedOnce) {
    ASSERT_FALSE(model_path().empty());
    const std::vector<int32_t> system = tokens(200, 1);
    auto with = [&](uint32_t seed, int n) {
        std::vector<int32_t> p = system;
        std::vector<int32_t> tail = tokens(n, seed);
        tail[0] = 7 + int32_t(seed);  // differs from the other requests' first token after the system prompt
        p.insert(p.end(), tail.begin(), tail.end());
        return p;
    };
    const ServeRequest a = request(with(1, 10), 150, 0.0f, 1);
    const ServeRequest b = request(with(2, 12), 20, 0.7f, 2);
    const ServeRequest c = request(with(3, 9), 20, 0.0f, 3);
    ServeEvent b_alone_end;
    const std::string a_alone = alone(a, 512), b_alone = alone(b, 512, &b_alone_end), c_alone = alone(c, 512);
    EXPECT_EQ(b_alone_end.n_reused, 0);
    EXPECT_EQ(b_alone_end.n_evaluated, int(b.prompt.size()));

    auto s = make(3, 512);
    ASSERT_TRUE(s);
    Answer ra, rb, rc;
    submit(*s, ra, a);
    // The first is past its prompt once it has produced text.
    while (ra.n_pieces.load() < 1 && s->n_active() + s->n_queued() > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    submit(*s, rb, b);
    const ServeEvent eb = rb.done.get_future().get();
    const ServeEvent ea = ra.done.get_future().get();
    EXPECT_EQ(eb.n_reused, 192) << "the 200-token system prompt holds six whole blocks";
    EXPECT_EQ(eb.n_evaluated, int(b.prompt.size()) - 192);
    EXPECT_EQ(rb.text, b_alone);
    EXPECT_EQ(ra.text, a_alone);
    EXPECT_EQ(ea.n_reused, 0);
    if (ea.n_generated < 150 && ea.finish == "length") ADD_FAILURE() << "the first answer ended early: " << ea.finish;
    // Both idle now; a third request goes to the idle third slot or either cache and reuses the prefix.
    submit(*s, rc, c);
    const ServeEvent ec = rc.done.get_future().get();
    EXPECT_GE(ec.n_reused, 192);
    EXPECT_EQ(rc.text, c_alone);
    EXPECT_TRUE(s->block_check().ok()) << s->block_check().message();
    EXPECT_EQ(s->n_preemptions(), 0);
}

// Four sequences of 40-token prompts and 120-token answers need 5 blocks each; the pool holds 8
// (256 cells). Sequences are preempted and recomputed, and every text equals its text alone,
// greedy or sampled. Two prompts share their first 64 tokens (sharing and preemption together).
TEST(SchedulerBlocks, PreemptedSequencesContinueExactly) {
    ASSERT_FALSE(model_path().empty());
    std::vector<ServeRequest> reqs;
    for (int i = 0; i < 4; ++i) reqs.push_back(request(tokens(40 + 30 * (i == 3), 100 + uint32_t(i)), 120, i % 2 ? 0.9f : 0.0f, 50 + uint64_t(i)));
    {  // the fourth starts with the third's 40 tokens and goes on (70 tokens)
        std::vector<int32_t> p = reqs[2].prompt;
        const auto tail = tokens(30, 999);
        p.insert(p.end(), tail.begin(), tail.end());
        reqs[3].prompt = p;
    }
    std::vector<std::string> solo;
    for (const auto& r : reqs) solo.push_back(alone(r, 256));

    auto s = make(4, 256, 256, 32);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->n_ctx(), 256);
    std::vector<std::unique_ptr<Answer>> runs;
    for (const auto& r : reqs) {
        runs.push_back(std::make_unique<Answer>());
        submit(*s, *runs.back(), r);
    }
    int preempted = 0;
    for (size_t i = 0; i < reqs.size(); ++i) {
        const ServeEvent e = runs[i]->done.get_future().get();
        EXPECT_EQ(e.kind, ServeEvent::Kind::Done) << e.error;
        EXPECT_EQ(runs[i]->text, solo[i]) << "request " << i << " (preempted " << e.n_preempted << " times)";
        preempted += e.n_preempted;
    }
    EXPECT_GT(s->n_preemptions(), 0) << "the pool was large enough: the test shows nothing";
    EXPECT_EQ(preempted, s->n_preemptions());
    EXPECT_TRUE(s->block_check().ok()) << s->block_check().message();
}

// A pool smaller than the model's context bounds every sequence: a longer prompt is refused at
// submit, and an answer ends with "length" when its sequence fills the pool.
TEST(SchedulerBlocks, PoolBoundsTheContext) {
    ASSERT_FALSE(model_path().empty());
    auto s = make(2, 512, 96);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->n_ctx(), 96);
    EXPECT_FALSE(s->submit(request(tokens(96, 5), 4, 0.0f, 1), [](const ServeEvent&) {}).ok());
    Answer run;
    submit(*s, run, request(tokens(80, 6), 100, 0.0f, 1));
    const ServeEvent e = run.done.get_future().get();
    EXPECT_EQ(e.kind, ServeEvent::Kind::Done) << e.error;
    if (e.finish == "length") EXPECT_EQ(e.n_generated, 96 - 80 + 1);  // the last one is sampled from the full pool, never stored
    EXPECT_TRUE(s->block_check().ok()) << s->block_check().message();
}
