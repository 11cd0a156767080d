// Reference (scalar) dequantization and round-to-nearest quantization of ggml's block formats.
//
// Dequantization computes exactly what ggml's dequantize_row_* computes, in the same order of float
// operations (so results agree bit for bit). Quantization follows llama.cpp's quantize_row_*_ref
// algorithms (the deterministic reference used to create model files): Q8_0/Q8_1/Q4_0 scale by the
// absolute maximum; the K-quants search a few candidate scales per sub-block (make_qkx2 / make_qx)
// and then quantize the sub-block scales themselves to 6 or 8 bits.
#include "engine/quant/quant.h"

// Bit-exact agreement with ggml needs every multiply and add rounded on its own: no fused
// multiply-add contraction, even when the build targets FMA-capable CPUs. (GCC's pragma also stops
// inlining of library helpers, halving quantizer speed, so it is only used where FMA instructions
// could be emitted at all.)
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && (defined(__FMA__) || defined(__aarch64__) || defined(__ARM_FEATURE_FMA))
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

namespace hearth {

namespace {

// Round to nearest with ties to even for |x| < 2^22, the same trick as ggml's nearest_int: adding
// 1.5 * 2^23 puts the integer part in the low mantissa bits.
inline int nearest_int(float x) {
    const float v = x + 12582912.f;
    int32_t bits;
    std::memcpy(&bits, &v, 4);
    return (bits & 0x007fffff) - 0x00400000;
}

// ---- dequantization ------------------------------------------------------------------------

void dq_q4_0(const block_q4_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            const int lo = (x[i].qs[j] & 0x0F) - 8;  // element j
            const int hi = (x[i].qs[j] >> 4) - 8;    // element j + 16
            y[i * QK4_0 + j] = lo * d;
            y[i * QK4_0 + j + QK4_0 / 2] = hi * d;
        }
    }
}

void dq_q4_1(const block_q4_1* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d), m = f16_to_f32(x[i].m);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            y[i * QK4_1 + j] = (x[i].qs[j] & 0x0F) * d + m;
            y[i * QK4_1 + j + QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

// Q5: the 5th bit of element j is bit j of the 32-bit little-endian qh.
inline uint32_t load_qh(const uint8_t qh[4]) {
    return uint32_t(qh[0]) | uint32_t(qh[1]) << 8 | uint32_t(qh[2]) << 16 | uint32_t(qh[3]) << 24;
}

void dq_q5_0(const block_q5_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int hi0 = int((qh >> j) & 1) << 4;
            const int hi1 = int((qh >> (j + 16)) & 1) << 4;
            const int x0 = ((x[i].qs[j] & 0x0F) | hi0) - 16;
            const int x1 = ((x[i].qs[j] >> 4) | hi1) - 16;
            y[i * QK5_0 + j] = x0 * d;
            y[i * QK5_0 + j + QK5_0 / 2] = x1 * d;
        }
    }
}

void dq_q5_1(const block_q5_1* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d), m = f16_to_f32(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int hi0 = int((qh >> j) & 1) << 4;
            const int hi1 = int((qh >> (j + 16)) & 1) << 4;
            y[i * QK5_1 + j] = ((x[i].qs[j] & 0x0F) | hi0) * d + m;
            y[i * QK5_1 + j + QK5_1 / 2] = ((x[i].qs[j] >> 4) | hi1) * d + m;
        }
    }
}

void dq_q8_0(const block_q8_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < QK8_0; ++j) y[i * QK8_0 + j] = x[i].qs[j] * d;
    }
}

void dq_q8_1(const block_q8_1* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d);  // s (= d * sum) is only a helper for dot products
        for (int j = 0; j < QK8_1; ++j) y[i * QK8_1 + j] = x[i].qs[j] * d;
    }
}

