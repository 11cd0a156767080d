// The matmul driver of the CPU backend: activation conversion (cached across matmuls that share
// an input), work split over the thread pool, tile or panel (GEMM) path.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/cpu/kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace hearth::cpu {

// 64-byte aligned growable scratch memory.
class Scratch {
public:
    Scratch() = default;
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    uint8_t* get(size_t bytes);  // null if the allocation fails
    size_t capacity() const { return cap_; }
private:
    uint8_t* p_ = nullptr;
    size_t cap_ = 0;
};

struct MatmulArgs {
    const uint8_t* w; size_t ws; GgmlType wtype; int64_t rows, k;
    const uint8_t* x; size_t xs; int64_t n;       // F32 activations, n rows
    float* y; size_t ldy;                         // y[t * ldy + r]
    const float* bias;                            // rows floats or null
    // Rows [0, rows_x8) repacked 8 at a time (MatKernel::repack_x8), or null: then the kernels
    // read those rows there instead of w (group g at wx8 + 8 g xws).
    const uint8_t* wx8 = nullptr;
    int64_t rows_x8 = 0;
    size_t xws = 0;  // packed bytes per row (MatKernel::repack_bytes / 8, or ws)
};

class MatmulEngine {
public:
    MatmulEngine(ThreadPool& pool, IsaLevel isa);
    // False only when scratch memory cannot be allocated.
    bool run(const MatmulArgs& a);
    // Forget cached activations (call when anything may have written the input of the next matmul).
    void invalidate() { cache_valid_ = false; }
    // A write to [p, p+bytes) happened: drop the cache if it overlaps the cached input.
    void note_write(const void* p, size_t bytes);
    // Backend::set_cancel: once *flag is true, run() skips the row blocks no thread has started.
    void set_cancel(const std::atomic<bool>* flag) { cancel_ = flag; }

private:
    ThreadPool& pool_;
    IsaLevel isa_;
    Scratch act_;
    std::vector<Scratch> panels_;  // GEMM scratch (decoded weights, partial sums), one per thread
    // cached activation conversion
    bool cache_valid_ = false;
    const uint8_t* cache_x_ = nullptr;
    size_t cache_xs_ = 0, cache_bytes_ = 0;
    int64_t cache_n_ = 0, cache_k_ = 0;
    int cache_kind_ = 0;  // ActKind, or 16 + GemmAct for packed activations
    const std::atomic<bool>* cancel_ = nullptr;
};

}  // namespace hearth::cpu
