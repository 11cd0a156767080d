// CPU backend kernels against the scalar reference: every kernel variant (scalar, AVX2 — and
// AVX-512 where a table exists and the CPU has it) for every weight type, on odd sizes, through both
// the generation tile and the prompt-batch GEMM path. The reference is engine/quant/quant.h's
// dequantize_row for the weights times the dequantized 8-bit activations, summed in double, so
// the comparison isolates the kernel (the 8-bit rounding of activations is tested separately).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "engine/backend/cpu/cpu_features.h"
#include "engine/backend/cpu/kernels.h"
#include "engine/backend/cpu/vec_ops.h"
#include "engine/quant/quant.h"

using namespace hearth;
using namespace hearth::cpu;

namespace {

std::vector<IsaLevel> available_levels() {
    std::vector<IsaLevel> v{IsaLevel::Scalar};
    const auto& f = cpu_features();
    if (f.has_avx2_set()) v.push_back(IsaLevel::Avx2);
    if (f.has_avx512_set()) v.push_back(IsaLevel::Avx512);
    return v;
}

void put_f16(uint8_t* p, float v) { const f16_t h = f32_to_f16(v); std::memcpy(p, &h, 2); }

// Random block bytes with sane scales: every bit pattern of the quants is exercised (incl. -128 in
// Q8_0 and all 6-bit scale values), while d/dmin stay small positive halves so sums stay finite.
std::vector<uint8_t> random_row(GgmlType type, int64_t k, std::mt19937& rng) {
    const size_t rb = row_bytes(type, k);
    std::vector<uint8_t> row(rb);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f), pos(0.01f, 0.1f);
    if (type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16) {
        std::vector<float> f(static_cast<size_t>(k));
        for (auto& v : f) v = u(rng);
        EXPECT_TRUE(quantize_row(type, f.data(), row.data(), k).ok());
        return row;
    }
    for (auto& b : row) b = uint8_t(rng());
    const TypeTraits& tt = traits(type);
    for (int64_t b = 0; b < k / tt.block_elems; ++b) {
        uint8_t* blk = row.data() + b * tt.block_bytes;
        switch (type) {
            case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: put_f16(blk, pos(rng)); break;
            case GgmlType::Q4_1: case GgmlType::Q5_1: put_f16(blk, pos(rng)); put_f16(blk + 2, u(rng)); break;
            case GgmlType::Q2_K: put_f16(blk + 80, pos(rng)); put_f16(blk + 82, pos(rng)); break;
            case GgmlType::Q3_K: put_f16(blk + 108, pos(rng)); break;
            case GgmlType::Q4_K: case GgmlType::Q5_K: put_f16(blk, pos(rng)); put_f16(blk + 2, pos(rng)); break;
            case GgmlType::Q6_K: put_f16(blk + 208, pos(rng)); break;
            default: break;
        }
    }
    return row;
}

// The values an activation row stands for.
std::vector<float> act_values(ActKind kind, const uint8_t* a, int64_t k) {
    std::vector<float> v(static_cast<size_t>(k));
    if (kind == ActKind::F32) { std::memcpy(v.data(), a, size_t(k) * 4); return v; }
    const int blk = kind == ActKind::Q8_32 ? 32 : 256;
    for (int64_t i = 0; i < k; ++i) v[size_t(i)] = act_d(a, k)[i / blk] * float(act_qs(a)[i]);
    return v;
}

struct Case { GgmlType type; int64_t k; };

class KernelTest : public ::testing::TestWithParam<Case> {};

