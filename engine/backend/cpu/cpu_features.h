// What the CPU we run on can execute, read once with CPUID (and XGETBV for the OS-enabled register
// state), so kernels are chosen at run time: one binary runs on every x86-64 and uses what is there.
#pragma once

#include <string>

namespace hearth::cpu {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;                // Haswell / Zen
    bool avx512f = false, avx512bw = false, avx512vl = false;    // Skylake-X / Zen 4
    bool avx512vnni = false, avx_vnni = false;                   // 8-bit dot-product instructions
    std::string brand;                                           // "AMD EPYC 7B13"
    unsigned family = 0, model = 0;                              // CPUID leaf 1, extended fields added (Zen 1: 23, 1)

    bool has_avx2_set() const { return avx2 && fma && f16c; }    // what the AVX2 kernels need
    bool has_avx512_set() const { return has_avx2_set() && avx512f && avx512bw && avx512vl; }
    std::string describe() const;                                // "AVX2 FMA F16C", for DeviceInfo
};

const CpuFeatures& cpu_features();  // detected once

// Kernel level to use: the best the CPU supports, lowered by HEARTH_CPU_ISA=scalar|avx2|avx512
// (for tests and for measuring what each level gives).
enum class IsaLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 };
IsaLevel best_isa();
const char* isa_name(IsaLevel l);

}  // namespace hearth::cpu
