// A persistent pool of worker threads for the CPU backend: threads are created once per backend,
// never per op or per token. run(fn) wakes the workers, runs fn(0, n) on the calling thread and
// fn(i, n) on worker i, and returns when all are done. Workers spin briefly between jobs (ops come
// microseconds apart during a forward pass) and then sleep on a condition variable, so an idle
// backend costs no CPU.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth::cpu {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);  // n_threads >= 1 (the caller counts as one)
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_; }
    // Runs fn(ith, nth) on all nth = size() threads; returns when every call has returned.
    // Not re-entrant: fn must not call run().
    void run(const std::function<void(int ith, int nth)>& fn);

    // Calls fn(begin, end, ith) for consecutive chunks of `grain` items covering [0, n); ith is the
    // calling thread's index (for per-thread scratch). The chunks are split into one contiguous run
    // per thread; a thread takes its own run's chunks front to back, then takes the chunks left in
    // the other runs from their back ends. So each thread streams one contiguous region (a
    // generation matmul's rows: the kernels' prefetch ahead lands in the thread's own next chunk,
    // not in one the other thread reads) while a slow thread's work still moves to a fast one.
    // The caller works too, and a worker that has not picked the job up by the time the caller
    // runs out of chunks is cancelled rather than waited for: on a loaded machine a descheduled
    // worker costs nothing instead of a scheduler slice per op. Not re-entrant.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end, int ith)>& fn);

private:
    void worker(int ith);
    void claim_chunks(int ith);
    void run_chunk(int64_t c, int ith);

    // Per-worker job state for parallel_for: the caller posts, the worker claims (or the caller
    // cancels), the worker returns to idle. `run` is thread ith's run of chunks [lo, hi) still
    // unclaimed, lo in the low 32 bits and hi in the high ones, so the owner's take from the front
    // and a thief's from the back are one compare-exchange each. Each on its own cache line (the
    // caller polls a worker's state while that worker takes chunks from its run).
    enum : int { kIdle = 0, kPosted = 1, kRunning = 2 };
    struct alignas(64) Slot {
        std::atomic<int> state{kIdle};
        alignas(64) std::atomic<uint64_t> run{0};
    };
    int n_;  // before slots_: the constructor sizes slots_ from it
    std::unique_ptr<Slot[]> slots_;
    bool dynamic_ = false;  // the posted job is a parallel_for
    const std::function<void(int64_t, int64_t, int)>* pf_job_ = nullptr;
    int64_t pf_n_ = 0, pf_grain_ = 1;

    std::vector<std::thread> threads_;
    // Each hot atomic on its own cache line: workers poll generation_ while the caller watches the
    // slots, and neither should invalidate the other's line.
    alignas(64) std::atomic<uint64_t> generation_{0};
    alignas(64) std::atomic<int> sleepers_{0};
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<bool> stop_{false};  // read by workers outside the lock (after a new generation), so atomic
    std::mutex mu_;
    std::condition_variable cv_;
};

// Splits [0, n) into nth nearly equal parts rounded to multiples of `align`; part ith is [*b, *e).
void split_range(int64_t n, int ith, int nth, int64_t align, int64_t* b, int64_t* e);

}  // namespace hearth::cpu