// Q2_K: 16 sub-blocks of 16; scales[k] holds a 4-bit scale (low) and 4-bit min (high).
// Element order: for each half (128 values, 32 bytes of qs), 4 bit-planes (shift 0,2,4,6), each
// plane covering qs[0..16) then qs[16..32) with consecutive sub-block scales.
void dq_q2_K(const block_q2_K* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d), dmin = f16_to_f32(x[i].dmin);
        const uint8_t* q = x[i].qs;
        int is = 0;
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; ++part) {
                    const uint8_t sc = x[i].scales[is++];
                    const float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
                    for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * part] >> shift) & 3) - ml;
                }
            }
        }
    }
}

// Q3_K: 16 six-bit scales packed into 12 bytes: low 4 bits of scale k in scales[k % 8] (low nibble
// for k < 8, high nibble for k >= 8); its high 2 bits in scales[8 + k % 4] at bit 2 * (k / 4).
// Values are 2 low bits from qs plus a high bit from hmask; a clear hmask bit subtracts 4.
inline int q3_scale(const uint8_t* s, int k) {
    const int lo = k < 8 ? (s[k] & 0xF) : (s[k - 8] >> 4);
    const int hi = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
    return (lo | hi << 4) - 32;
}

void dq_q3_K(const block_q3_K* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d_all = f16_to_f32(x[i].d);
        const uint8_t* q = x[i].qs;
        const uint8_t* hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int part = 0; part < 2; ++part) {
                    const float dl = d_all * q3_scale(x[i].scales, is++);
                    for (int l = 0; l < 16; ++l) {
                        const int idx = l + 16 * part;
                        *y++ = dl * (((q[idx] >> shift) & 3) - ((hm[idx] & m) ? 0 : 4));
                    }
                }
            }
        }
    }
}

// Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scale and 6-bit min packed into 12 bytes.
inline void scale_min_k4(int j, const uint8_t* q, uint8_t& sc, uint8_t& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

void dq_q4_K(const block_q4_K* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d), dmin = f16_to_f32(x[i].dmin);
        const uint8_t* q = x[i].qs;
        for (int j = 0, is = 0; j < QK_K; j += 64, q += 32, is += 2) {
            uint8_t sc, m;
            scale_min_k4(is, x[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            scale_min_k4(is + 1, x[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void dq_q5_K(const block_q5_K* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d), dmin = f16_to_f32(x[i].dmin);
        const uint8_t* ql = x[i].qs;
        const uint8_t* qh = x[i].qh;
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < QK_K; j += 64, ql += 32, is += 2, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            scale_min_k4(is, x[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            scale_min_k4(is + 1, x[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

// Q6_K: 6-bit values (4 low bits in ql, 2 high bits in qh) minus 32, 16 signed 8-bit scales.
void dq_q6_K(const block_q6_K* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(x[i].d);
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        const int8_t* sc = x[i].scales;
        for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = int((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
                const int q2 = int((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                const int q3 = int((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                const int q4 = int((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void dq_q8_K(const block_q8_K* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        for (int j = 0; j < QK_K; ++j) *y++ = x[i].d * x[i].qs[j];
    }
}

// ---- quantization (llama.cpp's *_ref algorithms) ------------------------------------------

// 1/d, or 0 where there is none: d is 0, or so small (a block of values below ~4e-37, found by
// tests/fuzz/fuzz_hf_folder) that 1/d overflows to infinity and x·(1/d) would reach the int8
// conversion as ±inf, which is undefined. Such a d is 0 in F16 anyway: the block reads back as zeros.
inline float inverse_scale(float d) {
    const float id = d != 0 ? 1.0f / d : 0.0f;
    return std::isfinite(id) ? id : 0.0f;
}

void q_q8_0(const float* x, block_q8_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK8_0) {
        float amax = 0;
        for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127;
        const float id = inverse_scale(d);
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK8_0; ++j) y[i].qs[j] = int8_t(std::round(x[j] * id));
    }
}

void q_q8_1(const float* x, block_q8_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK8_1) {
        float amax = 0;
        for (int j = 0; j < QK8_1; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127;
        const float id = inverse_scale(d);
        y[i].d = f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; ++j) {
            y[i].qs[j] = int8_t(std::round(x[j] * id));
            sum += y[i].qs[j];
        }
        y[i].s = f32_to_f16(float(sum) * d);
    }
}

// The value of largest magnitude, with its sign (the first one on ties): the symmetric Q4_0/Q5_0
// scales map it to the extra negative level.
float largest_magnitude(const float* x, int n) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; ++j)
        if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); max = x[j]; }
    return max;
}

void q_q4_0(const float* x, block_q4_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK4_0) {
        // The scale maps the value of largest magnitude to -8 exactly (the one extra negative level).
        const float d = largest_magnitude(x, QK4_0) / -8;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            // x*id + 8.5 truncated = round-half-up of x*id, shifted to 0..16; 16 is clamped to 15
            const int lo = std::min(15, int(int8_t(x[j] * id + 8.5f)));
            const int hi = std::min(15, int(int8_t(x[j + QK4_0 / 2] * id + 8.5f)));
            y[i].qs[j] = uint8_t(lo | hi << 4);
        }
    }
}

// Asymmetric 4-bit: levels 0..15 spread from the block's min to its max (d = range / 15).
void q_q4_1(const float* x, block_q4_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK4_1) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < QK4_1; ++j) { lo = std::min(lo, x[j]); hi = std::max(hi, x[j]); }
        const float d = (hi - lo) / 15;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        y[i].m = f32_to_f16(lo);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            const int a = std::min(15, int(int8_t((x[j] - lo) * id + 0.5f)));
            const int b = std::min(15, int(int8_t((x[j + QK4_1 / 2] - lo) * id + 0.5f)));
            y[i].qs[j] = uint8_t(a | b << 4);
        }
    }
}

// Q5 blocks keep the low 4 bits of element j in a nibble (j < 16: low nibble of qs[j], else the high
// nibble of qs[j - 16]) and its 5th bit as bit j of the little-endian 32-bit qh.
void pack_q5(const int q[32], uint8_t qs[16], uint8_t qh_out[4]) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        qs[j] = uint8_t((q[j] & 0x0F) | (q[j + 16] & 0x0F) << 4);
        qh |= uint32_t((q[j] >> 4) & 1) << j;
        qh |= uint32_t((q[j + 16] >> 4) & 1) << (j + 16);
    }
    for (int k = 0; k < 4; ++k) qh_out[k] = uint8_t(qh >> (8 * k));
}

// Symmetric 5-bit, as Q4_0 with twice the levels: the largest-magnitude value maps to -16.
void q_q5_0(const float* x, block_q5_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK5_0) {
        const float d = largest_magnitude(x, QK5_0) / -16;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        int q[QK5_0];
        for (int j = 0; j < QK5_0; ++j) q[j] = std::min(31, int(int8_t(x[j] * id + 16.5f)));
        pack_q5(q, y[i].qs, y[i].qh);
    }
}

// Asymmetric 5-bit: levels 0..31 from the block's min to its max.
void q_q5_1(const float* x, block_q5_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK5_1) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < QK5_1; ++j) { lo = std::min(lo, x[j]); hi = std::max(hi, x[j]); }
        const float d = (hi - lo) / 31;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        y[i].m = f32_to_f16(lo);
        int q[QK5_1];
        // (x - min) / d lies in [0, 31]; rounding half up cannot pass 31, the clamp guards float noise
        for (int j = 0; j < QK5_1; ++j) q[j] = std::min(31, int(uint8_t((x[j] - lo) * id + 0.5f)));
        pack_q5(q, y[i].qs, y[i].qh);
    }
}