TEST_P(KernelTest, TileAndPanelMatchReference) {
    const Case c = GetParam();
    const int64_t k = c.k;
    const int rows = 7;  // odd: exercises the partial row tiles
    std::mt19937 rng(1234 + int(c.type));
    std::vector<std::vector<uint8_t>> w;
    for (int r = 0; r < rows; ++r) w.push_back(random_row(c.type, k, rng));
    const size_t ws = w[0].size();
    std::vector<uint8_t> wall(ws * rows);
    for (int r = 0; r < rows; ++r) std::memcpy(wall.data() + r * ws, w[size_t(r)].data(), ws);
    std::vector<std::vector<float>> wf(rows, std::vector<float>(size_t(k)));
    for (int r = 0; r < rows; ++r) dequantize_row(c.type, w[size_t(r)].data(), wf[size_t(r)].data(), k);

    for (IsaLevel isa : available_levels()) {
        const MatKernel* mk = mat_kernel(c.type, isa);
        ASSERT_NE(mk, nullptr);
        for (int nt : {1, 2, 3, 5, 9, 17, 33}) {
            SCOPED_TRACE(std::string(mk->name) + " tokens=" + std::to_string(nt) + " k=" + std::to_string(k));
            std::normal_distribution<float> nd(0.0f, 1.0f);
            std::vector<float> x(size_t(nt) * k);
            for (auto& v : x) v = nd(rng);
            const size_t xs = act_row_bytes(mk->act, k);
            std::vector<uint8_t> xa(size_t(nt) * xs + 64);
            uint8_t* xp = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(xa.data()) + 63) & ~uintptr_t(63));
            for (int t = 0; t < nt; ++t) {
                if (mk->act == ActKind::F32) std::memcpy(xp + t * xs, x.data() + t * k, size_t(k) * 4);
                else mk->quant(x.data() + t * k, xp + t * xs, k);
            }
            // reference in double, and the magnitude sum|w_i a_i| the tolerance scales with, from
            // the values token t's activations stand for (act(t))
            std::vector<double> ref(size_t(nt) * rows), mag(size_t(nt) * rows);
            auto reference = [&](const std::function<std::vector<float>(int)>& act) {
                for (int t = 0; t < nt; ++t) {
                    const std::vector<float> av = act(t);
                    for (int r = 0; r < rows; ++r) {
                        double s = 0, m = 0;
                        for (int64_t i = 0; i < k; ++i) {
                            s += double(wf[size_t(r)][size_t(i)]) * av[size_t(i)];
                            m += std::fabs(double(wf[size_t(r)][size_t(i)]) * av[size_t(i)]);
                        }
                        ref[size_t(t) * rows + r] = s;
                        mag[size_t(t) * rows + r] = m;
                    }
                }
            };
            reference([&](int t) { return act_values(mk->act, xp + t * xs, k); });
            auto check = [&](const std::vector<float>& y, const char* path) {
                for (int t = 0; t < nt; ++t)
                    for (int r = 0; r < rows; ++r) {
                        // Float accumulation of per-block products (and the offset/min terms, which
                        // cancel against the main sum): 2e-5 of sum|w a| is ~100x the observed error
                        // and far below what any indexing or scale mistake produces.
                        const double tol = 2e-5 * mag[size_t(t) * rows + r] + 1e-5;
                        EXPECT_NEAR(y[size_t(t) * rows + r], ref[size_t(t) * rows + r], tol)
                            << path << " row " << r << " token " << t;
                    }
            };
            // generation tiles, in the largest shapes the kernel takes
            std::vector<float> y(size_t(nt) * rows, NAN);
            for (int t0 = 0; t0 < nt; t0 += mk->max_toks)
                for (int r0 = 0; r0 < rows; r0 += mk->max_rows) {
                    const int tn = std::min(mk->max_toks, nt - t0), rn = std::min(mk->max_rows, rows - r0);
                    mk->tile(k, wall.data() + r0 * ws, ws, rn, xp + t0 * xs, xs, tn, y.data() + t0 * rows + r0, rows);
                }
            check(y, "tile");
            if (mk->gemm_rows) {
                // The GEMM path packs its own activations (Q8x8: Q8_32's quantization), so its
                // reference uses those values; rows = 7 and these token counts exercise the
                // padding rows and the partial token groups (8 or 16 tokens a group).
                std::vector<uint8_t> q8(act_row_bytes(ActKind::Q8_32, k));
                reference([&](int t) {
                    if (mk->gemm_act != GemmAct::Q8x8) return std::vector<float>(x.begin() + t * k, x.begin() + (t + 1) * k);
                    quantize_act_q8_32_scalar(x.data() + t * k, q8.data(), k);
                    return act_values(ActKind::Q8_32, q8.data(), k);
                });
                std::vector<uint8_t> packed(gemm_act_bytes(mk->gemm_act, k, nt) + 64);
                uint8_t* pk = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(packed.data()) + 63) & ~uintptr_t(63));
                const int64_t groups = (nt + gemm_group(mk->gemm_act) - 1) / gemm_group(mk->gemm_act);
                gemm_pack(mk->gemm_act, reinterpret_cast<const uint8_t*>(x.data()), size_t(k) * 4, k, nt, 0, groups, pk);
                std::vector<uint8_t> scr(mk->gemm_scratch(k, nt) + 64);
                uint8_t* sp = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scr.data()) + 63) & ~uintptr_t(63));
                std::vector<float> y2(size_t(nt) * rows, NAN);
                ASSERT_LE(rows, mk->gemm_rows_max);
                mk->gemm_rows(k, wall.data(), ws, rows, pk, nt, y2.data(), rows, sp);
                check(y2, "gemm");
            }
        }
    }
}

