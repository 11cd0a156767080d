// Host check of the block decoding the CUDA kernels use (kernels/quant_unit.h): it compiles as plain
// C++ here, so the bit layouts are verified on machines without a GPU. Ground truth: quant.h's
// reference dequantize_row.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/quant/quant.h"
#include "kernels/packed_unit.h"
#include "kernels/quant_unit.h"

using namespace hearth;
using hearth::kern::Q8a;
using hearth::kern::QUnit;

namespace {

// Random blocks: random bytes with the f16 scale fields replaced by sane finite values, so every
// bit pattern of the quants is exercised (a quantizer would only produce some of them).
std::vector<uint8_t> random_row(GgmlType t, int n_elems, std::mt19937& rng) {
    const auto& tr = traits(t);
    std::vector<uint8_t> row(size_t(n_elems / tr.block_elems) * tr.block_bytes);
    for (auto& b : row) b = uint8_t(rng());
    std::uniform_real_distribution<float> scale(0.001f, 0.05f);
    for (size_t off = 0; off < row.size(); off += tr.block_bytes) {
        auto put = [&](size_t at) { f16_t h = f32_to_f16(scale(rng)); std::memcpy(&row[off + at], &h, 2); };
        switch (t) {
            case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: put(0); break;
            case GgmlType::Q4_1: case GgmlType::Q5_1: put(0); put(2); break;
            case GgmlType::Q4_K: case GgmlType::Q5_K: put(0); put(2); break;
            case GgmlType::Q6_K: put(208); break;
            default: break;
        }
    }
    return row;
}

// Unit u of a GGUF row, through the device's path: the row repacked (packed_unit.h), then the
// packed decoder's single-unit read (get_rows and the GEMM's dequantization use it).
template <GgmlType T> void load_t(const std::vector<uint8_t>& packed, int units, int u, QUnit& o) {
    kern::load_packed_unit<T>(packed.data(), units, u, o);
}
void load(GgmlType t, const std::vector<uint8_t>& row, int u, QUnit& o) {
    const int units = int(row.size() / traits(t).block_bytes) * traits(t).block_elems / 32;
    std::vector<uint8_t> packed(row.size());
    ASSERT_TRUE(kern::repack_row(t, row.data(), packed.data(), units, true));
    switch (t) {
        case GgmlType::Q4_0: load_t<GgmlType::Q4_0>(packed, units, u, o); break;
        case GgmlType::Q4_1: load_t<GgmlType::Q4_1>(packed, units, u, o); break;
        case GgmlType::Q5_0: load_t<GgmlType::Q5_0>(packed, units, u, o); break;
        case GgmlType::Q5_1: load_t<GgmlType::Q5_1>(packed, units, u, o); break;
        case GgmlType::Q8_0: load_t<GgmlType::Q8_0>(packed, units, u, o); break;
        case GgmlType::Q4_K: load_t<GgmlType::Q4_K>(packed, units, u, o); break;
        case GgmlType::Q5_K: load_t<GgmlType::Q5_K>(packed, units, u, o); break;
        case GgmlType::Q6_K: load_t<GgmlType::Q6_K>(packed, units, u, o); break;
        default: FAIL() << "not a unit type";
    }
}

// The same rounding the device quantizer (kernels/matvec.cu, quantize_q8a) uses.
Q8a quantize_q8a(const float* x) {
    Q8a b{};
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
    b.d = amax / 127.0f;
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
        const int q = b.d == 0 ? 0 : int(std::nearbyint(x[i] / b.d));
        sum += q;
        reinterpret_cast<int8_t*>(b.qs)[i] = int8_t(q);
    }
    b.s = b.d * float(sum);
    return b;
}

class UnitTypes : public ::testing::TestWithParam<GgmlType> {};

// Weight values decoded by load_packed_unit/unit_value equal the reference dequantization (to float rounding:
// the unit form computes a*q + b where the reference may compute d*(q - 8)).
TEST_P(UnitTypes, ValuesMatchReferenceDequantization) {
    const GgmlType t = GetParam();
    std::mt19937 rng(1234 + int(t));
    const int n = 1024;
    for (int rep = 0; rep < 8; ++rep) {
        auto row = random_row(t, n, rng);
        std::vector<float> ref(n);
        dequantize_row(t, row.data(), ref.data(), n);
        for (int u = 0; u < n / 32; ++u) {
            QUnit q;
            load(t, row, u, q);
            for (int e = 0; e < 32; ++e) {
                const float want = ref[32 * u + e], got = kern::unit_value(q, e);
                // tolerance: a few float ulps of the largest term (scale * 63 + offset)
                ASSERT_NEAR(got, want, 1e-6f * (1.0f + std::fabs(want)) + 2e-6f)
                    << type_name(t) << " unit " << u << " element " << e;
            }
        }
    }
}

// unit_dot (the dp4a path) equals the float dot of the dequantized weights with the dequantized
// 8-bit activations, i.e. the only error left is the activation quantization itself.
TEST_P(UnitTypes, DotMatchesDequantizedDot) {
    const GgmlType t = GetParam();
    std::mt19937 rng(99 + int(t));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int n = 2048;
    auto row = random_row(t, n, rng);
    std::vector<float> w(n), x(n);
    dequantize_row(t, row.data(), w.data(), n);
    for (auto& v : x) v = nd(rng);
    double got = 0, want = 0, mag = 0;
    for (int u = 0; u < n / 32; ++u) {
        const Q8a y = quantize_q8a(&x[32 * u]);
        QUnit q;
        load(t, row, u, q);
        got += kern::unit_dot(q, y);
        for (int e = 0; e < 32; ++e) {
            const double yq = double(y.d) * reinterpret_cast<const int8_t*>(y.qs)[e];
            want += double(w[32 * u + e]) * yq;
            mag += std::fabs(double(w[32 * u + e]) * yq);
        }
    }
    // float accumulation of 64 units of 32 products: relative error ~1e-6 of the absolute sum
    EXPECT_NEAR(got, want, 1e-5 * mag) << type_name(t);
}

