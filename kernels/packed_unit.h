// The CUDA backend's packed weight layout (issue #17): every quantized weight row is repacked on the
// device, once, into a row of the same byte size whose pieces are grouped by kind, so that the lanes
// of a warp reading one piece each read consecutive 16-byte chunks:
//
//   Q4_0  [qs U×16][d U×2]                Q4_1  [qs U×16][d,m U×4]
//   Q5_0  [qs U×16][qh U×4][d U×2]        Q5_1  [qs U×16][qh U×4][d,m U×4]
//   Q8_0  [qs 0..15 U×16][qs 16..31 U×16][d U×2]
//   Q4_K  [qs first 16 of each 32-byte run P×16][second 16 P×16][d,dmin,scales S×16]
//   Q5_K  as Q4_K, then [qh 0..15 S×16][qh 16..31 S×16] before the [d,dmin,scales S×16]
//   Q6_K  [ql first 16 of each 32-byte run C×16][second 16 C×16][qh first 16 H×16][second 16 H×16]
//         [scales S×16][d S×2]
// (U units of 32 weights, S = U/8 super-blocks, P = C = 4S runs of 32 quant bytes, H = 2S.) The
// repack is a permutation of byte pieces (piece() below lists them), so unpacking is the same list
// read the other way and the round trip is exact; the row stays row-local and the same size, so
// tensor views (row ranges, row strides) mean the same in both layouts.
//
// A "step" is what one lane decodes at a time: one unit for the 32-weight types; for the K-quants
// one 32-byte run of quants, which holds two units (Q4_K/Q5_K: units 2p and 2p+1 in the low and high
// nibbles; Q6_K: units k and k+2 of a half super-block). fetch_step() loads a step's words and
// decode_step() turns them into QUnits (quant_unit.h's affine form; load_step() does both), and
// step_unit() says which units of the row they are.
//
// __host__ __device__, so the layout and the decoding are tested on the host
// (tests/engine/test_cuda_quant_units.cpp: repack → unpack = original; decoded values = quant.h's
// dequantize_row, for every type).
#pragma once

#include "kernels/quant_unit.h"

