// Block formats decoded 32 weights at a time, shared by the CUDA kernels and by host tests.
//
// Every quantized type of the CUDA backend is read in "units" of 32 consecutive weights of a row
// (a whole block for the 32-element types, one sub-block of a 256-element K-quant super-block).
// The device reads weights in the packed layout of packed_unit.h, whose decoder turns a unit into
// 8 words of packed signed 8-bit integers plus an affine map (QUnit):
//   weight e = a(e) * int8(q byte e) + b,   a(e) = a0 for e < 16, a1 for e >= 16
// which is exactly the shape an 8-bit dot product wants:
//   sum_e weight_e * y_e  =  yd * (a0 * dot(q[0..3], yq[0..3]) + a1 * dot(q[4..7], yq[4..7])) + b * ys
// where the activations y were quantized to Q8a blocks (yd = scale, ys = yd * sum(yq)).
//
// The functions are __host__ __device__ under nvcc and plain inline C++ otherwise, so the bit
// layouts (the part easiest to get wrong) are tested on a machine without a GPU against
// quant.h's dequantize_row (tests/engine/test_cuda_quant_units.cpp).
#pragma once

#include <cstdint>
#include <cstring>

#include "engine/quant/types.h"

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#define HK_HD __host__ __device__ __forceinline__
#else
#define HK_HD inline
#endif

namespace hearth::kern {

// One block of 32 activations quantized to 8 bits, as the host tests hold it (the device keeps the
// quants and the scales in separate arrays: kernels.h Q8View; the same values). Float scales hold
// F16-rounded values as llama.cpp's q8_0 does.
struct Q8a {
    float d;          // scale: value = d * q
    float s;          // d * sum(q), for the formats with an offset or minimum
    int32_t qs[8];    // 32 signed 8-bit quants, little-endian in each word
};
static_assert(sizeof(Q8a) == 40);

struct QUnit {
    int32_t q[8];
    float a0, a1, b;
};

HK_HD float half_to_float(uint16_t bits) {
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(bits));
#else
    return f16_to_f32(f16_t{bits});
#endif
}

HK_HD float bf16_bits_to_float(uint16_t bits) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(uint32_t(bits) << 16);
#else
    return bf16_to_f32(bf16_t{bits});
#endif
}

// Reads of 2-byte aligned data (most block structs are not 4-byte aligned: Q4_0 is 18 bytes).
HK_HD uint16_t ld_u16(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
    return *reinterpret_cast<const uint16_t*>(p);
#else
    uint16_t v; std::memcpy(&v, p, 2); return v;
#endif
}
HK_HD int32_t ld_i32_a2(const uint8_t* p) {
    return int32_t(uint32_t(ld_u16(p)) | (uint32_t(ld_u16(p + 2)) << 16));
}
// Reads of 4-byte aligned data.
HK_HD int32_t ld_i32_a4(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
    return *reinterpret_cast<const int32_t*>(p);
#else
    int32_t v; std::memcpy(&v, p, 4); return v;
#endif
}

// 16 bytes at a 16-byte aligned address as four words (one 128-bit load on the device).
HK_HD void ld_16_a16(const uint8_t* p, int32_t* w) {
#if defined(__CUDA_ARCH__)
    const int4 v = *reinterpret_cast<const int4*>(p);
    w[0] = v.x; w[1] = v.y; w[2] = v.z; w[3] = v.w;
#else
    std::memcpy(w, p, 16);
#endif
}

HK_HD int dp4a(int a, int b, int c) {
#if defined(__CUDA_ARCH__)
    return __dp4a(a, b, c);
#else
    for (int i = 0; i < 4; ++i) c += int(int8_t(uint32_t(a) >> (8 * i))) * int(int8_t(uint32_t(b) >> (8 * i)));
    return c;
#endif
}

// Bytes in [0, 63] → the same bytes minus 32 as signed int8, with no borrow between bytes.
HK_HD int32_t sub32_bytes(int32_t q) {
    return int32_t(((uint32_t(q) | 0x80808080u) - 0x20202020u) ^ 0x80808080u);
}

// K-quant 6-bit scale and minimum of sub-block j (ggml's get_scale_min_k4), from the 12 scale bytes
// as three little-endian words: bytes j & 3 of each, shifted out of registers. (A byte array indexed
// by a j known only at run time, as on the host, would live in local memory on the device.)
HK_HD void scale_min_k4(int j, uint32_t s0, uint32_t s1, uint32_t s2, int& sc, int& m) {
    const int sh = 8 * (j & 3);
    const int b0 = int((s0 >> sh) & 0xFFu), b1 = int((s1 >> sh) & 0xFFu), b2 = int((s2 >> sh) & 0xFFu);
    sc = j < 4 ? b0 & 63 : (b2 & 0xF) | ((b0 >> 6) << 4);
    m = j < 4 ? b1 & 63 : (b2 >> 4) | ((b1 >> 6) << 4);
}

constexpr bool is_unit_type(GgmlType t) {
    return t == GgmlType::Q4_0 || t == GgmlType::Q4_1 || t == GgmlType::Q5_0 || t == GgmlType::Q5_1 ||
           t == GgmlType::Q8_0 || t == GgmlType::Q4_K || t == GgmlType::Q5_K || t == GgmlType::Q6_K;
}

// Byte size of one block / weights per block, usable in device code (types.h's traits() is host-only).
template <GgmlType T> struct BlockOf;
template <> struct BlockOf<GgmlType::Q4_0> { static constexpr int bytes = 18, elems = 32; };
template <> struct BlockOf<GgmlType::Q4_1> { static constexpr int bytes = 20, elems = 32; };
template <> struct BlockOf<GgmlType::Q5_0> { static constexpr int bytes = 22, elems = 32; };
template <> struct BlockOf<GgmlType::Q5_1> { static constexpr int bytes = 24, elems = 32; };
template <> struct BlockOf<GgmlType::Q8_0> { static constexpr int bytes = 34, elems = 32; };
template <> struct BlockOf<GgmlType::Q4_K> { static constexpr int bytes = 144, elems = 256; };
template <> struct BlockOf<GgmlType::Q5_K> { static constexpr int bytes = 176, elems = 256; };
template <> struct BlockOf<GgmlType::Q6_K> { static constexpr int bytes = 210, elems = 256; };

// Dot product of a unit with the matching Q8a block of activations.
HK_HD float unit_dot(const QUnit& w, const Q8a& y) {
    int s0 = 0, s1 = 0;
    for (int i = 0; i < 4; ++i) s0 = dp4a(w.q[i], y.qs[i], s0);
    for (int i = 4; i < 8; ++i) s1 = dp4a(w.q[i], y.qs[i], s1);
    return y.d * (w.a0 * float(s0) + w.a1 * float(s1)) + w.b * y.s;
}

// Weight e (0..31) of a unit as a float.
HK_HD float unit_value(const QUnit& w, int e) {
    const int q = int(int8_t(uint32_t(w.q[e / 4]) >> (8 * (e % 4))));
    return (e < 16 ? w.a0 : w.a1) * float(q) + w.b;
}

}  // namespace hearth::kern
