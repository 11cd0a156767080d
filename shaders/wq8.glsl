// wq8(rb, b, lo, hi, dlo, dhi, m): block b (32 consecutive elements) of a quantized weight row whose
// first byte is rb, in the form the 8-bit matrix-vector shaders take: the 32 quant values as signed
// bytes packed four per word (lo = elements 0..15, hi = 16..31; element 4k+j is byte j of word k,
// the layout quantize_q8.comp gives the activations) with
//   w_i = dlo * q_i + m  (i < 16),   w_i = dhi * q_i + m  (i >= 16).
// (Q6_K has a scale per 16 elements; every other format one per 32, so dlo == dhi.)
// Needs bytes.glsl, dequant.glsl (scale_min_k4) and one quantized TYPE_* define.

// v - c in every byte of v, as a signed byte (each byte of v in [0, 127 + c], c <= 128): adding
// 0x80 - c cannot carry into the next byte, and flipping the top bit turns the biased value into
// two's complement.
uint bytes_minus(uint v, uint c) { return (v + (0x80u - c) * 0x01010101u) ^ 0x80808080u; }
// bits 0..3 of h into bit 4 of bytes 0..3 (the fifth bit of Q5_0/Q5_1 quants)
uint spread4(uint h) { return ((h & 1u) << 4) | ((h & 2u) << 11) | ((h & 4u) << 18) | ((h & 8u) << 25); }
uvec4 words4(uint at) { return uvec4(rd_u32(at), rd_u32(at + 4u), rd_u32(at + 8u), rd_u32(at + 12u)); }

#if defined(TYPE_Q8_0)
void wq8(uint rb, uint b, out uvec4 lo, out uvec4 hi, out float dlo, out float dhi, out float m) {
    const uint bo = rb + b * 34u;
    dlo = dhi = rd_f16(bo);
    m = 0.0;
    lo = words4(bo + 2u);
    hi = words4(bo + 18u);
}
#elif defined(TYPE_Q4_0) || defined(TYPE_Q4_1)
void wq8(uint rb, uint b, out uvec4 lo, out uvec4 hi, out float dlo, out float dhi, out float m) {
#ifdef TYPE_Q4_0
    const uint bo = rb + b * 18u, q = bo + 2u;
    m = 0.0;
#else
    const uint bo = rb + b * 20u, q = bo + 4u;
    m = rd_f16(bo + 2u);
#endif
    dlo = dhi = rd_f16(bo);
    const uvec4 w = words4(q);  // byte j: element j (low nibble), element j + 16 (high nibble)
    lo = w & 0x0f0f0f0fu;
    hi = (w >> 4) & 0x0f0f0f0fu;
#ifdef TYPE_Q4_0
    lo = uvec4(bytes_minus(lo.x, 8u), bytes_minus(lo.y, 8u), bytes_minus(lo.z, 8u), bytes_minus(lo.w, 8u));
    hi = uvec4(bytes_minus(hi.x, 8u), bytes_minus(hi.y, 8u), bytes_minus(hi.z, 8u), bytes_minus(hi.w, 8u));
#endif
}
#elif defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
void wq8(uint rb, uint b, out uvec4 lo, out uvec4 hi, out float dlo, out float dhi, out float m) {
#ifdef TYPE_Q5_0
    const uint bo = rb + b * 22u, qh = rd_u32(bo + 2u), q = bo + 6u;
    m = 0.0;
#else
    const uint bo = rb + b * 24u, qh = rd_u32(bo + 4u), q = bo + 8u;
    m = rd_f16(bo + 2u);
#endif
    dlo = dhi = rd_f16(bo);
    const uvec4 w = words4(q);
    [[unroll]] for (uint k = 0u; k < 4u; ++k) {
        lo[k] = (w[k] & 0x0f0f0f0fu) | spread4(qh >> (4u * k));
        hi[k] = ((w[k] >> 4) & 0x0f0f0f0fu) | spread4(qh >> (16u + 4u * k));
#ifdef TYPE_Q5_0
        lo[k] = bytes_minus(lo[k], 16u);
        hi[k] = bytes_minus(hi[k], 16u);
#endif
    }
}
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
void wq8(uint rb, uint b, out uvec4 lo, out uvec4 hi, out float dlo, out float dhi, out float m) {
    // a 256-element super-block holds 8 sub-blocks of 32; sub-block j sits in the low (j even) or
    // high (j odd) nibbles of the 32 quant bytes of chunk j / 2
    const uint j = b & 7u, c = j >> 1, sh = (j & 1u) * 4u;
#ifdef TYPE_Q4_K
    const uint bo = rb + (b >> 3) * 144u, q = bo + 16u + c * 32u;
#else
    const uint bo = rb + (b >> 3) * 176u, q = bo + 48u + c * 32u, qh = bo + 16u;
#endif
    float sc, mn;
    scale_min_k4(j, bo + 4u, sc, mn);
    dlo = dhi = rd_f16(bo) * sc;
    m = -rd_f16(bo + 2u) * mn;
    [[unroll]] for (uint k = 0u; k < 4u; ++k) {
        lo[k] = (rd_u32(q + 4u * k) >> sh) & 0x0f0f0f0fu;
        hi[k] = (rd_u32(q + 16u + 4u * k) >> sh) & 0x0f0f0f0fu;
#ifdef TYPE_Q5_K
        lo[k] |= ((rd_u32(qh + 4u * k) >> j) & 0x01010101u) << 4;  // bit j of qh[l] is element l's fifth bit
        hi[k] |= ((rd_u32(qh + 16u + 4u * k) >> j) & 0x01010101u) << 4;
#endif
    }
}
#elif defined(TYPE_Q6_K)
void wq8(uint rb, uint b, out uvec4 lo, out uvec4 hi, out float dlo, out float dhi, out float m) {
    // unit u of 32 elements: half h (128 elements), quarter k; low 4 bits in ql, high 2 in qh
    const uint bo = rb + (b >> 3) * 210u, u = b & 7u, h = u >> 2, k = u & 3u;
    const uint ql = bo + h * 64u + (k & 1u) * 32u, qh = bo + 128u + h * 32u, sh = (k >> 1) * 4u;
    const float d = rd_f16(bo + 208u);
    const uint sc = bo + 192u + h * 8u + 2u * k;
    dlo = d * float(bitfieldExtract(int(rd_u8(sc)), 0, 8));
    dhi = d * float(bitfieldExtract(int(rd_u8(sc + 1u)), 0, 8));
    m = 0.0;
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        lo[i] = bytes_minus(((rd_u32(ql + 4u * i) >> sh) & 0x0f0f0f0fu) | (((rd_u32(qh + 4u * i) >> (2u * k)) & 0x03030303u) << 4), 32u);
        hi[i] = bytes_minus(((rd_u32(ql + 16u + 4u * i) >> sh) & 0x0f0f0f0fu) | (((rd_u32(qh + 16u + 4u * i) >> (2u * k)) & 0x03030303u) << 4), 32u);
    }
}
#else
#error "wq8.glsl: define one quantized TYPE_*"
#endif
