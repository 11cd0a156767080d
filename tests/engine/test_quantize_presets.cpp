// Quantizer presets: every tensor's type follows llama.cpp's per-tensor rules (llama_tensor_get_type
// in llama.cpp's src/llama-quant.cpp), checked on the Llama-3-8B shape that `hearth-cli make-model
// --shape llama-8b` writes, against a table written out here (not computed with the rule under test).
// The table was verified with `llama-quantize --dry-run` on a make-model llama-8b file (see
// tests/bench/README.md, "Quantizer presets"). The plan is what `quantize --dry-run` prints, so
// nothing of 8B size is written.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "engine/backend/reference/reference_backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/quant/quant.h"
#include "engine/quant/quantize_model.h"
#include "engine/testmodels/model_shapes.h"
#include "cli_run.h"
#include "tiny_model.h"

namespace hearth {
namespace {

using quant::ModelDesc;
using quant::Preset;

// The tensors make-model writes for a shape (write_random_llama_model's manifest), all matrices `type`.
ModelDesc desc_of_shape(const RandomModelShape& s, GgmlType type) {
    auto tensors = random_model_tensor_descs(s, type);
    EXPECT_TRUE(tensors.ok()) << tensors.message();
    ModelDesc d;
    d.arch = s.arch;
    d.n_layer = s.n_layer;
    d.n_head = s.n_head;
    d.n_head_kv = s.n_kv_head;
    if (tensors.ok()) d.tensors = *tensors;
    return d;
}

// llama.cpp's layers with "more bits" for 32 layers (use_more_bits: i < 4, i >= 28, (i - 4) % 3 == 2),
// written out by hand.
const std::set<int> kMoreBits32 = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};

// Expected type of a llama-8b tensor under a preset, from llama.cpp's rules for a model whose row
// lengths (4096, 14336) are all multiples of 256.
GgmlType expected_8b(const std::string& preset, const std::string& name) {
    if (name.find("norm") != std::string::npos) return GgmlType::F32;
    const auto T = [](const char* t) { return *type_from_name(t); };
    if (name == "output.weight") return preset == "Q8_0" ? T("Q8_0") : T("Q6_K");
    int layer = -1;
    std::sscanf(name.c_str(), "blk.%d.", &layer);
    const bool v_or_down = name.find("attn_v.weight") != std::string::npos || name.find("ffn_down") != std::string::npos;
    if (preset == "Q4_K_M") return v_or_down && kMoreBits32.count(layer) ? T("Q6_K") : T("Q4_K");
    if (preset == "Q5_K_M") return v_or_down && kMoreBits32.count(layer) ? T("Q6_K") : T("Q5_K");
    return T(preset.c_str());  // Q6_K, Q8_0, Q4_0: token_embd included (the output is not tied)
}

TEST(QuantizePresets, Llama8BShapeFollowsLlamaCppRules) {
    auto shape = named_model_shape("llama-8b");
    ASSERT_TRUE(shape.ok()) << shape.message();
    const ModelDesc d = desc_of_shape(*shape, GgmlType::F16);
    ASSERT_EQ(d.n_layer, 32);
    ASSERT_EQ(d.tensors.size(), 2u + 1u + 32u * 9u);  // token_embd, output_norm, output; 9 per layer
    for (const char* name : {"Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "Q4_0"}) {
        SCOPED_TRACE(name);
        auto preset = quant::preset_from_name(name);
        ASSERT_TRUE(preset.has_value());
        auto plan = quant::plan_quantization(d, *preset);
        ASSERT_TRUE(plan.ok()) << plan.message();
        ASSERT_EQ(plan->tensors.size(), d.tensors.size());
        int q6k = 0;
        for (const auto& t : plan->tensors) {
            EXPECT_EQ(type_name(t.to), type_name(expected_8b(name, t.name))) << t.name;
            EXPECT_FALSE(t.fell_back) << t.name;
            q6k += t.to == GgmlType::Q6_K;
        }
        EXPECT_EQ(plan->n_fallback, 0);
        // Q4_K_M / Q5_K_M: output + 16 attn_v + 16 ffn_down in Q6_K.
        if (std::string(name).find("_M") != std::string::npos) EXPECT_EQ(q6k, 33);
    }
}

TEST(QuantizePresets, MakeModelUsesThePresetPlan) {
    // `make-model --type Q4_K_M` stores each tensor as the quantizer would (one rule, not two).
    auto shape = named_model_shape("llama-8b");
    ASSERT_TRUE(shape.ok());
    for (const char* name : {"Q4_K_M", "Q4_0"}) {
        SCOPED_TRACE(name);
        auto base = apply_file_type(name, shape->n_layer, &*shape);
        ASSERT_TRUE(base.ok()) << base.message();
        ASSERT_TRUE(shape->tensor_type);
        for (const auto& t : desc_of_shape(*shape, *base).tensors) {
            if (t.dims.size() < 2) continue;
            EXPECT_EQ(type_name(shape->tensor_type(t.name, *base)), type_name(expected_8b(name, t.name))) << t.name;
        }
    }
}

TEST(QuantizePresets, RowLengthFallbacksAndTiedOutput) {
    // SmolLM2-135M's shape: n_embd 576 is not a multiple of 256, the output is tied to token_embd.
    // llama.cpp (verified with llama-quantize --dry-run on SmolLM2, tests/bench/README.md):
    // Q4_K -> Q5_0, Q6_K -> Q8_0 for 576-wide rows; ffn_down (1536 wide) keeps its K type;
    // token_embd, standing in for the output, is Q8_0 (576 % 256 != 0).
    RandomModelShape s;
    s.n_vocab = 49152;
    s.n_embd = 576;
    s.n_layer = 30;
    s.n_head = 9;
    s.n_kv_head = 3;
    s.n_ff = 1536;
    s.tied_output = true;
    const ModelDesc d = desc_of_shape(s, GgmlType::F16);
    struct Case { const char* preset; const char* v_more, *v_less, *down_more, *down_less, *q, *embd; };
    const Case cases[] = {
        {"Q4_K_M", "Q8_0", "Q5_0", "Q6_K", "Q4_K", "Q5_0", "Q8_0"},
        {"Q5_K_M", "Q8_0", "Q5_1", "Q6_K", "Q5_K", "Q5_1", "Q8_0"},
        {"Q6_K", "Q8_0", "Q8_0", "Q6_K", "Q6_K", "Q8_0", "Q8_0"},
        {"Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0"},
        {"Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q8_0"},
    };
    // use_more_bits for 30 layers: i < 3, i >= 26, (i - 3) % 3 == 2.
    const std::set<int> more = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29};
    for (const Case& c : cases) {
        SCOPED_TRACE(c.preset);
        auto plan = quant::plan_quantization(d, *quant::preset_from_name(c.preset));
        ASSERT_TRUE(plan.ok()) << plan.message();
        for (const auto& t : plan->tensors) {
            int layer = -1;
            std::sscanf(t.name.c_str(), "blk.%d.", &layer);
            std::string want;
            if (t.name.find("norm") != std::string::npos) want = "F32";
            else if (t.name == "token_embd.weight") want = c.embd;
            else if (t.name.find("attn_v.") != std::string::npos) want = more.count(layer) ? c.v_more : c.v_less;
            else if (t.name.find("ffn_down") != std::string::npos) want = more.count(layer) ? c.down_more : c.down_less;
            else want = c.q;
            EXPECT_EQ(std::string(type_name(t.to)), want) << t.name;
        }
    }
}

TEST(QuantizePresets, UnknownPresetIsAnError) {
    EXPECT_FALSE(quant::preset_from_name("Q3_K_M").has_value());
    EXPECT_TRUE(quant::preset_from_name("q4_k_m").has_value());
}

// Mixtures of experts under Q4_K_M, by llama.cpp's rules written out here: the router stays F32
// (tensor_allows_quantization), stacked experts take their dense namesakes' rules by layer
// (layer_info), and with exactly 8 experts (Mixtral) attn_v and attn_k are Q8_0 and attn_output
// Q5_K. 8 layers: use_more_bits gives layers 0, 3, 6, 7.
TEST(QuantizePresets, ExpertsFollowLlamaCppsRules) {
    const std::set<int> more = {0, 3, 6, 7};
    for (const int n_expert : {8, 16}) {
        SCOPED_TRACE(n_expert);
        RandomModelShape s;
        s.arch = n_expert == 8 ? "llama" : "qwen3moe";
        s.n_layer = 8;
        s.n_embd = 256;
        s.n_ff = 512;
        s.n_expert = n_expert;
        s.n_expert_used = 2;
        ModelDesc d = desc_of_shape(s, GgmlType::F32);
        d.n_expert = n_expert;
        auto plan = quant::plan_quantization(d, *quant::preset_from_name("Q4_K_M"));
        ASSERT_TRUE(plan.ok()) << plan.message();
        int stacked = 0;
        for (const auto& t : plan->tensors) {
            int layer = -1;
            std::sscanf(t.name.c_str(), "blk.%d.", &layer);
            const bool mixtral = n_expert == 8;
            auto has = [&](const char* part) { return t.name.find(part) != std::string::npos; };
            std::string want = "Q4_K";
            if (has("norm") || has("ffn_gate_inp")) want = "F32";
            else if (t.name == "output.weight") want = "Q6_K";
            else if (has("attn_v.") || has("attn_k.")) want = mixtral ? "Q8_0" : has("attn_v.") && more.count(layer) ? "Q6_K" : "Q4_K";
            else if (has("attn_output.")) want = mixtral ? "Q5_K" : "Q4_K";
            else if (has("ffn_down_exps")) want = more.count(layer) ? "Q6_K" : "Q4_K";
            stacked += has("_exps") && t.dims.size() == 3 && t.dims[2] == n_expert;
            EXPECT_EQ(std::string(type_name(t.to)), want) << t.name;
        }
        EXPECT_EQ(stacked, 3 * 8);
    }
}

// A small Qwen3-MoE quantized for real to Q4_K_M runs, and its logits stay near the F32 file's
// (every expert matrix quantized; 4-bit weights move these rms-1 logits by ~0.1, a wrong expert
// row layout would make them unrelated: correlation, not a tolerance on each value).
TEST(QuantizePresets, QuantizedExpertsStillRun) {
    RandomModelShape s;
    s.arch = "qwen3moe";
    s.n_layer = 2;
    s.n_embd = 256;
    s.n_ff = 512;
    s.n_ff_exp = 256;
    s.head_dim = 64;
    s.n_expert = 8;
    s.n_expert_used = 2;
    const std::string src = test::temp_file("moe_src.gguf"), out = test::temp_file("moe_q4km.gguf");
    ASSERT_TRUE(write_random_llama_model(src, s, GgmlType::F32, 11).ok());
    quant::QuantizeOptions opts;
    opts.preset = *quant::preset_from_name("Q4_K_M");
    opts.threads = 2;
    auto plan = quant::quantize_model(src, out, opts);
    ASSERT_TRUE(plan.ok()) << plan.message();
    auto be = create_reference_backend();
    std::vector<std::vector<float>> logits;
    for (const std::string& path : {src, out}) {
        auto f = gguf::File::open(path);
        ASSERT_TRUE(f.ok()) << f.message();
        auto m = Model::load(**f, *be);
        ASSERT_TRUE(m.ok()) << m.message();
        auto c = ModelContext::create(**m, 32, GgmlType::F32);
        ASSERT_TRUE(c.ok()) << c.message();
        const int32_t toks[6] = {1, 40, 80, 120, 160, 200};
        logits.emplace_back();
        ASSERT_TRUE((*c)->eval(toks, 6, 0, 6, &logits.back()).ok());
    }
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < logits[0].size(); ++i) {
        sab += double(logits[0][i]) * logits[1][i];
        saa += double(logits[0][i]) * logits[0][i];
        sbb += double(logits[1][i]) * logits[1][i];
    }
    const double corr = sab / std::sqrt(saa * sbb);
    std::printf("qwen3moe F32 vs Q4_K_M logits: correlation %.4f\n", corr);
    EXPECT_GT(corr, 0.95);
    std::filesystem::remove(src);
    std::filesystem::remove(out);
}

