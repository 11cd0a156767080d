// The simulator's execution of one kernel launch: blocks one after another, the threads of a block as
// fibers (own stacks, switched by a few instructions of assembly, x86-64 only), and the collectives
// of cuda_sim.h as the only switch points. See cuda_sim.h for what this checks and what it cannot.
#include "tests/cuda_sim/sim_scheduler.h"

#include <sys/mman.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/cuda_sim/cuda_sim.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define SIM_ASAN 1
#else
#define SIM_ASAN 0
#endif

#if !defined(__x86_64__)
#error "the CUDA simulator's fiber switch is written for x86-64"
#endif

// hearth_sim_switch(save, to): saves the callee-saved registers on the current stack, stores the
// stack pointer in *save, and continues on the stack `to` (a stack saved the same way, or a fresh
// one prepared by Block::start).
extern "C" void hearth_sim_switch(void** save, void* to);
asm(R"(
    .text
    .globl hearth_sim_switch
    .type hearth_sim_switch, @function
hearth_sim_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size hearth_sim_switch, .-hearth_sim_switch
)");

namespace hearth::cuda_sim {

namespace {

constexpr size_t kStackBytes = size_t(256) << 10;  // kernels keep small arrays in registers/locals
constexpr int kMaxMasks = 32;                        // distinct collective masks one warp may use in a block

struct Fiber {
    ThreadCoords c{};
    int warp = 0, lane = 0;
    void* sp = nullptr;
    char* stack = nullptr;  // kStackBytes plus a guard page below
    bool done = false;
    const uint64_t* wait_on = nullptr;  // blocked while *wait_on == wait_value
    uint64_t wait_value = 0;
    const char* waiting_in = "";
};

struct WarpSlot {
    unsigned mask = 0, arrived = 0;
    uint64_t gen = 0;
    uint64_t in[32] = {}, out[32] = {};
};

struct Warp {
    unsigned present = 0, live = 0;  // lanes that exist / have not exited
    std::array<WarpSlot, kMaxMasks> slots;
    int n_slots = 0;
};

struct Block {
    std::vector<Fiber> fibers;  // grows to the largest block seen; stacks are kept
    int n = 0, live = 0;
    int bar_arrived = 0;
    uint64_t bar_gen = 0;
    std::vector<Warp> warps;
    const Launch* launch = nullptr;
    std::string error;
    void* sched_sp = nullptr;
    Fiber* cur = nullptr;
};

Block g_block;

void record_error(const std::string& why);
[[noreturn]] void abandon_fiber();

// __syncthreads completes when every thread still alive has arrived (exited ones do not hold it up).
bool release_barrier_if_complete() {
    Block& b = g_block;
    if (b.bar_arrived == 0 || b.bar_arrived != b.live) return false;
    b.bar_arrived = 0;
    ++b.bar_gen;
    return true;
}

// Stack switches, told to AddressSanitizer in the sanitizer build (it must know which stack is live).
[[maybe_unused]] const void* g_sched_stack_bottom = nullptr;  // the scheduler's stack, learnt on the first switch
[[maybe_unused]] size_t g_sched_stack_size = 0;

void to_fiber(Fiber& f) {
    Block& b = g_block;
#if SIM_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f.stack, kStackBytes);
    hearth_sim_switch(&b.sched_sp, f.sp);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    hearth_sim_switch(&b.sched_sp, f.sp);
#endif
}
// From the running fiber back to the scheduler; `dying` when it will never be resumed.
void to_scheduler(bool dying) {
    Block& b = g_block;
    Fiber& f = *b.cur;
    void* dead = nullptr;
#if SIM_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(dying ? nullptr : &fake, g_sched_stack_bottom, g_sched_stack_size);
    hearth_sim_switch(dying ? &dead : &f.sp, b.sched_sp);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    hearth_sim_switch(dying ? &dead : &f.sp, b.sched_sp);
#endif
}
void fiber_entered() {
#if SIM_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g_sched_stack_bottom, &g_sched_stack_size);
#endif
}

[[noreturn]] void fiber_exit() {
    Block& b = g_block;
    Fiber& f = *b.cur;
    f.done = true;
    --b.live;
    Warp& w = b.warps[size_t(f.warp)];
    w.live &= ~(1u << f.lane);
    // A collective still waiting for this lane can never complete.
    for (int i = 0; i < w.n_slots; ++i) {
        if (w.slots[size_t(i)].arrived && (w.slots[size_t(i)].mask >> f.lane & 1u)) {
            record_error("thread " + std::to_string(f.c.thread_idx.x) +
                         " exited while lanes of its warp wait for it in a warp collective");
            abandon_fiber();
        }
    }
    release_barrier_if_complete();
    to_scheduler(true);
    __builtin_unreachable();
}

void fiber_main() {
    fiber_entered();
    g_block.launch->run(g_block.launch->closure);
    fiber_exit();
}

// Back to the scheduler until *gen != value.
void wait(const uint64_t* gen, uint64_t value, const char* what) {
    Block& b = g_block;
    Fiber& f = *b.cur;
    f.wait_on = gen;
    f.wait_value = value;
    f.waiting_in = what;
    to_scheduler(false);
}

void record_error(const std::string& why) {
    if (g_block.error.empty()) g_block.error = why;
}

// The failing fiber stops here: the scheduler sees the error and abandons the block. Called in a
// statement of its own, after record_error, so that no temporary is left alive on the dead stack.
[[noreturn]] void abandon_fiber() {
    g_block.cur->done = true;
    to_scheduler(true);
    __builtin_unreachable();
}

void prepare(Fiber& f) {
    if (!f.stack) {
        const size_t guard = 4096;
        void* m = mmap(nullptr, kStackBytes + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            std::perror("cuda_sim: fiber stack");
            std::abort();
        }
        mprotect(m, guard, PROT_NONE);  // an overflow faults instead of writing into the next stack
        f.stack = static_cast<char*>(m) + guard;
    }
#if SIM_ASAN
    ASAN_UNPOISON_MEMORY_REGION(f.stack, kStackBytes);  // frames of a fiber abandoned after an error
#endif
    // A frame that hearth_sim_switch "returns" from into fiber_main, with the stack aligned as after a call.
    auto* top = reinterpret_cast<uintptr_t*>(f.stack + kStackBytes);
    top[-1] = 0;                                        // fiber_main's return address (never used)
    top[-2] = reinterpret_cast<uintptr_t>(&fiber_main);  // where the first switch lands
    for (int i = 3; i <= 8; ++i) top[-i] = 0;           // rbp, rbx, r12–r15
    f.sp = &top[-8];
    f.done = false;
    f.wait_on = nullptr;
}

std::string describe_deadlock() {
    Block& b = g_block;
    std::string s = "deadlock: no thread can go on (" + std::to_string(b.live) + " of " + std::to_string(b.n) +
                    " threads alive, " + std::to_string(b.bar_arrived) + " at __syncthreads";
    int shown = 0;
    for (const Fiber& f : b.fibers) {
        if (&f - b.fibers.data() >= b.n) break;
        if (f.done || shown >= 4) continue;
        s += std::string("; thread ") + std::to_string(f.c.thread_idx.x) + "," + std::to_string(f.c.thread_idx.y) + " in " +
             f.waiting_in;
        ++shown;
    }
    return s + ")";
}

// Runs one block to the end; returns false with b.error set when it failed.
bool run_block(const Launch& l, uint3 block_idx) {
    Block& b = g_block;
    const int bx = int(l.block.x), by = int(l.block.y), bz = int(l.block.z);
    b.n = bx * by * bz;
    b.live = b.n;
    b.bar_arrived = 0;
    if (b.fibers.size() < size_t(b.n)) b.fibers.resize(size_t(b.n));
    b.warps.assign(size_t((b.n + 31) / 32), Warp{});
    for (int i = 0; i < b.n; ++i) {
        Fiber& f = b.fibers[size_t(i)];
        f.c.thread_idx = uint3{unsigned(i % bx), unsigned(i / bx % by), unsigned(i / (bx * by))};
        f.c.block_idx = block_idx;
        f.c.block_dim = l.block;
        f.c.grid_dim = l.grid;
        f.warp = i / 32;
        f.lane = i % 32;
        b.warps[size_t(f.warp)].present |= 1u << f.lane;
        prepare(f);
    }
    for (Warp& w : b.warps) w.live = w.present;
    while (b.live > 0 && b.error.empty()) {
        bool progressed = false;
        for (int i = 0; i < b.n && b.error.empty(); ++i) {
            Fiber& f = b.fibers[size_t(i)];
            if (f.done || (f.wait_on && *f.wait_on == f.wait_value)) continue;
            f.wait_on = nullptr;
            progressed = true;
            b.cur = &f;
            to_fiber(f);
        }
        if (!progressed && b.error.empty()) b.error = describe_deadlock();
    }
    b.cur = nullptr;
    return b.error.empty();
}

}  // namespace

const ThreadCoords& coords() { return g_block.cur->c; }
int lane_id() { return g_block.cur->lane; }

void sync_threads() {
    Block& b = g_block;
    const uint64_t g = b.bar_gen;
    ++b.bar_arrived;
    if (release_barrier_if_complete()) return;
    wait(&b.bar_gen, g, "__syncthreads");
}

const uint64_t* warp_exchange(unsigned mask, uint64_t mine) {
    Block& b = g_block;
    Fiber& f = *b.cur;
    Warp& w = b.warps[size_t(f.warp)];
    const unsigned me = 1u << f.lane;
    const char* wrong = !(mask & me)          ? "a warp collective's mask does not name the calling lane"
                        : (mask & ~w.present) ? "a warp collective's mask names lanes that do not exist in this block (partial warp)"
                        : (mask & ~w.live)    ? "a warp collective's mask names lanes that have exited"
                                              : nullptr;
    // A slot is never given to another mask: lanes woken by its last completion may not have read
    // its results yet.
    WarpSlot* s = nullptr;
    for (int i = 0; i < w.n_slots && !s; ++i)
        if (w.slots[size_t(i)].mask == mask) s = &w.slots[size_t(i)];
    if (!s && !wrong && w.n_slots == kMaxMasks) wrong = "more than 32 different warp-collective masks in one warp";
    if (wrong) {
        record_error(wrong);
        abandon_fiber();
    }
    if (!s) {
        s = &w.slots[size_t(w.n_slots++)];
        s->mask = mask;
    }
    s->in[f.lane] = mine;
    s->arrived |= me;
    if (s->arrived == mask) {
        std::copy(std::begin(s->in), std::end(s->in), std::begin(s->out));
        s->arrived = 0;
        ++s->gen;
        return s->out;
    }
    wait(&s->gen, s->gen, "a warp collective");
    return s->out;
}

std::string run_launch(const Launch& l) {
    Block& b = g_block;
    b.launch = &l;
    b.error.clear();
    for (unsigned z = 0; z < l.grid.z; ++z)
        for (unsigned y = 0; y < l.grid.y; ++y)
            for (unsigned x = 0; x < l.grid.x; ++x)
                if (!run_block(l, uint3{x, y, z}))
                    return std::string(l.name) + ", block (" + std::to_string(x) + "," + std::to_string(y) + "," +
                           std::to_string(z) + "): " + b.error;
    return {};
}

}  // namespace hearth::cuda_sim