// Best scale and min for n values on levels 0..nmax, minimising the weighted squared error: starts
// from (max-min)/nmax, then tries nstep+1 stretched level grids and keeps the least-squares fit with
// the lowest error. Returns the scale; *the_min receives -min (>= 0). As llama.cpp's make_qkx2_quants.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min, uint8_t* Laux,
                    float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
        L[i] = uint8_t(l);
        const float diff = scale * L[i] + min - x[i];
        best_error += w[i] * (diff * diff);
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = uint8_t(l);
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; ++i) {
                const float diff = this_scale * Laux[i] + this_min - x[i];
                cur_error += w[i] * (diff * diff);
            }
            if (cur_error < best_error) {
                std::memcpy(L, Laux, size_t(n));
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

// Shared by Q4_K and Q5_K: per 32-value sub-block scale/min search, then 6-bit scales and mins
// relative to the block's largest, packed as scale_min_k4 reads them; finally the values are
// re-quantized against the rounded scales. Writes d, dmin, scales and the levels L[256].
void k_scales_mins(const float* x, int nmax, float rmin, int nstep, f16_t& d_out, f16_t& dmin_out, uint8_t packed[12],
                   uint8_t L[QK_K]) {
    float scales[QK_K / 32], mins[QK_K / 32], weights[32];
    uint8_t Laux[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = std::sqrt(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
        scales[j] = fit_scale_min(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    std::memset(packed, 0, 12);
    for (int j = 0; j < QK_K / 32; ++j) {
        const uint8_t ls = uint8_t(std::min(63, int(uint8_t(nearest_int(inv_scale * scales[j])))));
        const uint8_t lm = uint8_t(std::min(63, int(uint8_t(nearest_int(inv_min * mins[j])))));
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = uint8_t((ls & 0xF) | (lm & 0xF) << 4);
            packed[j - 4] |= uint8_t((ls >> 4) << 6);
            packed[j] |= uint8_t((lm >> 4) << 6);
        }
    }
    d_out = f32_to_f16(max_scale / 63.f);
    dmin_out = f32_to_f16(max_min / 63.f);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t sc, m;
        scale_min_k4(j, packed, sc, m);
        const float d = f16_to_f32(d_out) * sc;
        if (d == 0) continue;
        const float dm = f16_to_f32(dmin_out) * m;
        for (int ii = 0; ii < 32; ++ii) L[32 * j + ii] = uint8_t(std::clamp(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax));
    }
}

void k_scales_mins_weighted(const float* x, int nmax, const float* qw_block, f16_t& d_out, f16_t& dmin_out, uint8_t packed[12],
                            uint8_t L[QK_K]);  // below, beside the other importance-weighted helpers

// qw (null: none): one importance weight per value of the row.
void q_q4_K(const float* x, block_q4_K* y, int64_t nb, const float* qw) {
    uint8_t L[QK_K];
    for (int64_t i = 0; i < nb; ++i, x += QK_K) {
        if (qw) k_scales_mins_weighted(x, 15, qw + QK_K * i, y[i].d, y[i].dmin, y[i].scales, L);
        else k_scales_mins(x, 15, -1.f, 20, y[i].d, y[i].dmin, y[i].scales, L);
        uint8_t* q = y[i].qs;
        for (int j = 0; j < QK_K; j += 64, q += 32) {
            for (int l = 0; l < 32; ++l) q[l] = uint8_t(L[j + l] | L[j + l + 32] << 4);
        }
    }
}

void q_q5_K(const float* x, block_q5_K* y, int64_t nb, const float* qw) {
    uint8_t L[QK_K];
    for (int64_t i = 0; i < nb; ++i, x += QK_K) {
        if (qw) k_scales_mins_weighted(x, 31, qw + QK_K * i, y[i].d, y[i].dmin, y[i].scales, L);
        else k_scales_mins(x, 31, -0.5f, 15, y[i].d, y[i].dmin, y[i].scales, L);
        uint8_t* qh = y[i].qh;
        uint8_t* ql = y[i].qs;
        std::memset(qh, 0, QK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < QK_K; n += 64, m1 <<= 2, m2 <<= 2, ql += 32) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[n + j], l2 = L[n + j + 32];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = uint8_t(l1 | l2 << 4);
            }
        }
    }
}