TEST(QuantizePresets, WritesThePlanAndCancelLeavesNoFile) {
    // A small model with 256-wide rows, quantized for real: every tensor of the file has the plan's
    // type and the bytes the reference quantizer gives for the source rows.
    RandomModelShape s;
    s.n_embd = 256;
    s.n_ff = 512;
    s.n_layer = 8;
    s.n_head = 4;
    s.n_kv_head = 2;
    const std::string src = test::temp_file("q_src.gguf"), out = test::temp_file("q_out.gguf");
    ASSERT_TRUE(write_random_llama_model(src, s, GgmlType::F32, 5).ok());
    quant::QuantizeOptions opts;
    opts.preset = *quant::preset_from_name("Q4_K_M");
    opts.threads = 2;
    int calls = 0;
    opts.progress = [&](const quant::TensorPlan&, int done, int total, size_t, size_t) { ++calls; EXPECT_LE(done, total); };
    auto plan = quant::quantize_model(src, out, opts);
    ASSERT_TRUE(plan.ok()) << plan.message();
    EXPECT_EQ(calls, int(plan->tensors.size()));
    auto in = gguf::File::open(src);
    auto f = gguf::File::open(out);
    ASSERT_TRUE(in.ok() && f.ok());
    EXPECT_EQ(*(*f)->get_int("general.file_type", 0), 15);
    for (size_t i = 0; i < plan->tensors.size(); ++i) {
        const auto& t = (*f)->tensors()[i];
        const auto& st = (*in)->tensors()[i];
        SCOPED_TRACE(t.name);
        EXPECT_EQ(t.type, plan->tensors[i].to);
        if (t.type == st.type) {
            EXPECT_EQ(std::memcmp(t.data, st.data, t.n_bytes), 0);
            continue;
        }
        std::vector<uint8_t> want(t.n_bytes);
        ASSERT_TRUE(quantize_row(t.type, reinterpret_cast<const float*>(st.data), want.data(), st.n_elements()).ok());
        EXPECT_EQ(std::memcmp(want.data(), t.data, t.n_bytes), 0);
    }
    std::filesystem::remove(out);

    std::atomic<bool> cancel{false};
    opts.cancel = &cancel;
    opts.progress = [&](const quant::TensorPlan&, int done, int, size_t, size_t) { if (done == 3) cancel = true; };
    auto cancelled = quant::quantize_model(src, out, opts);
    ASSERT_FALSE(cancelled.ok());
    EXPECT_NE(cancelled.message().find("cancelled"), std::string::npos) << cancelled.message();
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_FALSE(std::filesystem::exists(out + ".part"));
    std::filesystem::remove(src);
}

