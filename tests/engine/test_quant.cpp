// Block formats: hand-built blocks dequantize to exactly the values the ggml format defines (the
// expected values are computed here from the layout description, with scales chosen so every
// product is exact in float); quantizers reproduce llama.cpp's *_ref output byte for byte
// (known-answer hashes) and keep dequant(quant(x)) within per-type error bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "engine/gguf/gguf.h"
#include "engine/quant/quant.h"
#include "tests/engine/quant_input.inc"
#include "tests/engine/cli_run.h"
#include "tests/engine/testdata.h"

using namespace hearth;

namespace {

f16_t h(float v) {
    const f16_t r = f32_to_f16(v);
    EXPECT_EQ(f16_to_f32(r), v) << "test scale must be exact in f16";
    return r;
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> b(n);
    for (auto& x : b) x = uint8_t(rng());
    return b;
}

template <class Block>
std::vector<float> dequant(GgmlType t, const std::vector<Block>& blocks, int per_block) {
    std::vector<float> y(blocks.size() * size_t(per_block), NAN);
    dequantize_row(t, blocks.data(), y.data(), int64_t(y.size()));
    return y;
}

// ---- traits ------------------------------------------------------------------------------------

TEST(QuantTypes, TraitsAndNames) {
    EXPECT_EQ(traits(GgmlType::Q4_K).block_elems, 256);
    EXPECT_EQ(traits(GgmlType::Q4_K).block_bytes, 144);
    EXPECT_EQ(traits(GgmlType::Q8_0).block_bytes, 34);
    EXPECT_EQ(traits(GgmlType::BF16).block_bytes, 2);
    EXPECT_EQ(type_name(GgmlType::Q6_K), "Q6_K");
    EXPECT_EQ(type_from_name("q4_k"), GgmlType::Q4_K);
    EXPECT_EQ(type_from_name("F16"), GgmlType::F16);
    EXPECT_EQ(type_from_name("bf16"), GgmlType::BF16);
    EXPECT_FALSE(type_from_name("q4_k_m").has_value());
    EXPECT_FALSE(type_traits(4).has_value());    // removed Q4_2
    EXPECT_FALSE(type_traits(16).has_value());   // IQ2_XXS: not implemented
    EXPECT_FALSE(type_traits(1000).has_value());
    EXPECT_TRUE(type_traits(30).has_value());    // BF16
    EXPECT_EQ(row_bytes(GgmlType::Q4_0, 64), 36u);
    EXPECT_EQ(row_bytes(GgmlType::Q4_0, 33), 0u);
    EXPECT_EQ(row_bytes(GgmlType::Q6_K, 512), 420u);
    EXPECT_EQ(row_bytes(GgmlType::F32, 3), 12u);
}

// ---- hand-built blocks: plain types --------------------------------------------------------------

TEST(Dequant, F16AndBF16) {
    // f16: 1.0, -2.0, largest finite 65504, smallest subnormal 2^-24, -0, +inf, 0.5 + one ulp (2^-11)
    const uint16_t hb[8] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x3801, 0x0400};
    const float he[8] = {1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), -0.0f, INFINITY, 0.5f + std::ldexp(1.0f, -11),
                         std::ldexp(1.0f, -14)};
    float y[8];
    dequantize_row(GgmlType::F16, hb, y, 8);
    for (int k = 0; k < 8; ++k) {
        EXPECT_EQ(y[k], he[k]) << k;
        EXPECT_EQ(std::signbit(y[k]), std::signbit(he[k])) << k;
    }
    // bf16 is the top half of an f32: 1.0, -3.0, 2^-133 (f32 subnormal), 1 + 2^-7
    const uint16_t bb[4] = {0x3F80, 0xC040, 0x0001, 0x3F81};
    const float be[4] = {1.0f, -3.0f, std::ldexp(1.0f, -133), 1.0f + std::ldexp(1.0f, -7)};
    dequantize_row(GgmlType::BF16, bb, y, 4);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(y[k], be[k]) << k;
    const float f[3] = {1.5f, -0.0f, 7e30f};
    dequantize_row(GgmlType::F32, f, y, 3);
    EXPECT_EQ(std::memcmp(y, f, 12), 0);
}

// ---- hand-built blocks: 32-element formats --------------------------------------------------------

TEST(Dequant, Q4_0) {
    // d = 0.5; byte j holds element j (low nibble) and element j+16 (high nibble); value = (q - 8) * d
    std::vector<block_q4_0> b(2);
    b[0].d = h(0.5f);
    b[1].d = h(-3.0f);
    for (int j = 0; j < 16; ++j) {
        b[0].qs[j] = uint8_t(j | (15 - j) << 4);
        b[1].qs[j] = uint8_t((j * 7) % 16 | (j * 3 % 16) << 4);
    }
    const auto y = dequant(GgmlType::Q4_0, b, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], (j - 8) * 0.5f);
        EXPECT_EQ(y[j + 16], (15 - j - 8) * 0.5f);
        EXPECT_EQ(y[32 + j], ((j * 7) % 16 - 8) * -3.0f);
        EXPECT_EQ(y[32 + j + 16], (j * 3 % 16 - 8) * -3.0f);
    }
}