// ---- the packed layout (kernels/packed_unit.h)
void repack_row(GgmlType t, const uint8_t* src, uint8_t* dst, int units, bool to_packed) {
    ASSERT_TRUE(kern::repack_row(t, src, dst, units, to_packed));
}
template <GgmlType T> void steps_t(const uint8_t* row, int units, bool a16, std::vector<std::pair<int, QUnit>>& out) {
    constexpr int ups = kern::units_per_step<T>();
    for (int s = 0; s < units / ups; ++s) {
        QUnit q[ups];
        if (a16) kern::load_step<T, true>(row, units, s, q);
        else kern::load_step<T, false>(row, units, s, q);
        for (int k = 0; k < ups; ++k) out.emplace_back(kern::step_unit<T>(s, k), q[k]);
    }
}
// Every unit of a packed row, decoded step by step, with its unit index.
std::vector<std::pair<int, QUnit>> packed_units(GgmlType t, const uint8_t* row, int units, bool a16) {
    std::vector<std::pair<int, QUnit>> out;
    switch (t) {
        case GgmlType::Q4_0: steps_t<GgmlType::Q4_0>(row, units, a16, out); break;
        case GgmlType::Q4_1: steps_t<GgmlType::Q4_1>(row, units, a16, out); break;
        case GgmlType::Q5_0: steps_t<GgmlType::Q5_0>(row, units, a16, out); break;
        case GgmlType::Q5_1: steps_t<GgmlType::Q5_1>(row, units, a16, out); break;
        case GgmlType::Q8_0: steps_t<GgmlType::Q8_0>(row, units, a16, out); break;
        case GgmlType::Q4_K: steps_t<GgmlType::Q4_K>(row, units, a16, out); break;
        case GgmlType::Q5_K: steps_t<GgmlType::Q5_K>(row, units, a16, out); break;
        case GgmlType::Q6_K: steps_t<GgmlType::Q6_K>(row, units, a16, out); break;
        default: break;
    }
    return out;
}

// Repack then unpack gives back every byte; the pieces cover the row exactly once both ways.
TEST_P(UnitTypes, PackedRepackRoundTrip) {
    const GgmlType t = GetParam();
    std::mt19937 rng(77 + int(t));
    for (int n : {256, 1024, 2816}) {  // 2816: 11 super-blocks / 88 units, rows not 16-byte multiples
        auto row = random_row(t, n, rng);
        std::vector<uint8_t> packed(row.size(), 0xAA), back(row.size(), 0x55), cover(row.size(), 0);
        repack_row(t, row.data(), packed.data(), n / 32, true);
        repack_row(t, packed.data(), back.data(), n / 32, false);
        ASSERT_EQ(back, row) << type_name(t) << " n=" << n;
        // coverage: packing a row of ones into zeros leaves no zero byte (no gap, and the round trip
        // above rules out overlaps of different source bytes)
        std::vector<uint8_t> ones(row.size(), 1);
        repack_row(t, ones.data(), cover.data(), n / 32, true);
        for (size_t b = 0; b < cover.size(); ++b) ASSERT_EQ(cover[b], 1) << type_name(t) << " byte " << b << " not written";
    }
}

// The packed decoder gives the reference dequantization for every unit, exactly once, through both
// the 16-byte and the 2-byte load paths.
TEST_P(UnitTypes, PackedStepsMatchReferenceDequantization) {
    const GgmlType t = GetParam();
    std::mt19937 rng(4321 + int(t));
    for (int n : {256, 2048}) {
        auto row = random_row(t, n, rng);
        std::vector<float> ref(n);
        dequantize_row(t, row.data(), ref.data(), n);
        alignas(16) uint8_t packed[2048 / 32 * 34];
        repack_row(t, row.data(), packed, n / 32, true);
        for (bool a16 : {false, true}) {
            auto units = packed_units(t, packed, n / 32, a16);
            ASSERT_EQ(int(units.size()), n / 32);
            std::vector<int> seen(n / 32, 0);
            for (const auto& [u, q] : units) {
                ASSERT_GE(u, 0);
                ASSERT_LT(u, n / 32);
                ++seen[size_t(u)];
                for (int e = 0; e < 32; ++e) {
                    const float want = ref[32 * u + e], got = kern::unit_value(q, e);
                    // tolerance: as ValuesMatchReferenceDequantization (float rounding of a*q + b)
                    ASSERT_NEAR(got, want, 1e-6f * (1.0f + std::fabs(want)) + 2e-6f)
                        << type_name(t) << " unit " << u << " element " << e << (a16 ? " (16-byte loads)" : "");
                }
            }
            for (int u = 0; u < n / 32; ++u) ASSERT_EQ(seen[size_t(u)], 1) << type_name(t) << " unit " << u;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllUnitTypes, UnitTypes,
                         ::testing::Values(GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K),
                         [](const auto& info) { return std::string(type_name(info.param)); });

TEST(CudaQuantUnits, Sub32BytesHasNoBorrow) {
    for (int a = 0; a < 64; ++a)
        for (int b = 0; b < 64; b += 7) {
            const int32_t packed = a | (b << 8) | (a << 16) | (b << 24);
            const int32_t r = kern::sub32_bytes(packed);
            EXPECT_EQ(int8_t(r), a - 32);
            EXPECT_EQ(int8_t(r >> 8), b - 32);
            EXPECT_EQ(int8_t(r >> 16), a - 32);
            EXPECT_EQ(int8_t(r >> 24), b - 32);
        }
}

}  // namespace
