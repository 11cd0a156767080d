#include "engine/util/thread_pool.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HEARTH_PAUSE() _mm_pause()
#else
#define HEARTH_PAUSE() std::this_thread::yield()
#endif

namespace hearth::cpu {

namespace {
// How long a worker polls for the next job before it sleeps. Within a forward pass ops follow each
// other within microseconds; between tokens the caller samples (well under a millisecond).
constexpr auto kSpin = std::chrono::microseconds(2000);
// Polls with `pause` before switching to sched_yield: when threads outnumber free cores (other
// processes, or more threads than cores) a pure pause-spin would keep the thread we wait for off
// the CPU for a whole scheduler slice.
constexpr uint32_t kPauseSpins = 2048;
}

ThreadPool::ThreadPool(int n_threads) : n_(n_threads < 1 ? 1 : n_threads), slots_(new Slot[size_t(n_)]) {
    threads_.reserve(n_ - 1);
    for (int i = 1; i < n_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
        generation_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

namespace {
// A run of chunks [lo, hi) packed in one word (lo in the low 32 bits).
constexpr uint64_t pack_run(uint64_t lo, uint64_t hi) { return lo | hi << 32; }
// Takes the first (front) or last (!front) chunk of the run in `r`; false when it is empty.
bool take_chunk(std::atomic<uint64_t>& r, bool front, int64_t* c) {
    uint64_t v = r.load(std::memory_order_relaxed);
    for (;;) {
        const uint64_t lo = v & 0xffffffffu, hi = v >> 32;
        if (lo >= hi) return false;
        const uint64_t nv = front ? pack_run(lo + 1, hi) : pack_run(lo, hi - 1);
        if (r.compare_exchange_weak(v, nv, std::memory_order_relaxed)) {
            *c = int64_t(front ? lo : hi - 1);
            return true;
        }
    }
}
}  // namespace

void ThreadPool::run_chunk(int64_t c, int ith) {
    const int64_t b = c * pf_grain_;
    (*pf_job_)(b, b + pf_grain_ < pf_n_ ? b + pf_grain_ : pf_n_, ith);
}

void ThreadPool::claim_chunks(int ith) {
    int64_t c;
    while (take_chunk(slots_[size_t(ith)].run, true, &c)) run_chunk(c, ith);
    for (int j = 1; j < n_; ++j) {
        std::atomic<uint64_t>& other = slots_[size_t((ith + j) % n_)].run;
        while (take_chunk(other, false, &c)) run_chunk(c, ith);
    }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (n_ == 1 || n <= grain) { fn(0, n, 0); return; }
    // chunk indices must fit the 32-bit halves of a run
    constexpr int64_t kMaxChunks = int64_t(1) << 30;
    if ((n + grain - 1) / grain > kMaxChunks) grain = (n + kMaxChunks - 1) / kMaxChunks;
    dynamic_ = true;
    pf_job_ = &fn;
    pf_n_ = n;
    pf_grain_ = grain;
    const int64_t n_chunks = (n + grain - 1) / grain;
    for (int i = 0; i < n_; ++i) {
        int64_t b, e;
        split_range(n_chunks, i, n_, 1, &b, &e);
        slots_[size_t(i)].run.store(pack_run(uint64_t(b), uint64_t(e)), std::memory_order_relaxed);
    }
    for (int i = 1; i < n_; ++i) slots_[size_t(i)].state.store(kPosted, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
        { std::lock_guard<std::mutex> lk(mu_); }
        cv_.notify_all();
    }
    claim_chunks(0);
    // Cancel workers that have not started; wait for those that have (they are inside a chunk).
    for (int i = 1; i < n_; ++i) {
        int expected = kPosted;
        if (slots_[size_t(i)].state.compare_exchange_strong(expected, kIdle, std::memory_order_acq_rel)) continue;
        for (uint32_t spins = 0; slots_[size_t(i)].state.load(std::memory_order_acquire) != kIdle; ++spins) {
            if (spins < kPauseSpins) HEARTH_PAUSE(); else std::this_thread::yield();
        }
    }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
    if (n_ == 1) { fn(0, 1); return; }
    dynamic_ = false;
    job_ = &fn;
    for (int i = 1; i < n_; ++i) slots_[size_t(i)].state.store(kPosted, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
        { std::lock_guard<std::mutex> lk(mu_); }
        cv_.notify_all();
    }
    fn(0, n_);
    // Every worker must run its part: wait for all of them (yield so an oversubscribed machine lets them run).
    for (int i = 1; i < n_; ++i)
        for (uint32_t spins = 0; slots_[size_t(i)].state.load(std::memory_order_acquire) != kIdle; ++spins) {
            if (spins < kPauseSpins) HEARTH_PAUSE(); else std::this_thread::yield();
        }
}

void ThreadPool::worker(int ith) {
    uint64_t seen = 0;
    for (;;) {
        // Spin for the next generation, then sleep.
        auto start = std::chrono::steady_clock::now();
        uint32_t spins = 0;
        uint64_t g;
        while ((g = generation_.load(std::memory_order_acquire)) == seen) {
            if (++spins < kPauseSpins) { HEARTH_PAUSE(); continue; }
            std::this_thread::yield();
            if ((spins & 15) == 0 && std::chrono::steady_clock::now() - start > kSpin) {
                std::unique_lock<std::mutex> lk(mu_);
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                cv_.wait(lk, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
                start = std::chrono::steady_clock::now();
                spins = 0;
            }
        }
        seen = g;
        if (stop_) return;
        // Claim whatever job is posted for this worker now (it may be newer than generation g; the
        // job fields were written before the slot was posted, so the claim makes them visible). If
        // the caller cancelled it (parallel_for ran out of chunks first) there is nothing to do.
        int expected = kPosted;
        if (!slots_[size_t(ith)].state.compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel)) continue;
        if (dynamic_) claim_chunks(ith);
        else (*job_)(ith, n_);
        slots_[size_t(ith)].state.store(kIdle, std::memory_order_release);
    }
}

void split_range(int64_t n, int ith, int nth, int64_t align, int64_t* b, int64_t* e) {
    if (align < 1) align = 1;
    const int64_t units = (n + align - 1) / align;
    const int64_t per = units / nth, extra = units % nth;
    const int64_t ub = ith * per + (ith < extra ? ith : extra);
    const int64_t ue = ub + per + (ith < extra ? 1 : 0);
    *b = ub * align < n ? ub * align : n;
    *e = ue * align < n ? ue * align : n;
}

}  // namespace hearth::cpu