std::string case_name(const ::testing::TestParamInfo<Case>& i) {
    return std::string(type_name(i.param.type)) + "_k" + std::to_string(i.param.k);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KernelTest,
    ::testing::Values(Case{GgmlType::F32, 67}, Case{GgmlType::F32, 416}, Case{GgmlType::F16, 67}, Case{GgmlType::F16, 416},
                      Case{GgmlType::BF16, 67}, Case{GgmlType::BF16, 416},
                      Case{GgmlType::Q4_0, 416}, Case{GgmlType::Q4_1, 416}, Case{GgmlType::Q5_0, 416},
                      Case{GgmlType::Q5_1, 416}, Case{GgmlType::Q8_0, 416}, Case{GgmlType::Q8_0, 32},
                      Case{GgmlType::Q2_K, 768}, Case{GgmlType::Q3_K, 768}, Case{GgmlType::Q4_K, 768},
                      Case{GgmlType::Q5_K, 768}, Case{GgmlType::Q6_K, 768}, Case{GgmlType::Q4_K, 256}),
    case_name);

// Q4_0, Q4_1, Q8_0, Q4_K and Q6_K repacked 8 rows at a time: the generation kernel and the GEMM path over the
// packed layout give what the file-layout kernels give for the same rows (same activations, same
// block sums in another order: float-rounding differences only).
class RepackedX8 : public ::testing::TestWithParam<GgmlType> {};

TEST_P(RepackedX8, MatchesFileLayoutKernels) {
    if (!cpu_features().has_avx2_set()) GTEST_SKIP() << "CPU has no AVX2+FMA+F16C";
    const GgmlType type = GetParam();
    const MatKernel* mk = mat_kernel(type, IsaLevel::Avx2);
    ASSERT_TRUE(mk->repack_x8 && mk->gemv_x8 && mk->gemm_rows_x8);
    std::mt19937 rng(99);
    const int64_t k = (type == GgmlType::Q4_K || type == GgmlType::Q6_K) ? 768 : 416, rows = 16;
    const size_t xws = mk->repack_bytes ? mk->repack_bytes(k) / 8 : row_bytes(type, k);
    std::vector<uint8_t> w, packed(size_t(rows) * xws);
    for (int r = 0; r < rows; ++r) { const auto row = random_row(type, k, rng); w.insert(w.end(), row.begin(), row.end()); }
    const size_t ws = row_bytes(type, k);
    for (int g = 0; g < rows / 8; ++g) mk->repack_x8(k, w.data() + g * 8 * ws, ws, packed.data() + g * 8 * xws);
    const int nt = 11;
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(size_t(nt) * k);
    for (auto& v : x) v = nd(rng);
    const size_t xs = act_row_bytes(mk->act, k);
    std::vector<uint8_t> xa(size_t(nt) * xs);
    for (int t = 0; t < nt; ++t) mk->quant(x.data() + t * k, xa.data() + t * xs, k);
    auto near = [](float a, float b) { return std::fabs(a - b) <= 1e-4f * (1.0f + std::fabs(b)); };
    // generation: gemv_x8 vs the file-layout tile, token by token
    for (int t = 0; t < nt; ++t)
        for (int g = 0; g < rows / 8; ++g) {
            float got[8], want[8];
            mk->gemv_x8(k, packed.data() + g * 8 * xws, xa.data() + t * xs, got);
            for (int r = 0; r < 8; r += mk->max_rows)
                mk->tile(k, w.data() + (g * 8 + r) * ws, ws, std::min(mk->max_rows, 8 - r), xa.data() + t * xs, xs, 1, want + r, 8);
            for (int r = 0; r < 8; ++r) EXPECT_PRED2(near, got[r], want[r]) << "token " << t << " row " << g * 8 + r;
        }
    // several tokens: the AVX-512 level's gemv_x16_n (two groups at once, AVX-512 VNNI) equals the
    // AVX2 gemv_x8_n on each group bit for bit, for 1..11 tokens (a pass of 8 and the rest)
    const MatKernel* m512 = best_isa() >= IsaLevel::Avx512 ? mat_kernel(type, IsaLevel::Avx512) : nullptr;
    if (m512 && m512->gemv_x16_n) {
        ASSERT_TRUE(mk->gemv_x8_n);
        for (int n = 1; n <= nt; ++n) {
            std::vector<float> y8(size_t(n) * rows, NAN), y16(size_t(n) * rows, NAN);
            for (int g = 0; g < rows / 8; ++g) mk->gemv_x8_n(k, packed.data() + g * 8 * xws, xa.data(), xs, n, y8.data() + g * 8, rows);
            m512->gemv_x16_n(k, packed.data(), 8 * xws, xa.data(), xs, n, y16.data(), rows);
            for (size_t i = 0; i < y8.size(); ++i) ASSERT_EQ(y8[i], y16[i]) << n << " tokens, element " << i;
        }
        std::printf("%s: %s checked against gemv_x8_n\n", std::string(type_name(type)).c_str(), m512->name);
    } else if (type == GgmlType::Q4_0 || type == GgmlType::Q4_1 || type == GgmlType::Q8_0) {
        std::printf("%s gemv_x16_n: not checked here (no AVX-512 VNNI, or HEARTH_CPU_ISA below avx512)\n", std::string(type_name(type)).c_str());
    }
    // prompt batch: gemm_rows_x8 vs gemm_rows (13 rows: a partial group of 8 too)
    std::vector<uint8_t> pk(gemm_act_bytes(mk->gemm_act, k, nt) + 64), scr(mk->gemm_scratch(k, nt) + 64);
    uint8_t* pkp = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(pk.data()) + 63) & ~uintptr_t(63));
    uint8_t* sp = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scr.data()) + 63) & ~uintptr_t(63));
    gemm_pack(mk->gemm_act, reinterpret_cast<const uint8_t*>(x.data()), size_t(k) * 4, k, nt, 0, (nt + 7) / 8, pkp);
    const int nr = 13;
    std::vector<float> y1(size_t(nt) * nr, NAN), y2(size_t(nt) * nr, NAN);
    mk->gemm_rows(k, w.data(), ws, nr, pkp, nt, y1.data(), nr, sp);
    mk->gemm_rows_x8(k, packed.data(), xws, nr, pkp, nt, y2.data(), nr, sp);
    for (size_t i = 0; i < y1.size(); ++i) EXPECT_EQ(y1[i], y2[i]) << "element " << i;  // the same panel: bit-identical
}