// make-model --distinct-rows (timing models): only the first N rows of each matrix are drawn, the
// rest repeat them; the file has the same tensors, types and size as a fully drawn one, its first
// matrix begins with the same rows (the same random stream), and it loads.
TEST(QuantizePresets, DistinctRowsRepeatTheDrawnRows) {
    RandomModelShape s;
    s.n_embd = 64;
    s.n_ff = 160;
    s.n_layer = 2;
    const int kDistinct = 7;  // divides none of the row counts: the last copy is partial
    const std::string full = test::temp_file("rows_full.gguf"), fast = test::temp_file("rows_fast.gguf");
    ASSERT_TRUE(write_random_llama_model(full, s, GgmlType::Q4_0, 9).ok());
    s.distinct_rows = kDistinct;
    ASSERT_TRUE(write_random_llama_model(fast, s, GgmlType::Q4_0, 9).ok());
    auto a = gguf::File::open(full);
    auto b = gguf::File::open(fast);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ((*a)->file_size(), (*b)->file_size());
    ASSERT_EQ((*a)->tensors().size(), (*b)->tensors().size());
    int matrices = 0;
    for (size_t i = 0; i < (*b)->tensors().size(); ++i) {
        const auto& ta = (*a)->tensors()[i];
        const auto& t = (*b)->tensors()[i];
        SCOPED_TRACE(t.name);
        EXPECT_EQ(t.name, ta.name);
        EXPECT_EQ(t.type, ta.type);
        EXPECT_EQ(t.dims, ta.dims);
        if (t.dims.size() != 2) continue;
        ++matrices;
        const int64_t rows = t.ne(1);
        const size_t rb = t.n_bytes / size_t(rows);
        ASSERT_GT(rows, kDistinct);
        for (int64_t r = kDistinct; r < rows; ++r)
            ASSERT_EQ(std::memcmp(t.data + size_t(r) * rb, t.data + size_t(r % kDistinct) * rb, rb), 0) << "row " << r;
        EXPECT_NE(std::memcmp(t.data, t.data + rb, rb), 0) << "the drawn rows differ from each other";
        if (i == 0) EXPECT_EQ(std::memcmp(t.data, ta.data, rb * kDistinct), 0) << "the first rows come from the same stream";
    }
    EXPECT_GE(matrices, 1 + 7 * s.n_layer);
    auto be = create_reference_backend();
    auto model = Model::load(**b, *be);
    ASSERT_TRUE(model.ok()) << model.message();
    std::filesystem::remove(full);
    std::filesystem::remove(fast);
}

