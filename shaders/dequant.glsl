// dq8(rb, g, ncols, a, b): elements 8g .. 8g+7 of the weight row whose first byte is rb, as F32
// (a = first four, b = last four). Every supported block format keeps 8 consecutive elements under
// one scale, so "groups of 8" is the unit all matmul and embedding shaders work in. The layouts are
// ggml's (engine/quant/types.h); the arithmetic mirrors engine/quant/quant.cpp's dequantize_row.
// ncols only matters for F32/F16, whose rows need not be a multiple of 8 (elements past it read 0).
// Needs bytes.glsl and one TYPE_* define.

vec4 nib4(uint x, uint sh) {
    return vec4((x >> sh) & 0xfu, (x >> (8u + sh)) & 0xfu, (x >> (16u + sh)) & 0xfu, (x >> (24u + sh)) & 0xfu);
}
vec4 bit4(uint x, uint sh) {  // bit `sh` of each of the 4 bytes of x
    return vec4((x >> sh) & 1u, (x >> (8u + sh)) & 1u, (x >> (16u + sh)) & 1u, (x >> (24u + sh)) & 1u);
}
vec4 two4(uint x, uint sh) {  // bits sh, sh+1 of each byte
    return vec4((x >> sh) & 3u, (x >> (8u + sh)) & 3u, (x >> (16u + sh)) & 3u, (x >> (24u + sh)) & 3u);
}
vec4 sbyte4(uint x) {
    const int v = int(x);
    return vec4(bitfieldExtract(v, 0, 8), bitfieldExtract(v, 8, 8), bitfieldExtract(v, 16, 8), bitfieldExtract(v, 24, 8));
}
vec4 lowbits4(uint bits) {  // bits 0..3 of `bits` as 0/1
    return vec4(bits & 1u, (bits >> 1) & 1u, (bits >> 2) & 1u, (bits >> 3) & 1u);
}
// 6-bit scale and min number `is` of a Q4_K/Q5_K block whose scales[12] start at byte sb.
void scale_min_k4(uint is, uint sb, out float sc, out float mn) {
    if (is < 4u) {
        sc = float(rd_u8(sb + is) & 63u);
        mn = float(rd_u8(sb + is + 4u) & 63u);
    } else {
        sc = float((rd_u8(sb + is + 4u) & 0xfu) | ((rd_u8(sb + is - 4u) >> 6) << 4));
        mn = float((rd_u8(sb + is + 4u) >> 4) | ((rd_u8(sb + is) >> 6) << 4));
    }
}

