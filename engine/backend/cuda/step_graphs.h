// Whole forward passes as CUDA graphs (Backend::begin_step, issue #17): the recorder the CUDA
// backend keeps its passes in. While the model runs a pass under a key, each op is kept as a
// closure; on the second sight of a key, a pass that completes with no flush point inside (an upload, a
// download, a cuBLAS GEMM, a scratch regrowth: cut()) is captured into a CUDA graph, and from
// then on the model's begin_step finds it and launches it as one call, without
// calling any op: no closure, no key per op, no argument checks on the host.
//
// Captured on the second sight rather than the first: instantiating a graph costs about as much as
// launching its kernels, so a pass that never repeats (a one-off batch shape of the server) would
// pay twice. The closures hold device pointers, never Buffer objects; the caller's key promises
// that the pointers behind it stay the same (engine/model/context.cpp computes it).
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "engine/backend/backend.h"

namespace hearth::cuda {

// check(error, what): reports a failure (the backend's sticky error), true on success.
using StepCheck = std::function<bool(cudaError_t, const char*)>;

// State: what the backend must restore after a replay so that the ops after it decide as they would
// after the recorded run (the CUDA backend's record of which activations its Q8 scratch holds).
template <class State>
class StepGraphs {
public:
    static constexpr size_t kMaxGraphs = 16;  // recorded passes kept (least recently replayed goes)
    static constexpr size_t kMaxSeen = 64;    // keys seen once, waiting for a second sight

    struct Graph {
        uint64_t key = 0;
        cudaGraphExec_t exec = nullptr;
        State state{};
        uint64_t used = 0;  // replay clock, for eviction
    };
    using Check = StepCheck;

    StepGraphs() = default;
    StepGraphs(const StepGraphs&) = delete;
    StepGraphs& operator=(const StepGraphs&) = delete;
    ~StepGraphs() { destroy_all(); }

    // The pass recorded under `key`, or null.
    const Graph* find(uint64_t key) {
        for (Graph& g : graphs_)
            if (g.key == key) {
                g.used = ++clock_;
                ++stats_.replays;
                return &g;
            }
        return nullptr;
    }

    void begin(uint64_t key) {
        recording_ = true;
        cut_ = false;
        key_ = key;
        ops_.clear();
    }
    bool recording() const { return recording_; }
    // Ops are kept for a capture only in a pass not cut by a flush point; otherwise they launch at once.
    bool capturing() const { return recording_ && !cut_; }
    bool empty() const { return ops_.empty(); }
    void add(const char* what, std::function<cudaError_t()> f) {
        ops_.push_back({what, std::move(f)});
        ++stats_.ops_recorded;
    }
    // A flush point inside the pass: what was kept runs now, the rest of the pass launches directly,
    // and the pass is not captured this time.
    void cut(const Check& check) {
        if (!recording_) return;
        run_directly(check);
        cut_ = true;
    }

    // The pass is over. `state`: the backend's state at its end, restored after each replay.
    void end(bool complete, cudaStream_t stream, const State& state, const Check& check) {
        if (!recording_) return;
        recording_ = false;
        // A pass cut by a flush point still counts as a sight of its key: what cut it is most often
        // once only (the first step grows the work memory), so the next sight is captured.
        const bool again = complete && seen(key_);
        if (!again || cut_ || ops_.empty()) return run_directly(check);
        cudaGraph_t g = nullptr;
        cudaGraphExec_t exec = nullptr;
        bool ok = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
        if (ok) {
            for (const Pending& p : ops_)
                if (p.f() != cudaSuccess) { ok = false; break; }
            ok = cudaStreamEndCapture(stream, &g) == cudaSuccess && ok && g;
            size_t nodes = 0;
            if (ok && cudaGraphGetNodes(g, nullptr, &nodes) == cudaSuccess) stats_.last_capture_nodes = nodes;
            ok = ok && cudaGraphInstantiate(&exec, g, 0) == cudaSuccess;
        }
        if (g) cudaGraphDestroy(g);
        if (!ok) {
            cudaGetLastError();  // a failed capture leaves an error behind; the ops run plainly instead
            if (exec) cudaGraphExecDestroy(exec);
            return run_directly(check);
        }
        ops_.clear();
        if (graphs_.size() >= kMaxGraphs) {
            auto lru = std::min_element(graphs_.begin(), graphs_.end(), [](const Graph& a, const Graph& b) { return a.used < b.used; });
            cudaStreamSynchronize(stream);  // its last launch may still be queued
            cudaGraphExecDestroy(lru->exec);
            graphs_.erase(lru);
        }
        graphs_.push_back({key_, exec, state, ++clock_});
        seen_.erase(std::find(seen_.begin(), seen_.end(), key_));  // find() has it now
        ++stats_.captures;
        check(cudaGraphLaunch(exec, stream), "graph launch");
    }

    // Every recorded pass dropped (their pointers are stale: scratch regrown, weights re-laid).
    void forget(cudaStream_t stream) {
        if (!graphs_.empty() && stream) cudaStreamSynchronize(stream);
        destroy_all();
        seen_.clear();
    }

    Backend::StepStats stats() const { return stats_; }

private:
    struct Pending {
        const char* what;
        std::function<cudaError_t()> f;
    };

    void run_directly(const Check& check) {
        for (const Pending& p : ops_)
            if (!check(p.f(), p.what)) break;
        ops_.clear();
    }
    // Whether `key` was seen before; remembers it.
    bool seen(uint64_t key) {
        if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) return true;
        seen_.push_back(key);
        if (seen_.size() > kMaxSeen) seen_.pop_front();
        return false;
    }
    void destroy_all() {
        for (Graph& g : graphs_) cudaGraphExecDestroy(g.exec);
        graphs_.clear();
    }

    std::vector<Pending> ops_;
    std::vector<Graph> graphs_;
    std::deque<uint64_t> seen_;
    bool recording_ = false, cut_ = false;
    uint64_t key_ = 0, clock_ = 0;
    Backend::StepStats stats_;
};

}  // namespace hearth::cuda