TEST(QuantizePresets, CliDryRunListsTypesAndWritesNothing) {
    REQUIRE_CLI();
    RandomModelShape s;
    s.n_embd = 256;
    s.n_ff = 512;
    s.n_layer = 8;
    s.n_head = 4;
    s.n_kv_head = 2;
    const std::string src = test::temp_file("dry_src.gguf"), out = test::temp_file("dry_out.gguf");
    ASSERT_TRUE(write_random_llama_model(src, s, GgmlType::F16, 3).ok());
    auto r = cli::run("quantize " + src + " " + out + " Q4_K_M --dry-run");
    ASSERT_EQ(r.rc, 0) << r.out;
    // use_more_bits for 8 layers: 0, 3 (every third after the first eighth), 6, 7.
    for (const char* want : {"blk.0.attn_v.weight", "blk.3.ffn_down.weight", "blk.7.attn_v.weight"}) {
        const size_t at = r.out.find(want);
        ASSERT_NE(at, std::string::npos) << want << "\n" << r.out;
        EXPECT_NE(r.out.substr(at, r.out.find('\n', at) - at).find("-> Q6_K"), std::string::npos) << want;
    }
    const size_t at = r.out.find("blk.1.attn_v.weight");
    ASSERT_NE(at, std::string::npos);
    EXPECT_NE(r.out.substr(at, r.out.find('\n', at) - at).find("-> Q4_K"), std::string::npos);
    EXPECT_NE(r.out.find("nothing written"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(out));
    r = cli::run("quantize " + src + " Q4_K_M --dry-run");  // OUT may be left out
    EXPECT_EQ(r.rc, 0) << r.out;
    r = cli::run("quantize " + src + " " + out + " Q3_K_M");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("unknown preset 'Q3_K_M'; choose one of F16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K"), std::string::npos) << r.out;
    std::filesystem::remove(src);
}

}  // namespace
}  // namespace hearth