#if defined(TYPE_F32)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint e0 = g * 8u;
    if (e0 + 8u <= ncols) {
        const uint w = (rb >> 2) + e0;
        a = vec4(uintBitsToFloat(BUF[w]), uintBitsToFloat(BUF[w + 1u]), uintBitsToFloat(BUF[w + 2u]), uintBitsToFloat(BUF[w + 3u]));
        b = vec4(uintBitsToFloat(BUF[w + 4u]), uintBitsToFloat(BUF[w + 5u]), uintBitsToFloat(BUF[w + 6u]), uintBitsToFloat(BUF[w + 7u]));
    } else {
        float v[8];
        [[unroll]] for (uint k = 0u; k < 8u; ++k) v[k] = e0 + k < ncols ? uintBitsToFloat(BUF[(rb >> 2) + e0 + k]) : 0.0;
        a = vec4(v[0], v[1], v[2], v[3]);
        b = vec4(v[4], v[5], v[6], v[7]);
    }
}
#elif defined(TYPE_F16)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint e0 = g * 8u;
    const uint o = rb + e0 * 2u;
    if (e0 + 8u <= ncols) {
        a = vec4(unpackHalf2x16(rd_u32(o)), unpackHalf2x16(rd_u32(o + 4u)));
        b = vec4(unpackHalf2x16(rd_u32(o + 8u)), unpackHalf2x16(rd_u32(o + 12u)));
    } else {
        float v[8];
        [[unroll]] for (uint k = 0u; k < 8u; ++k) v[k] = e0 + k < ncols ? rd_f16(o + 2u * k) : 0.0;
        a = vec4(v[0], v[1], v[2], v[3]);
        b = vec4(v[4], v[5], v[6], v[7]);
    }
}
#elif defined(TYPE_Q8_0)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint bo = rb + (g >> 2) * 34u;
    const float d = rd_f16(bo);
    const uint q = bo + 2u + (g & 3u) * 8u;
    a = sbyte4(rd_u32(q)) * d;
    b = sbyte4(rd_u32(q + 4u)) * d;
}
#elif defined(TYPE_Q4_0)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint j = g & 3u, bo = rb + (g >> 2) * 18u;
    const float d = rd_f16(bo);
    const uint q = bo + 2u + (j & 1u) * 8u, sh = (j >> 1) * 4u;
    a = (nib4(rd_u32(q), sh) - 8.0) * d;
    b = (nib4(rd_u32(q + 4u), sh) - 8.0) * d;
}
#elif defined(TYPE_Q4_1)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint j = g & 3u, bo = rb + (g >> 2) * 20u;
    const float d = rd_f16(bo), m = rd_f16(bo + 2u);
    const uint q = bo + 4u + (j & 1u) * 8u, sh = (j >> 1) * 4u;
    a = nib4(rd_u32(q), sh) * d + m;
    b = nib4(rd_u32(q + 4u), sh) * d + m;
}
#elif defined(TYPE_Q5_0)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint j = g & 3u, bo = rb + (g >> 2) * 22u;
    const float d = rd_f16(bo);
    const uint hb = (rd_u32(bo + 2u) >> (j * 8u)) & 0xffu;  // 5th bits of elements 8j .. 8j+7
    const uint q = bo + 6u + (j & 1u) * 8u, sh = (j >> 1) * 4u;
    a = (nib4(rd_u32(q), sh) + lowbits4(hb) * 16.0 - 16.0) * d;
    b = (nib4(rd_u32(q + 4u), sh) + lowbits4(hb >> 4) * 16.0 - 16.0) * d;
}
#elif defined(TYPE_Q5_1)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint j = g & 3u, bo = rb + (g >> 2) * 24u;
    const float d = rd_f16(bo), m = rd_f16(bo + 2u);
    const uint hb = (rd_u32(bo + 4u) >> (j * 8u)) & 0xffu;
    const uint q = bo + 8u + (j & 1u) * 8u, sh = (j >> 1) * 4u;
    a = (nib4(rd_u32(q), sh) + lowbits4(hb) * 16.0) * d + m;
    b = (nib4(rd_u32(q + 4u), sh) + lowbits4(hb >> 4) * 16.0) * d + m;
}
#elif defined(TYPE_Q4_K)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint bo = rb + (g >> 5) * 144u, e0 = (g & 31u) * 8u;
    const uint c = e0 >> 6, l0 = e0 & 63u, hi = l0 >> 5;
    float sc, mn;
    scale_min_k4(2u * c + hi, bo + 4u, sc, mn);
    const float d = rd_f16(bo) * sc, m = rd_f16(bo + 2u) * mn;
    const uint q = bo + 16u + c * 32u + (l0 & 31u);
    a = nib4(rd_u32(q), hi * 4u) * d - m;
    b = nib4(rd_u32(q + 4u), hi * 4u) * d - m;
}
#elif defined(TYPE_Q5_K)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint bo = rb + (g >> 5) * 176u, e0 = (g & 31u) * 8u;
    const uint c = e0 >> 6, l0 = e0 & 63u, hi = l0 >> 5;
    float sc, mn;
    scale_min_k4(2u * c + hi, bo + 4u, sc, mn);
    const float d = rd_f16(bo) * sc, m = rd_f16(bo + 2u) * mn;
    const uint q = bo + 48u + c * 32u + (l0 & 31u), h = bo + 16u + (l0 & 31u), bit = 2u * c + hi;
    a = (nib4(rd_u32(q), hi * 4u) + bit4(rd_u32(h), bit) * 16.0) * d - m;
    b = (nib4(rd_u32(q + 4u), hi * 4u) + bit4(rd_u32(h + 4u), bit) * 16.0) * d - m;
}
#elif defined(TYPE_Q6_K)
void dq8(uint rb, uint g, uint ncols, out vec4 a, out vec4 b) {
    const uint bo = rb + (g >> 5) * 210u, e0 = (g & 31u) * 8u;
    const uint h = e0 >> 7, r = e0 & 127u, k = r >> 5, l = r & 31u;
    const uint ql = bo + h * 64u + l + (k & 1u) * 32u, qh = bo + 128u + h * 32u + l;
    const float d = rd_f16(bo + 208u) * float(bitfieldExtract(int(rd_u8(bo + 192u + h * 8u + (l >> 4) + 2u * k)), 0, 8));
    const uint sh = (k >> 1) * 4u;
    a = (nib4(rd_u32(ql), sh) + two4(rd_u32(qh), 2u * k) * 16.0 - 32.0) * d;
    b = (nib4(rd_u32(ql + 4u), sh) + two4(rd_u32(qh + 4u), 2u * k) * 16.0 - 32.0) * d;
}
#else
#error "dequant.glsl: define one TYPE_*"
#endif
