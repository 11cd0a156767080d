#include "tests/bench/cpu_ceilings.h"

#include <time.h>

#include <cstdint>
#include <string>

#include "engine/backend/cpu/cpu_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace hearth::bench {

double thread_cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

namespace {

constexpr long kIters = 40'000'000;

#if defined(__x86_64__)
// Everything below is compiled for AVX2+FMA (lambdas included) and called only where the CPU has them.
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"  // the lambdas return vectors; they are all inlined here
// Twelve independent chains keep every pipe busy whatever the latency (4-5 cycles); the empty asm
// keeps the chains in registers and alive, so the compiler neither spills nor removes them.
#define HEARTH_R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define HEARTH_KEEP(v) asm volatile("" ::"x"(v##0), "x"(v##1), "x"(v##2), "x"(v##3), "x"(v##4), "x"(v##5), "x"(v##6), \
                                    "x"(v##7), "x"(v##8), "x"(v##9), "x"(v##10), "x"(v##11))

double clock_ghz() {
    uint64_t x = 0;
    const double c0 = thread_cpu_seconds();
    for (long i = 0; i < kIters * 4; ++i) asm volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
    return 4.0 * kIters * 4 / (thread_cpu_seconds() - c0) / 1e9;
}

// Instructions per second of `step` (v = step(v)) over twelve independent chains of vector type V
// started at init(i): the result of each instruction is the next one's input in its chain.
template <class V, class Init, class Step>
__attribute__((always_inline)) inline double chains_per_second(Init init, Step step) {
#define D(i) V v##i = init(i);
    HEARTH_R12(D)
#undef D
    const double c0 = thread_cpu_seconds();
    for (long i = 0; i < kIters; ++i) {
#define U(i) v##i = step(v##i);
        HEARTH_R12(U)
#undef U
        HEARTH_KEEP(v);
    }
    return 12.0 * kIters / (thread_cpu_seconds() - c0);
}

double fma_per_second() {
    const __m256 g = _mm256_set1_ps(0.999f), h = _mm256_set1_ps(1e-4f);
    return chains_per_second<__m256>([](int i) { return _mm256_set1_ps(float(i) * 1e-3f); },
                                     [&](__m256 v) { return _mm256_fmadd_ps(v, g, h); });
}

double maddubs_per_second() {
    const __m256i d = _mm256_set1_epi8(3);
    return chains_per_second<__m256i>([](int i) { return _mm256_set1_epi8(char(i)); },
                                      [&](__m256i v) { return _mm256_maddubs_epi16(v, d); });
}

double maddwd_per_second() {
    const __m256i d = _mm256_set1_epi16(3);
    return chains_per_second<__m256i>([](int i) { return _mm256_set1_epi16(short(i)); },
                                      [&](__m256i v) { return _mm256_madd_epi16(v, d); });
}
#undef HEARTH_KEEP
#undef HEARTH_R12
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

}  // namespace

CpuCeilings measure_cpu_ceilings() {
    CpuCeilings c;
    const cpu::CpuFeatures& f = cpu::cpu_features();
    c.cpu = f.brand + ", family " + std::to_string(f.family) + " model " + std::to_string(f.model);
#if defined(__x86_64__)
    c.clock_ghz = clock_ghz();
    if (f.has_avx2_set()) {
        c.fma_gflops = fma_per_second() * 16 / 1e9;
        c.maddubs_gops = maddubs_per_second() * 32 * 2 / 1e9;
        c.maddwd_gops = maddwd_per_second() * 16 * 2 / 1e9;
    }
#endif
    return c;
}

}  // namespace hearth::bench