// Symmetric scale for n values on levels -nmax..nmax-1 (stored +nmax), weighted by qw (x^2 when qw is
// null): tries 18 scales around nmax/max and keeps the best least-squares one. As llama.cpp's
// make_qx_quants with rmse_type 1.
float fit_scale_symmetric(int n, int nmax, const float* x, int8_t* L, const float* qw) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < 1e-15f) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = int8_t(l + nmax);
        const float w = qw ? qw[i] : x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float w = qw ? qw[i] : x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) L[i] = int8_t(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// qw (null: none) holds one importance weight per value of the row; it only changes the sub-block
// scale search (llama.cpp's quantize_row_q6_K_impl passes it straight to make_qx_quants).
void q_q6_K(const float* x, block_q6_K* y, int64_t nb, const float* qw) {
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < nb; ++i, x += QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            const float scale = fit_scale_symmetric(16, 32, x + 16 * ib, L + 16 * ib, qw ? qw + QK_K * i + 16 * ib : nullptr);
            scales[ib] = scale;
            if (std::fabs(scale) > max_abs_scale) {
                max_abs_scale = std::fabs(scale);
                max_scale = scale;
            }
        }
        if (max_abs_scale < 1e-15f) {
            std::memset(&y[i], 0, sizeof(block_q6_K));
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = f32_to_f16(1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ++ib) y[i].scales[ib] = int8_t(std::min(127, nearest_int(iscale * scales[ib])));
        for (int j = 0; j < QK_K / 16; ++j) {
            const float d = f16_to_f32(y[i].d) * y[i].scales[j];
            if (d == 0) continue;
            for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = int8_t(std::clamp(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
        }
        uint8_t* ql = y[i].ql;
        uint8_t* qh = y[i].qh;
        for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t a = uint8_t(L[j + l]), b = uint8_t(L[j + l + 32]), c = uint8_t(L[j + l + 64]), e = uint8_t(L[j + l + 96]);
                ql[l] = uint8_t((a & 0xF) | (c & 0xF) << 4);
                ql[l + 32] = uint8_t((b & 0xF) | (e & 0xF) << 4);
                qh[l] = uint8_t((a >> 4) | (b >> 4) << 2 | (c >> 4) << 4 | (e >> 4) << 6);
            }
        }
    }
}

