// Block formats decoded 32 weights at a time, shared by the CUDA kernels and by host tests.
//
// Every quantized type of the CUDA backend is read in "units" of 32 consecutive weights of a row
// (a whole block for the 32-element types, one sub-block of a 256-element K-quant super-block).
// load_unit() turns a unit into 8 words of packed signed 8-bit integers plus an affine map:
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

// Activations quantized to 8 bits, 32 per block (our own layout: float scales holding F16-rounded
// values as llama.cpp's q8_0 does, word-aligned quants).
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

// K-quant 6-bit scale and minimum of sub-block j (ggml's get_scale_min_k4).
HK_HD void scale_min_k4(int j, const uint8_t* q, int& sc, int& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
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

// Whether load_unit<T, true> applies: Q4_K (144-byte blocks, quants at 16) and Q5_K (176, high bits
// at 16, quants at 48) keep every 32-byte quant run 16-byte aligned when the row start is, so the
// quants are read with two 128-bit loads instead of sixteen 16-bit ones.
constexpr bool has_aligned16_variant(GgmlType t) { return t == GgmlType::Q4_K || t == GgmlType::Q5_K; }

// Unit u (weights 32u .. 32u+31) of a row that starts at `row`. kAligned16 (only for the types of
// has_aligned16_variant): `row` is 16-byte aligned.
template <GgmlType T, bool kAligned16 = false>
HK_HD void load_unit(const uint8_t* row, int u, QUnit& o) {
    static_assert(!kAligned16 || has_aligned16_variant(T), "no 16-byte aligned variant for this type");
    if constexpr (T == GgmlType::Q4_0 || T == GgmlType::Q4_1) {
        // d (, m), qs[16]: weight j = low nibble of qs[j], weight j+16 = high nibble.
        const uint8_t* blk = row + size_t(u) * BlockOf<T>::bytes;
        const float d = half_to_float(ld_u16(blk));
        const uint8_t* qs = blk + (T == GgmlType::Q4_0 ? 2 : 4);
        for (int i = 0; i < 4; ++i) {
            const int32_t v = ld_i32_a2(qs + 4 * i);
            o.q[i] = v & 0x0F0F0F0F;
            o.q[i + 4] = (v >> 4) & 0x0F0F0F0F;
        }
        o.a0 = o.a1 = d;
        o.b = T == GgmlType::Q4_0 ? -8.0f * d : half_to_float(ld_u16(blk + 2));
    } else if constexpr (T == GgmlType::Q5_0 || T == GgmlType::Q5_1) {
        // d (, m), qh[4], qs[16]: as Q4 with bit j of qh the 5th bit of weight j.
        const uint8_t* blk = row + size_t(u) * BlockOf<T>::bytes;
        const float d = half_to_float(ld_u16(blk));
        const uint8_t* qhp = blk + (T == GgmlType::Q5_0 ? 2 : 4);
        const uint32_t qh = uint32_t(ld_i32_a2(qhp));
        const uint8_t* qs = qhp + 4;
        for (int i = 0; i < 4; ++i) {
            const int32_t v = ld_i32_a2(qs + 4 * i);
            int32_t lo = v & 0x0F0F0F0F, hi = (v >> 4) & 0x0F0F0F0F;
            for (int k = 0; k < 4; ++k) {
                lo |= int32_t(((qh >> (4 * i + k)) & 1u) << (8 * k + 4));
                hi |= int32_t(((qh >> (16 + 4 * i + k)) & 1u) << (8 * k + 4));
            }
            o.q[i] = lo;
            o.q[i + 4] = hi;
        }
        o.a0 = o.a1 = d;
        o.b = T == GgmlType::Q5_0 ? -16.0f * d : half_to_float(ld_u16(blk + 2));
    } else if constexpr (T == GgmlType::Q8_0) {
        const uint8_t* blk = row + size_t(u) * BlockOf<T>::bytes;
        const float d = half_to_float(ld_u16(blk));
        for (int i = 0; i < 8; ++i) o.q[i] = ld_i32_a2(blk + 2 + 4 * i);
        o.a0 = o.a1 = d;
        o.b = 0.0f;
    } else if constexpr (T == GgmlType::Q4_K || T == GgmlType::Q5_K) {
        // d, dmin, scales[12] (, qh[32]), qs[128]: sub-block j = 2p + h takes the low (h = 0) or high
        // (h = 1) nibbles of qs[32p .. 32p+31]; Q5_K's 5th bit of weight l of sub-block j is bit j of qh[l].
        const uint8_t* blk = row + size_t(u / 8) * BlockOf<T>::bytes;
        const int j = u % 8, p = j / 2, h = j % 2;
        const float d = half_to_float(ld_u16(blk)), dmin = half_to_float(ld_u16(blk + 2));
        int sc, m;
        scale_min_k4(j, blk + 4, sc, m);
        const uint8_t* qs = blk + (T == GgmlType::Q4_K ? 16 : 48) + 32 * p;
        int32_t qw[8], hw[8];
        if constexpr (kAligned16) {
            ld_16_a16(qs, qw);
            ld_16_a16(qs + 16, qw + 4);
            if constexpr (T == GgmlType::Q5_K) {
                ld_16_a16(blk + 16, hw);
                ld_16_a16(blk + 32, hw + 4);
            }
        } else {
            for (int i = 0; i < 8; ++i) {
                qw[i] = ld_i32_a2(qs + 4 * i);
                if constexpr (T == GgmlType::Q5_K) hw[i] = ld_i32_a2(blk + 16 + 4 * i);
            }
        }
        for (int i = 0; i < 8; ++i) {
            int32_t q = h ? (qw[i] >> 4) & 0x0F0F0F0F : qw[i] & 0x0F0F0F0F;
            if constexpr (T == GgmlType::Q5_K) q |= ((hw[i] >> j) & 0x01010101) << 4;
            o.q[i] = q;
        }
        o.a0 = o.a1 = d * float(sc);
        o.b = -dmin * float(m);
    } else if constexpr (T == GgmlType::Q6_K) {
        // ql[128], qh[64], scales[16] (int8), d. Half n = j/4 of the super-block, k = j%4 selects
        // low/high nibbles of ql[64n + 32(k&1) + l] and bits 2k..2k+1 of qh[32n + l]; weights
        // l < 16 use scale 8n + 2k, l >= 16 scale 8n + 2k + 1; value = d * scale * (q - 32).
        const uint8_t* blk = row + size_t(u / 8) * BlockOf<T>::bytes;
        const int j = u % 8, n = j / 4, k = j % 4;
        const uint8_t* ql = blk + 64 * n + 32 * (k & 1);
        const uint8_t* qh = blk + 128 + 32 * n;
        const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192) + 8 * n + 2 * k;
        const float d = half_to_float(ld_u16(blk + 208));
        for (int i = 0; i < 8; ++i) {
            const int32_t v = ld_i32_a2(ql + 4 * i);
            const int32_t lo = k < 2 ? v & 0x0F0F0F0F : (v >> 4) & 0x0F0F0F0F;
            const int32_t hb = ((ld_i32_a2(qh + 4 * i) >> (2 * k)) & 0x03030303) << 4;
            o.q[i] = sub32_bytes(lo | hb);
        }
        o.a0 = d * float(sc[0]);
        o.a1 = d * float(sc[1]);
        o.b = 0.0f;
    }
}

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