TEST(Dequant, Q4_1) {
    // value = q * d + m
    std::vector<block_q4_1> b(1);
    b[0].d = h(0.25f);
    b[0].m = h(-1.0f);
    for (int j = 0; j < 16; ++j) b[0].qs[j] = uint8_t((15 - j) | j << 4);
    const auto y = dequant(GgmlType::Q4_1, b, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], (15 - j) * 0.25f - 1.0f);
        EXPECT_EQ(y[j + 16], j * 0.25f - 1.0f);
    }
}

TEST(Dequant, Q5_0AndQ5_1) {
    // 5-bit values: low 4 bits as in Q4, bit 4 of element e is bit e of the little-endian u32 qh.
    // Q5_0: (q - 16) * d; Q5_1: q * d + m.
    const uint32_t qh = 0xA5C3F00Fu;
    std::vector<block_q5_0> b0(1);
    std::vector<block_q5_1> b1(1);
    b0[0].d = h(2.0f);
    b1[0].d = h(0.5f);
    b1[0].m = h(-4.0f);
    std::memcpy(b0[0].qh, &qh, 4);  // (test host is little-endian, as GGUF is)
    std::memcpy(b1[0].qh, &qh, 4);
    for (int j = 0; j < 16; ++j) b0[0].qs[j] = b1[0].qs[j] = uint8_t((j * 5) % 16 | ((j * 11 + 3) % 16) << 4);
    const auto y0 = dequant(GgmlType::Q5_0, b0, 32);
    const auto y1 = dequant(GgmlType::Q5_1, b1, 32);
    for (int e = 0; e < 32; ++e) {
        const int j = e % 16;
        const int low = e < 16 ? (j * 5) % 16 : (j * 11 + 3) % 16;
        const int q = low + int((qh >> e) & 1) * 16;
        EXPECT_EQ(y0[e], (q - 16) * 2.0f) << e;
        EXPECT_EQ(y1[e], q * 0.5f - 4.0f) << e;
    }
}

TEST(Dequant, Q8_0AndQ8_1) {
    std::vector<block_q8_0> b0(1);
    std::vector<block_q8_1> b1(1);
    b0[0].d = h(0.125f);
    b1[0].d = h(-2.0f);
    b1[0].s = h(1000.0f);  // s is a dot-product helper: it must not change the values
    for (int j = 0; j < 32; ++j) {
        b0[0].qs[j] = int8_t(j * 8 - 128);
        b1[0].qs[j] = int8_t(127 - j * 5);
    }
    const auto y0 = dequant(GgmlType::Q8_0, b0, 32);
    const auto y1 = dequant(GgmlType::Q8_1, b1, 32);
    for (int j = 0; j < 32; ++j) {
        EXPECT_EQ(y0[j], (j * 8 - 128) * 0.125f);
        EXPECT_EQ(y1[j], (127 - j * 5) * -2.0f);
    }
}

// ---- hand-built blocks: K-quants (256 elements) --------------------------------------------------

// In Q2_K and Q3_K, the 256 values are two halves of 128; each half reads 32 bytes of qs as four
// 2-bit planes (shift 0, 2, 4, 6); each plane gives 32 values: bytes 0..15 then 16..31 of the half.
// So element e: half = e/128, plane = (e%128)/32, byte = half*32 + (e%32), and sub-block = e/16.
int k2_byte(int e) { return (e / 128) * 32 + e % 32; }
int k2_shift(int e) { return 2 * ((e % 128) / 32); }

TEST(Dequant, Q2_K) {
    // value = d * scale(sub) * q - dmin * min(sub), scale/min = low/high nibble of scales[sub]
    std::vector<block_q2_K> b(1);
    b[0].d = h(0.5f);
    b[0].dmin = h(0.25f);
    for (int k = 0; k < 16; ++k) b[0].scales[k] = uint8_t(k | ((k * 7) % 16) << 4);
    const auto qs = random_bytes(64, 2);
    std::memcpy(b[0].qs, qs.data(), 64);
    const auto y = dequant(GgmlType::Q2_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int sub = e / 16;
        const int q = (qs[k2_byte(e)] >> k2_shift(e)) & 3;
        EXPECT_EQ(y[e], 0.5f * sub * q - 0.25f * ((sub * 7) % 16)) << e;
    }
}

