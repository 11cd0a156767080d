// IEEE half and bfloat16 storage types and exact conversions (round-to-nearest-even on the way down),
// portable C++ with no intrinsics: the SIMD paths use F16C but must agree bit for bit with these.
#pragma once

#include <cstdint>
#include <cstring>

namespace hearth {

struct f16_t { uint16_t bits; };
struct bf16_t { uint16_t bits; };

inline float fp32_from_bits(uint32_t w) { float f; std::memcpy(&f, &w, 4); return f; }
inline uint32_t fp32_to_bits(float f) { uint32_t w; std::memcpy(&w, &f, 4); return w; }

inline float f16_to_f32(f16_t h) {
    const uint32_t sign = uint32_t(h.bits & 0x8000) << 16;
    uint32_t exp = (h.bits >> 10) & 0x1f, mant = h.bits & 0x3ff;
    if (exp == 0) {
        if (mant == 0) return fp32_from_bits(sign);
        // subnormal: normalise
        int e = -1;
        do { mant <<= 1; ++e; } while ((mant & 0x400) == 0);
        mant &= 0x3ff;
        return fp32_from_bits(sign | uint32_t(127 - 15 - e) << 23 | mant << 13);
    }
    if (exp == 0x1f) return fp32_from_bits(sign | 0x7f800000u | mant << 13);
    return fp32_from_bits(sign | (exp + 127 - 15) << 23 | mant << 13);
}

inline f16_t f32_to_f16(float f) {
    uint32_t x = fp32_to_bits(f);
    const uint16_t sign = uint16_t((x >> 16) & 0x8000);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return {uint16_t(sign | 0x7c00 | (x > 0x7f800000u ? 0x200 : 0))};  // inf/nan
    if (x >= 0x477ff000u) return {uint16_t(sign | 0x7c00)};                                   // overflow
    if (x < 0x38800000u) {  // subnormal or zero in half
        const float af = fp32_from_bits(x);
        // scale so that the half subnormal LSB (2^-24) becomes 1, round to nearest even
        const float scaled = af * 16777216.0f;
        uint32_t m = uint32_t(scaled);
        const float rem = scaled - float(m);
        if (rem > 0.5f || (rem == 0.5f && (m & 1))) ++m;
        return {uint16_t(sign | m)};
    }
    const uint32_t mant_odd = (x >> 13) & 1;
    x += 0xfffu + mant_odd;  // round to nearest even on the 13 dropped bits
    return {uint16_t(sign | (((x >> 23) - 112) << 10) | ((x >> 13) & 0x3ff))};
}

inline float bf16_to_f32(bf16_t h) { return fp32_from_bits(uint32_t(h.bits) << 16); }
inline bf16_t f32_to_bf16(float f) {
    uint32_t x = fp32_to_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return {uint16_t((x >> 16) | 64)};  // quiet nan
    return {uint16_t((x + (0x7fff + ((x >> 16) & 1))) >> 16)};
}

}  // namespace hearth