namespace hearth::kern {

template <GgmlType T> HK_HD constexpr int units_per_step() {
    return T == GgmlType::Q4_K || T == GgmlType::Q5_K || T == GgmlType::Q6_K ? 2 : 1;
}

// Pieces of a row of `units` units: number, and piece i as (offset in the GGUF row, offset in the
// packed row, length). Every byte of the row is in exactly one piece.
template <GgmlType T> HK_HD int row_pieces(int units) {
    switch (T) {
        case GgmlType::Q4_0: case GgmlType::Q4_1: return 2 * units;
        case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q8_0: return 3 * units;
        case GgmlType::Q4_K: return 9 * (units / 8);
        case GgmlType::Q5_K: return 11 * (units / 8);
        case GgmlType::Q6_K: return 14 * (units / 8);
        default: return 0;
    }
}

template <GgmlType T> HK_HD void piece(int units, int i, int& orig, int& packed, int& len) {
    const int U = units, S = units / 8;
    if constexpr (T == GgmlType::Q4_0 || T == GgmlType::Q4_1) {
        constexpr int B = BlockOf<T>::bytes, H = B - 16;  // header: d (, m)
        const int u = i / 2;
        if (i % 2 == 0) { orig = B * u; packed = 16 * U + H * u; len = H; }
        else { orig = B * u + H; packed = 16 * u; len = 16; }
    } else if constexpr (T == GgmlType::Q5_0 || T == GgmlType::Q5_1) {
        constexpr int B = BlockOf<T>::bytes, H = B - 20;  // header: d (, m); then qh[4], qs[16]
        const int u = i / 3;
        switch (i % 3) {
            case 0: orig = B * u; packed = 20 * U + H * u; len = H; break;
            case 1: orig = B * u + H; packed = 16 * U + 4 * u; len = 4; break;
            default: orig = B * u + H + 4; packed = 16 * u; len = 16; break;
        }
    } else if constexpr (T == GgmlType::Q8_0) {
        const int u = i / 3;
        switch (i % 3) {
            case 0: orig = 34 * u; packed = 32 * U + 2 * u; len = 2; break;
            case 1: orig = 34 * u + 2; packed = 16 * u; len = 16; break;
            default: orig = 34 * u + 18; packed = 16 * U + 16 * u; len = 16; break;
        }
    } else if constexpr (T == GgmlType::Q4_K || T == GgmlType::Q5_K) {
        constexpr bool k5 = T == GgmlType::Q5_K;
        constexpr int B = BlockOf<T>::bytes, QS = k5 ? 48 : 16, N = k5 ? 11 : 9;
        const int s = i / N, k = i % N;
        const int hdr = k5 ? 160 * S : 128 * S;
        len = 16;
        if (k == 0) { orig = B * s; packed = hdr + 16 * s; }
        else if (k <= 8) {  // quant run p = (k-1)/2, half (k-1)%2
            const int p = (k - 1) / 2, h = (k - 1) % 2;
            orig = B * s + QS + 32 * p + 16 * h;
            packed = 64 * S * h + 16 * (4 * s + p);
        } else {  // Q5_K qh half k-9
            const int h = k - 9;
            orig = B * s + 16 + 16 * h;
            packed = 128 * S + 16 * S * h + 16 * s;
        }
    } else if constexpr (T == GgmlType::Q6_K) {
        const int s = i / 14, k = i % 14;
        len = 16;
        if (k < 8) {  // ql run c = k/2, half k%2
            const int c = k / 2, h = k % 2;
            orig = 210 * s + 32 * c + 16 * h;
            packed = 64 * S * h + 16 * (4 * s + c);
        } else if (k < 12) {  // qh run n = (k-8)/2, half (k-8)%2
            const int n = (k - 8) / 2, h = (k - 8) % 2;
            orig = 210 * s + 128 + 32 * n + 16 * h;
            packed = 128 * S + 32 * S * h + 16 * (2 * s + n);
        } else if (k == 12) { orig = 210 * s + 192; packed = 192 * S + 16 * s; }
        else { orig = 210 * s + 208; packed = 208 * S + 2 * s; len = 2; }
    }
}

// Whole rows on the host (and the device repack kernel's per-piece body): GGUF ⇄ packed.
template <GgmlType T> HK_HD void copy_piece(const uint8_t* src, uint8_t* dst, int units, int i, bool to_packed) {
    int o = 0, p = 0, n = 0;
    piece<T>(units, i, o, p, n);
    const uint8_t* s = src + (to_packed ? o : p);
    uint8_t* d = dst + (to_packed ? p : o);
    for (int b = 0; b < n; ++b) d[b] = s[b];
}

// The units of step `step` (o[0], o[1] for two-unit steps).
template <GgmlType T> HK_HD int step_unit(int step, int k) {
    if constexpr (T == GgmlType::Q4_K || T == GgmlType::Q5_K) return 2 * step + k;
    else if constexpr (T == GgmlType::Q6_K) {
        const int s = step / 4, c = step % 4;  // run c = 2n + (k & 1) of super-block s
        return 8 * s + 4 * (c / 2) + (c % 2) + 2 * k;
    } else return step;
}

// 16 bytes at p: one 128-bit load when p is 16-byte aligned (A16), else 16-bit loads.
template <bool A16> HK_HD void ld16(const uint8_t* p, int32_t* w) {
    if constexpr (A16) ld_16_a16(p, w);
    else for (int i = 0; i < 4; ++i) w[i] = ld_i32_a2(p + 4 * i);
}

// A step's bytes as 32-bit words, fetched and not yet decoded: the quants first (16 bytes per piece
// read), then the scales. The matvec issues a chunk's fetches before it stages its activations (and
// before pdl_wait: weights come from no earlier kernel), and decodes each step only when it uses it,
// so the loads are in flight during the staging and the raw words take fewer registers than QUnits.
template <GgmlType T> HK_HD constexpr int step_words() {
    switch (T) {
        case GgmlType::Q4_0: case GgmlType::Q4_1: return 5;  // qs[4], d (| m << 16)
        case GgmlType::Q5_0: case GgmlType::Q5_1: return 6;  // qs[4], qh, d (| m << 16)
        case GgmlType::Q8_0: return 9;                       // qs[8], d
        case GgmlType::Q4_K: return 12;                      // qs[8], d dmin scales[12]
        case GgmlType::Q5_K: return 20;                      // qs[8], qh[8], d dmin scales[12]
        case GgmlType::Q6_K: return 21;                      // ql[8], qh[8], scales[16], d
        default: return 1;
    }
}
template <GgmlType T> struct StepWords {
    int32_t w[step_words<T>()];
};

// The global loads of step `step` of a packed row of `units` units. A16: the row starts 16-byte aligned.
template <GgmlType T, bool A16> HK_HD void fetch_step(const uint8_t* row, int units, int step, StepWords<T>& r) {
    const int U = units, S = units / 8;
    int32_t* w = r.w;
    if constexpr (T == GgmlType::Q4_0 || T == GgmlType::Q4_1 || T == GgmlType::Q5_0 || T == GgmlType::Q5_1) {
        constexpr bool q5 = T == GgmlType::Q5_0 || T == GgmlType::Q5_1;
        constexpr bool has_m = T == GgmlType::Q4_1 || T == GgmlType::Q5_1;
        const int u = step;
        ld16<A16>(row + 16 * u, w);
        if constexpr (q5) w[4] = A16 ? ld_i32_a4(row + 16 * U + 4 * u) : ld_i32_a2(row + 16 * U + 4 * u);
        const uint8_t* hdr = row + (q5 ? 20 : 16) * U + (has_m ? 4 : 2) * u;
        // d, m: one 4-byte aligned word when the row is 16-byte aligned (16U and 20U are multiples of 4)
        if constexpr (has_m) w[q5 ? 5 : 4] = A16 ? ld_i32_a4(hdr) : ld_i32_a2(hdr);
        else w[q5 ? 5 : 4] = int32_t(ld_u16(hdr));
    } else if constexpr (T == GgmlType::Q8_0) {
        const int u = step;
        ld16<A16>(row + 16 * u, w);
        ld16<A16>(row + 16 * U + 16 * u, w + 4);
        w[8] = int32_t(ld_u16(row + 32 * U + 2 * u));
    } else if constexpr (T == GgmlType::Q4_K || T == GgmlType::Q5_K) {
        constexpr bool k5 = T == GgmlType::Q5_K;
        const int p = step, s = p / 4;
        ld16<A16>(row + 16 * p, w);
        ld16<A16>(row + 64 * S + 16 * p, w + 4);
        if constexpr (k5) {
            ld16<A16>(row + 128 * S + 16 * s, w + 8);
            ld16<A16>(row + 144 * S + 16 * s, w + 12);
        }
        ld16<A16>(row + (k5 ? 160 : 128) * S + 16 * s, w + (k5 ? 16 : 8));
    } else if constexpr (T == GgmlType::Q6_K) {
        const int c = step, s = c / 4, n = (c % 4) / 2;
        ld16<A16>(row + 16 * c, w);
        ld16<A16>(row + 64 * S + 16 * c, w + 4);
        ld16<A16>(row + 128 * S + 16 * (2 * s + n), w + 8);
        ld16<A16>(row + 160 * S + 16 * (2 * s + n), w + 12);
        ld16<A16>(row + 192 * S + 16 * s, w + 16);
        w[20] = int32_t(ld_u16(row + 208 * S + 2 * s));
    }
}

// The step's words → its QUnits (o[0], and o[1] for the K-quants' two-unit steps).
template <GgmlType T> HK_HD void decode_step(const StepWords<T>& r, int step, QUnit* o) {
    const int32_t* w = r.w;
    if constexpr (T == GgmlType::Q4_0 || T == GgmlType::Q4_1 || T == GgmlType::Q5_0 || T == GgmlType::Q5_1) {
        constexpr bool q5 = T == GgmlType::Q5_0 || T == GgmlType::Q5_1;
        constexpr bool has_m = T == GgmlType::Q4_1 || T == GgmlType::Q5_1;
        const uint32_t qh = q5 ? uint32_t(w[4]) : 0u, hdr = uint32_t(w[q5 ? 5 : 4]);
        const float d = half_to_float(uint16_t(hdr & 0xFFFFu));
        for (int i = 0; i < 4; ++i) {
            int32_t lo = w[i] & 0x0F0F0F0F, hi = (w[i] >> 4) & 0x0F0F0F0F;
            if constexpr (q5) {
                // bit j of qh is the 5th bit of weight j: spread 4 bits into the bytes' bit 4
                for (int k = 0; k < 4; ++k) {
                    lo |= int32_t(((qh >> (4 * i + k)) & 1u) << (8 * k + 4));
                    hi |= int32_t(((qh >> (16 + 4 * i + k)) & 1u) << (8 * k + 4));
                }
            }
            o[0].q[i] = lo;
            o[0].q[i + 4] = hi;
        }
        o[0].a0 = o[0].a1 = d;
        if constexpr (has_m) o[0].b = half_to_float(uint16_t(hdr >> 16));
        else o[0].b = (q5 ? -16.0f : -8.0f) * d;
    } else if constexpr (T == GgmlType::Q8_0) {
        for (int i = 0; i < 8; ++i) o[0].q[i] = w[i];
        o[0].a0 = o[0].a1 = half_to_float(uint16_t(w[8]));
        o[0].b = 0.0f;
    } else if constexpr (T == GgmlType::Q4_K || T == GgmlType::Q5_K) {
        constexpr bool k5 = T == GgmlType::Q5_K;
        const int j0 = 2 * (step % 4);
        const int32_t* hb = w + (k5 ? 16 : 8);  // d, dmin; then the 12 scale bytes in 3 words
        const float d = half_to_float(uint16_t(uint32_t(hb[0]) & 0xFFFFu)), dmin = half_to_float(uint16_t(uint32_t(hb[0]) >> 16));
        for (int h = 0; h < 2; ++h) {
            const int j = j0 + h;
            int sc, m;
            scale_min_k4(j, uint32_t(hb[1]), uint32_t(hb[2]), uint32_t(hb[3]), sc, m);
            for (int i = 0; i < 8; ++i) {
                int32_t q = h ? (w[i] >> 4) & 0x0F0F0F0F : w[i] & 0x0F0F0F0F;
                if constexpr (k5) q |= ((w[8 + i] >> j) & 0x01010101) << 4;
                o[h].q[i] = q;
            }
            o[h].a0 = o[h].a1 = d * float(sc);
            o[h].b = -dmin * float(m);
        }
    } else if constexpr (T == GgmlType::Q6_K) {
        const int c = step, n = (c % 4) / 2, k1 = c % 2;
        const int32_t *ql = w, *qh = w + 8, *sw = w + 16;
        const float d = half_to_float(uint16_t(w[20]));
        for (int h = 0; h < 2; ++h) {
            const int k = k1 + 2 * h;  // low nibbles and qh bits 0-1 / 2-3 (k < 2), high nibbles and bits 4-7
            for (int i = 0; i < 8; ++i) {
                const int32_t lo = h == 0 ? ql[i] & 0x0F0F0F0F : (ql[i] >> 4) & 0x0F0F0F0F;
                const int32_t hb = ((qh[i] >> (2 * k)) & 0x03030303) << 4;
                o[h].q[i] = sub32_bytes(lo | hb);
            }
            // int8 scales si = 8n + 2k and si + 1: bytes 2·k1 and 2·k1 + 1 of word si / 4 = 2n + h,
            // picked by a select (an index known only at run time would put sw in local memory)
            const uint32_t sword = uint32_t(n ? sw[2 + h] : sw[h]);
            o[h].a0 = d * float(int8_t(sword >> (16 * k1)));
            o[h].a1 = d * float(int8_t(sword >> (16 * k1 + 8)));
            o[h].b = 0.0f;
        }
    }
}

// Step `step` of a packed row, fetched and decoded at once (single units; the host tests).
template <GgmlType T, bool A16> HK_HD void load_step(const uint8_t* row, int units, int step, QUnit* o) {
    StepWords<T> r;
    fetch_step<T, A16>(row, units, step, r);
    decode_step<T>(r, step, o);
}

// Unit u of a packed row (get_rows and the prompt path's dequantization read single units).
template <GgmlType T> HK_HD void load_packed_unit(const uint8_t* row, int units, int u, QUnit& o) {
    QUnit q[units_per_step<T>()];
    int step = u, k = 0;
    if constexpr (T == GgmlType::Q4_K || T == GgmlType::Q5_K) { step = u / 2; k = u % 2; }
    else if constexpr (T == GgmlType::Q6_K) {
        const int j = u % 8, r = j % 4;  // u = 8s + 4n + k1 + 2k
        step = 4 * (u / 8) + 2 * (j / 4) + r % 2;
        k = r / 2;
    }
    load_step<T, false>(row, units, step, q);
    o = q[k];
}

// A whole row on the host, GGUF ⇄ packed (the backend's download of packed weights; the tests).
template <GgmlType T> inline void repack_row_t(const uint8_t* src, uint8_t* dst, int units, bool to_packed) {
    for (int i = 0; i < row_pieces<T>(units); ++i) copy_piece<T>(src, dst, units, i, to_packed);
}
inline bool repack_row(GgmlType t, const uint8_t* src, uint8_t* dst, int units, bool to_packed) {
    switch (t) {
        case GgmlType::Q4_0: repack_row_t<GgmlType::Q4_0>(src, dst, units, to_packed); return true;
        case GgmlType::Q4_1: repack_row_t<GgmlType::Q4_1>(src, dst, units, to_packed); return true;
        case GgmlType::Q5_0: repack_row_t<GgmlType::Q5_0>(src, dst, units, to_packed); return true;
        case GgmlType::Q5_1: repack_row_t<GgmlType::Q5_1>(src, dst, units, to_packed); return true;
        case GgmlType::Q8_0: repack_row_t<GgmlType::Q8_0>(src, dst, units, to_packed); return true;
        case GgmlType::Q4_K: repack_row_t<GgmlType::Q4_K>(src, dst, units, to_packed); return true;
        case GgmlType::Q5_K: repack_row_t<GgmlType::Q5_K>(src, dst, units, to_packed); return true;
        case GgmlType::Q6_K: repack_row_t<GgmlType::Q6_K>(src, dst, units, to_packed); return true;
        default: return false;
    }
}

}  // namespace hearth::kern