INSTANTIATE_TEST_SUITE_P(Types, RepackedX8, ::testing::Values(GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K),
                         [](const auto& i) { return std::string(type_name(i.param)); });

// The AVX2 activation quantizers compute exactly what the scalar ones do (same max, same product,
// round-to-nearest-even), so they must agree bit for bit.
TEST(ActQuant, Avx2MatchesScalarBitForBit) {
    if (!cpu_features().has_avx2_set()) GTEST_SKIP() << "CPU has no AVX2+FMA+F16C";
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 3.0f);
    for (int64_t k : {32, 96, 256, 768, 2048}) {
        std::vector<float> x(static_cast<size_t>(k));
        for (auto& v : x) v = nd(rng);
        x[5] = 0.0f;
        if (k >= 64) std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // an all-zero block: d = 0
        for (ActKind kind : {ActKind::Q8_32, ActKind::Q8_K}) {
            if (kind == ActKind::Q8_K && k % 256) continue;
            const size_t n = act_row_bytes(kind, k);
            std::vector<uint8_t> a(n, 0), b(n, 0);
            if (kind == ActKind::Q8_32) { quantize_act_q8_32_scalar(x.data(), a.data(), k); quantize_act_q8_32_avx2(x.data(), b.data(), k); }
            else { quantize_act_q8_K_scalar(x.data(), a.data(), k); quantize_act_q8_K_avx2(x.data(), b.data(), k); }
            EXPECT_EQ(0, std::memcmp(a.data(), b.data(), n)) << "k=" << k << " kind=" << int(kind);
        }
    }
}