TEST(Dequant, Q3_K) {
    // 16 six-bit scales s (value s - 32): low 4 bits of s[k] in scales[k] (k < 8, low nibble) or
    // scales[k-8] (high nibble); high 2 bits in scales[8 + k%4] at bit 2*(k/4).
    // q = 2 low bits (as in Q2_K) - 4 unless the hmask bit is set; the hmask bit of element e is
    // bit (4*half + plane) of hmask[e % 32].
    int s[16];
    for (int k = 0; k < 16; ++k) s[k] = (k * 37 + 5) % 64;
    std::vector<block_q3_K> b(1);
    std::memset(b[0].scales, 0, 12);
    for (int k = 0; k < 16; ++k) {
        b[0].scales[k % 8] |= uint8_t((s[k] & 0xF) << (k < 8 ? 0 : 4));
        b[0].scales[8 + k % 4] |= uint8_t((s[k] >> 4) << (2 * (k / 4)));
    }
    b[0].d = h(0.5f);
    const auto qs = random_bytes(64, 3), hm = random_bytes(32, 4);
    std::memcpy(b[0].qs, qs.data(), 64);
    std::memcpy(b[0].hmask, hm.data(), 32);
    const auto y = dequant(GgmlType::Q3_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int plane = (e % 128) / 32, half = e / 128;
        const bool high = (hm[e % 32] >> (4 * half + plane)) & 1;
        const int q = ((qs[k2_byte(e)] >> k2_shift(e)) & 3) - (high ? 0 : 4);
        EXPECT_EQ(y[e], 0.5f * (s[e / 16] - 32) * q) << e;
    }
}

// Q4_K/Q5_K scales: 8 sub-blocks of 32, each with a 6-bit scale and 6-bit min in 12 bytes:
// j < 4: scales[j] = scale, scales[j+4] = min (low 6 bits); j >= 4: scales[j+4] = scale low 4 |
// min low 4 << 4, and the top 2 bits of scale/min go to bits 6-7 of scales[j-4] / scales[j].
void pack_k4(uint8_t out[12], const int sc[8], const int mn[8]) {
    std::memset(out, 0, 12);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            out[j] |= uint8_t(sc[j]);
            out[j + 4] |= uint8_t(mn[j]);
        } else {
            out[j + 4] = uint8_t((sc[j] & 0xF) | (mn[j] & 0xF) << 4);
            out[j - 4] |= uint8_t((sc[j] >> 4) << 6);
            out[j] |= uint8_t((mn[j] >> 4) << 6);
        }
    }
}

TEST(Dequant, Q4_K) {
    // Element e: group g = e/64 uses qs[32g .. 32g+32): low nibbles for the first 32 values of the
    // group, high nibbles for the next 32; sub-block = e/32; value = d*scale*q - dmin*min.
    const int sc[8] = {63, 1, 0, 17, 40, 63, 5, 32}, mn[8] = {0, 63, 7, 33, 12, 63, 48, 1};
    std::vector<block_q4_K> b(1);
    pack_k4(b[0].scales, sc, mn);
    b[0].d = h(0.25f);
    b[0].dmin = h(0.125f);
    const auto qs = random_bytes(128, 5);
    std::memcpy(b[0].qs, qs.data(), 128);
    const auto y = dequant(GgmlType::Q4_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int g = e / 64, r = e % 64, sub = e / 32;
        const int q = r < 32 ? (qs[g * 32 + r] & 0xF) : (qs[g * 32 + r - 32] >> 4);
        EXPECT_EQ(y[e], 0.25f * sc[sub] * q - 0.125f * mn[sub]) << e;
    }
}

TEST(Dequant, Q5_K) {
    // As Q4_K plus a 5th bit: element e's high bit is bit (2*g + (r >= 32)) of qh[r % 32].
    const int sc[8] = {2, 63, 31, 32, 0, 16, 47, 9}, mn[8] = {63, 0, 1, 62, 21, 42, 3, 60};
    std::vector<block_q5_K> b(1);
    pack_k4(b[0].scales, sc, mn);
    b[0].d = h(0.5f);
    b[0].dmin = h(0.0625f);
    const auto qs = random_bytes(128, 6), qh = random_bytes(32, 7);
    std::memcpy(b[0].qs, qs.data(), 128);
    std::memcpy(b[0].qh, qh.data(), 32);
    const auto y = dequant(GgmlType::Q5_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int g = e / 64, r = e % 64, sub = e / 32;
        const int low = r < 32 ? (qs[g * 32 + r] & 0xF) : (qs[g * 32 + r - 32] >> 4);
        const int high = (qh[r % 32] >> (2 * g + (r >= 32 ? 1 : 0))) & 1;
        EXPECT_EQ(y[e], 0.5f * sc[sub] * (low + 16 * high) - 0.0625f * mn[sub]) << e;
    }
}

TEST(Dequant, Q6_K) {
    // Two halves of 128; in a half, quarter c = (e%128)/32 and l = e%32: the low 4 bits are nibble
    // (c >= 2 ? high : low) of ql[64*half + 32*(c%2) + l], the high 2 bits are bits 2c..2c+1 of
    // qh[32*half + l]; q = 6-bit - 32; scale = scales[8*half + 2*c + l/16] (signed); value = d*scale*q.
    std::vector<block_q6_K> b(1);
    const auto ql = random_bytes(128, 8), qh = random_bytes(64, 9);
    std::memcpy(b[0].ql, ql.data(), 128);
    std::memcpy(b[0].qh, qh.data(), 64);
    for (int k = 0; k < 16; ++k) b[0].scales[k] = int8_t(k * 17 - 128);
    b[0].d = h(-0.25f);
    const auto y = dequant(GgmlType::Q6_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int half = e / 128, c = (e % 128) / 32, l = e % 32;
        const uint8_t lb = ql[64 * half + 32 * (c % 2) + l];
        const int low = c >= 2 ? lb >> 4 : lb & 0xF;
        const int high = (qh[32 * half + l] >> (2 * c)) & 3;
        const int scale = (8 * half + 2 * c + l / 16) * 17 - 128;
        EXPECT_EQ(y[e], -0.25f * scale * ((low | high << 4) - 32)) << e;
    }
}