// Scale for n non-negative values on levels 0..nmax minimising the qw-weighted squared error: tries 9
// scales around nmax/max, then moves single levels while that raises the least-squares fit. As
// llama.cpp's make_qp_quants; used for the 6-bit sub-block scales and mins of the weighted Q4_K.
float fit_scale_positive(int n, int nmax, const float* x, uint8_t* L, const float* qw) {
    float max = 0;
    for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
    if (max < 1e-15f) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = nmax / max;
    // (the first pass does not clamp: every x <= max maps to at most nmax)
    for (int i = 0; i < n; ++i) L[i] = uint8_t(nearest_int(iscale * x[i]));
    const float scale0 = 1 / iscale;
    float best_mse = 0;
    for (int i = 0; i < n; ++i) {
        const float diff = x[i] - scale0 * L[i];
        best_mse += qw[i] * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        const float iscale_is = (0.1f * is + nmax) / max;
        const float scale_is = 1 / iscale_is;
        float mse = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::min(nmax, nearest_int(iscale_is * x[i]));
            const float diff = x[i] - scale_is * l;
            mse += qw[i] * diff * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::min(nmax, nearest_int(iscale * x[i]));
        L[i] = uint8_t(l);
        sumlx += qw[i] * x[i] * l;
        suml2 += qw[i] * l * l;
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = qw[i];
            float slx = sumlx - w * x[i] * L[i];
            float sl2 = suml2 - w * L[i] * L[i];
            if (slx > 0 && sl2 > 0) {
                const int new_l = std::min(nmax, nearest_int(x[i] * sl2 / slx));
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = uint8_t(new_l);
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Importance-weighted K-quant scales (llama.cpp's quantize_row_q{4,5}_K_impl): each value's weight is
// its importance times sqrt(2 * mean(x^2) + x^2); a finer 37-step scale/min search per sub-block; the
// sub-block scales and mins are themselves fitted to 6 bits weighted by each sub-block's total
// weight. Writes d, dmin, packed scales and the levels L[256] of one 256-value block.
void k_scales_mins_weighted(const float* x, int nmax, const float* qw_block, f16_t& d_out, f16_t& dmin_out, uint8_t packed[12],
                            uint8_t L[QK_K]) {
    uint8_t Laux[32], Ls[QK_K / 32], Lm[QK_K / 32];
    float weights[32], sw[QK_K / 32], mins[QK_K / 32], scales[QK_K / 32];
    float sum_x2 = 0;
    for (int l = 0; l < QK_K; ++l) sum_x2 += x[l] * x[l];
    const float sigma2 = 2 * sum_x2 / QK_K;
    for (int j = 0; j < QK_K / 32; ++j) {
        const float* qw = qw_block + 32 * j;
        for (int l = 0; l < 32; ++l) weights[l] = qw[l] * std::sqrt(sigma2 + x[32 * j + l] * x[32 * j + l]);
        float sumw = 0;
        for (int l = 0; l < 32; ++l) sumw += weights[l];
        sw[j] = sumw;
        // (llama.cpp's make_qkx3_quants without mean-absolute error is the same search as make_qkx2)
        scales[j] = fit_scale_min(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36);
    }
    const float d_block = fit_scale_positive(QK_K / 32, 63, scales, Ls, sw);
    const float m_block = fit_scale_positive(QK_K / 32, 63, mins, Lm, sw);
    std::memset(packed, 0, 12);
    for (int j = 0; j < QK_K / 32; ++j) {
        const uint8_t ls = Ls[j], lm = Lm[j];
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = uint8_t((ls & 0xF) | (lm & 0xF) << 4);
            packed[j - 4] |= uint8_t((ls >> 4) << 6);
            packed[j] |= uint8_t((lm >> 4) << 6);
        }
    }
    d_out = f32_to_f16(d_block);
    dmin_out = f32_to_f16(m_block);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t sc, m;
        scale_min_k4(j, packed, sc, m);
        const float d = f16_to_f32(d_out) * sc;
        if (d == 0) continue;
        const float dm = f16_to_f32(dmin_out) * m;
        for (int ii = 0; ii < 32; ++ii) L[32 * j + ii] = uint8_t(std::clamp(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax));
    }
}

// Importance-weighted Q4_0 / Q5_0 (llama.cpp's quantize_row_q{4,5}_0_impl): per 32-value block the
// symmetric scale search on levels -nmax..nmax-1, each value weighted by importance times
// sqrt(mean(x^2) over the row + x^2). n is one row.
template <typename Block>
void q_x_0_weighted(const float* x, Block* y, int64_t n, int nmax, const float* qw_row) {
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    const float sigma2 = sum_x2 / float(n);
    float weight[32];
    int8_t L[32];
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        const float* xb = x + 32 * ib;
        const float* qw = qw_row + 32 * ib;
        for (int j = 0; j < 32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
        y[ib].d = f32_to_f16(fit_scale_symmetric(32, nmax, xb, L, weight));
        if constexpr (std::is_same_v<Block, block_q4_0>) {
            for (int j = 0; j < 16; ++j) y[ib].qs[j] = uint8_t(L[j] | L[j + 16] << 4);
        } else {
            int q[32];
            for (int j = 0; j < 32; ++j) q[j] = L[j];
            pack_q5(q, y[ib].qs, y[ib].qh);
        }
    }
}

// Importance-weighted Q4_1 / Q5_1 (llama.cpp's quantize_row_q{4,5}_1_impl): per 32-value block the
// scale-and-min search of Q4_K's sub-blocks on levels 0..nmax, with the same weights as q_x_0_weighted.
template <typename Block>
void q_x_1_weighted(const float* x, Block* y, int64_t n, int nmax, const float* qw_row) {
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    const float sigma2 = sum_x2 / float(n);
    float weight[32];
    uint8_t L[32], Laux[32];
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        const float* xb = x + 32 * ib;
        const float* qw = qw_row + 32 * ib;
        for (int j = 0; j < 32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
        float min = 0;
        const float d = fit_scale_min(32, nmax, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36);
        y[ib].d = f32_to_f16(d);
        y[ib].m = f32_to_f16(-min);
        if constexpr (std::is_same_v<Block, block_q4_1>) {
            for (int j = 0; j < 16; ++j) y[ib].qs[j] = uint8_t(L[j] | L[j + 16] << 4);
        } else {
            int q[32];
            for (int j = 0; j < 32; ++j) q[j] = L[j];
            pack_q5(q, y[ib].qs, y[ib].qh);
        }
    }
}

void q_q8_K(const float* x, block_q8_K* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; ++j) {
            if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
        }
        if (amax == 0) {
            std::memset(&y[i], 0, sizeof(block_q8_K));  // (llama.cpp leaves bsums unset here; zero is their true value)
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; ++j) y[i].qs[j] = int8_t(std::min(127, nearest_int(iscale * x[j])));
        for (int j = 0; j < QK_K / 16; ++j) {
            int sum = 0;
            for (int ii = 0; ii < 16; ++ii) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = int16_t(sum);
        }
        y[i].d = 1 / iscale;
    }
}

}  // namespace

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
    const int64_t nb = n / traits(type).block_elems;
    switch (type) {
        case GgmlType::F32: std::memcpy(dst, src, size_t(n) * 4); return;
        case GgmlType::F16: {
            const auto* s = static_cast<const f16_t*>(src);
            for (int64_t k = 0; k < n; ++k) dst[k] = f16_to_f32(s[k]);
            return;
        }
        case GgmlType::BF16: {
            const auto* s = static_cast<const bf16_t*>(src);
            for (int64_t k = 0; k < n; ++k) dst[k] = bf16_to_f32(s[k]);
            return;
        }
        case GgmlType::Q4_0: dq_q4_0(static_cast<const block_q4_0*>(src), dst, nb); return;
        case GgmlType::Q4_1: dq_q4_1(static_cast<const block_q4_1*>(src), dst, nb); return;
        case GgmlType::Q5_0: dq_q5_0(static_cast<const block_q5_0*>(src), dst, nb); return;
        case GgmlType::Q5_1: dq_q5_1(static_cast<const block_q5_1*>(src), dst, nb); return;
        case GgmlType::Q8_0: dq_q8_0(static_cast<const block_q8_0*>(src), dst, nb); return;
        case GgmlType::Q8_1: dq_q8_1(static_cast<const block_q8_1*>(src), dst, nb); return;
        case GgmlType::Q2_K: dq_q2_K(static_cast<const block_q2_K*>(src), dst, nb); return;
        case GgmlType::Q3_K: dq_q3_K(static_cast<const block_q3_K*>(src), dst, nb); return;
        case GgmlType::Q4_K: dq_q4_K(static_cast<const block_q4_K*>(src), dst, nb); return;
        case GgmlType::Q5_K: dq_q5_K(static_cast<const block_q5_K*>(src), dst, nb); return;
        case GgmlType::Q6_K: dq_q6_K(static_cast<const block_q6_K*>(src), dst, nb); return;
        case GgmlType::Q8_K: dq_q8_K(static_cast<const block_q8_K*>(src), dst, nb); return;
        default:
            // Integer/F64 types are not weights; callers check can-dequantize via the type list above.
            std::fill(dst, dst + n, 0.0f);
            return;
    }
}

