// hearth-cli bench: prompt-processing and generation speed of a model on a backend, next to this
// machine's memory read bandwidth measured in the same run (issue 4).
//
// - pp: `-p` tokens evaluated as one batch from an empty context; tg: `-n` tokens evaluated one at
//   a time from an empty context (as llama-bench's pp/tg). Token ids are fixed pseudo-random ids.
// - Memory read bandwidth: a streaming read over a 512 MiB buffer (16x the 32 MiB L3 of this CPU
//   kind) with the same number of threads, measured before each repetition's pp and tg runs (so
//   it sees the same machine load); the buffer is unmapped after each measurement so it never
//   counts in the model's RSS.
// - Bytes read per generated token: every weight matrix used for a token (all layers and
//   `output`; from `token_embd` only the row looked up) plus the KV cache read at the mean context
//   length of the generation. Effective bandwidth = bytes/token x tokens/s.
// - Peak RSS: the largest resident set (total, and anonymous = RssAnon) sampled after loading and
//   after every pp/tg run (scratch buffers stay allocated, so every high point is seen).
// - CPU share: process CPU time / (wall time x threads) per run, median; below 1 the machine was
//   shared (spinning workers count as busy, so it is an upper bound of the useful share).
// - --lora PATH[:SCALE] (repeatable): every repetition runs pp and tg without the adapters and
//   with them attached (the same context, attach/detach between; which goes first alternates), so
//   both see the same machine load; the cost is the median over repetitions of each pair's slowdown
//   (issue 14: a rank-16 q/v adapter must cost at most 10% of generation speed on the CPU).
#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "app/cli/backend_args.h"
#include "app/cli/bench_parallel.h"
#include "app/cli/command.h"
#include "app/cli/lora_args.h"
#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/model/placement.h"
#include "engine/util/json.h"
#include "engine/util/process_memory.h"

namespace hearth::cli {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

using Rss = ProcessMemory;
Rss read_rss() { return read_process_memory(); }

// ---- streaming read bandwidth
#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t read_slice_avx2(const uint8_t* p, size_t n) {
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a = _mm256_add_epi64(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
        b = _mm256_add_epi64(b, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
        c = _mm256_add_epi64(c, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
        d = _mm256_add_epi64(d, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
    }
    a = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
    alignas(32) uint64_t out[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), a);
    return out[0] + out[1] + out[2] + out[3];
}
#endif
uint64_t read_slice(const uint8_t* p, size_t n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) return read_slice_avx2(p, n);
#endif
    uint64_t s0 = 0, s1 = 0;
    for (size_t i = 0; i + 16 <= n; i += 16) {
        uint64_t a, b;
        std::memcpy(&a, p + i, 8); std::memcpy(&b, p + i + 8, 8);
        s0 += a; s1 += b;
    }
    return s0 + s1;
}

// GB/s of `threads` threads each streaming through its slice of a fresh buffer; median of 3 passes.
double measure_read_bandwidth(int threads, size_t bytes) {
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED) return 0;
    uint8_t* buf = static_cast<uint8_t*>(m);
    for (size_t i = 0; i < bytes; i += 4096) buf[i] = uint8_t(i >> 12);  // real pages, not the zero page
    const size_t slice = bytes / size_t(threads) / 4096 * 4096;
    std::vector<double> passes;
    std::atomic<uint64_t> sink{0};
    for (int pass = 0; pass < 3; ++pass) {
        std::atomic<int> ready{0};
        std::atomic<bool> go{false};
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t)
            ts.emplace_back([&, t] {
                ready.fetch_add(1);
                while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
                sink.fetch_add(read_slice(buf + size_t(t) * slice, slice), std::memory_order_relaxed);
            });
        while (ready.load() < threads) std::this_thread::yield();
        const auto t0 = Clock::now();
        go.store(true, std::memory_order_release);
        for (auto& th : ts) th.join();
        passes.push_back(double(slice) * threads / seconds_since(t0) / 1e9);
    }
    munmap(m, bytes);
    std::sort(passes.begin(), passes.end());
    return passes[1];
}

