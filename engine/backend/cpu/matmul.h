// The matmul driver of the CPU backend: activation conversion (cached across matmuls that share
// an input, recognised by its contents), work split over the thread pool, tile or panel (GEMM) path.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/cpu/kernels.h"
#include "engine/util/thread_pool.h"

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
    const uint8_t* data() const { return p_; }  // what the last successful get() returned
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
    // Backend::set_cancel: once *flag is true, run() skips the row blocks no thread has started.
    void set_cancel(const std::atomic<bool>* flag) { cancel_ = flag; }

private:
    ThreadPool& pool_;
    IsaLevel isa_;
    // True when act_ holds the conversion of an input equal to a's (same shape, same form, the same
    // F32 bytes as the copy in act_src_).
    bool same_input(const MatmulArgs& a, int act_key) const;

    std::vector<Scratch> panels_;  // GEMM scratch (decoded weights, partial sums), one per thread
    // The activation conversion of the last converting matmul, reused while the next matmul's input
    // has the same contents (q/k/v and gate/up share their input). Validity is checked against a
    // copy of that input, not kept by every writer remembering to invalidate it: an op, an upload or
    // any other write that changes the input makes the next matmul convert again. The check costs a
    // compare and, on a miss, a copy of the F32 input: O(n k) next to the O(n k rows) product.
    Scratch act_;      // converted activations
    Scratch act_src_;  // the F32 input they were converted from, n rows of k floats back to back
    bool act_valid_ = false;
    int64_t act_n_ = 0, act_k_ = 0;
    int act_kind_ = 0;  // ActKind, or 16 + GemmAct for packed activations
    const std::atomic<bool>* cancel_ = nullptr;
};

}  // namespace hearth::cpu
