// For each N: N sequences (their own pseudo-random prompts of -p tokens, prefilled together in one
// eval_batch, not timed), then -n decode steps in which all N sequences advance one token in one
// eval_batch and each picks its next token greedily from its own logits row (as a server's
// scheduler would, sampling per sequence on the host). Aggregate tok/s = N x n_gen / decode time;
// median over -r repetitions (interleaved across the counts), each on fresh sequences (blocks freed and reallocated: the KV pool
// holds N x (p + n) tokens). The speedup is against the N = 1 run of the same invocation.
#include "app/cli/bench_parallel.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "engine/gguf/gguf.h"
#include "engine/model/context.h"
#include "engine/model/kv_blocks.h"
#include "engine/model/model.h"
#include "engine/model/placement.h"
#include "engine/util/json.h"

namespace hearth::cli {

namespace {
using Clock = std::chrono::steady_clock;

// Process CPU seconds (user + system): tokens per CPU second hold up better than wall-clock rates
// on a machine other processes share (the pool's workers wait by sleeping after a short spin).
double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace

int run_parallel_bench(const ParallelBenchArgs& a) {
    auto file = gguf::File::open(a.model);
    if (!file.ok()) return fail("bench: " + file.message());
    const int n_max = *std::max_element(a.parallel.begin(), a.parallel.end());
    const int per_seq = (a.n_prompt + a.n_gen + kKvBlockTokens - 1) / kKvBlockTokens * kKvBlockTokens;
    const int n_ctx = n_max * per_seq;
    const int n_batch = std::max(n_max * a.n_prompt, n_max);
    PlacementOptions po;
    po.backend = a.backend.backend;
    po.device = a.backend.device;
    po.n_threads = a.backend.threads;
    po.gpu_layers = a.backend.gpu_layers;
    po.cpu_moe_layers = a.backend.cpu_moe_layers;
    po.n_ctx = n_ctx;
    po.n_batch = n_batch;
    auto placed = place_model(**file, po);
    if (!placed.ok()) return fail("bench: " + placed.message());
    auto model = Model::load(**file, *placed->main, {}, placed->host_or_null(), placed->on_main, placed->experts_on_host);
    if (!model.ok()) return fail("bench: " + model.message());
    auto ctx = ModelContext::create(**model, n_ctx, GgmlType::F16, n_batch);
    if (!ctx.ok()) return fail("bench: " + ctx.message());
    ModelContext& c = **ctx;
    if (!c.can_batch()) return fail("bench --parallel: the " + placed->main->device().backend + " backend has no batched attention yet");
    const int V = c.n_vocab();
    KvBlocks kb(c.n_blocks());
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int> tok(3, V - 1);

    // One repetition for n sequences: decode seconds.
    double last_cpu = 0;  // CPU seconds of the last run_once's decode
    auto run_once = [&](int n) -> Result<double> {
        std::vector<int> seq(static_cast<size_t>(n));
        std::vector<std::vector<int32_t>> prompts(size_t(n), std::vector<int32_t>(size_t(std::max(a.n_prompt, 1))));
        std::vector<SeqStep> steps;
        for (int i = 0; i < n; ++i) {
            for (int32_t& t : prompts[size_t(i)]) t = tok(rng);
            seq[size_t(i)] = kb.create_sequence();
            HEARTH_RETURN_IF_ERROR(kb.reserve(seq[size_t(i)], per_seq));
        }
        for (int i = 0; i < n; ++i)
            steps.push_back({prompts[size_t(i)].data(), std::max(a.n_prompt, 1), 0, &kb.table(seq[size_t(i)]), 1});
        std::vector<float> logits;
        HEARTH_RETURN_IF_ERROR(c.eval_batch(steps, &logits));
        std::vector<int32_t> next(static_cast<size_t>(n));
        auto pick = [&] {
            for (int i = 0; i < n; ++i) {
                const float* row = logits.data() + size_t(i) * size_t(V);
                next[size_t(i)] = int32_t(std::max_element(row, row + V) - row);
            }
        };
        pick();
        const auto t0 = Clock::now();
        const double c0 = cpu_seconds();
        for (int g = 0; g < a.n_gen; ++g) {
            for (int i = 0; i < n; ++i) steps[size_t(i)] = {&next[size_t(i)], 1, std::max(a.n_prompt, 1) + g, &kb.table(seq[size_t(i)]), 1};
            HEARTH_RETURN_IF_ERROR(c.eval_batch(steps, &logits));
            pick();
        }
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        last_cpu = cpu_seconds() - c0;
        for (int id : seq) kb.free_sequence(id);
        HEARTH_RETURN_IF_ERROR(kb.check());
        return s;
    };

    // Warm-up (weights paged in, scratch sized at the largest batch).
    if (auto w = run_once(n_max); !w.ok()) return fail("bench: " + w.message());
    // Repetitions interleave the counts (1, 2, 4, 8, 1, 2, ...), so a change in the machine's load
    // (other processes) falls on every count alike and the speedups stay comparable.
    struct Row { int n; double tps, tps_min, tps_max, tpc; };
    std::vector<std::vector<double>> tps(a.parallel.size()), tpc(a.parallel.size());
    for (int r = 0; r < a.reps; ++r)
        for (size_t i = 0; i < a.parallel.size(); ++i) {
            const int n = a.parallel[i];
            auto s = run_once(n);
            if (!s.ok()) return fail("bench: " + s.message());
            tps[i].push_back(double(n) * a.n_gen / *s);
            tpc[i].push_back(double(n) * a.n_gen / std::max(last_cpu, 1e-9));
            if (!a.json) std::fprintf(stderr, "bench: parallel %d, repetition %d/%d: %.2f tok/s\n", n, r + 1, a.reps, tps[i].back());
        }
    std::vector<Row> rows;
    for (size_t i = 0; i < a.parallel.size(); ++i)
        rows.push_back({a.parallel[i], median_of(tps[i]), *std::min_element(tps[i].begin(), tps[i].end()),
                        *std::max_element(tps[i].begin(), tps[i].end()), median_of(tpc[i])});
    double base = 0, base_cpu = 0;
    for (const Row& r : rows)
        if (r.n == 1) { base = r.tps; base_cpu = r.tpc; }
    const auto& dev = placed->main->device();
    if (a.json) {
        json::Value o = json::Value::object();
        o.set("model", a.model);
        o.set("backend", dev.backend + ": " + dev.name + ", " + dev.details);
        o.set("n_prompt", a.n_prompt);
        o.set("n_gen", a.n_gen);
        o.set("repetitions", a.reps);
        json::Value arr = json::Value::array();
        for (const Row& r : rows) {
            json::Value x = json::Value::object();
            x.set("parallel", r.n);
            x.set("tg_tps", r.tps);
            x.set("tg_tps_min", r.tps_min);
            x.set("tg_tps_max", r.tps_max);
            x.set("tg_tok_per_cpu_s", r.tpc);
            if (base > 0) x.set("speedup", r.tps / base);
            if (base_cpu > 0) x.set("speedup_cpu", r.tpc / base_cpu);
            arr.push_back(x);
        }
        o.set("runs", arr);
        std::printf("%s\n", o.dump().c_str());
        return 0;
    }
    std::printf("model      %s (%s)\n", a.model.c_str(), (*model)->hparams().arch.c_str());
    std::printf("backend    %s: %s, %s\n", dev.backend.c_str(), dev.name.c_str(), dev.details.c_str());
    std::printf("sequences  prompt %d tokens each, then %d generated tokens each, greedy per sequence\n", a.n_prompt, a.n_gen);
    for (const Row& r : rows) {
        std::printf("parallel %-3d %8.2f tok/s aggregate  (%.2f per sequence; median of %d, min %.2f, max %.2f)", r.n, r.tps,
                    r.tps / r.n, a.reps, r.tps_min, r.tps_max);
        if (base > 0) std::printf("  %.2fx single", r.tps / base);
        std::printf("\n             %8.2f tok per CPU second", r.tpc);
        if (base_cpu > 0) std::printf("  %.2fx single", r.tpc / base_cpu);
        std::printf("\n");
    }
    return 0;
}

}  // namespace hearth::cli
