// Model numerics against ../shared/testdata/reference (README there: formats and tolerances):
// logits of prompt positions 30-37 against the float64 `exact` answer, and llama.cpp's greedy
// continuation, on the reference backend. Plus hyperparameter/shape validation errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/backend/reference/reference_backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/testmodels/random_model.h"
#include "engine/quant/quant.h"
#include "engine/sampling/sampler.h"
#include "tests/engine/testdata.h"

using namespace hearth;

namespace {

// The shared reference models and their data files (tests/engine/testdata.h).
using test::read_f32;
using test::read_prompt;
using test::rms;
constexpr auto& kModels = test::kReferenceModels;
constexpr int kVocab = test::kReferenceVocab, kRows = test::kReferenceRows;

struct Loaded {
    std::unique_ptr<gguf::File> file;
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Model> model;
};

Loaded load(const std::string& path) {
    Loaded l;
    auto f = gguf::File::open(path);
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return l;
    l.file = std::move(*f);
    l.backend = create_reference_backend();
    auto m = Model::load(*l.file, *l.backend);
    EXPECT_TRUE(m.ok()) << m.message();
    if (m.ok()) l.model = std::move(*m);
    return l;
}

bool is_quantized(const std::string& name) { return name.find("f32") == std::string::npos; }

void check_logits(const std::string& dir, const std::string& name, GgmlType kv_type, double* max_err_out = nullptr) {
    Loaded l = load(dir + "/reference/" + name + ".gguf");
    ASSERT_TRUE(l.model);
    const auto prompt = read_prompt(dir);
    ASSERT_EQ(prompt.size(), 38u);
    const auto exact = read_f32(dir + "/reference/" + name + ".exact.f32");
    ASSERT_EQ(exact.size(), size_t(kRows) * kVocab);
    auto ctx = ModelContext::create(*l.model, 64, kv_type);
    ASSERT_TRUE(ctx.ok()) << ctx.message();
    std::vector<float> logits;
    Status st = (*ctx)->eval(prompt.data(), int(prompt.size()), 0, kRows, &logits);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_EQ(logits.size(), exact.size());
    double max_err = 0;
    for (size_t i = 0; i < exact.size(); ++i) max_err = std::max(max_err, std::fabs(double(logits[i]) - exact[i]));
    // Tolerances from the testdata README: F32 weights + F32 KV: 2e-3; exactly dequantized quantized
    // weights: 0.01 x rms(logits); with an F16 KV cache: 0.05 (the README's F16 bound, applied to every model).
    const double r = rms(exact);
    double tol = is_quantized(name) ? 0.01 * r : 2e-3;
    if (kv_type == GgmlType::F16) tol = 0.05;
    EXPECT_LE(max_err, tol) << name << " kv=" << type_name(kv_type) << " rms=" << r;
    std::printf("[ logits ] %-22s kv=%s max|d|=%.3g (tolerance %.3g, rms %.3g)\n", name.c_str(),
                std::string(type_name(kv_type)).c_str(), max_err, tol, r);
    if (max_err_out) *max_err_out = max_err;
}

}  // namespace

TEST(ModelReference, LogitsF32Kv) {
    HEARTH_REQUIRE_TESTDATA(dir);
    for (const char* name : kModels) {
        SCOPED_TRACE(name);
        check_logits(dir, name, GgmlType::F32);
    }
}

TEST(ModelReference, LogitsF16Kv) {
    HEARTH_REQUIRE_TESTDATA(dir);
    for (const char* name : kModels) {
        SCOPED_TRACE(name);
        check_logits(dir, name, GgmlType::F16);
    }
}

