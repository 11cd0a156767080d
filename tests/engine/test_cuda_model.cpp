// The whole forward pass on the CUDA backend, on every model of ../shared/testdata/reference,
// against the float64 `exact` logits / llama.cpp's logits (tolerances from the testdata README) and
// against the reference CPU path (rms of the difference ≤ 0.02 × rms(logits), as the GPU issues ask),
// plus llama.cpp's greedy continuation. Skips with a reason without test data or a CUDA device.
#include <gtest/gtest.h>

#include <filesystem>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "engine/backend/reference/reference_backend.h"
#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/sampling/sampler.h"
#include "tests/engine/cuda_graphs_env.h"
#include "tests/engine/cuda_simulator.h"
#include "tests/engine/testdata.h"
#include "tests/engine/expert_fixture.h"
#include "tests/engine/longrope_fixture.h"
#include "engine/util/json.h"

using namespace hearth;

namespace {

// The shared reference models and their data files (tests/engine/testdata.h).
using test::read_f32;
using test::read_prompt;
using test::rms;
constexpr auto& kModels = test::kReferenceModels;
constexpr int kVocab = test::kReferenceVocab, kRows = test::kReferenceRows;

struct Stats { double max_abs = 0, rms = 0; int argmax_same = 0; };
Stats compare(const std::vector<float>& got, const std::vector<float>& want) {
    Stats s;
    double acc = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double e = std::fabs(double(got[i]) - want[i]);
        s.max_abs = std::max(s.max_abs, std::isnan(e) ? INFINITY : e);
        acc += e * e;
    }
    s.rms = std::sqrt(acc / double(want.size()));
    for (int r = 0; r < kRows; ++r) {
        const float* g = got.data() + size_t(r) * kVocab;
        const float* w = want.data() + size_t(r) * kVocab;
        s.argmax_same += (std::max_element(g, g + kVocab) - g) == (std::max_element(w, w + kVocab) - w);
    }
    return s;
}

bool is_quantized(const std::string& name) { return name.find("f32") == std::string::npos; }

struct Loaded {
    std::unique_ptr<gguf::File> file;
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Model> model;
};

Loaded load(const std::string& path, std::unique_ptr<Backend> be) {
    Loaded l;
    auto f = gguf::File::open(path);
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return l;
    l.file = std::move(*f);
    l.backend = std::move(be);
    auto m = Model::load(*l.file, *l.backend);
    EXPECT_TRUE(m.ok()) << m.message();
    if (m.ok()) l.model = std::move(*m);
    return l;
}

// A fresh CUDA backend with the model at `path` on it (l.model is null after a failure, reported).
Loaded load_on_cuda(const std::string& path) {
    auto cb = create_backend("cuda", 0, {});
    EXPECT_TRUE(cb.ok()) << cb.message();
    if (!cb.ok()) return {};
    return load(path, std::move(*cb));
}

// A 128-cell context (F16 cache) on l's model with the shared prompt evaluated: the logits of its
// last token in *logits. Null after a failure, reported.
std::unique_ptr<ModelContext> prompt_context(Loaded& l, const std::string& dir, std::vector<float>* logits) {
    auto ctx = ModelContext::create(*l.model, 128, GgmlType::F16);
    EXPECT_TRUE(ctx.ok()) << ctx.message();
    if (!ctx.ok()) return nullptr;
    const auto prompt = read_prompt(dir);
    const Status st = (*ctx)->eval(prompt.data(), int(prompt.size()), 0, 1, logits);
    EXPECT_TRUE(st.ok()) << st.message();
    if (!st.ok()) return nullptr;
    return std::move(*ctx);
}

std::vector<float> eval_prompt(Loaded& l, const std::vector<int32_t>& prompt, GgmlType kv, int n_batch) {
    std::vector<float> logits;
    auto ctx = ModelContext::create(*l.model, 64, kv, n_batch);
    EXPECT_TRUE(ctx.ok()) << ctx.message();
    if (!ctx.ok()) return logits;
    const Status st = (*ctx)->eval(prompt.data(), int(prompt.size()), 0, kRows, &logits);
    EXPECT_TRUE(st.ok()) << st.message();
    return logits;
}