bool can_quantize(GgmlType type) {
    switch (type) {
        case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q8_0: case GgmlType::Q8_1:
        case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1:
        case GgmlType::Q4_K: case GgmlType::Q5_K: case GgmlType::Q6_K: case GgmlType::Q8_K:
            return true;
        default:
            return false;
    }
}

Status quantize_row(GgmlType type, const float* src, void* dst, int64_t n) {
    if (!can_quantize(type)) return make_error("quantizing to " + std::string(type_name(type)) + " is not supported");
    const TypeTraits& tr = traits(type);
    if (n < 0 || n % tr.block_elems != 0)
        return make_error("cannot quantize " + std::to_string(n) + " values to " + std::string(tr.name) + ": not a multiple of the block size " +
                          std::to_string(tr.block_elems));
    // NaN or infinity would poison a whole block's scale (and float->int conversion of them is undefined).
    for (int64_t k = 0; tr.quantized && k < n; ++k) {
        if (!std::isfinite(src[k])) return make_error("cannot quantize: value " + std::to_string(k) + " is not a finite number");
    }
    const int64_t nb = n / tr.block_elems;
    switch (type) {
        case GgmlType::F32: std::memcpy(dst, src, size_t(n) * 4); break;
        case GgmlType::F16: {
            auto* d = static_cast<f16_t*>(dst);
            for (int64_t k = 0; k < n; ++k) d[k] = f32_to_f16(src[k]);
            break;
        }
        case GgmlType::BF16: {
            auto* d = static_cast<bf16_t*>(dst);
            for (int64_t k = 0; k < n; ++k) d[k] = f32_to_bf16(src[k]);
            break;
        }
        case GgmlType::Q8_0: q_q8_0(src, static_cast<block_q8_0*>(dst), nb); break;
        case GgmlType::Q8_1: q_q8_1(src, static_cast<block_q8_1*>(dst), nb); break;
        case GgmlType::Q4_0: q_q4_0(src, static_cast<block_q4_0*>(dst), nb); break;
        case GgmlType::Q4_1: q_q4_1(src, static_cast<block_q4_1*>(dst), nb); break;
        case GgmlType::Q5_0: q_q5_0(src, static_cast<block_q5_0*>(dst), nb); break;
        case GgmlType::Q5_1: q_q5_1(src, static_cast<block_q5_1*>(dst), nb); break;
        case GgmlType::Q4_K: q_q4_K(src, static_cast<block_q4_K*>(dst), nb, nullptr); break;
        case GgmlType::Q5_K: q_q5_K(src, static_cast<block_q5_K*>(dst), nb, nullptr); break;
        case GgmlType::Q6_K: q_q6_K(src, static_cast<block_q6_K*>(dst), nb, nullptr); break;
        case GgmlType::Q8_K: q_q8_K(src, static_cast<block_q8_K*>(dst), nb); break;
        default: break;
    }
    return {};
}