// Greedy decoding one token at a time (the KV-cache path) reproduces llama.cpp's continuation up to
// the first step whose top-2 margin is below 0.05 (F32 weights) or 0.5 (quantized weights).
TEST(ModelReference, GreedyMatchesLlamaCpp) {
    HEARTH_REQUIRE_TESTDATA(dir);
    for (const char* name : kModels) {
        SCOPED_TRACE(name);
        Loaded l = load(dir + "/reference/" + name + ".gguf");
        ASSERT_TRUE(l.model);
        std::vector<int> steps_tok;
        std::vector<double> margins;
        test::read_greedy(dir, name, steps_tok, margins);
        ASSERT_EQ(steps_tok.size(), 32u);
        const double min_margin = is_quantized(name) ? 0.5 : 0.05;
        auto prompt = read_prompt(dir);
        auto ctx = ModelContext::create(*l.model, 128, GgmlType::F32);
        ASSERT_TRUE(ctx.ok());
        std::vector<float> logits;
        ASSERT_TRUE((*ctx)->eval(prompt.data(), int(prompt.size()), 0, 1, &logits).ok());
        int pos = int(prompt.size()), compared = 0;
        for (size_t s = 0; s < steps_tok.size(); ++s) {
            if (margins[s] < min_margin) break;  // from here on either choice is correct
            const int32_t tok = argmax_token(logits.data(), kVocab);
            ASSERT_EQ(tok, steps_tok[s]) << "step " << s;
            ++compared;
            ASSERT_TRUE((*ctx)->eval(&tok, 1, pos++, 1, &logits).ok());
        }
        std::printf("[ greedy ] %-22s %d steps identical before the first small margin\n", name, compared);
        EXPECT_GT(compared, 0);
    }
}

// Batch splitting must not change results: the same prompt evaluated in batches of 5 tokens.
TEST(ModelReference, SmallBatchesGiveSameLogits) {
    HEARTH_REQUIRE_TESTDATA(dir);
    Loaded l = load(dir + "/reference/ref-qwen2-tied-f32.gguf");
    ASSERT_TRUE(l.model);
    auto prompt = read_prompt(dir);
    auto a = ModelContext::create(*l.model, 64, GgmlType::F32);
    auto b = ModelContext::create(*l.model, 64, GgmlType::F32, 5);
    ASSERT_TRUE(a.ok() && b.ok());
    std::vector<float> la, lb;
    ASSERT_TRUE((*a)->eval(prompt.data(), 38, 0, 8, &la).ok());
    ASSERT_TRUE((*b)->eval(prompt.data(), 38, 0, 8, &lb).ok());
    ASSERT_EQ(la.size(), lb.size());
    double m = 0;
    for (size_t i = 0; i < la.size(); ++i) m = std::max(m, std::fabs(double(la[i]) - lb[i]));
    EXPECT_LE(m, 1e-4);
}

// ---- validation errors, on small models written by the project's own writer

namespace {

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("hearth_test_model_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Rewrites `src` with `edit` applied to the list of tensors (drop / reshape) and returns the error of loading it.
std::string load_error_after(const std::string& src, const std::function<void(gguf::Writer&, const gguf::File&)>& build) {
    auto f = gguf::File::open(src);
    if (!f.ok()) return "cannot open source: " + f.message();
    gguf::Writer w;
    build(w, **f);
    const std::string out = temp_path("edited.gguf");
    if (Status s = w.write(out); !s.ok()) return "write failed: " + s.message();
    auto g = gguf::File::open(out);
    if (!g.ok()) return "reopen failed: " + g.message();
    auto be = create_reference_backend();
    auto m = Model::load(**g, *be);
    std::filesystem::remove(out);
    return m.ok() ? std::string() : m.message();
}

}  // namespace

TEST(ModelValidation, MissingAndMisshapedTensorsAreNamed) {
    const std::string src = temp_path("base.gguf");
    RandomModelShape shape;
    ASSERT_TRUE(write_random_llama_model(src, shape, GgmlType::F32, 7).ok());

    std::string err = load_error_after(src, [](gguf::Writer& w, const gguf::File& f) {
        w.copy_metadata_from(f);
        for (const auto& t : f.tensors())
            if (t.name != "blk.1.ffn_up.weight") (void)w.add_tensor(t.name, t.type, t.dims, t.data, t.n_bytes, true);
    });
    EXPECT_NE(err.find("blk.1.ffn_up.weight"), std::string::npos) << err;
    EXPECT_NE(err.find("missing"), std::string::npos) << err;

    err = load_error_after(src, [](gguf::Writer& w, const gguf::File& f) {
        w.copy_metadata_from(f);
        for (const auto& t : f.tensors()) {
            auto dims = t.dims;
            if (t.name == "blk.0.attn_k.weight") std::swap(dims[0], dims[1]);
            (void)w.add_tensor(t.name, t.type, dims, t.data, t.n_bytes, true);
        }
    });
    EXPECT_NE(err.find("blk.0.attn_k.weight"), std::string::npos) << err;
    EXPECT_NE(err.find("shape"), std::string::npos) << err;

    err = load_error_after(src, [](gguf::Writer& w, const gguf::File& f) {
        for (const auto& [k, v] : f.metadata())
            if (k != "llama.block_count") w.set_value(k, v);
        for (const auto& t : f.tensors()) (void)w.add_tensor(t.name, t.type, t.dims, t.data, t.n_bytes, true);
    });
    EXPECT_NE(err.find("llama.block_count"), std::string::npos) << err;

    err = load_error_after(src, [](gguf::Writer& w, const gguf::File& f) {
        w.copy_metadata_from(f);
        w.set_string("general.architecture", "mamba");
        for (const auto& t : f.tensors()) (void)w.add_tensor(t.name, t.type, t.dims, t.data, t.n_bytes, true);
    });
    EXPECT_NE(err.find("mamba"), std::string::npos) << err;
    std::filesystem::remove(src);
}

TEST(ModelValidation, TokenOutsideVocabularyIsAnError) {
    const std::string src = temp_path("vocab.gguf");
    RandomModelShape shape;
    ASSERT_TRUE(write_random_llama_model(src, shape, GgmlType::Q8_0, 3).ok());
    Loaded l = load(src);
    ASSERT_TRUE(l.model);
    auto ctx = ModelContext::create(*l.model, 32, GgmlType::F16);
    ASSERT_TRUE(ctx.ok());
    int32_t bad[2] = {1, 100000};
    Status s = (*ctx)->eval(bad, 2, 0, 1, nullptr);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("100000"), std::string::npos) << s.message();
    int32_t ok[1] = {5};
    EXPECT_FALSE((*ctx)->eval(ok, 1, 32, 1, nullptr).ok()) << "position past n_ctx must fail";
    std::filesystem::remove(src);
}