TEST(Dequant, Q8_K) {
    std::vector<block_q8_K> b(1);
    b[0].d = 0.375f;  // an f32 scale
    for (int j = 0; j < 256; ++j) b[0].qs[j] = int8_t(j - 128);
    const auto y = dequant(GgmlType::Q8_K, b, 256);
    for (int j = 0; j < 256; ++j) EXPECT_EQ(y[j], 0.375f * (j - 128));
}

TEST(Dequant, MultipleBlocksAreIndependent) {
    // Dequantizing a row of n blocks equals dequantizing each block on its own, for every type.
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1,
                       GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
        SCOPED_TRACE(std::string(type_name(t)));
        const auto& tr = traits(t);
        // Random bytes, scales included (a NaN scale is fine: the comparison is bitwise).
        const auto bytes = random_bytes(size_t(tr.block_bytes) * 3, 10 + uint32_t(t));
        std::vector<float> all(size_t(tr.block_elems) * 3), one(size_t(tr.block_elems));
        dequantize_row(t, bytes.data(), all.data(), int64_t(all.size()));
        for (int blk = 0; blk < 3; ++blk) {
            dequantize_row(t, bytes.data() + blk * tr.block_bytes, one.data(), tr.block_elems);
            EXPECT_EQ(std::memcmp(one.data(), all.data() + blk * tr.block_elems, one.size() * 4), 0) << blk;
        }
    }
}

// ---- quantization: llama.cpp known answers ------------------------------------------------------

uint64_t fnv1a(const std::vector<uint8_t>& b) {
    uint64_t x = 1469598103934665603ull;
    for (uint8_t c : b) {
        x ^= c;
        x *= 1099511628211ull;
    }
    return x;
}

TEST(Quantize, MatchesLlamaCppReferenceBytes) {
    // FNV-1a of quantize_row_*_ref(golden_input(8192)) as computed by ggml's ggml-quants.c
    // (ggml-org/ggml d99724f, gcc, x86-64). Byte-identical output means our files are what
    // llama.cpp's reference quantizer would write.
    const struct { GgmlType t; uint64_t hash; } expected[] = {
        {GgmlType::Q8_0, 0x7d7d816ca8a0097aull}, {GgmlType::Q8_1, 0x3a40447bf11f97b2ull},
        {GgmlType::Q4_0, 0x85f85cc652186edeull}, {GgmlType::Q4_K, 0x9eec5c81a10b5672ull},
        {GgmlType::Q5_K, 0xc7237b73ab33475aull}, {GgmlType::Q6_K, 0xb137911af2648df5ull},
        {GgmlType::Q8_K, 0x6e3df923c695520full},
    };
    const int n = 8192;
    const std::vector<float> x = golden_input(n);
    for (const auto& e : expected) {
        SCOPED_TRACE(std::string(type_name(e.t)));
        std::vector<uint8_t> out(row_bytes(e.t, n), 0);
        ASSERT_TRUE(quantize_row(e.t, x.data(), out.data(), n).ok());
        EXPECT_EQ(fnv1a(out), e.hash);
    }
}

TEST(Quantize, ReproducesLlamaCppQuantizedReferenceModels) {
    // ref-llama-q8_0 / -q4_0 were made by llama.cpp's quantizer from the same weights as
    // ref-llama-f32; without an importance matrix it uses the *_ref functions, so quantizing the F32
    // tensors must give the same bytes, tensor by tensor.
    HEARTH_REQUIRE_TESTDATA(dir);
    auto f32 = gguf::File::open(dir + "/reference/ref-llama-f32.gguf");
    ASSERT_TRUE(f32.ok()) << f32.message();
    int compared = 0;
    for (const char* name : {"ref-llama-q8_0.gguf", "ref-llama-q4_0.gguf", "ref-qwen2-tied-q8_0.gguf"}) {
        SCOPED_TRACE(name);
        auto q = gguf::File::open(dir + "/reference/" + name);
        ASSERT_TRUE(q.ok()) << q.message();
        auto src = std::string(name).find("qwen2") != std::string::npos
                       ? gguf::File::open(dir + "/reference/ref-qwen2-tied-f32.gguf")
                       : gguf::File::open(dir + "/reference/ref-llama-f32.gguf");
        ASSERT_TRUE(src.ok());
        for (const auto& t : (*q)->tensors()) {
            if (t.type != GgmlType::Q8_0 && t.type != GgmlType::Q4_0) continue;
            const gguf::TensorInfo* s = (*src)->tensor(t.name);
            ASSERT_NE(s, nullptr) << t.name;
            ASSERT_EQ(s->type, GgmlType::F32);
            ASSERT_EQ(s->n_elements(), t.n_elements());
            std::vector<uint8_t> out(t.n_bytes);
            ASSERT_TRUE(quantize_row(t.type, reinterpret_cast<const float*>(s->data), out.data(), s->n_elements()).ok());
            EXPECT_EQ(std::memcmp(out.data(), t.data, t.n_bytes), 0) << t.name << " " << type_name(t.type);
            ++compared;
        }
    }
    EXPECT_GT(compared, 40);
}