bool uses_importance(GgmlType type) {
    switch (type) {
        case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q4_K: case GgmlType::Q5_K: case GgmlType::Q6_K:
            return true;
        default: return false;
    }
}

Status quantize_row_weighted(GgmlType type, const float* src, void* dst, int64_t n, const float* importance) {
    if (!importance || !uses_importance(type)) return quantize_row(type, src, dst, n);
    const TypeTraits& tr = traits(type);
    if (n <= 0 || n % tr.block_elems != 0)
        return make_error("cannot quantize " + std::to_string(n) + " values to " + std::string(tr.name) + ": not a multiple of the block size " +
                          std::to_string(tr.block_elems));
    for (int64_t k = 0; k < n; ++k) {
        if (!std::isfinite(src[k])) return make_error("cannot quantize: value " + std::to_string(k) + " is not a finite number");
        if (!std::isfinite(importance[k]) || importance[k] < 0)
            return make_error("cannot quantize: importance " + std::to_string(k) + " is negative or not a finite number");
    }
    const int64_t nb = n / tr.block_elems;
    switch (type) {
        case GgmlType::Q4_0: q_x_0_weighted(src, static_cast<block_q4_0*>(dst), n, 8, importance); break;
        case GgmlType::Q5_0: q_x_0_weighted(src, static_cast<block_q5_0*>(dst), n, 16, importance); break;
        case GgmlType::Q4_1: q_x_1_weighted(src, static_cast<block_q4_1*>(dst), n, 15, importance); break;
        case GgmlType::Q5_1: q_x_1_weighted(src, static_cast<block_q5_1*>(dst), n, 31, importance); break;
        case GgmlType::Q4_K: q_q4_K(src, static_cast<block_q4_K*>(dst), nb, importance); break;
        case GgmlType::Q5_K: q_q5_K(src, static_cast<block_q5_K*>(dst), nb, importance); break;
        case GgmlType::Q6_K: q_q6_K(src, static_cast<block_q6_K*>(dst), nb, importance); break;
        default: break;
    }
    return {};
}

}  // namespace hearth
