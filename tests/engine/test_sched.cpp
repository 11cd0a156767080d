// The batching scheduler's use of KV blocks (issue #16, engine/serve/scheduler): a prompt prefix
// shared with another slot's running sequence is mapped copy-free instead of recomputed, and a pool
// too small for every slot at once preempts the youngest sequence and recomputes it later. In both
// cases every answer must equal the one the same request gets alone: on the CPU with Q4_0 weights
// the batched forward is bit-identical whatever the batch, the chunking or the blocks (context.h),
// so the texts are compared exactly, sampled ones (fixed seeds) included. The block accounting is
// checked after every round (SchedulerOptions::check_blocks). Requests with different adapter sets
// share one batch, each with its own adapters.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <random>
#include <thread>

#include "engine/serve/scheduler.h"
#include "engine/testmodels/random_model.h"
#include "tests/engine/lora_base.h"
#include "tests/engine/testdata.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;

namespace {

constexpr int kVocab = 512;

// Written once for the program, removed at its end.
struct ModelFile {
    std::string path;
    ModelFile() {
        const std::string p = test::temp_file("sched_q4_0.gguf");
        RandomModelShape shape;
        shape.n_embd = 128, shape.n_head = 4, shape.n_kv_head = 2, shape.n_ff = 256, shape.n_layer = 2, shape.n_vocab = kVocab;
        if (write_random_llama_model(p, shape, GgmlType::Q4_0, 21).ok()) path = p;
    }
    ~ModelFile() {
        if (!path.empty()) std::filesystem::remove(path);
    }
};

const std::string& model_path() {
    static const ModelFile file;
    return file.path;
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

// `prefix`, then n tokens of their own whose first is 7 + seed: prompts made with different seeds
// share exactly the prefix.
std::vector<int32_t> after(const std::vector<int32_t>& prefix, uint32_t seed, int n) {
    std::vector<int32_t> p = prefix;
    std::vector<int32_t> tail = tokens(n, seed);
    tail[0] = 7 + int32_t(seed);
    p.insert(p.end(), tail.begin(), tail.end());
    return p;
}

struct Answer {
    std::promise<ServeEvent> done;
    std::string text;                // the loop thread's until `done` is set
    std::atomic<int> n_pieces{0};
    ServeEvent end;
    // ServeRequest::logprobs: the answer's entries and the prompt's (and how many events carried those).
    std::vector<LogprobEntry> logprobs, prompt_logprobs;
    int prompt_events = 0;
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
        run.logprobs.insert(run.logprobs.end(), e.logprobs.begin(), e.logprobs.end());
        if (e.prompt_scored) {
            ++run.prompt_events;
            run.prompt_logprobs = e.prompt_logprobs;
            EXPECT_TRUE(run.text.empty() && run.logprobs.empty()) << "the prompt's entries come first";
        }
        if (e.kind == ServeEvent::Kind::Text) run.text += e.text, run.n_pieces.fetch_add(1);
        else run.done.set_value(e);
    });
    ASSERT_TRUE(id.ok()) << id.message();
}

// The request's text alone: one slot, a pool of its own (and its log probabilities, when asked).
std::string alone(const ServeRequest& r, int n_ctx, ServeEvent* end = nullptr, Answer* out = nullptr) {
    auto s = make(1, n_ctx);
    if (!s) return "<no scheduler>";
    Answer local;
    Answer& run = out ? *out : local;
    submit(*s, run, r);
    const ServeEvent e = run.done.get_future().get();
    if (end) *end = e;
    return run.text;
}

bool same_entries(const std::vector<LogprobEntry>& a, const std::vector<LogprobEntry>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].chosen.id != b[i].chosen.id || a[i].chosen.logprob != b[i].chosen.logprob || a[i].top.size() != b[i].top.size())
            return false;
        for (size_t k = 0; k < a[i].top.size(); ++k)
            if (a[i].top[k].id != b[i].top[k].id || a[i].top[k].logprob != b[i].top[k].logprob) return false;
    }
    return true;
}

}  // namespace