// ---- quantization: error bounds -------------------------------------------------------------------

struct Stats {
    double rms_err = 0, rms_x = 0, max_rel_block = 0;
};

// Random data: N(0, 1) scaled per 256-block by 2^-6..2^6 (so scales span a range), with a few
// outliers. Returns dequant(quant(x)) and stats.
std::vector<float> random_data(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd;
    std::vector<float> x(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        const float scale = std::ldexp(1.0f, int((i / 256) % 13) - 6);
        x[size_t(i)] = nd(rng) * scale * ((rng() % 97 == 0) ? 6.0f : 1.0f);
    }
    return x;
}

std::vector<float> round_trip(GgmlType t, const std::vector<float>& x) {
    std::vector<uint8_t> q(row_bytes(t, int64_t(x.size())));
    EXPECT_TRUE(quantize_row(t, x.data(), q.data(), int64_t(x.size())).ok());
    std::vector<float> y(x.size());
    dequantize_row(t, q.data(), y.data(), int64_t(y.size()));
    return y;
}

// Per-block worst error and RMS error, both relative to the block's largest magnitude (the data
// spans 12 octaves, so every block is measured against its own scale).
void block_errors(const std::vector<float>& x, const std::vector<float>& y, int block, double& max_rel, double& rel_rms) {
    max_rel = 0;
    double sum = 0;
    int nb = 0;
    for (size_t b0 = 0; b0 < x.size(); b0 += size_t(block), ++nb) {
        double amax = 0, se = 0, emax = 0;
        for (int k = 0; k < block; ++k) {
            const double xv = x[b0 + size_t(k)], e = double(y[b0 + size_t(k)]) - xv;
            amax = std::max(amax, std::fabs(xv));
            se += e * e;
            emax = std::max(emax, std::fabs(e));
        }
        max_rel = std::max(max_rel, emax / amax);
        sum += se / (block * amax * amax);
    }
    rel_rms = std::sqrt(sum / nb);
}

TEST(Quantize, RoundTripErrorBounds) {
    const int n = 256 * 13 * 8;
    const auto x = random_data(n, 99);
    struct Bound {
        GgmlType t;
        int block;          // block over which errors are measured
        double max_rel;     // worst |error| / block amax
        double rel_rms;     // RMS error / block amax
    };
    // Bounds from the formats (measured on this data in brackets). A rounding step s gives
    // |e| <= s/2 and, errors being uniform, RMS e = s/sqrt(12).
    //  Q8_0/Q8_1: s = amax/127 -> max 0.0039 amax, plus f16 rounding of d (2^-11 relative, times
    //             up to 127 steps = 0.0005 amax) = 0.0044 -> 0.0045 [0.00419]; RMS 0.00227 -> 0.0025 [0.00224].
    //  Q8_K:      d is f32: max 0.0040 [0.00394]; RMS 0.0025 [0.00228].
    //  Q4_0:      s = amax/8; the value opposite the extreme may clamp a full step: max 0.126 incl.
    //             f16 rounding [0.1246]; RMS 0.0361 -> 0.040 [0.0358].
    //  Q4_K:      32-value sub-blocks over [min(x, 0), max], 15 steps: s <= 2 amax/15, so max
    //             0.067 plus 6-bit scale/min rounding -> 0.10 [0.0659]; RMS <= 0.0385 -> 0.040 [0.0160].
    //  Q5_K:      31 steps: max 0.032 + scale rounding -> 0.05 [0.0318]; RMS <= 0.0186 -> 0.020 [0.0081].
    //  Q6_K:      16-value sub-blocks, symmetric 64 levels: s <= amax/32: max 0.0156 + 8-bit scale
    //             rounding -> 0.025 [0.0161]; RMS <= 0.0090 -> 0.010 [0.0042].
    const Bound bounds[] = {
        {GgmlType::Q8_0, 32, 0.0045, 0.0025}, {GgmlType::Q8_1, 32, 0.0045, 0.0025},
        {GgmlType::Q8_K, 256, 0.0040, 0.0025}, {GgmlType::Q4_0, 32, 0.126, 0.040},
        {GgmlType::Q4_K, 256, 0.10, 0.040},    {GgmlType::Q5_K, 256, 0.05, 0.020},
        {GgmlType::Q6_K, 256, 0.025, 0.010},
    };
    for (const Bound& b : bounds) {
        SCOPED_TRACE(std::string(type_name(b.t)));
        const auto y = round_trip(b.t, x);
        double max_rel = 0, rel_rms = 0;
        block_errors(x, y, b.block, max_rel, rel_rms);
        std::printf("  %-5s max |err|/block amax = %.5f (bound %.4f), rms err/block amax = %.5f (bound %.4f)\n",
                    std::string(type_name(b.t)).c_str(), max_rel, b.max_rel, rel_rms, b.rel_rms);
        EXPECT_LE(max_rel, b.max_rel);
        EXPECT_LE(rel_rms, b.rel_rms);
    }
    // F16: relative error <= 2^-11 for normal-range values; BF16: <= 2^-8.
    for (auto [t, bound] : {std::pair{GgmlType::F16, std::ldexp(1.0, -11)}, std::pair{GgmlType::BF16, std::ldexp(1.0, -8)}}) {
        const auto y = round_trip(t, x);
        double worst = 0;
        for (size_t k = 0; k < x.size(); ++k) {
            if (std::fabs(x[k]) < 1e-4) continue;  // f16 subnormals have absolute, not relative, precision
            worst = std::max(worst, std::fabs(double(y[k]) - x[k]) / std::fabs(x[k]));
        }
        EXPECT_LE(worst, bound) << type_name(t);
    }
}

