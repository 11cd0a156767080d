// Importance-weighted quantization (quantize --imatrix): on random rows and on a tiny random model,
// the weighted rounding lowers the importance-weighted squared error against plain rounding, it is
// deterministic (same bytes on every run and thread count), and bad weights are clear errors.
// Byte-for-byte agreement with llama-quantize --imatrix is checked outside CI on SmolLM2 (needs
// llama.cpp; tests/bench/README.md, "Importance-weighted quantization").
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "engine/gguf/gguf.h"
#include "engine/quant/quant.h"
#include "engine/quant/quantize_model.h"
#include "engine/testmodels/random_model.h"

using namespace hearth;

namespace {

// Importances spread over three orders of magnitude (log-normal), as real activation statistics are:
// a few columns matter far more than the rest, which is what the weighting exploits.
std::vector<float> random_importance(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::lognormal_distribution<float> d(0.0f, 1.5f);
    std::vector<float> w(n);
    for (auto& v : w) v = d(rng);
    return w;
}

std::vector<float> random_row(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.05f);
    std::vector<float> x(n);
    for (auto& v : x) v = d(rng);
    return x;
}

double weighted_error(GgmlType t, const std::vector<float>& x, const std::vector<uint8_t>& q, const float* w) {
    std::vector<float> y(x.size());
    dequantize_row(t, q.data(), y.data(), int64_t(x.size()));
    double e = 0;
    for (size_t k = 0; k < x.size(); ++k) e += double(w[k]) * double(x[k] - y[k]) * double(x[k] - y[k]);
    return e;
}

const GgmlType kWeighted[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                              GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

TEST(QuantImportance, LowersWeightedErrorOnRandomRows) {
    const int64_t n = 1024;  // 4 K-blocks, 32 small blocks per row
    for (GgmlType t : kWeighted) {
        ASSERT_TRUE(uses_importance(t)) << type_name(t);
        double plain_total = 0, weighted_total = 0;
        for (uint32_t row = 0; row < 16; ++row) {
            const auto x = random_row(size_t(n), 100 + row);
            const auto w = random_importance(size_t(n), 200 + row);
            std::vector<uint8_t> qp(row_bytes(t, n)), qw(row_bytes(t, n)), qw2(row_bytes(t, n));
            ASSERT_TRUE(quantize_row(t, x.data(), qp.data(), n).ok());
            ASSERT_TRUE(quantize_row_weighted(t, x.data(), qw.data(), n, w.data()).ok());
            ASSERT_TRUE(quantize_row_weighted(t, x.data(), qw2.data(), n, w.data()).ok());
            EXPECT_EQ(qw, qw2) << type_name(t) << ": weighted rounding must be deterministic";
            plain_total += weighted_error(t, x, qp, w.data());
            weighted_total += weighted_error(t, x, qw, w.data());
        }
        // Summed over 16 rows the weighted search must win clearly. The margin (at least 5% lower) is
        // far below what it achieves on these log-normal weights (30-55% lower), so it does not
        // hinge on float details, yet a weighting that is ignored or inverted fails it.
        std::printf("%-5s weighted / plain importance-weighted error: %.3f\n", std::string(type_name(t)).c_str(), weighted_total / plain_total);
        EXPECT_LT(weighted_total, 0.95 * plain_total) << type_name(t) << " weighted " << weighted_total << " plain " << plain_total;
    }
}

TEST(QuantImportance, NullOrUnweightedTypeIsPlainRounding) {
    const int64_t n = 256;
    const auto x = random_row(size_t(n), 7);
    const auto w = random_importance(size_t(n), 8);
    for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::F16}) {
        std::vector<uint8_t> a(row_bytes(t, n)), b(row_bytes(t, n));
        ASSERT_TRUE(quantize_row(t, x.data(), a.data(), n).ok());
        // Q8_0 and F16 ignore the weights (as llama.cpp does); a null pointer means plain rounding.
        const float* imp = t == GgmlType::Q4_K ? nullptr : w.data();
        ASSERT_TRUE(quantize_row_weighted(t, x.data(), b.data(), n, imp).ok());
        EXPECT_EQ(a, b) << type_name(t);
    }
}

TEST(QuantImportance, BadWeightsAreErrors) {
    const int64_t n = 256;
    const auto x = random_row(size_t(n), 9);
    auto w = random_importance(size_t(n), 10);
    std::vector<uint8_t> q(row_bytes(GgmlType::Q4_K, n));
    w[17] = -1.0f;
    EXPECT_FALSE(quantize_row_weighted(GgmlType::Q4_K, x.data(), q.data(), n, w.data()).ok());
    w[17] = NAN;
    EXPECT_FALSE(quantize_row_weighted(GgmlType::Q4_K, x.data(), q.data(), n, w.data()).ok());
    w[17] = 1.0f;
    EXPECT_FALSE(quantize_row_weighted(GgmlType::Q4_K, x.data(), q.data(), 100, w.data()).ok());  // not whole blocks
}