// Two requests with a 200-token system prompt in common: the second starts while the first is
// decoding and maps the first's six whole blocks (192 cells) instead of evaluating them, and its
// text equals its text alone; a third, after both, finds the same prefix in an idle slot.
TEST(SchedulerBlocks, SystemPromptIsComputedOnce) {
    ASSERT_FALSE(model_path().empty());
    const std::vector<int32_t> system = tokens(200, 1);
    auto with = [&](uint32_t seed, int n) { return after(system, seed, n); };
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
    // The first holds the loop at its first piece of text (past its prompt, decoding) until the
    // second is queued: the second is then admitted while the first runs, whatever the machine's load.
    std::promise<void> b_queued;
    std::shared_future<void> b_queued_f = b_queued.get_future().share();
    std::atomic<bool> a_ended{false};
    auto id = s->submit(a, [&ra, &a_ended, b_queued_f](const ServeEvent& e) {
        if (e.kind != ServeEvent::Kind::Text) return a_ended.store(true), ra.done.set_value(e);
        if (ra.n_pieces.fetch_add(1) == 0) b_queued_f.wait();
        ra.text += e.text;
    });
    ASSERT_TRUE(id.ok());
    while (ra.n_pieces.load() < 1 && !a_ended.load()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    ASSERT_FALSE(a_ended.load()) << "the first answer ended without text";
    submit(*s, rb, b);
    b_queued.set_value();
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

// Four requests with the same 200-token system prompt submitted together, prompts evaluated in
// chunks of 64: the first computes the six whole blocks, the others wait for them and map them.
TEST(SchedulerBlocks, SimultaneousRequestsComputeTheSharedPrefixOnce) {
    ASSERT_FALSE(model_path().empty());
    const std::vector<int32_t> system = tokens(200, 11);
    std::vector<ServeRequest> reqs;
    for (int i = 0; i < 4; ++i) {
        std::vector<int32_t> p = system;
        std::vector<int32_t> tail = tokens(5 + i, 40 + uint32_t(i));
        tail[0] = 20 + i;
        p.insert(p.end(), tail.begin(), tail.end());
        reqs.push_back(request(p, 12, 0.0f, 1));
    }
    std::vector<std::string> solo;
    for (const auto& r : reqs) solo.push_back(alone(r, 512));
    auto s = make(4, 512);
    ASSERT_TRUE(s);
    std::vector<std::unique_ptr<Answer>> runs;
    for (const auto& r : reqs) {
        runs.push_back(std::make_unique<Answer>());
        submit(*s, *runs.back(), r);
    }
    int reused = 0, evaluated = 0, sharing = 0;
    for (size_t i = 0; i < reqs.size(); ++i) {
        const ServeEvent e = runs[i]->done.get_future().get();
        EXPECT_EQ(runs[i]->text, solo[i]) << "request " << i;
        reused += e.n_reused;
        evaluated += e.n_evaluated;
        // 192 (six whole blocks mapped), or 200 where the first had already finished and the
        // request took its slot (its own cache, the partial block included)
        sharing += e.n_reused >= 192 ? 1 : 0;
    }
    EXPECT_EQ(sharing, 3) << "three of the four take the system prompt from the first";
    int total = 0;
    for (const auto& r : reqs) total += int(r.prompt.size());
    EXPECT_EQ(evaluated, total - reused);
    EXPECT_TRUE(s->block_check().ok()) << s->block_check().message();
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

// Log probabilities under pressure: four requests that score their 90-token prompts (in chunks;
// two share 60 tokens) and report 3 top tokens per answer token, over a pool that forces
// preemption, twice (the second time, slots may hold what they scored). Each gets exactly the
// entries it gets alone (bit-identical forward, see the header), its prompt's once, before its
// answer's; one only scores (max_new_tokens 0).
TEST(SchedulerBlocks, LogprobsAndScoredPromptsSurvivePreemption) {
    ASSERT_FALSE(model_path().empty());
    std::vector<ServeRequest> reqs;
    for (int i = 0; i < 4; ++i) {
        ServeRequest r = request(tokens(90, 300 + uint32_t(i)), i == 3 ? 0 : 70, i % 2 ? 0.8f : 0.0f, 70 + uint64_t(i));
        r.logprobs = 3;
        r.prompt_logprobs = true;
        reqs.push_back(std::move(r));
    }
    std::copy(reqs[0].prompt.begin(), reqs[0].prompt.begin() + 60, reqs[1].prompt.begin());
    std::vector<std::unique_ptr<Answer>> solo;
    for (const auto& r : reqs) {
        solo.push_back(std::make_unique<Answer>());
        alone(r, 256, nullptr, solo.back().get());
        ASSERT_EQ(solo.back()->prompt_logprobs.size(), r.prompt.size() - 1);
    }
    EXPECT_TRUE(solo[3]->text.empty() && solo[3]->logprobs.empty());
    EXPECT_EQ(solo[0]->logprobs.size(), 70u);
    // The prompt's first scored token is the entry of prompt[1].
    EXPECT_EQ(solo[0]->prompt_logprobs[0].chosen.id, reqs[0].prompt[1]);

    auto s = make(4, 256, 256, 32);
    ASSERT_TRUE(s);

    for (int round = 0; round < 2; ++round) {
        std::vector<std::unique_ptr<Answer>> runs;
        for (const auto& r : reqs) {
            runs.push_back(std::make_unique<Answer>());
            submit(*s, *runs.back(), r);
        }
        for (size_t i = 0; i < reqs.size(); ++i) {
            const ServeEvent e = runs[i]->done.get_future().get();
            EXPECT_EQ(e.kind, ServeEvent::Kind::Done) << e.error;
            if (round == 0) EXPECT_EQ(e.n_reused, 0);
            EXPECT_EQ(runs[i]->prompt_events, 1);
            EXPECT_EQ(runs[i]->text, solo[i]->text) << "request " << i;
            EXPECT_TRUE(same_entries(runs[i]->prompt_logprobs, solo[i]->prompt_logprobs)) << "request " << i << ", round " << round;
            EXPECT_TRUE(same_entries(runs[i]->logprobs, solo[i]->logprobs)) << "request " << i << ", preempted " << e.n_preempted;
        }
    }
    EXPECT_GT(s->n_preemptions(), 0) << "the pool was large enough: the test shows nothing";
    EXPECT_TRUE(s->block_check().ok()) << s->block_check().message();
    // No answer at all is only for scoring.
    ServeRequest none = request(tokens(10, 5), 0, 0.0f, 1);
    EXPECT_FALSE(s->submit(none, [](const ServeEvent&) {}).ok());
}

// The choices of a multiple-choice question, scored one after another (lm-evaluation-harness's
// default): the second shares 60 tokens with the first, takes the first's entries for them and
// evaluates from the last shared position on, and its entries are exactly those it gets alone. A
// different top count or nothing shared: no reuse.
TEST(SchedulerBlocks, ScoringTakesTheEntriesOfASharedPrefix) {
    ASSERT_FALSE(model_path().empty());
    const std::vector<int32_t> context = tokens(60, 7);
    auto with = [&](uint32_t seed, int n) { return after(context, seed, n); };
    auto scoring = [](std::vector<int32_t> prompt, int top) {
        ServeRequest r = request(std::move(prompt), 0, 0.0f, 1);
        r.logprobs = top;
        r.prompt_logprobs = true;
        return r;
    };
    const ServeRequest a = scoring(with(1, 5), 2), b = scoring(with(2, 4), 2), c = scoring(with(3, 3), 3);
    Answer b_alone;
    alone(b, 256, nullptr, &b_alone);
    auto s = make(1, 256);
    ASSERT_TRUE(s);
    auto run = [&](const ServeRequest& r, Answer& out) {
        submit(*s, out, r);
        return out.done.get_future().get();
    };
    Answer ra, rb, rc, rd;
    EXPECT_EQ(run(a, ra).n_reused, 0);
    const ServeEvent eb = run(b, rb);
    EXPECT_EQ(eb.n_reused, 59);                               // cells 0..58; position 59 gives token 60's row
    EXPECT_EQ(eb.n_evaluated, int(b.prompt.size()) - 59);
    ASSERT_EQ(rb.prompt_logprobs.size(), b.prompt.size() - 1);
    EXPECT_TRUE(same_entries(rb.prompt_logprobs, b_alone.prompt_logprobs));
    EXPECT_EQ(run(c, rc).n_reused, 0);                        // 3 top tokens, not 2
    EXPECT_EQ(run(scoring(tokens(20, 99), 3), rd).n_reused, 0);  // nothing shared
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

// Many requests of random lengths over a small pool, some sharing prefixes, a few cancelled while
// they run or wait: every finished answer equals its text alone, and the accounting holds after
// every round.
TEST(SchedulerBlocks, RandomLoadKeepsTextsAndAccounting) {
    ASSERT_FALSE(model_path().empty());
    std::mt19937 rng(7);
    const std::vector<int32_t> common = tokens(96, 77);
    std::vector<ServeRequest> reqs;
    for (int i = 0; i < 14; ++i) {
        std::vector<int32_t> p;
        if (rng() % 2) p.assign(common.begin(), common.begin() + std::ptrdiff_t(rng() % 97));
        const auto tail = tokens(1 + int(rng() % 40), 300 + uint32_t(i));
        p.insert(p.end(), tail.begin(), tail.end());
        reqs.push_back(request(p, 1 + int(rng() % 90), rng() % 2 ? 0.8f : 0.0f, 900 + uint64_t(i)));
    }
    std::vector<std::string> solo;
    for (const auto& r : reqs) solo.push_back(alone(r, 256));

    auto s = make(6, 256, 320, 24);
    ASSERT_TRUE(s);
    std::vector<std::unique_ptr<Answer>> runs;
    std::vector<uint64_t> ids;
    for (const auto& r : reqs) {
        runs.push_back(std::make_unique<Answer>());
        Answer* a = runs.back().get();
        auto id = s->submit(r, [a](const ServeEvent& e) {
            if (e.kind == ServeEvent::Kind::Text) a->text += e.text, a->n_pieces.fetch_add(1);
            else a->done.set_value(e);
        });
        ASSERT_TRUE(id.ok()) << id.message();
        ids.push_back(*id);
    }
    s->cancel(ids[3]);
    while (runs[9]->n_pieces.load() < 2 && s->n_active() + s->n_queued() > 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
    s->cancel(ids[9]);
    for (size_t i = 0; i < reqs.size(); ++i) {
        const ServeEvent e = runs[i]->done.get_future().get();
        EXPECT_EQ(e.kind, ServeEvent::Kind::Done) << e.error;
        if (e.finish == "cancelled") {
            EXPECT_TRUE(i == 3 || i == 9) << "request " << i;
            EXPECT_EQ(runs[i]->text, solo[i].substr(0, runs[i]->text.size())) << "request " << i;
        } else {
            EXPECT_EQ(runs[i]->text, solo[i]) << "request " << i << " (preempted " << e.n_preempted << " times)";
        }
    }
    EXPECT_TRUE(s->block_check().ok()) << s->block_check().message();
    std::printf("%d preemptions\n", s->n_preemptions());
}

// Requests with different adapter sets run in one batch (no set waits for another): base, A
// (qv-r16), B (mlp-r8 at 0.5) and A+B together; each text equals the same request alone. The
// weights are F32, where batched rows agree with rows alone to float rounding only (context.h),
// but greedy texts of 16 tokens are compared exactly: test_lora_batch measures those rows
// bit-identical on the CPU, so any difference here is a wrong adapter on a row.
TEST(SchedulerBlocks, AdapterSetsShareOneBatch) {
    HEARTH_REQUIRE_TESTDATA(data);
    const std::string dir = data + "/hf-models/tiny-llama";
    json::Value expected;
    std::vector<int32_t> prompt;
    ASSERT_TRUE(test::read_fixture(dir, &expected, &prompt));
    const LoraSpec a{dir + "/lora/qv-r16.gguf", 1.0f}, b{dir + "/lora/mlp-r8.gguf", 0.5f};
    const std::vector<std::vector<LoraSpec>> sets = {{}, {a}, {b}, {a, b}};
    auto make_on = [&](int parallel) {
        SchedulerOptions so;
        so.model.path = dir + "/base-f32.gguf";
        so.model.n_ctx = 256;
        so.model.backend = "cpu";
        so.model.n_threads = 2;
        so.n_parallel = parallel;
        so.check_blocks = true;
        auto s = Scheduler::create(so);
        EXPECT_TRUE(s.ok()) << s.message();
        return s.ok() ? std::move(*s) : nullptr;
    };
    auto req = [&](const std::vector<LoraSpec>& set) {
        ServeRequest r = request(prompt, 16, 0.0f, 1);
        r.sampling.repeat_penalty = 1.0f;
        r.loras = set;
        return r;
    };
    std::vector<std::string> solo;
    for (const auto& set : sets) {
        auto s = make_on(1);
        ASSERT_TRUE(s);
        Answer run;
        submit(*s, run, req(set));
        run.done.get_future().get();
        solo.push_back(run.text);
    }
    for (size_t i = 1; i < solo.size(); ++i) EXPECT_NE(solo[i], solo[0]) << "adapter set " << i << " changed nothing";

    auto s = make_on(4);
    ASSERT_TRUE(s);
    std::atomic<int> most_active{0};
    std::vector<std::unique_ptr<Answer>> runs;
    for (const auto& set : sets) {
        runs.push_back(std::make_unique<Answer>());
        Answer* r = runs.back().get();
        Scheduler* sp = s.get();
        auto id = s->submit(req(set), [r, sp, &most_active](const ServeEvent& e) {
            most_active.store(std::max(most_active.load(), sp->n_active()));
            if (e.kind == ServeEvent::Kind::Text) r->text += e.text;
            else r->done.set_value(e);
        });
        ASSERT_TRUE(id.ok()) << id.message();
    }
    for (size_t i = 0; i < sets.size(); ++i) {
        const ServeEvent e = runs[i]->done.get_future().get();
        EXPECT_EQ(e.kind, ServeEvent::Kind::Done) << e.error;
        EXPECT_EQ(runs[i]->text, solo[i]) << "adapter set " << i;
    }
    EXPECT_EQ(most_active.load(), 4) << "the four sets did not run together";
    EXPECT_TRUE(s->block_check().ok()) << s->block_check().message();
    // A request naming an adapter that does not exist fails alone; the others are unaffected.
    Answer bad;
    submit(*s, bad, req({LoraSpec{dir + "/lora/missing.gguf", 1.0f}}));
    EXPECT_EQ(bad.done.get_future().get().kind, ServeEvent::Kind::Error);
}