#define REQUIRE_CUDA_BACKEND(var)                                                   \
    auto var = create_backend("cuda", 0, {});                                       \
    if (!var.ok()) GTEST_SKIP() << "no usable CUDA device: " << var.message()

}  // namespace

// n_batch 256: the prompt runs through the GEMM path (F16 tensor cores, or SGEMM for F32 weights);
// n_batch 5: every product is the 8-bit-activation matvec path.
TEST(CudaModel, LogitsMatchExactLlamaCppAndTheCpuPath) {
    HEARTH_REQUIRE_TESTDATA(dir);
    bool simulated = false;
    {
        REQUIRE_CUDA_BACKEND(probe);
        simulated = test::is_cuda_simulator(**probe);
    }
    const auto prompt = read_prompt(dir);
    for (const char* name : kModels) {
        const std::string base = dir + "/reference/" + name;
        const auto exact = read_f32(base + ".exact.f32"), lcpp = read_f32(base + ".llamacpp.f32");
        ASSERT_EQ(exact.size(), size_t(kRows) * kVocab);
        Loaded ref = load(base + ".gguf", create_reference_backend());
        ASSERT_TRUE(ref.model);
        auto cb = create_backend("cuda", 0, {});
        ASSERT_TRUE(cb.ok()) << cb.message();
        Loaded cu = load(base + ".gguf", std::move(*cb));
        ASSERT_TRUE(cu.model);
        for (GgmlType kv : {GgmlType::F32, GgmlType::F16}) {
            const auto cpu = eval_prompt(ref, prompt, kv, 256);
            for (int n_batch : {256, 5}) {
                // On the simulator (3 s for a prompt in chunks of 5) the F32 cache's small batches are
                // left to the op tests' decode attention over F32 caches; a GPU runs all four.
                if (simulated && kv == GgmlType::F32 && n_batch == 5) continue;
                const auto got = eval_prompt(cu, prompt, kv, n_batch);
                ASSERT_EQ(got.size(), exact.size());
                const double r = rms(exact);
                const Stats vs_exact = compare(got, exact), vs_lcpp = compare(got, lcpp), vs_cpu = compare(got, cpu);
                std::printf("[ cuda logits ] %-20s kv=%s batch=%3d  vs exact max %.3g rms %.3g | vs llama.cpp rms %.3g argmax %d/8 | vs CPU rms %.3g (rms logits %.3g)\n",
                            name, std::string(type_name(kv)).c_str(), n_batch, vs_exact.max_abs, vs_exact.rms, vs_lcpp.rms,
                            vs_lcpp.argmax_same, vs_cpu.rms, r);
                if (!is_quantized(name)) {
                    // README: F32 weights with F32 KV and F32 math ≤ 2e-3 against exact; an F16 KV cache ≤ 0.05.
                    // The 8 output rows take the 8-token matvec path: F32 weights, F32 activations.
                    EXPECT_LE(vs_exact.max_abs, kv == GgmlType::F32 ? 2e-3 : 0.05) << name << " batch " << n_batch;
                } else {
                    // README, 8-bit activations (the matvec path, and the output rows in every case):
                    // against llama.cpp rms ≤ 0.03 rms, max ≤ 0.15 rms, same argmax in ≥ 7 of 8 rows.
                    EXPECT_LE(vs_lcpp.rms, 0.03 * r) << name << " batch " << n_batch;
                    EXPECT_LE(vs_lcpp.max_abs, 0.15 * r) << name << " batch " << n_batch;
                    EXPECT_GE(vs_lcpp.argmax_same, 7) << name << " batch " << n_batch;
                }
                // Against the CPU path (the reference backend, exact dequantization).
                EXPECT_LE(vs_cpu.rms, 0.02 * r) << name << " kv " << type_name(kv) << " batch " << n_batch;
            }
        }
    }
}