TEST(Quantize, SpecialBlocks) {
    // All zeros -> all zeros (no NaN from a zero scale) for every quantizer.
    for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                       GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K, GgmlType::F16, GgmlType::BF16}) {
        SCOPED_TRACE(std::string(type_name(t)));
        const std::vector<float> z(512, 0.0f);
        const auto y = round_trip(t, z);
        for (float v : y) ASSERT_EQ(v, 0.0f);
        // A constant block is reproduced closely (Q4_0/Q4_K/Q5_K/Q6_K hit it exactly or within a step).
        const std::vector<float> c(512, -1.25f);
        const auto yc = round_trip(t, c);
        for (float v : yc) ASSERT_NEAR(v, -1.25f, 1.25 * 0.01);
        // Values so small that 1/d overflows (found by fuzz_hf_folder: Q8_0/Q8_1 then converted ±inf
        // to int8, which is undefined): they read back as zeros, as their F16 scale is 0.
        std::vector<float> tiny(512);
        for (size_t k = 0; k < tiny.size(); ++k) tiny[k] = (k % 3 == 0 ? -1.0f : 1.0f) * 1e-38f * float(k % 7);
        for (float v : round_trip(t, tiny)) ASSERT_LE(std::fabs(v), 1e-30f);
    }
    {
        // The bytes themselves, not only the values read back: every quant is 0 (it was int8(±inf)).
        std::vector<float> tiny(32, 1e-38f);
        tiny[3] = -2e-38f;
        block_q8_0 b;
        ASSERT_TRUE(quantize_row(GgmlType::Q8_0, tiny.data(), &b, 32).ok());
        for (int j = 0; j < 32; ++j) ASSERT_EQ(b.qs[j], 0) << j;
    }
    // Q8_0 of 0..31: d = 31/127 (f16), q = round(x * 127/31): the largest value is exactly 127 steps.
    std::vector<float> r(32);
    for (int j = 0; j < 32; ++j) r[size_t(j)] = float(j);
    block_q8_0 b;
    ASSERT_TRUE(quantize_row(GgmlType::Q8_0, r.data(), &b, 32).ok());
    EXPECT_EQ(b.d.bits, f32_to_f16(31.0f / 127).bits);
    EXPECT_EQ(b.qs[31], 127);
    EXPECT_EQ(b.qs[0], 0);
    EXPECT_EQ(b.qs[1], int8_t(std::round(127.0f / 31)));
    // Q4_0 maps the largest-magnitude value to -8 exactly: d = max / -8.
    r[5] = -40.0f;
    block_q4_0 b4;
    ASSERT_TRUE(quantize_row(GgmlType::Q4_0, r.data(), &b4, 32).ok());
    EXPECT_EQ(f16_to_f32(b4.d), 5.0f);
    EXPECT_EQ(b4.qs[5] & 0xF, 0);  // q = 0 -> (0 - 8) * 5 = -40
    // Q8_1 stores s = d * sum(q).
    block_q8_1 b8;
    ASSERT_TRUE(quantize_row(GgmlType::Q8_1, r.data(), &b8, 32).ok());
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += b8.qs[j];
    EXPECT_EQ(b8.s.bits, f32_to_f16(float(sum) * f16_to_f32(b8.d)).bits);
}