// Every weight type goes through get_rows/matmul as exactly its dequantized values: a model stored
// as TYPE gives the same logits as the same model with its weights dequantized to F32.
TEST(ModelTypes, EveryWeightTypeEqualsItsDequantizedF32Model) {
    const std::string src = temp_path("types.gguf"), f32 = temp_path("types_f32.gguf");
    RandomModelShape shape;
    shape.n_embd = 256;
    shape.n_ff = 256;
    shape.n_head = 8;
    shape.n_kv_head = 2;
    shape.n_layer = 1;
    shape.n_vocab = 300;
    for (GgmlType type : {GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q5_K,
                          GgmlType::Q6_K}) {
        SCOPED_TRACE(std::string(type_name(type)));
        ASSERT_TRUE(write_random_llama_model(src, shape, type, 17).ok());
        auto f = gguf::File::open(src);
        ASSERT_TRUE(f.ok());
        bool saw_type = false;
        gguf::Writer w;
        w.copy_metadata_from(**f);
        for (const auto& t : (*f)->tensors()) {
            saw_type |= t.type == type;
            std::vector<float> v(static_cast<size_t>(t.n_elements()));
            dequantize_row(t.type, t.data, v.data(), t.n_elements());
            ASSERT_TRUE(w.add_tensor(t.name, GgmlType::F32, t.dims, v.data(), v.size() * 4).ok());
        }
        ASSERT_TRUE(saw_type);
        ASSERT_TRUE(w.write(f32).ok());
        Loaded a = load(src), b = load(f32);
        ASSERT_TRUE(a.model && b.model);
        auto ca = ModelContext::create(*a.model, 32, GgmlType::F32);
        auto cb = ModelContext::create(*b.model, 32, GgmlType::F32);
        std::vector<int32_t> toks = {1, 40, 299, 41, 7, 150, 260, 261};
        std::vector<float> la, lb;
        ASSERT_TRUE((*ca)->eval(toks.data(), 8, 0, 2, &la).ok());
        ASSERT_TRUE((*cb)->eval(toks.data(), 8, 0, 2, &lb).ok());
        double m = 0;
        for (size_t i = 0; i < la.size(); ++i) m = std::max(m, std::fabs(double(la[i]) - lb[i]));
        EXPECT_LE(m, 1e-5);
    }
    std::filesystem::remove(src);
    std::filesystem::remove(f32);
}