// Greedy decoding token by token (generation path: matvec, flash-decoding attention) reproduces
// llama.cpp's continuation up to the first step whose top-2 margin is below 0.05 (F32) / 0.5 (quantized).
TEST(CudaModel, GreedyMatchesLlamaCpp) {
    HEARTH_REQUIRE_TESTDATA(dir);
    { REQUIRE_CUDA_BACKEND(probe); }
    for (const char* name : kModels) {
        Loaded l = load_on_cuda(dir + "/reference/" + name + ".gguf");
        ASSERT_TRUE(l.model);
        std::vector<int> toks;
        std::vector<double> margins;
        test::read_greedy(dir, name, toks, margins);
        ASSERT_EQ(toks.size(), 32u);
        const double min_margin = is_quantized(name) ? 0.5 : 0.05;
        const auto prompt = read_prompt(dir);
        auto ctx = ModelContext::create(*l.model, 128, GgmlType::F32);
        ASSERT_TRUE(ctx.ok()) << ctx.message();
        std::vector<float> logits;
        ASSERT_TRUE((*ctx)->eval(prompt.data(), int(prompt.size()), 0, 1, &logits).ok());
        int pos = int(prompt.size()), compared = 0;
        for (size_t s = 0; s < toks.size(); ++s) {
            if (margins[s] < min_margin) break;
            const int32_t tok = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
            ASSERT_EQ(tok, toks[s]) << name << " step " << s;
            ++compared;
            ASSERT_TRUE((*ctx)->eval(&tok, 1, pos++, 1, &logits).ok());
        }
        std::printf("[ cuda greedy ] %-20s %d steps identical before the first small margin\n", name, compared);
        EXPECT_GT(compared, 0) << name;
    }
}

using GraphsEnv = test::CudaGraphsEnv;

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

// Whole generation steps as CUDA graphs (on by default; HEARTH_CUDA_GRAPHS=0: off): the same greedy
// run, step by step, with and without graphs. Step 1 is recorded and launched op by op, step 2
// captured, steps 3-16 replayed by one call each without calling any op: the backend records no
// closure for them (step_stats). With graphs, attention is bounded by a bucket of n_kv (here the
// 128-cell context) instead of n_kv; the cells beyond the positions are masked either way, so the
// logits are expected identical; the bound is 1e-4 in case a kernel's split plan differs. Step 11
// skips three positions (the replayed pass then starts from an uploaded position, not its own).
TEST(CudaModel, GraphReplayMatchesDirectLaunches) {
    HEARTH_REQUIRE_TESTDATA(dir);
    { REQUIRE_CUDA_BACKEND(probe); }
    const std::string path = dir + "/reference/ref-llama-q8_0.gguf";
    auto run = [&](bool graphs, std::vector<float>* all) {
        Loaded l;
        {
            GraphsEnv env(graphs);
            l = load_on_cuda(path);
        }
        ASSERT_TRUE(l.model);
        EXPECT_EQ(l.backend->max_step_tokens() > 0, graphs);
        std::vector<float> logits;
        auto ctx = prompt_context(l, dir, &logits);
        ASSERT_TRUE(ctx);
        int pos = int(read_prompt(dir).size());
        Backend::StepStats after_capture, before_second;
        for (int s = 0; s < 16; ++s) {
            all->insert(all->end(), logits.begin(), logits.end());
            const int32_t tok = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
            if (s == 1) before_second = l.backend->step_stats();
            // A recorded step advances its own position on the device (eval uploads none when the
            // step follows the previous one): a jump makes eval upload it, in the same replayed pass.
            if (s == 10) pos += 3;
            const Status st = ctx->eval(&tok, 1, pos++, 1, &logits);
            ASSERT_TRUE(st.ok()) << st.message();
            if (s == 1) after_capture = l.backend->step_stats();  // step 1 recorded, step 2 captured
        }
        if (graphs) {
            // The ops of one whole generation step (step 2, recorded complete and captured): the
            // fused forms of issue #17 leave 8 per llama layer, one kernel each (norm with the 8-bit
            // quantization, q/k/v, RoPE with the KV store, attention with the 8-bit form of its
            // output, output projection with the residual add, norm, gate/up with SiLU·up and its
            // 8-bit form, down projection with the residual add), plus the position's advance, the
            // embedding lookup, final norm, output head and sampling around the layers. The kernels
            // are counted in the captured graph itself: one per op, but for a head size that is not
            // a multiple of 32 (this model's 16), where the attention output's 8-bit form is made by
            // a quantizer after the attention kernel.
            const uint64_t ops = after_capture.ops_recorded - before_second.ops_recorded;
            const uint64_t kernels = after_capture.last_capture_nodes;
            const int n_layer = l.model->hparams().n_layer;
            std::printf("[ cuda graphs ] one generation step: %llu ops, %llu kernels over %d layers (%.1f per layer)\n",
                        (unsigned long long)ops, (unsigned long long)kernels, n_layer, double(kernels) / n_layer);
            EXPECT_LE(ops, uint64_t(8 * n_layer + 6));
            EXPECT_EQ(kernels, ops + (l.model->hparams().head_dim % 32 ? uint64_t(n_layer) : 0u));
        }
        all->insert(all->end(), logits.begin(), logits.end());
        const Backend::StepStats end = l.backend->step_stats();
        if (graphs) {
            std::printf("[ cuda graphs ] %llu ops recorded over steps 1-2, %llu captures, %llu replays\n",
                        (unsigned long long)end.ops_recorded, (unsigned long long)end.captures, (unsigned long long)end.replays);
            EXPECT_GT(after_capture.ops_recorded, 0u);
            EXPECT_EQ(end.ops_recorded, after_capture.ops_recorded) << "a replayed step built closures";
            EXPECT_EQ(end.captures, 1u);
            EXPECT_EQ(end.replays, 14u);
        } else {
            EXPECT_EQ(end.ops_recorded + end.captures + end.replays, 0u);
        }
    };
    std::vector<float> direct, graphed;
    run(false, &direct);
    run(true, &graphed);
    ASSERT_EQ(direct.size(), graphed.size());
    const double m = max_abs_diff(direct, graphed);
    std::printf("[ cuda graphs ] max |logit difference| over 16 steps: %.3g\n", m);
    EXPECT_LE(m, 1e-4);
}