TEST(Quantize, Errors) {
    std::vector<float> x(256, 1.0f);
    std::vector<uint8_t> out(1024);
    EXPECT_FALSE(quantize_row(GgmlType::Q2_K, x.data(), out.data(), 256).ok());
    EXPECT_FALSE(can_quantize(GgmlType::Q3_K));
    EXPECT_TRUE(can_quantize(GgmlType::Q6_K));
    Status st = quantize_row(GgmlType::Q4_K, x.data(), out.data(), 128);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("block size 256"), std::string::npos) << st.message();
    x[3] = NAN;
    st = quantize_row(GgmlType::Q8_0, x.data(), out.data(), 32);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("value 3 is not a finite number"), std::string::npos) << st.message();
    x[3] = INFINITY;
    EXPECT_FALSE(quantize_row(GgmlType::Q6_K, x.data(), out.data(), 256).ok());
}

}  // namespace

// ---- hearth-cli quantize / info ----------------------------------------------------------------


TEST(QuantizeCli, Q8_0MatchesLlamaCppFileTensorForTensor) {
    REQUIRE_CLI();
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::string out = ::testing::TempDir() + "hearth_cli_q8.gguf";
    const auto r = cli::run("quantize " + dir + "/reference/ref-llama-f32.gguf " + out + " Q8_0 --quiet");
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find("as Q8_0 (0 fallbacks)"), std::string::npos) << r.out;
    auto mine = gguf::File::open(out);
    ASSERT_TRUE(mine.ok()) << mine.message();
    auto ref = gguf::File::open(dir + "/reference/ref-llama-q8_0.gguf");
    ASSERT_TRUE(ref.ok()) << ref.message();
    EXPECT_EQ(*(*mine)->get_int("general.file_type", -1), 7);
    EXPECT_EQ(*(*mine)->get_string("general.architecture"), "llama");
    EXPECT_EQ((*mine)->get_string_array("tokenizer.ggml.tokens")->size(), 32000u);
    ASSERT_EQ((*mine)->tensors().size(), (*ref)->tensors().size());
    for (const auto& t : (*ref)->tensors()) {
        const gguf::TensorInfo* m = (*mine)->tensor(t.name);
        ASSERT_NE(m, nullptr) << t.name;
        EXPECT_EQ(m->type, t.type) << t.name;
        EXPECT_EQ(m->dims, t.dims) << t.name;
        ASSERT_EQ(m->n_bytes, t.n_bytes) << t.name;
        EXPECT_EQ(std::memcmp(m->data, t.data, t.n_bytes), 0) << t.name;
    }
    std::filesystem::remove(out);
}

TEST(QuantizeCli, KQuantsOnASyntheticModel) {
    REQUIRE_CLI();
    // F16 matrices with 256-wide rows, an F16 norm (becomes F32), a matrix whose rows do not fit
    // the block size (llama.cpp's fallback type), an integer tensor (kept).
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 0.05f);
    std::vector<f16_t> w(256 * 8), norm(256);
    for (auto& v : w) v = f32_to_f16(nd(rng));
    for (size_t k = 0; k < norm.size(); ++k) norm[k] = f32_to_f16(1.0f + 0.001f * float(k));
    std::vector<float> narrow(64 * 4, 0.5f);
    std::vector<int32_t> ints(16, 7);
    gguf::Writer wr;
    wr.set_string("general.architecture", "llama");
    wr.set_u32("general.file_type", 1);
    wr.set_u32("llama.context_length", 2048);
    wr.set_string("tokenizer.chat_template", "{{ messages }}");
    wr.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
    ASSERT_TRUE(wr.add_tensor("blk.0.ffn_up.weight", GgmlType::F16, {256, 8}, w.data(), w.size() * 2).ok());
    ASSERT_TRUE(wr.add_tensor("blk.0.attn_norm.weight", GgmlType::F16, {256}, norm.data(), norm.size() * 2).ok());
    ASSERT_TRUE(wr.add_tensor("blk.0.narrow.weight", GgmlType::F32, {64, 4}, narrow.data(), narrow.size() * 4).ok());
    ASSERT_TRUE(wr.add_tensor("ids", GgmlType::I32, {16}, ints.data(), ints.size() * 4).ok());
    const std::string in = ::testing::TempDir() + "hearth_cli_in.gguf";
    ASSERT_TRUE(wr.write(in).ok());

    for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q4_0}) {
        const std::string tn(type_name(t));
        SCOPED_TRACE(tn);
        const std::string out = ::testing::TempDir() + "hearth_cli_" + tn + ".gguf";
        const auto r = cli::run("quantize " + in + " " + out + " " + tn + " --threads 2");
        ASSERT_EQ(r.rc, 0) << r.out;
        auto f = gguf::File::open(out);
        ASSERT_TRUE(f.ok()) << f.message();
        const gguf::TensorInfo* q = (*f)->tensor("blk.0.ffn_up.weight");
        ASSERT_NE(q, nullptr);
        EXPECT_EQ(q->type, t);
        // Same bytes as quantizing the F16 values directly.
        std::vector<float> x(w.size());
        dequantize_row(GgmlType::F16, w.data(), x.data(), int64_t(x.size()));
        std::vector<uint8_t> expect(row_bytes(t, 256) * 8);
        ASSERT_TRUE(quantize_row(t, x.data(), expect.data(), int64_t(x.size())).ok());
        ASSERT_EQ(q->n_bytes, expect.size());
        EXPECT_EQ(std::memcmp(q->data, expect.data(), expect.size()), 0);
        const gguf::TensorInfo* n = (*f)->tensor("blk.0.attn_norm.weight");
        ASSERT_NE(n, nullptr);
        EXPECT_EQ(n->type, GgmlType::F32);
        for (size_t k = 0; k < norm.size(); ++k) EXPECT_EQ(reinterpret_cast<const float*>(n->data)[k], f16_to_f32(norm[k]));
        // 64-wide rows: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 (llama.cpp's tensor_type_fallback)
        const GgmlType narrow_type = t == GgmlType::Q4_K ? GgmlType::Q5_0 : t == GgmlType::Q5_K ? GgmlType::Q5_1
                                   : t == GgmlType::Q6_K ? GgmlType::Q8_0 : t;
        EXPECT_EQ((*f)->tensor("blk.0.narrow.weight")->type, narrow_type);
        EXPECT_EQ((*f)->tensor("ids")->type, GgmlType::I32);
        EXPECT_EQ(std::memcmp((*f)->tensor("ids")->data, ints.data(), 64), 0);
        EXPECT_EQ(*(*f)->get_string("tokenizer.chat_template"), "{{ messages }}");
        EXPECT_NE(*(*f)->get_int("general.file_type", 0), 1);
        std::filesystem::remove(out);
    }
    std::filesystem::remove(in);
}