// CPU seconds (user + system) this process has used: with the wall time it tells how much of the
// machine a run got, which on a shared machine is less than `threads` cores.
double process_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int run_bench(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto model_path = args.take({"-m", "--model"});
    const auto p_arg = args.take({"-p", "--n-prompt"});
    const auto n_arg = args.take({"-n", "--n-gen"});
    const auto r_arg = args.take({"-r", "--repetitions"});
    BackendArgs be_args;
    be_args.backend = "cpu";  // the bench measures the CPU unless asked otherwise
    if (std::string e = take_backend_args(args, &be_args); !e.empty()) return fail("bench: " + e);
    std::vector<LoraSpec> lora_specs;
    if (std::string e = take_lora_args(args, &lora_specs); !e.empty()) return fail("bench: " + e);
    const bool json_out = args.flag({"--json"});
    const auto par_arg = args.take({"--parallel"});
    if (const std::string u = args.unknown_option(); !u.empty()) return fail("bench: unknown option " + u);
    if (par_arg) {  // N concurrent sequences on the batched forward (bench_parallel.cpp)
        if (!model_path) return fail("bench: usage: bench -m MODEL --parallel N[,N...] [-p 32] [-n 64] [-t THREADS] [-r 3] [--json]");
        if (!lora_specs.empty()) return fail("bench: --parallel does not take --lora");
        ParallelBenchArgs pa;
        pa.model = *model_path;
        pa.backend = be_args;
        pa.json = json_out;
        try {
            size_t at = 0;
            while (at <= par_arg->size()) {
                const size_t comma = std::min(par_arg->find(',', at), par_arg->size());
                pa.parallel.push_back(std::stoi(par_arg->substr(at, comma - at)));
                at = comma + 1;
            }
            if (p_arg) pa.n_prompt = std::stoi(*p_arg);
            if (n_arg) pa.n_gen = std::stoi(*n_arg);
            if (r_arg) pa.reps = std::stoi(*r_arg);
        } catch (...) {
            return fail("bench: --parallel takes numbers separated by commas; -p, -n and -r take numbers");
        }
        for (int n : pa.parallel)
            if (n < 1 || n > 256) return fail("bench: --parallel counts must be between 1 and 256");
        if (pa.n_prompt < 1 || pa.n_gen < 1 || pa.reps < 1) return fail("bench: --parallel needs -p >= 1, -n >= 1 and -r >= 1");
        return run_parallel_bench(pa);
    }
    if (!args.positionals().empty()) return fail("bench: unexpected argument " + args.positionals()[0]);
    if (!model_path)
        return fail("bench: usage: bench -m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--lora PATH[:SCALE]]... [--json]");
    int n_prompt = 512, n_gen = 128, threads = be_args.threads, reps = 5;
    try {
        if (p_arg) n_prompt = std::stoi(*p_arg);
        if (n_arg) n_gen = std::stoi(*n_arg);
        if (r_arg) reps = std::stoi(*r_arg);
    } catch (...) {
        return fail("bench: -p, -n and -r take numbers");
    }
    if (n_prompt < 0 || n_gen < 0 || n_prompt + n_gen == 0 || threads < 0 || reps < 1)
        return fail("bench: need -p >= 0, -n >= 0 (not both 0), -t >= 0 and -r >= 1");

    auto file = gguf::File::open(*model_path);
    if (!file.ok()) return fail("bench: " + file.message());
    const int n_ctx = std::max({n_prompt, n_gen, 1});
    PlacementOptions po;
    po.backend = be_args.backend;
    po.device = be_args.device;
    po.n_threads = threads;
    po.gpu_layers = be_args.gpu_layers;
    po.cpu_moe_layers = be_args.cpu_moe_layers;
    po.n_ctx = n_ctx;
    po.n_batch = std::max(n_prompt, 1);
    auto placed = place_model(**file, po);
    if (!placed.ok()) return fail("bench: " + placed.message());
    std::unique_ptr<Backend>* backend = &placed->main;
    auto model = Model::load(**file, **backend, {}, placed->host_or_null(), placed->on_main, placed->experts_on_host);
    if (!model.ok()) return fail("bench: " + model.message());
    const ModelHParams& hp = (*model)->hparams();
    auto ctx = ModelContext::create(**model, n_ctx, GgmlType::F16, std::max(n_prompt, 1));
    if (!ctx.ok()) return fail("bench: " + ctx.message());
    // The adapters, checked against the model now (attached once, then detached until their runs).
    std::vector<std::unique_ptr<LoraAdapter>> adapters;
    for (const LoraSpec& spec : lora_specs) {
        auto ad = LoraAdapter::open(spec.path, hp.arch, hp.head_dim);
        if (!ad.ok()) return fail("bench: " + ad.message());
        adapters.push_back(std::move(*ad));
    }
    auto attach_all = [&]() -> Status {
        for (size_t i = 0; i < adapters.size(); ++i) HEARTH_RETURN_IF_ERROR((*ctx)->attach_lora(*adapters[i], lora_specs[i].scale));
        return {};
    };
    if (Status st = attach_all(); !st.ok()) return fail("bench: " + st.message());
    (*ctx)->detach_loras();
    const bool with_lora = !adapters.empty();
    if (threads == 0) {
        // what the backend chose: "… N threads" in its details
        const std::string& d = (*backend)->device().details;
        const size_t at = d.rfind(" threads");
        size_t start = at;
        while (start > 0 && std::isdigit(static_cast<unsigned char>(d[start - 1]))) --start;
        if (at != std::string::npos && start < at) threads = std::stoi(d.substr(start, at - start));
        if (threads == 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    }

    // Bytes read per generated token: every matrix, but of a mixture of experts only the router and
    // the n_expert_used experts a token takes.
    uint64_t weight_bytes = 0;
    for (const LayerWeights& L : (*model)->layers()) {
        for (const Projection* p : L.projections()) weight_bytes += p->w.bytes();
        if (const LayerWeights::Experts& X = L.experts; X.present())
            weight_bytes += X.router.bytes() + (X.gate.bytes() + X.up.bytes() + X.down.bytes()) / uint64_t(X.n) * uint64_t(hp.n_expert_used);
    }
    weight_bytes += (*model)->output().bytes();
    weight_bytes += (*model)->tok_embd().row_stride;
    const double mean_ctx = n_gen > 0 ? (n_gen + 1) / 2.0 : 0.0;  // cells attended at positions 0..n-1
    const double kv_bytes = 2.0 * hp.n_layer * hp.n_kv_head * hp.head_dim * 2.0 * mean_ctx;  // K and V, F16
    const double bytes_per_token = double(weight_bytes) + kv_bytes;

    std::mt19937 rng(1234);
    std::uniform_int_distribution<int> tok(3, hp.n_vocab - 1);
    std::vector<int32_t> prompt(size_t(std::max(n_prompt, 1)));
    for (auto& t : prompt) t = tok(rng);
    std::vector<int32_t> gen(size_t(std::max(n_gen, 1)));
    for (auto& t : gen) t = tok(rng);

    std::vector<float> logits;
    Rss peak = read_rss();
    auto sample_rss = [&] {
        const Rss r = read_rss();
        peak.total_mb = std::max(peak.total_mb, r.total_mb);
        peak.anon_mb = std::max(peak.anon_mb, r.anon_mb);
        peak.file_mb = std::max(peak.file_mb, r.file_mb);
    };
    // Each run also records the share of `threads` cores it got (process CPU time / (wall x threads)).
    std::vector<double> pp_share, tg_share;
    // Evaluated as the app evaluates, with a Stop flag (never set here) that the ops watch.
    const std::atomic<bool> stop{false};
    bool stopped = false;
    auto run_pp = [&]() -> Result<double> {
        const auto t0 = Clock::now();
        const double c0 = process_cpu_seconds();
        HEARTH_RETURN_IF_ERROR((*ctx)->eval(prompt.data(), n_prompt, 0, 1, &logits, &stop, &stopped));
        const double wall = seconds_since(t0);
        pp_share.push_back((process_cpu_seconds() - c0) / (wall * threads));
        return wall;
    };
    double last_tg_cpu = 0;  // process CPU seconds of the last tg run
    auto run_tg = [&]() -> Result<double> {
        const auto t0 = Clock::now();
        const double c0 = process_cpu_seconds();
        // As generation runs: logits stay on the backend, the greedy pick crosses as one token id.
        for (int i = 0; i < n_gen; ++i) {
            HEARTH_RETURN_IF_ERROR((*ctx)->eval(&gen[size_t(i)], 1, i, 1, nullptr, &stop, &stopped));
            auto id = (*ctx)->sample_last(1, 0.0f, 0.0);
            if (!id.ok()) return id.status();
        }
        const double wall = seconds_since(t0);
        last_tg_cpu = process_cpu_seconds() - c0;
        tg_share.push_back(last_tg_cpu / (wall * threads));
        return wall;
    };

    // Warm-up: pages the weights in from the file, sizes the scratch buffers (with the adapters too).
    for (int pass = 0; pass < (with_lora ? 2 : 1); ++pass) {
        if (pass == 1 && !attach_all().ok()) return fail("bench: attaching the adapters failed");
        if (n_prompt > 0) { auto w = run_pp(); if (!w.ok()) return fail("bench: " + w.message()); }
        if (n_gen > 0) { auto w = run_tg(); if (!w.ok()) return fail("bench: " + w.message()); }
        (*ctx)->detach_loras();
    }
    sample_rss();
    pp_share.clear();
    tg_share.clear();

    const size_t bw_bytes = size_t(512) << 20;
    std::vector<double> pp_tps, tg_tps, bw;
    std::vector<double> pp_tps_lora, tg_tps_lora, pp_cost, tg_cost;  // cost: % slower than the same repetition's base run
    // The same in CPU time (1 - base / with adapters): with -t 1 nothing spins, so it counts the work
    // alone and holds on a machine that other processes share, where the wall-time cost is noise.
    std::vector<double> tg_cost_cpu;
    double tg_cpu_base = 0, tg_cpu_lora = 0;
    // With adapters: one pass with them beside each base pass, every other repetition first, so
    // that a drift in the machine's load does not favour either.
    auto lora_pass = [&]() -> Status {
        HEARTH_RETURN_IF_ERROR(attach_all());
        if (n_prompt > 0) {
            auto s = run_pp();
            if (!s.ok()) return s.status();
            pp_tps_lora.push_back(n_prompt / *s);
        }
        if (n_gen > 0) {
            auto s = run_tg();
            if (!s.ok()) return s.status();
            tg_tps_lora.push_back(n_gen / *s);
            tg_cpu_lora = last_tg_cpu;
        }
        sample_rss();
        (*ctx)->detach_loras();
        return {};
    };
    for (int r = 0; r < reps; ++r) {
        if (with_lora && r % 2 == 1)
            if (Status st = lora_pass(); !st.ok()) return fail("bench: " + st.message());
        if (n_prompt > 0) {
            bw.push_back(measure_read_bandwidth(threads, bw_bytes));
            auto s = run_pp();
            if (!s.ok()) return fail("bench: " + s.message());
            pp_tps.push_back(n_prompt / *s);
            sample_rss();
        }
        if (n_gen > 0) {
            bw.push_back(measure_read_bandwidth(threads, bw_bytes));
            auto s = run_tg();
            if (!s.ok()) return fail("bench: " + s.message());
            tg_tps.push_back(n_gen / *s);
            tg_cpu_base = last_tg_cpu;
            sample_rss();
        }
        if (with_lora && r % 2 == 0)
            if (Status st = lora_pass(); !st.ok()) return fail("bench: " + st.message());
        if (!json_out)
            std::fprintf(stderr, "bench: repetition %d/%d: pp %.2f tok/s, tg %.2f tok/s, read bandwidth %.1f GB/s\n", r + 1, reps,
                         pp_tps.empty() ? 0.0 : pp_tps.back(), tg_tps.empty() ? 0.0 : tg_tps.back(), bw.back());
        if (with_lora) {
            if (n_prompt > 0) pp_cost.push_back(100.0 * (1.0 - pp_tps_lora.back() / pp_tps.back()));
            if (n_gen > 0) {
                tg_cost.push_back(100.0 * (1.0 - tg_tps_lora.back() / tg_tps.back()));
                tg_cost_cpu.push_back(100.0 * (1.0 - tg_cpu_base / tg_cpu_lora));
            }
            if (!json_out)
                std::fprintf(stderr, "bench: repetition %d/%d with the adapters: pp %.2f tok/s (cost %.1f%%), tg %.2f tok/s (cost %.1f%%)\n",
                             r + 1, reps, pp_tps_lora.empty() ? 0.0 : pp_tps_lora.back(), pp_cost.empty() ? 0.0 : pp_cost.back(),
                             tg_tps_lora.empty() ? 0.0 : tg_tps_lora.back(), tg_cost.empty() ? 0.0 : tg_cost.back());
        }
    }

    const double pp = median(pp_tps), tg = median(tg_tps), mem = median(bw);
    const double tg_gbps = tg * bytes_per_token / 1e9;
    const double pct = mem > 0 ? 100.0 * tg_gbps / mem : 0.0;
    auto mn = [](const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); };
    auto mx = [](const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); };
    std::ifstream la("/proc/loadavg");
    std::string load1;
    la >> load1;

    if (json_out) {
        json::Value o = json::Value::object();
        o.set("model", *model_path);
        o.set("backend", (*backend)->device().backend + ": " + (*backend)->device().name + ", " + (*backend)->device().details);
        o.set("placement", placed->summary);
        o.set("threads", threads);
        o.set("repetitions", reps);
        o.set("n_prompt", n_prompt);
        o.set("n_gen", n_gen);
        o.set("pp_tps", pp);
        o.set("pp_tps_min", mn(pp_tps));
        o.set("pp_tps_max", mx(pp_tps));
        o.set("tg_tps", tg);
        o.set("tg_tps_min", mn(tg_tps));
        o.set("tg_tps_max", mx(tg_tps));
        o.set("bytes_per_token", bytes_per_token);
        o.set("tg_gbps", tg_gbps);
        o.set("mem_read_gbps", mem);
        o.set("mem_read_gbps_min", mn(bw));
        o.set("mem_read_gbps_max", mx(bw));
        o.set("tg_bandwidth_pct", pct);
        o.set("peak_rss_mb", peak.total_mb);
        o.set("peak_rss_anon_mb", peak.anon_mb);
        o.set("peak_rss_file_mb", peak.file_mb);
        o.set("loadavg_1min", load1);
        // share of the `threads` cores the runs got (1 = every thread had a core all the time)
        o.set("pp_cpu_share", median(pp_share));
        o.set("tg_cpu_share", median(tg_share));
        if (with_lora) {
            json::Value ls = json::Value::array();
            for (const LoraSpec& spec : lora_specs) {
                json::Value l = json::Value::object();
                l.set("path", spec.path);
                l.set("scale", double(spec.scale));
                ls.push_back(l);
            }
            o.set("loras", ls);
            o.set("pp_tps_lora", median(pp_tps_lora));
            o.set("tg_tps_lora", median(tg_tps_lora));
            o.set("pp_lora_cost_pct", median(pp_cost));  // median of the repetitions' paired slowdowns
            o.set("tg_lora_cost_pct", median(tg_cost));
            o.set("tg_lora_cost_cpu_pct", median(tg_cost_cpu));
        }
        std::printf("%s\n", o.dump().c_str());
    } else {
        std::printf("model      %s (%s)\n", model_path->c_str(), (*model)->hparams().arch.c_str());
        std::printf("backend    %s: %s, %s\n", (*backend)->device().backend.c_str(), (*backend)->device().name.c_str(),
                    (*backend)->device().details.c_str());
        std::printf("placement  %s\n", placed->summary.c_str());
        if (n_prompt > 0)
            std::printf("pp%-4d     %8.2f tok/s  (median of %d; min %.2f, max %.2f)\n", n_prompt, pp, reps, mn(pp_tps), mx(pp_tps));
        if (n_gen > 0) {
            std::printf("tg%-4d     %8.2f tok/s  (median of %d; min %.2f, max %.2f)\n", n_gen, tg, reps, mn(tg_tps), mx(tg_tps));
            std::printf("tg bytes   %.1f MB/token (weights %.1f MB + KV %.2f MB at mean context %.1f)\n",
                        bytes_per_token / 1e6, weight_bytes / 1e6, kv_bytes / 1e6, mean_ctx);
            std::printf("tg         %8.2f GB/s effective = %.1f%% of the measured read bandwidth\n", tg_gbps, pct);
        }
        if (with_lora) {
            std::string names;
            char scale[32];
            for (const LoraSpec& spec : lora_specs) {
                std::snprintf(scale, sizeof scale, ":%g", double(spec.scale));
                names += (names.empty() ? "" : ", ") + spec.path + scale;
            }
            std::printf("adapters   %s\n", names.c_str());
            if (n_prompt > 0)
                std::printf("pp%-4d+lora %7.2f tok/s  (median of %d; min %.2f, max %.2f); cost %.1f%% (median of paired runs)\n",
                            n_prompt, median(pp_tps_lora), reps, mn(pp_tps_lora), mx(pp_tps_lora), median(pp_cost));
            if (n_gen > 0) {
                std::printf("tg%-4d+lora %7.2f tok/s  (median of %d; min %.2f, max %.2f); cost %.1f%% (median of paired runs)\n",
                            n_gen, median(tg_tps_lora), reps, mn(tg_tps_lora), mx(tg_tps_lora), median(tg_cost));
                std::printf("tg cost    %.1f%% in process CPU time (median of paired runs; the work alone at -t 1)\n",
                            median(tg_cost_cpu));
            }
        }
        std::printf("read bw    %8.2f GB/s  (streaming read, %d threads, median of %zu; min %.2f, max %.2f)\n", mem, threads,
                    bw.size(), mn(bw), mx(bw));
        std::printf("peak RSS   %8.1f MB total, %.1f MB anonymous, %.1f MB file-backed (mmapped weights)\n", peak.total_mb,
                    peak.anon_mb, peak.file_mb);
        std::printf("load avg   %s (1 min); the runs got %.0f%% (pp) and %.0f%% (tg) of %d cores\n", load1.c_str(),
                    100 * median(pp_share), 100 * median(tg_share), threads);
    }
    return 0;
}

const Registrar reg{"bench",
                    "-m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--backend cpu] [--device N] [--gpu-layers N] [--n-cpu-moe N|--cpu-moe] "
                    "[--lora PATH[:SCALE]]... [--parallel N[,N...]] [--json]",
                    "measure prompt/generation speed and memory bandwidth (with --lora: also with the adapters, and their cost; "
                    "with --parallel: aggregate generation speed of N concurrent sequences, batched)",
                    run_bench};

}  // namespace
}  // namespace hearth::cli