// The host's share of a generation step: eval() without logits only enqueues (the simulator runs
// queued work when something waits, as a GPU would run it meanwhile), so its wall time is the host
// work per step: op calls and kernel launches with graphs off, the same plus a closure per op while
// a step is recorded, one graph launch when replayed (each the least of its steps). Printed for the
// README, not asserted (a timed assertion would fail on a loaded machine): what is checked is why a
// replay is cheap, that the timed replayed steps recorded no op and were each one graph launch.
// HEARTH_TEST_TIMING_MODEL=PATH times another model (the shared prompt's ids must be in its vocabulary).
TEST(CudaModel, ReplayedStepHostTime) {
    HEARTH_REQUIRE_TESTDATA(dir);
    { REQUIRE_CUDA_BACKEND(probe); }
    const char* other = std::getenv("HEARTH_TEST_TIMING_MODEL");
    const std::string path = other && *other ? other : dir + "/reference/ref-llama-q8_0.gguf";
    constexpr int kSteps = 8;
    auto host_us = [&](bool graphs, double* recorded_us) {
        Loaded l;
        {
            GraphsEnv env(graphs);
            l = load_on_cuda(path);
        }
        EXPECT_TRUE(l.model);
        if (!l.model) return 0.0;
        std::vector<float> logits;
        auto ctx = prompt_context(l, dir, &logits);
        EXPECT_TRUE(ctx);
        if (!ctx) return 0.0;
        int pos = int(read_prompt(dir).size());
        const int32_t tok = 42;  // any id: only the host time is measured
        auto step = [&] {
            const auto t0 = std::chrono::steady_clock::now();
            EXPECT_TRUE(ctx->eval(&tok, 1, pos++, 1, nullptr).ok());
            const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
            EXPECT_TRUE(l.backend->synchronize().ok());  // runs the queued kernels outside the timed part
            return us;
        };
        const double first = step();  // with graphs: recorded (cut by the work memory's first growth)
        const double second = step();  // with graphs: recorded and captured
        if (recorded_us) *recorded_us = std::min(first, second);
        const Backend::StepStats before = l.backend->step_stats();
        double best = 1e30;  // the least of several steps: the machine's other load only adds
        for (int s = 0; s < kSteps; ++s) best = std::min(best, step());
        if (graphs) {
            const Backend::StepStats after = l.backend->step_stats();
            EXPECT_EQ(after.ops_recorded, before.ops_recorded) << "a replayed step built closures";
            EXPECT_EQ(after.replays - before.replays, uint64_t(kSteps)) << "not every timed step was a replay";
            const int n_layer = l.model->hparams().n_layer;
            std::printf("[ cuda graphs ] a captured generation step of %s: %llu kernels over %d layers (%.2f per layer)\n",
                        path.substr(path.rfind('/') + 1).c_str(), (unsigned long long)after.last_capture_nodes, n_layer,
                        double(after.last_capture_nodes) / n_layer);
        }
        return best;
    };
    double recorded = 0;
    const double direct = host_us(false, nullptr);
    const double replayed = host_us(true, &recorded);
    std::printf("[ cuda graphs ] host time per generation step (%s, simulator): direct launches %.0f us, "
                "recorded %.0f us, replayed %.0f us\n", path.substr(path.rfind('/') + 1).c_str(), direct, recorded, replayed);
}

