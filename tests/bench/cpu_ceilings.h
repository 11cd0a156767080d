// What one core of this CPU can execute at most, measured (not looked up): the roofline the kernel
// figures are read against. On a 128-bit-datapath core (Zen 1) a 256-bit instruction is split in
// two, and the integer multiply pipe is single, so these differ by 2x between machines of one
// "kind"; targets measured on another machine only compare through them.
#pragma once

#include <string>

namespace hearth::bench {

struct CpuCeilings {
    std::string cpu;        // brand string and family/model ("AMD EPYC, family 23 model 1")
    double clock_ghz = 0;   // from a chain of dependent integer adds (one per cycle)
    double fma_gflops = 0;  // 256-bit FMA: 2 x 8 flops each, independent chains
    double maddubs_gops = 0;  // 256-bit vpmaddubsw: 32 u8 x s8 products each, counted as 2 ops per product
    double maddwd_gops = 0;   // 256-bit vpmaddwd: 16 s16 x s16 products each, 2 ops per product
};

// Seconds of CPU time this thread has used: unlike wall time, not inflated by other processes.
double thread_cpu_seconds();

// About 1 s of one thread, in thread CPU time (so a loaded machine does not lower the figures).
// Zero fields where the CPU has no AVX2/FMA.
CpuCeilings measure_cpu_ceilings();

}  // namespace hearth::bench