TEST(QuantizeCli, ClearErrors) {
    REQUIRE_CLI();
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::string f32 = dir + "/reference/ref-llama-f32.gguf";
    const std::string out = ::testing::TempDir() + "hearth_cli_err.gguf";
    struct Case {
        std::string args, expect;
    };
    const Case cases[] = {
        {"quantize " + f32 + " " + out + " Q3_K_M", "unknown preset 'Q3_K_M'"},
        {"quantize " + f32 + " " + out + " Q3_K", "unknown preset 'Q3_K'"},
        {"quantize " + f32 + " " + out, "usage: hearth-cli quantize"},
        {"quantize /nonexistent/in.gguf " + out + " Q8_0", "/nonexistent/in.gguf: cannot open"},
        {"quantize " + f32 + " " + f32 + " Q8_0", "must not be the input file"},
        {"quantize " + f32 + " /nonexistent-dir/out.gguf Q8_0 -q", "cannot create"},
        {"quantize " + dir + "/vocab/ggml-vocab-gpt-2.gguf " + out + " Q8_0", "has no tensors"},
        {"quantize " + f32 + " " + out + " Q8_0 --threads zero", "--threads needs a number"},
        {"quantize " + f32 + " " + out + " Q8_0 --bogus", "unknown option --bogus"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.args);
        const auto r = cli::run(c.args);
        EXPECT_NE(r.rc, 0) << r.out;
        EXPECT_NE(r.out.find(c.expect), std::string::npos) << r.out;
        EXPECT_FALSE(std::filesystem::exists(out));
    }
    // A model file that is not GGUF is an error too.
    const auto r = cli::run("quantize " + dir + "/reference/prompt.txt " + out + " Q8_0");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("not a GGUF file"), std::string::npos) << r.out;
}

TEST(InfoCli, ReportsModelAndVocabularyFiles) {
    REQUIRE_CLI();
    HEARTH_REQUIRE_TESTDATA(dir);
    auto r = cli::run("info " + dir + "/reference/ref-llama-q4_0.gguf");
    ASSERT_EQ(r.rc, 0) << r.out;
    for (const char* want : {"architecture:   llama", "parameters:     4.23 M (4225472)", "F32: 7, Q4_0: 22, Q8_0: 1",
                             "context length: 512", "vocabulary:     32000 tokens (llama", "chat template:  no",
                             "file type:      mostly Q4_0"}) {
        EXPECT_NE(r.out.find(want), std::string::npos) << "missing '" << want << "' in:\n" << r.out;
    }
    EXPECT_EQ(r.out.find("experts:"), std::string::npos) << r.out;  // dense
    r = cli::run("info " + std::string(HEARTH_SOURCE_DIR) + "/tests/engine/data/archs/qwen3moe/tiny-qwen3moe-f32.gguf");
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find("experts:        8, 2 per token, each 48 wide"), std::string::npos) << r.out;
    r = cli::run("info " + dir + "/vocab/ggml-vocab-deepseek-llm.gguf --all");
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find("vocabulary:     102400 tokens (gpt2, pre-tokenizer deepseek-llm)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("tokenizer.ggml.tokens"), std::string::npos) << r.out;  // --all lists keys
    EXPECT_NE(r.out.find("parameters:     0"), std::string::npos) << r.out;
    r = cli::run("info /nonexistent.gguf");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("/nonexistent.gguf: cannot open"), std::string::npos) << r.out;
    r = cli::run("info");
    EXPECT_NE(r.rc, 0);
}