// Recorded steps are keyed by what they were recorded over: attaching an adapter or shifting the
// cache makes the next step record again (ops_recorded grows, replays do not), and the run with
// graphs equals the run without, step by step (a stale replay without the adapter's terms would not).
TEST(CudaModel, StepGraphsFollowAdaptersAndContextShift) {
    HEARTH_REQUIRE_TESTDATA(data);
    { REQUIRE_CUDA_BACKEND(probe); }
    const std::string dir = data + "/hf-models/tiny-llama";
    // The GPU loan carries reference/ alone (the device tool's 64 MiB): the adapters' folder may be absent.
    if (!std::filesystem::exists(dir + "/expected.json")) GTEST_SKIP() << dir << " is not in this test data";
    auto expected = json::parse_file(dir + "/expected.json");
    ASSERT_TRUE(expected.ok()) << expected.message();
    std::vector<int32_t> prompt;
    for (const json::Value& v : (*expected)["prompt_ids"].as_array()) prompt.push_back(int32_t(v.as_int()));
    auto adapter = LoraAdapter::open_gguf(dir + "/lora/qv-r16.gguf");
    ASSERT_TRUE(adapter.ok()) << adapter.message();
    auto run = [&](bool graphs, std::vector<float>* all) {
        Loaded l;
        {
            GraphsEnv env(graphs);
            l = load_on_cuda(dir + "/base-f32.gguf");
        }
        ASSERT_TRUE(l.model);
        auto ctx = ModelContext::create(*l.model, 128, GgmlType::F32, 32);
        ASSERT_TRUE(ctx.ok()) << ctx.message();
        std::vector<float> logits;
        ASSERT_TRUE((*ctx)->eval(prompt.data(), int(prompt.size()), 0, 1, &logits).ok());
        int pos = int(prompt.size());
        auto steps = [&](int n) {
            for (int s = 0; s < n; ++s) {
                const int32_t tok = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
                ASSERT_TRUE((*ctx)->eval(&tok, 1, pos++, 1, &logits).ok());
                all->insert(all->end(), logits.begin(), logits.end());
            }
        };
        // The first step after a change records again (more closures, no replay); graphs off: nothing.
        auto records_again = [&](const char* after) {
            const Backend::StepStats before = l.backend->step_stats();
            steps(1);
            const Backend::StepStats now = l.backend->step_stats();
            EXPECT_EQ(now.ops_recorded > before.ops_recorded, graphs) << "after " << after;
            EXPECT_EQ(now.replays, before.replays) << "after " << after;
        };
        steps(4);  // recorded, captured, replayed twice
        if (graphs) EXPECT_EQ(l.backend->step_stats().replays, 2u);
        ASSERT_TRUE((*ctx)->attach_lora(**adapter, 1.0f).ok());
        records_again("attaching an adapter");
        steps(3);
        ASSERT_TRUE((*ctx)->kv_shift(4, 8, pos).ok());
        pos -= 8;
        records_again("a context shift");
        steps(3);
        (*ctx)->detach_loras();
        records_again("detaching the adapter");
        steps(3);
        if (graphs) EXPECT_EQ(l.backend->step_stats().replays, 2u + 3 * 2);
    };
    std::vector<float> direct, graphed;
    run(false, &direct);
    run(true, &graphed);
    ASSERT_EQ(direct.size(), graphed.size());
    const double m = max_abs_diff(direct, graphed);
    std::printf("[ cuda graphs ] adapters and context shift: max |logit difference| over 17 steps: %.3g\n", m);
    EXPECT_LE(m, 1e-4);
}

