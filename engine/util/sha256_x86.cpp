// SHA-256 blocks with the x86 SHA extensions (SHA-NI): about 5x the portable code, which lets the
// hub client hash a download as fast as the network delivers it. Selected at run time by CPUID;
// sha256.cpp falls back to its portable rounds elsewhere. The state is kept in the ABEF/CDGH lane
// order that the sha256rnds2 instruction works on.
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

namespace hearth::detail {

bool sha256_x86_available() {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool ssse3 = c & (1u << 9), sse41 = c & (1u << 19);
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool sha = b & (1u << 29);
    return ssse3 && sse41 && sha;
}

__attribute__((target("sha,sse4.1,ssse3"))) void sha256_x86_blocks(uint32_t state[8], const uint8_t* p, size_t blocks,
                                                                   const uint32_t k[64]) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    // state[0..3] = A B C D, state[4..7] = E F G H → ABEF and CDGH (lane 3 first).
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state)), 0xB1);
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4)), 0x1B);
    __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);

    for (; blocks > 0; --blocks, p += 64) {
        const __m128i save0 = s0, save1 = s1;
        __m128i w[4];
        for (int g = 0; g < 16; ++g) {
            __m128i cur;
            if (g < 4) {
                cur = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * g)), bswap);
            } else {
                // W[t..t+3] from the four previous groups: msg1 adds σ0, the alignr brings W[t-7..t-4],
                // msg2 adds σ1 (including the dependency inside the group).
                __m128i x = _mm_sha256msg1_epu32(w[g % 4], w[(g + 1) % 4]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) % 4], w[(g + 2) % 4], 4));
                cur = _mm_sha256msg2_epu32(x, w[(g + 3) % 4]);
            }
            w[g % 4] = cur;
            __m128i msg = _mm_add_epi32(cur, _mm_loadu_si128(reinterpret_cast<const __m128i*>(k + 4 * g)));
            s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(msg, 0x0E));
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
    }

    tmp = _mm_shuffle_epi32(s0, 0x1B);
    s1 = _mm_shuffle_epi32(s1, 0xB1);
    s0 = _mm_blend_epi16(tmp, s1, 0xF0);
    s1 = _mm_alignr_epi8(s1, tmp, 8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state), s0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), s1);
}

}  // namespace hearth::detail

#else

namespace hearth::detail {
bool sha256_x86_available() { return false; }
void sha256_x86_blocks(uint32_t*, const uint8_t*, size_t, const uint32_t*) {}
}  // namespace hearth::detail

#endif
