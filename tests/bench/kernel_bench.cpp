// Kernel microbenchmark (not a test): one thread, the CPU backend's matrix kernels on a
// TinyLlama-sized layer, timed in thread CPU time as well as wall time so that figures stay
// meaningful on a loaded machine. Generation: W (5632 x 2048 per matrix, cycling through 256 MiB
// of matrices so every read comes from DRAM) times one token; prompt: 128 tokens through the GEMM
// path (activation packing included) on 1024 rows of one matrix.
//   kernel_bench [TYPE ...]      (default: F16 Q8_0 Q4_0 Q4_K Q6_K)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/cpu/kernels.h"
#include "engine/quant/quant.h"
#include "tests/bench/cpu_ceilings.h"

using namespace hearth;
using namespace hearth::cpu;

namespace {

using hearth::bench::thread_cpu_seconds;
double wall_seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

bool is_float_type(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

// The instruction-throughput bound of generation: float weights need 4 FMAs per 32 weights, block
// types one vpmaddubsw per 32 weights (the minimum; decoding and scales come on top).
double gemv_ceiling_gbps(const hearth::bench::CpuCeilings& c, GgmlType type, int64_t k) {
    const double bytes32 = double(row_bytes(type, k)) / double(k / 32);
    return is_float_type(type) ? bytes32 * c.fma_gflops / 16 / 4 : bytes32 * c.maddubs_gops / 64;
}
// The bound of the prompt GEMM in the same units as its GFLOP/s (2 per multiply-add).
double gemm_ceiling_gflops(const hearth::bench::CpuCeilings& c, GgmlType type) {
    return is_float_type(type) ? c.fma_gflops : c.maddubs_gops;
}

void bench_type(GgmlType type, const hearth::bench::CpuCeilings& ceil) {
    const int64_t k = 2048, rows = 5632;
    const MatKernel* mk = mat_kernel(type, best_isa());
    const size_t ws = row_bytes(type, k), mat = ws * rows;
    const int n_mats = int(std::max<size_t>(2, (size_t(256) << 20) / mat));
    std::vector<uint8_t> w(mat * n_mats);
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0, 1);
    {
        std::vector<float> row(static_cast<size_t>(k));
        for (int64_t r = 0; r < rows; ++r) {
            for (auto& v : row) v = nd(rng);
            if (!quantize_row(type, row.data(), w.data() + r * ws, k).ok()) { std::printf("%s: cannot quantize\n", std::string(type_name(type)).c_str()); return; }
        }
        for (int m = 1; m < n_mats; ++m) std::memcpy(w.data() + m * mat, w.data(), mat);
    }
    const int nt = 128;
    std::vector<float> x(size_t(nt) * k);
    for (auto& v : x) v = nd(rng);
    const size_t xs = act_row_bytes(mk->act, k);
    std::vector<uint8_t> xa_store(size_t(nt) * xs + 64);
    uint8_t* xa = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(xa_store.data()) + 63) & ~uintptr_t(63));
    for (int t = 0; t < nt; ++t) {
        if (mk->act == ActKind::F32) std::memcpy(xa + t * xs, x.data() + t * k, size_t(k) * 4);
        else mk->quant(x.data() + t * k, xa + t * xs, k);
    }
    std::vector<float> y(size_t(nt) * rows);

    // generation: one token, rows in chunks of max_rows (or of $KERNEL_BENCH_ROWS, to compare)
    int tr = mk->max_rows;
    if (const char* e = std::getenv("KERNEL_BENCH_ROWS")) tr = std::clamp(std::atoi(e), 1, mk->max_rows);
    const int reps = n_mats * 3;
    double c0 = thread_cpu_seconds(), t0 = wall_seconds();
    for (int rep = 0; rep < reps; ++rep) {
        const uint8_t* wm = w.data() + size_t(rep % n_mats) * mat;
        for (int64_t r = 0; r < rows; r += tr)
            mk->tile(k, wm + r * ws, ws, int(std::min<int64_t>(tr, rows - r)), xa, xs, 1, y.data() + r, size_t(rows));
    }
    double cpu = thread_cpu_seconds() - c0, wall = wall_seconds() - t0;
    const double bytes = double(mat) * reps;
    const double gceil = gemv_ceiling_gbps(ceil, type, k);
    std::printf("%-10s gemv : %6.2f GB/s per CPU-second (%6.2f GB/s wall), %.2f ns CPU per 32 weights; "
                "instruction bound %.1f GB/s\n", mk->name, bytes / cpu / 1e9, bytes / wall / 1e9,
                cpu / (double(rows) * k / 32 * reps) * 1e9, gceil);

    // the same in cache: 64 rows (L2-resident) again and again, so only the kernel's own cost shows
    {
        const int64_t crow = 64;
        const int creps = 20000;
        c0 = thread_cpu_seconds();
        for (int rep = 0; rep < creps; ++rep)
            for (int64_t r = 0; r < crow; r += tr)
                mk->tile(k, w.data() + r * ws, ws, tr, xa, xs, 1, y.data() + r, size_t(rows));
        cpu = thread_cpu_seconds() - c0;
        const double gb = double(ws) * crow * creps / cpu / 1e9;
        std::printf("%-10s gemv in L2: %6.2f GB/s per CPU-second (%.0f%% of the bound), %.2f ns CPU per 32 weights\n", mk->name,
                    gb, 100 * gb / gceil, cpu / (double(crow) * k / 32 * creps) * 1e9);
    }

    // weights repacked 8 rows at a time (MatKernel::repack_x8), the same two measurements
    if (mk->repack_x8) {
        const size_t xws = mk->repack_bytes ? mk->repack_bytes(k) / 8 : ws, xmat = xws * rows;
        std::vector<uint8_t> rp(xmat * n_mats);
        for (int m = 0; m < n_mats; ++m)
            for (int64_t r = 0; r + 8 <= rows; r += 8) mk->repack_x8(k, w.data() + m * mat + r * ws, ws, rp.data() + m * xmat + r * xws);
        c0 = thread_cpu_seconds(); t0 = wall_seconds();
        for (int rep = 0; rep < reps; ++rep) {
            const uint8_t* wm = rp.data() + size_t(rep % n_mats) * xmat;
            for (int64_t r = 0; r + 8 <= rows; r += 8) mk->gemv_x8(k, wm + r * xws, xa, y.data() + r);
        }
        cpu = thread_cpu_seconds() - c0; wall = wall_seconds() - t0;
        std::printf("%-10s gemv x8 repacked: %6.2f GB/s per CPU-second (%6.2f GB/s wall)\n", mk->name, bytes / cpu / 1e9, bytes / wall / 1e9);  // file bytes: the same work
        const int64_t crow = 64;
        const int creps = 20000;
        c0 = thread_cpu_seconds();
        for (int rep = 0; rep < creps; ++rep)
            for (int64_t r = 0; r < crow; r += 8) mk->gemv_x8(k, rp.data() + r * xws, xa, y.data() + r);
        cpu = thread_cpu_seconds() - c0;
        const double gb = double(ws) * crow * creps / cpu / 1e9;
        std::printf("%-10s gemv x8 repacked in L2: %6.2f GB/s per CPU-second (%.0f%% of the bound)\n", mk->name, gb, 100 * gb / gceil);
    }

    // prompt: 128 tokens through the GEMM path (packing included), 1024 rows of one matrix
    if (mk->gemm_rows) {
        std::vector<uint8_t> pk_store(gemm_act_bytes(mk->gemm_act, k, nt) + 64);
        uint8_t* pk = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(pk_store.data()) + 63) & ~uintptr_t(63));
        std::vector<uint8_t> scr_store(mk->gemm_scratch(k, nt) + 64);
        uint8_t* scr = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scr_store.data()) + 63) & ~uintptr_t(63));
        const int64_t prow = 1024;
        const int64_t groups = (nt + gemm_group(mk->gemm_act) - 1) / gemm_group(mk->gemm_act);
        // the first pass warms the caches; then the fastest of 6 (on a shared machine the others
        // are slowed by whoever shares the core or its caches) and the median
        std::vector<double> secs;
        for (int pass = 0; pass < 7; ++pass) {
            c0 = thread_cpu_seconds();
            gemm_pack(mk->gemm_act, reinterpret_cast<const uint8_t*>(x.data()), size_t(k) * 4, k, nt, 0, groups, pk);
            for (int64_t r = 0; r < prow; r += mk->gemm_rows_max)
                mk->gemm_rows(k, w.data() + r * ws, ws, int(std::min<int64_t>(mk->gemm_rows_max, prow - r)), pk, nt,
                              y.data() + r, size_t(rows), scr);
            if (pass > 0) secs.push_back(thread_cpu_seconds() - c0);
        }
        std::sort(secs.begin(), secs.end());
        const double flops = 2.0 * prow * k * nt;
        const double best = flops / secs[0] / 1e9;
        std::printf("%-10s gemm : %6.2f GFLOP/s per CPU-second (best of %zu; median %.2f) = %.0f%% of the %s bound\n", mk->name,
                    best, secs.size(), flops / secs[secs.size() / 2] / 1e9, 100 * best / gemm_ceiling_gflops(ceil, type),
                    is_float_type(type) ? "FMA" : "vpmaddubsw");
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<GgmlType> types;
    for (int i = 1; i < argc; ++i) {
        auto t = type_from_name(argv[i]);
        if (!t) { std::fprintf(stderr, "unknown type %s\n", argv[i]); return 1; }
        types.push_back(*t);
    }
    if (types.empty()) types = {GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K};
    std::printf("kernel level: %s\n", isa_name(best_isa()));
    const hearth::bench::CpuCeilings ceil = hearth::bench::measure_cpu_ceilings();
    std::printf("cpu: %s, ~%.2f GHz (dependent adds)\n", ceil.cpu.c_str(), ceil.clock_ghz);
    std::printf("one core at most: %.1f GFLOP/s of 256-bit FMA, %.1f Gop/s of vpmaddubsw (u8 x s8), %.1f Gop/s of vpmaddwd (s16)\n",
                ceil.fma_gflops, ceil.maddubs_gops, ceil.maddwd_gops);
    for (GgmlType t : types) bench_type(t, ceil);
    return 0;
}