// Device sampling after a real forward pass (ModelContext::sample_last → CudaBackend::sample_top_k):
// greedy equals the argmax of the downloaded logits, and top-k 40 at temperature 0.8 picks the host
// sampler's id for the same u, unless u lies within 1e-9 of a cumulative boundary (exp() rounding).
TEST(CudaModel, DeviceSamplingMatchesHostSampling) {
    HEARTH_REQUIRE_TESTDATA(dir);
    { REQUIRE_CUDA_BACKEND(probe); }
    Loaded l = load_on_cuda(dir + "/reference/ref-llama-q8_0.gguf");
    ASSERT_TRUE(l.model);
    std::vector<float> logits;
    auto ctx = prompt_context(l, dir, &logits);
    ASSERT_TRUE(ctx);
    int pos = int(read_prompt(dir).size()), compared = 0;
    for (int s = 0; s < 16; ++s) {
        const int n = int(logits.size());
        auto greedy = ctx->sample_last(1, 1.0f, 0.0);
        ASSERT_TRUE(greedy.ok()) << greedy.message();
        EXPECT_EQ(*greedy, argmax_token(logits.data(), n)) << "step " << s;
        const double u = (s * 0.618033988749895) - std::floor(s * 0.618033988749895);
        auto drawn = ctx->sample_last(40, 0.8f, u);
        ASSERT_TRUE(drawn.ok()) << drawn.message();
        std::vector<TokenCandidate> c(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) c[size_t(i)] = {i, logits[size_t(i)]};
        apply_top_k(c, 40);
        apply_temperature(c, 0.8f);
        double cum = 0, nearest = 1;
        for (double p : softmax_probs(c)) nearest = std::min(nearest, std::fabs(u - (cum += p)));
        if (nearest >= 1e-9) {
            EXPECT_EQ(*drawn, sample_top_k_row(logits.data(), n, 40, 0.8f, u)) << "step " << s;
            ++compared;
        }
        const int32_t tok = *drawn;
        ASSERT_TRUE(ctx->eval(&tok, 1, pos++, 1, &logits).ok());
    }
    EXPECT_GT(compared, 10);
}

// Phi-3 LongRoPE (the rope_factors_long/short tensors and attn_factor through the rope kernel) on the
// tiny fixture against transformers: F32 weights (SGEMM for the prompt, F32 matvec for the output
// rows) and an F32 KV cache, so the README's 2e-3 applies (the wrong factors move these logits by
// 5.5-10, a missing attn_factor by 2.7).
TEST(CudaModel, LongRopeFixtureMatchesTransformers) {
    REQUIRE_CUDA_BACKEND(cb);
    const auto cases = test::run_longrope_fixture(**cb);
    EXPECT_EQ(cases.size(), 2u);
    for (const auto& c : cases) {
        std::printf("[ cuda longrope ] %-5s n_ctx %3d: max |d| %.3g vs transformers\n", c.name.c_str(), c.n_ctx, c.max_abs);
        EXPECT_LE(c.max_abs, 2e-3) << c.name;
    }
}