// The 8-bit activations agree with ggml's q8_0/q8_K reference quantizers (quant.h): the same
// integers up to one step (ggml rounds half away from zero, and stores q8_0's d as F16), and the
// values they stand for within half a quantization step.
TEST(ActQuant, AgreesWithReferenceQuantizers) {
    std::mt19937 rng(11);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int64_t k = 512;
    std::vector<float> x(static_cast<size_t>(k));
    for (auto& v : x) v = nd(rng);
    // Q8_32 vs Q8_0
    std::vector<uint8_t> mine(act_row_bytes(ActKind::Q8_32, k)), ref(row_bytes(GgmlType::Q8_0, k));
    quantize_act_q8_32_scalar(x.data(), mine.data(), k);
    ASSERT_TRUE(quantize_row(GgmlType::Q8_0, x.data(), ref.data(), k).ok());
    std::vector<float> rv(static_cast<size_t>(k));
    dequantize_row(GgmlType::Q8_0, ref.data(), rv.data(), k);
    for (int64_t i = 0; i < k; ++i) {
        const auto* blk = reinterpret_cast<const block_q8_0*>(ref.data()) + i / 32;
        EXPECT_LE(std::abs(int(act_qs(mine.data())[i]) - int(blk->qs[i % 32])), 1) << i;
        const float d = act_d(mine.data(), k)[i / 32];
        EXPECT_EQ(d, f16_to_f32(blk->d)) << "the scale is ggml's F16 scale";
        // half a step, plus the F16 rounding of the scale over up to 127 steps (127 * 2^-11 d)
        EXPECT_NEAR(d * act_qs(mine.data())[i], x[size_t(i)], 0.5625f * d + 1e-7f);
        EXPECT_NEAR(d * act_qs(mine.data())[i], rv[size_t(i)], 1.01f * d + 2e-3f * std::fabs(rv[size_t(i)]));
    }
    // s = d * sum(qs)
    for (int64_t b = 0; b < k / 32; ++b) {
        int s = 0;
        for (int i = 0; i < 32; ++i) s += act_qs(mine.data())[32 * b + i];
        EXPECT_FLOAT_EQ(act_s(mine.data(), k)[b], act_d(mine.data(), k)[b] * float(s));
    }
    // Q8_K layout: bsums are the sums of each 16 quants
    std::vector<uint8_t> mk(act_row_bytes(ActKind::Q8_K, k));
    quantize_act_q8_K_scalar(x.data(), mk.data(), k);
    for (int64_t g = 0; g < k / 16; ++g) {
        int s = 0;
        for (int i = 0; i < 16; ++i) s += act_qs(mk.data())[16 * g + i];
        EXPECT_EQ(act_bsums(mk.data(), k)[g], s);
    }
    for (int64_t i = 0; i < k; ++i) {
        const float d = act_d(mk.data(), k)[i / 256];
        EXPECT_NEAR(d * act_qs(mk.data())[i], x[size_t(i)], 0.5f * d + 1e-7f);
    }
}

// The attention primitives over an F16 tile (what a decode step's rows use) give exactly what
// converting the tile and running the F32 ones gives (what a prompt's rows use): batch invariance
// rests on it. Every level, head sizes 64..256, 1..32 cells (the 4-cell groups and the rest).
TEST(VecOps, F16TilesEqualConvertedTilesBitForBit) {
    std::vector<const VecOps*> levels = {&vec_ops_scalar()};
    if (cpu_features().has_avx2_set()) levels.push_back(&vec_ops_avx2());
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (const VecOps* vo : levels)
        for (int hd : {64, 80, 128, 256})
            for (int cnt : {1, 3, 4, 7, 32}) {
                std::vector<float> q(static_cast<size_t>(hd)), kf(size_t(cnt) * hd), vf(size_t(cnt) * hd), p(static_cast<size_t>(cnt));
                std::vector<f16_t> kh(kf.size()), vh(vf.size());
                for (auto& x : q) x = nd(rng);
                for (size_t i = 0; i < kh.size(); ++i) kh[i] = f32_to_f16(nd(rng)), vh[i] = f32_to_f16(nd(rng));
                for (auto& x : p) x = std::fabs(nd(rng));
                vo->from_f16(kh.data(), kf.data(), int64_t(kh.size()));
                vo->from_f16(vh.data(), vf.data(), int64_t(vh.size()));
                std::vector<float> s1(static_cast<size_t>(cnt)), s2(static_cast<size_t>(cnt));
                vo->attn_scores(q.data(), kf.data(), hd, cnt, 0.125f, s1.data());
                vo->attn_scores_f16(q.data(), kh.data(), hd, cnt, 0.125f, s2.data());
                for (int j = 0; j < cnt; ++j) ASSERT_EQ(s1[size_t(j)], s2[size_t(j)]) << "hd " << hd << " cnt " << cnt;
                std::vector<float> a1(static_cast<size_t>(hd), 0.5f), a2(static_cast<size_t>(hd), 0.5f);
                vo->attn_pv(a1.data(), 0.75f, p.data(), vf.data(), hd, cnt);
                vo->attn_pv_f16(a2.data(), 0.75f, p.data(), vh.data(), hd, cnt);
                for (int i = 0; i < hd; ++i) ASSERT_EQ(a1[size_t(i)], a2[size_t(i)]) << "hd " << hd << " cnt " << cnt;
            }
}

TEST(CpuFeatures, DetectsAndDescribes) {
    const auto& f = cpu_features();
    EXPECT_FALSE(f.describe().empty());
    // An AVX-512 level implies AVX2; the chosen level never exceeds what the CPU has.
    if (f.has_avx512_set()) EXPECT_TRUE(f.has_avx2_set());
    const IsaLevel l = best_isa();
    if (!f.has_avx2_set()) EXPECT_EQ(l, IsaLevel::Scalar);
}

}  // namespace
