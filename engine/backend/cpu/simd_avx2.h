// Small AVX2 helpers shared by the AVX2 kernel files. Include this ONLY inside a region compiled
// for AVX2 (after `#pragma GCC target("avx2,fma,f16c")`): everything here is `static inline`, so no
// AVX2 code can leak into a symbol that a non-AVX2 caller might link against.
#pragma once

#include <immintrin.h>
#include <cstdint>
#include <cstring>

namespace hearth::cpu::avx2 {

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

// Generation kernels stream each weight matrix from DRAM once. The hardware prefetcher alone keeps
// too few lines in flight for the interleaved row streams of a tile (kernel_bench: Q4_0 from DRAM
// 3.9 GB/s per core with 512 bytes ahead, 6.5 with 4 KiB), so the kernels prefetch the bytes
// kStreamAhead past what they read now; rows are contiguous, so this runs ahead across rows too.
constexpr int kStreamAhead = 4096;
// Prefetches the lines of [p + kStreamAhead, p + kStreamAhead + bytes) (bytes: a block's size; a
// sequence of blocks closer than 64 bytes apart touches every line).
template <int Bytes>
static inline void prefetch_stream(const uint8_t* p) {
    for (int o = 0; o < Bytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + kStreamAhead + o), _MM_HINT_T0);
}

static inline float h2f(uint16_t bits) { return _cvtsh_ss(bits); }

static inline uint16_t load_u16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
static inline uint32_t load_u32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }

// 16 bytes of packed nibbles -> 32 bytes: low nibbles in bytes 0..15, high nibbles in 16..31
// (the element order of Q4_0/Q4_1/Q5_0/Q5_1 blocks).
static inline __m256i nibbles_32(const uint8_t* p) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

// Bit i of `bits` -> byte i = 0xFF if set, 0x00 if not.
static inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i shuf = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                            0x0202020202020202, 0x0303030303030303);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)), shuf);
    v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));  // all bits but bit i%8 set
    return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

// Sum over pairs of 8 int32 lanes of (a_i * b_i) for signed bytes a, b: vpmaddubsw needs one
// unsigned operand, so |a| and b with a's sign moved onto it.
static inline __m256i dot_i8_s32(__m256i a, __m256i b) {
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
// Same for unsigned a (0..127 keeps the int16 pair sums from saturating with |b| <= 127... 0..255 would not).
static inline __m256i dot_u8_s32(__m256i a, __m256i b) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1));
}

}  // namespace hearth::cpu::avx2