// LoRA adapters applied unmerged on CUDA (two matmuls and a scaled add per target, through the
// backend's own kernels) against PEFT over transformers in float32 (../shared/testdata/hf-models:
// base-f32.gguf and lora/NAME.gguf from llama.cpp's converters). n_batch 32 with an 8-row tail: the
// F32 weights go through the GEMM path for the prompt, the adapters' F32 A and B too. Tolerance 2e-3,
// as the reference and CPU paths have (F32 weights, no 8-bit activations); a missing term or wrong
// scale moves logits by 0.8-4.
TEST(CudaModel, LoraAdaptersMatchPeft) {
    HEARTH_REQUIRE_TESTDATA(data);
    REQUIRE_CUDA_BACKEND(probe);
    for (const char* model : {"tiny-llama", "tiny-qwen2"}) {
        const std::string dir = data + "/hf-models/" + model;
        if (!std::filesystem::exists(dir + "/expected.json")) GTEST_SKIP() << dir << " is not in this test data";
        auto expected = json::parse_file(dir + "/expected.json");
        ASSERT_TRUE(expected.ok()) << expected.message();
        std::vector<int32_t> prompt;
        for (const json::Value& v : (*expected)["prompt_ids"].as_array()) prompt.push_back(int32_t(v.as_int()));
        Loaded l = load_on_cuda(dir + "/base-f32.gguf");
        ASSERT_TRUE(l.model);
        auto ctx = ModelContext::create(*l.model, 128, GgmlType::F32, 32);
        ASSERT_TRUE(ctx.ok()) << ctx.message();
        auto last8 = [&] {
            std::vector<float> out;
            const Status st = (*ctx)->eval(prompt.data(), int(prompt.size()), 0, 8, &out);
            EXPECT_TRUE(st.ok()) << st.message();
            return out;
        };
        const std::vector<float> base = last8();
        for (const auto& [name, ad] : (*expected)["adapters"].as_object()) {
            auto adapter = LoraAdapter::open_gguf(dir + "/lora/" + name + ".gguf");
            ASSERT_TRUE(adapter.ok()) << adapter.message();
            for (const char* scale : {"1", "0.5"}) {
                ASSERT_TRUE((*ctx)->attach_lora(**adapter, std::stof(scale)).ok());
                const std::vector<float> got = last8();
                const std::vector<float> want = read_f32(dir + "/" + ad["logits_scale" + std::string(scale)].as_string());
                ASSERT_EQ(got.size(), want.size());
                double d = 0;
                for (size_t i = 0; i < got.size(); ++i) d = std::max(d, double(std::fabs(got[i] - want[i])));
                EXPECT_LT(d, 2e-3) << model << " " << name << " at scale " << scale;
                std::printf("[ cuda lora ] %-10s %-6s scale %-3s: max |d| against PEFT %.2e\n", model, name.c_str(), scale, d);
                (*ctx)->detach_loras();
                EXPECT_EQ(last8(), base) << "detaching " << name << " gives the base logits bit for bit";
            }
        }
    }
}

// Mixture of experts (qwen3moe, Mixtral-style llama) on the tiny fixtures against transformers:
// the prompt as one batch (experts gather their tokens through get_rows, outputs added back with
// scale_add) and 16 greedy steps of one token. F32 weights and KV: the README's 2e-3 (skipping an
// expert or not renormalizing moves these logits by 2.8-12, expected.json's checks).
TEST(CudaModel, ExpertFixturesMatchTransformers) {
    REQUIRE_CUDA_BACKEND(cb);
    for (const char* name : {"qwen3moe", "mixtral"}) {
        SCOPED_TRACE(name);
        const test::ExpertFixtureRun r = test::run_expert_fixture(**cb, name);
        std::printf("[ cuda experts ] %-8s max |d| %.3g vs transformers\n", name, r.max_abs);
        EXPECT_GE(r.max_abs, 0.0);
        EXPECT_LE(r.max_abs, 2e-3);
        EXPECT_EQ(r.greedy, r.want_greedy);
    }
}
