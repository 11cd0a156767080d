#include "engine/backend/cpu/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define HEARTH_X86 1
#endif

namespace hearth::cpu {

namespace {

#ifdef HEARTH_X86
// XCR0: which register states the OS saves on context switch. AVX needs bits 1-2 (SSE, AVX);
// AVX-512 additionally bits 5-7 (opmask, ZMM_Hi256, Hi16_ZMM). Without OS support the instructions fault.
uint64_t read_xcr0() {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (uint64_t(edx) << 32) | eax;
}

CpuFeatures detect() {
    CpuFeatures f;
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
    const unsigned max_leaf = a;
    __get_cpuid(1, &a, &b, &c, &d);
    f.family = (a >> 8) & 0xf;
    f.model = (a >> 4) & 0xf;
    if (f.family == 0xf) f.family += (a >> 20) & 0xff;
    if (f.family >= 6) f.model += ((a >> 16) & 0xf) << 4;
    const bool osxsave = c & (1u << 27);
    const bool avx = c & (1u << 28);
    const bool fma = c & (1u << 12);
    const bool f16c = c & (1u << 29);
    const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const bool os_avx = (xcr0 & 0x6) == 0x6;
    const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;
    if (avx && os_avx) {
        f.fma = fma;
        f.f16c = f16c;
        if (max_leaf >= 7) {
            __cpuid_count(7, 0, a, b, c, d);
            f.avx2 = b & (1u << 5);
            if (os_avx512) {
                f.avx512f = b & (1u << 16);
                f.avx512bw = b & (1u << 30);
                f.avx512vl = b & (1u << 31);
                f.avx512vnni = c & (1u << 11);
            }
            __cpuid_count(7, 1, a, b, c, d);
            f.avx_vnni = a & (1u << 4);
        }
    }
    unsigned ext = __get_cpuid_max(0x80000000, nullptr);
    if (ext >= 0x80000004) {
        char brand[49] = {};
        for (unsigned i = 0; i < 3; ++i) {
            __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
            std::memcpy(brand + 16 * i, &a, 4); std::memcpy(brand + 16 * i + 4, &b, 4);
            std::memcpy(brand + 16 * i + 8, &c, 4); std::memcpy(brand + 16 * i + 12, &d, 4);
        }
        f.brand = brand;
        while (!f.brand.empty() && (f.brand.back() == ' ' || f.brand.back() == '\0')) f.brand.pop_back();
        while (!f.brand.empty() && f.brand.front() == ' ') f.brand.erase(f.brand.begin());
    }
    return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

}  // namespace

std::string CpuFeatures::describe() const {
    std::string s;
    auto add = [&](bool on, const char* name) { if (on) { if (!s.empty()) s += ' '; s += name; } };
    add(avx2, "AVX2"); add(fma, "FMA"); add(f16c, "F16C");
    add(avx512f, "AVX512F"); add(avx512bw, "AVX512BW"); add(avx512vl, "AVX512VL");
    add(avx512vnni, "AVX512-VNNI"); add(avx_vnni, "AVX-VNNI");
    return s.empty() ? "scalar" : s;
}

const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detect();
    return f;
}

IsaLevel best_isa() {
    const CpuFeatures& f = cpu_features();
    IsaLevel best = f.has_avx512_set() ? IsaLevel::Avx512 : f.has_avx2_set() ? IsaLevel::Avx2 : IsaLevel::Scalar;
    if (const char* env = std::getenv("HEARTH_CPU_ISA")) {
        IsaLevel want = best;
        if (std::strcmp(env, "scalar") == 0) want = IsaLevel::Scalar;
        else if (std::strcmp(env, "avx2") == 0) want = IsaLevel::Avx2;
        else if (std::strcmp(env, "avx512") == 0) want = IsaLevel::Avx512;
        if (int(want) < int(best)) best = want;  // never raise above what the CPU has
    }
    return best;
}

const char* isa_name(IsaLevel l) {
    switch (l) {
        case IsaLevel::Scalar: return "scalar";
        case IsaLevel::Avx2: return "AVX2";
        case IsaLevel::Avx512: return "AVX-512";
    }
    return "?";
}

}  // namespace hearth::cpu
