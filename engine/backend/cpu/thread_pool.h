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

private:
    void worker(int ith);

    int n_;
    std::vector<std::thread> threads_;
    // Each hot atomic on its own cache line: workers poll generation_ while the caller counts down
    // pending_, and neither should invalidate the other's line.
    alignas(64) std::atomic<uint64_t> generation_{0};
    alignas(64) std::atomic<int> pending_{0};
    alignas(64) std::atomic<int> sleepers_{0};
    const std::function<void(int, int)>* job_ = nullptr;
    bool stop_ = false;
    std::mutex mu_;
    std::condition_variable cv_;
};

// Splits [0, n) into nth nearly equal parts rounded to multiples of `align`; part ith is [*b, *e).
void split_range(int64_t n, int ith, int nth, int64_t align, int64_t* b, int64_t* e);

}  // namespace hearth::cpu