std::vector<char> slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

// A tiny random llama (rows of 256 and 512 so Q4_K and Q6_K apply, not only their fallbacks),
// quantized as Q4_K_M with and without importance weights for every matrix.
TEST(QuantImportance, TinyModelQ4KM) {
    const auto dir = std::filesystem::temp_directory_path();
    const std::string tag = std::to_string(::getpid());
    const std::string src = (dir / ("hearth_imq_src_" + tag + ".gguf")).string();
    const std::string plain = (dir / ("hearth_imq_plain_" + tag + ".gguf")).string();
    const std::string w1 = (dir / ("hearth_imq_w1_" + tag + ".gguf")).string();
    const std::string w3 = (dir / ("hearth_imq_w3_" + tag + ".gguf")).string();
    RandomModelShape shape;
    shape.n_embd = 256;
    shape.n_ff = 512;
    shape.n_head = 4;
    shape.n_kv_head = 2;
    shape.n_layer = 2;
    ASSERT_TRUE(write_random_llama_model(src, shape, GgmlType::F32, 42).ok());

    auto in = gguf::File::open(src);
    ASSERT_TRUE(in.ok()) << in.message();
    quant::ImportanceMap imp;
    uint32_t seed = 1;
    for (const auto& t : (*in)->tensors()) {
        if (t.dims.size() == 2 && t.name.find("blk.") == 0) imp[t.name] = random_importance(size_t(t.ne(0)), seed++);
    }
    ASSERT_FALSE(imp.empty());

    quant::QuantizeOptions opts;
    opts.preset = *quant::preset_from_name("Q4_K_M");
    opts.threads = 1;
    ASSERT_TRUE(quant::quantize_model(src, plain, opts).ok());
    opts.importance = &imp;
    ASSERT_TRUE(quant::quantize_model(src, w1, opts).ok());
    opts.threads = 3;
    ASSERT_TRUE(quant::quantize_model(src, w3, opts).ok());
    EXPECT_EQ(slurp(w1), slurp(w3)) << "the weighted output must not depend on the thread count";

    auto fp = gguf::File::open(plain);
    auto fw = gguf::File::open(w1);
    ASSERT_TRUE(fp.ok() && fw.ok());
    int compared = 0;
    for (const auto& [name, w] : imp) {
        const gguf::TensorInfo* s = (*in)->tensor(name);
        const gguf::TensorInfo* p = (*fp)->tensor(name);
        const gguf::TensorInfo* q = (*fw)->tensor(name);
        ASSERT_TRUE(s && p && q) << name;
        ASSERT_EQ(p->type, q->type) << name << ": the imatrix must not change the Q4_K_M plan";
        if (!uses_importance(q->type)) continue;
        const int64_t n = s->ne(0), rows = s->n_elements() / n;
        const size_t rb = row_bytes(q->type, n);
        double ep = 0, ew = 0;
        for (int64_t r = 0; r < rows; ++r) {
            const float* x0 = reinterpret_cast<const float*>(s->data) + r * n;
            const std::vector<float> x(x0, x0 + n);
            ep += weighted_error(q->type, x, std::vector<uint8_t>(p->data + r * rb, p->data + (r + 1) * rb), w.data());
            ew += weighted_error(q->type, x, std::vector<uint8_t>(q->data + r * rb, q->data + (r + 1) * rb), w.data());
        }
        // Per matrix (64 to 512 rows) the same 5% margin as on the random rows.
        std::printf("%-28s %-5s weighted / plain: %.3f\n", name.c_str(), std::string(type_name(q->type)).c_str(), ew / ep);
        EXPECT_LT(ew, 0.95 * ep) << name << " (" << type_name(q->type) << ")";
        ++compared;
    }
    EXPECT_GE(compared, 10);
    for (const auto& p : {src, plain, w1, w3}) std::filesystem::remove(p);
}

TEST(QuantImportance, WrongLengthEntryIsAnError) {
    const auto dir = std::filesystem::temp_directory_path();
    const std::string tag = std::to_string(::getpid());
    const std::string src = (dir / ("hearth_imq_len_" + tag + ".gguf")).string();
    const std::string out = (dir / ("hearth_imq_len_out_" + tag + ".gguf")).string();
    RandomModelShape shape;
    ASSERT_TRUE(write_random_llama_model(src, shape, GgmlType::F32, 3).ok());
    quant::ImportanceMap imp;
    imp["blk.0.attn_q.weight"] = std::vector<float>(13, 1.0f);
    quant::QuantizeOptions opts;
    opts.preset = *quant::preset_from_name("Q4_0");
    opts.importance = &imp;
    auto r = quant::quantize_model(src, out, opts);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) EXPECT_NE(r.message().find("blk.0.attn_q.weight"), std::string::npos) << r.message();
    EXPECT_FALSE(std::filesystem::exists(out));
    std::filesystem::remove(src);
}

}  // namespace
