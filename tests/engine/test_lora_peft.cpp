// PEFT adapter folders (adapter_config.json + adapter_model.safetensors) read by
// LoraAdapter::open_peft, against PEFT over transformers in float32:
// - the shared adapters (../shared/testdata/hf-models/*/lora/NAME/) at scales 1 and 0.5 and two
//   together, on the reference, CPU and Vulkan backends, and their A/B pairs against llama.cpp's
//   own conversion of the same adapters (lora/NAME.gguf: llama's q/k rows permuted by its converter);
// - adapters the shared data lacks (tests/engine/data/lora, tools/fixtures/make_lora_peft_fixtures.py):
//   rsLoRA on llama and qwen2, k-only on llama;
// - the GGUF export (rsLoRA folded into alpha) re-read by open_gguf, and hearth-cli export-lora;
// - an adapter on Phi-3's fused q/k/v and gate/up matrices, attached as one term per slot, against
//   the same adapter merged into the weights;
// - every refused feature, each by a small folder written here, and mutated configs and weights.
// Tolerance 2e-3 on logits of rms ~5, as test_lora.cpp and for the same reasons (F32 weights on
// every backend here: no 8-bit activations; PEFT sums in another order); a wrong scale or a missing
// permutation moves logits by 0.5-4 (peft_fixtures.json: max_abs_logit_change_vs_base).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <map>
#include <random>

#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "engine/lora/lora_export.h"
#include "engine/lora/lora_targets.h"
#include "engine/model/manifest.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/quant/fp16.h"
#include "engine/safetensors/safetensors.h"
#include "engine/testmodels/random_model.h"
#include "engine/util/json.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/lora_base.h"
#include "tests/engine/safetensors_image.h"
#include "tests/engine/testdata.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;
using json::Value;
using test::Base;
using test::last8;
using test::max_diff;
using test::open_base;
namespace fs = std::filesystem;

namespace {

constexpr const char* kBackends[] = {"reference", "cpu", "vulkan"};

Result<std::unique_ptr<LoraAdapter>> open_for(const Base& b, const std::string& dir) {
    return LoraAdapter::open_peft(dir, b.model->hparams().arch, b.model->hparams().head_dim);
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
}

// A PEFT folder of our own under the temp directory: `config` and the safetensors bytes.
struct TempFolder {
    std::string dir;
    explicit TempFolder(const std::string& name) : dir(test::temp_file(name)) {
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~TempFolder() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    void write(const Value& config, const std::string& weights) const {
        write_text(dir + "/adapter_config.json", config.dump(2));
        write_text(dir + "/adapter_model.safetensors", weights);
    }
};

// The shared tiny-llama q/v adapter's config and weights, the material of the refusal folders.
struct QvMaterial {
    Value config;
    std::string weights;
};
QvMaterial qv_material(const std::string& data) {
    QvMaterial m;
    auto c = json::parse_file(data + "/hf-models/tiny-llama/lora/qv-r16/adapter_config.json");
    EXPECT_TRUE(c.ok()) << c.message();
    if (c.ok()) m.config = *c;
    m.weights = test::read_file(data + "/hf-models/tiny-llama/lora/qv-r16/adapter_model.safetensors");
    return m;
}

// A copy of `config` with `key` set to `v`.
Value with(Value config, const std::string& key, Value v) {
    Value c = Value::object();
    for (const auto& [k, old] : config.as_object()) c.set(k, old);
    c.set(key, std::move(v));
    return c;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

}  // namespace

// ---- the shared adapters, in their PEFT form ----------------------------------------------------

class PeftFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(PeftFixture, PeftFoldersMatchPeft) {
    HEARTH_REQUIRE_TESTDATA(data);
    const std::string dir = data + "/hf-models/" + GetParam();
    for (const char* backend : kBackends) {
        SCOPED_TRACE(backend);
        Base b = open_base(dir, backend);
        if (std::string(backend) == "vulkan" && !b.be) {
            std::printf("[ skip part ] no Vulkan device\n");
            continue;
        }
        ASSERT_TRUE(b.ctx);
        const std::vector<float> base = last8(b);
        for (const auto& [name, ad] : b.expected["adapters"].as_object()) {
            auto adapter = open_for(b, dir + "/lora/" + name);
            ASSERT_TRUE(adapter.ok()) << adapter.message();
            for (const char* scale : {"1", "0.5"}) {
                ASSERT_TRUE(b.ctx->attach_lora(**adapter, std::stof(scale)).ok());
                const double d = max_diff(last8(b), test::read_f32(dir + "/" + ad["logits_scale" + std::string(scale)].as_string()));
                EXPECT_LT(d, 2e-3) << name << " at scale " << scale;
                std::printf("%s %-9s PEFT folder %s scale %-3s: max |d| against PEFT %.2e\n", GetParam(), backend,
                            name.c_str(), scale, d);
                b.ctx->detach_loras();
                EXPECT_EQ(max_diff(last8(b), base), 0.0) << "detaching " << name;
            }
        }
        if (const Value* comb = b.expected.find("combined")) {
            std::vector<std::unique_ptr<LoraAdapter>> held;
            for (const Value& n : (*comb)["adapters"].as_array()) {
                auto adapter = open_for(b, dir + "/lora/" + n.as_string());
                ASSERT_TRUE(adapter.ok()) << adapter.message();
                ASSERT_TRUE(b.ctx->attach_lora(**adapter, 1.0f).ok());
                held.push_back(std::move(*adapter));
            }
            const double d = max_diff(last8(b), test::read_f32(dir + "/" + (*comb)["logits"].as_string()));
            EXPECT_LT(d, 2e-3);
            std::printf("%s %-9s both PEFT folders: max |d| against PEFT %.2e\n", GetParam(), backend, d);
            b.ctx->detach_loras();
        }
    }
}

// The pairs read from each PEFT folder are llama.cpp's conversion of it, value for value: the same
// targets and shapes, the same alpha, and (llama) the same q/k row permutation of B.
TEST_P(PeftFixture, PairsEqualLlamaCppConversion) {
    HEARTH_REQUIRE_TESTDATA(data);
    const std::string dir = data + "/hf-models/" + GetParam();
    Base b = open_base(dir, "reference");
    ASSERT_TRUE(b.ctx);
    for (const auto& [name, ad] : b.expected["adapters"].as_object()) {
        SCOPED_TRACE(name);
        auto peft = open_for(b, dir + "/lora/" + name);
        ASSERT_TRUE(peft.ok()) << peft.message();
        auto gguf = LoraAdapter::open_gguf(dir + "/lora/" + name + ".gguf");
        ASSERT_TRUE(gguf.ok()) << gguf.message();
        EXPECT_EQ((*peft)->alpha(), (*gguf)->alpha());
        ASSERT_EQ((*peft)->pairs().size(), (*gguf)->pairs().size());
        std::map<std::string, const LoraPair*> by_target;
        for (const LoraPair& p : (*gguf)->pairs()) by_target[p.target] = &p;
        for (const LoraPair& p : (*peft)->pairs()) {
            ASSERT_TRUE(by_target.count(p.target)) << p.target;
            const LoraPair& g = *by_target[p.target];
            for (auto [x, y] : {std::pair{&p.a, &g.a}, std::pair{&p.b, &g.b}}) {
                ASSERT_EQ(x->rows, y->rows) << x->name;
                ASSERT_EQ(x->cols, y->cols) << x->name;
                ASSERT_EQ(x->type, GgmlType::F32);
                ASSERT_EQ(y->type, GgmlType::F32);
                EXPECT_EQ(std::memcmp(x->data, y->data, x->n_bytes), 0) << x->name << " differs from " << y->name;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(HfModels, PeftFixture, ::testing::Values("tiny-llama", "tiny-qwen2"));

// ---- adapters the shared data lacks: rsLoRA, k only -----------------------------------------------

TEST(LoraPeft, RsloraAndKAdaptersMatchPeft) {
    HEARTH_REQUIRE_TESTDATA(data);
    auto summary = json::parse_file(test::fixture_path("lora/peft_fixtures.json"));
    ASSERT_TRUE(summary.ok()) << summary.message();
    for (const char* backend : kBackends) {
        SCOPED_TRACE(backend);
        for (const auto& [name, info] : summary->as_object()) {
            SCOPED_TRACE(name);
            Base b = open_base(data + "/hf-models/" + info["model"].as_string(), backend);
            if (std::string(backend) == "vulkan" && !b.be) {
                std::printf("[ skip part ] no Vulkan device\n");
                break;
            }
            ASSERT_TRUE(b.ctx);
            const std::string dir = test::fixture_path(("lora/" + name).c_str());
            auto adapter = open_for(b, dir);
            ASSERT_TRUE(adapter.ok()) << adapter.message();
            const double r = double(info["r"].as_int()), alpha = info["alpha"].as_double();
            // rsLoRA: alpha/√r, held as alpha·√r over r.
            const double want_scale = info["rslora"].as_bool() ? alpha / std::sqrt(r) : alpha / r;
            EXPECT_NEAR((*adapter)->pair_scale((*adapter)->pairs().front()), want_scale, 1e-6);
            ASSERT_TRUE(b.ctx->attach_lora(**adapter, 1.0f).ok());
            const double d = max_diff(last8(b), test::read_f32(dir + "/logits.scale1.f32"));
            EXPECT_LT(d, 2e-3);
            std::printf("%-9s %s: max |d| against PEFT %.2e\n", backend, name.c_str(), d);
        }
    }
}

// fan_in_fan_out names how the base weight is stored; lora_A/lora_B are [r, n_in] / [n_out, r]
// either way (peft turns the flag off for nn.Linear targets), so the flag changes nothing read.
TEST(LoraPeft, FanInFanOutReadsTheSameMatrices) {
    HEARTH_REQUIRE_TESTDATA(data);
    const QvMaterial m = qv_material(data);
    TempFolder f("peft_fifo");
    f.write(with(m.config, "fan_in_fan_out", true), m.weights);
    auto flagged = LoraAdapter::open_peft(f.dir, "llama", 64);
    ASSERT_TRUE(flagged.ok()) << flagged.message();
    auto plain = LoraAdapter::open_peft(data + "/hf-models/tiny-llama/lora/qv-r16", "llama", 64);
    ASSERT_TRUE(plain.ok()) << plain.message();
    ASSERT_EQ((*flagged)->pairs().size(), (*plain)->pairs().size());
    for (size_t i = 0; i < (*plain)->pairs().size(); ++i) {
        const LoraPair &x = (*flagged)->pairs()[i], &y = (*plain)->pairs()[i];
        EXPECT_EQ(x.target, y.target);
        EXPECT_EQ(std::memcmp(x.b.data, y.b.data, y.b.n_bytes), 0);
    }
}

// ---- export ------------------------------------------------------------------------------------

// The rsLoRA adapter written as a GGUF adapter: llama.cpp's alpha/r rule on the file gives PEFT's
// logits (alpha written = lora_alpha·√r), and the file is llama.cpp's form.
TEST(LoraPeft, ExportedRsloraGivesPeftLogits) {
    HEARTH_REQUIRE_TESTDATA(data);
    Base b = open_base(data + "/hf-models/tiny-llama", "reference");
    ASSERT_TRUE(b.ctx);
    const std::string dir = test::fixture_path("lora/tiny-llama-rslora-qv-r16");
    auto adapter = open_for(b, dir);
    ASSERT_TRUE(adapter.ok()) << adapter.message();
    ASSERT_TRUE(match_lora_targets(**adapter, b.model->hparams(), model_manifest(b.model->arch(), b.model->hparams())).ok());
    const std::string out = test::temp_file("rslora.gguf");
    ASSERT_TRUE(export_lora_gguf(**adapter, out).ok());
    {
        auto f = gguf::File::open(out);
        ASSERT_TRUE(f.ok()) << f.message();
        EXPECT_EQ(*(*f)->get_string("general.type"), "adapter");
        EXPECT_EQ(*(*f)->get_string("adapter.type"), "lora");
        EXPECT_NEAR(*(*f)->get_float("adapter.lora.alpha", 0), 6.0 * 4.0, 1e-5);  // lora_alpha 6, √16
        const gguf::TensorInfo* a = (*f)->tensor("blk.0.attn_q.weight.lora_a");
        ASSERT_NE(a, nullptr);
        EXPECT_EQ(a->dims, (std::vector<int64_t>{256, 16}));
        const gguf::TensorInfo* bq = (*f)->tensor("blk.0.attn_q.weight.lora_b");
        ASSERT_NE(bq, nullptr);
        EXPECT_EQ(bq->dims, (std::vector<int64_t>{16, 256}));
    }
    auto reread = LoraAdapter::open_gguf(out);
    ASSERT_TRUE(reread.ok()) << reread.message();
    ASSERT_TRUE(b.ctx->attach_lora(**reread, 1.0f).ok());
    const double d = max_diff(last8(b), test::read_f32(dir + "/logits.scale1.f32"));
    EXPECT_LT(d, 2e-3);
    std::printf("exported rsLoRA re-read as GGUF: max |d| against PEFT %.2e\n", d);
    std::remove(out.c_str());
}

TEST(LoraPeft, CliExportLora) {
    HEARTH_REQUIRE_TESTDATA(data);
    const std::string cli = HEARTH_CLI_PATH;
    if (!fs::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli;
    const std::string base = data + "/hf-models/tiny-llama/base-f32.gguf";
    const std::string out = test::temp_file("cli_k.gguf");
    const std::string dir = test::fixture_path("lora/tiny-llama-k-r8");
    ASSERT_EQ(std::system((cli + " export-lora -m " + base + " --lora " + dir + " -o " + out + " > /dev/null").c_str()), 0);
    auto exported = LoraAdapter::open_gguf(out);
    ASSERT_TRUE(exported.ok()) << exported.message();
    auto direct = LoraAdapter::open_peft(dir, "llama", 64);
    ASSERT_TRUE(direct.ok()) << direct.message();
    ASSERT_EQ((*exported)->pairs().size(), (*direct)->pairs().size());
    EXPECT_EQ((*exported)->alpha(), (*direct)->alpha());
    for (size_t i = 0; i < (*direct)->pairs().size(); ++i)
        EXPECT_EQ(std::memcmp((*exported)->pairs()[i].b.data, (*direct)->pairs()[i].b.data, (*direct)->pairs()[i].b.n_bytes), 0);
    std::remove(out.c_str());
    // An adapter for another base is refused, naming why; nothing is written.
    const std::string qwen = data + "/hf-models/tiny-qwen2/lora/all-r8.gguf";
    ASSERT_NE(std::system((cli + " export-lora -m " + base + " --lora " + qwen + " -o " + out + " 2> /dev/null").c_str()), 0);
    EXPECT_FALSE(fs::exists(out));
}

// ---- fused matrices (Phi-3) --------------------------------------------------------------------

// A random Phi-3 (attn_qkv, and ffn_up holding gate and up) with an adapter on both fused matrices
// of every layer: attached unmerged (one term per slot: the same A, B's rows of that slot) it must
// give the logits of the model with the adapter merged into the weights, W + (alpha/r)·B·A.
// The PEFT form of the same adapter (qkv_proj, gate_up_proj) reads to the same pairs.
// Tolerance 1e-3: both F32, sums in different orders over a 64-wide model (logits rms ~1).
TEST(LoraPeft, FusedMatricesGetOneTermPerSlot) {
    const std::string base_path = test::temp_file("phi3_base.gguf"), merged_path = test::temp_file("phi3_merged.gguf"),
                      lora_path = test::temp_file("phi3_lora.gguf");
    RandomModelShape shape;
    shape.arch = "phi3";
    shape.n_embd = 64;
    shape.n_head = 4;
    shape.n_kv_head = 4;
    shape.n_ff = 96;
    shape.sliding_window = 64;
    ASSERT_TRUE(write_random_llama_model(base_path, shape, GgmlType::F32, 3).ok());
    auto base_file = gguf::File::open(base_path);
    ASSERT_TRUE(base_file.ok()) << base_file.message();

    const int r = 4;
    const float alpha = 8.0f;
    std::mt19937 rng(9);
    struct Fused { std::string target, module; int64_t n_in, n_out; std::vector<float> a, b; int layer; };
    std::vector<Fused> fused;
    for (int l = 0; l < shape.n_layer; ++l) {
        fused.push_back({"blk." + std::to_string(l) + ".attn_qkv.weight", "self_attn.qkv_proj", 64, 3 * 64, {}, {}, l});
        fused.push_back({"blk." + std::to_string(l) + ".ffn_up.weight", "mlp.gate_up_proj", 64, 2 * 96, {}, {}, l});
    }
    gguf::Writer lw;
    lw.set_string("general.architecture", "phi3");
    lw.set_string("general.type", "adapter");
    lw.set_string("adapter.type", "lora");
    lw.set_f32("adapter.lora.alpha", alpha);
    std::vector<test::StTensor> st;
    for (Fused& f : fused) {
        f.a = random_floats(size_t(r * f.n_in), rng, 0.2f);
        f.b = random_floats(size_t(f.n_out * r), rng, 0.2f);
        ASSERT_TRUE(lw.add_tensor(f.target + ".lora_a", GgmlType::F32, {f.n_in, r}, f.a.data(), f.a.size() * 4).ok());
        ASSERT_TRUE(lw.add_tensor(f.target + ".lora_b", GgmlType::F32, {r, f.n_out}, f.b.data(), f.b.size() * 4).ok());
        const std::string prefix = "base_model.model.model.layers." + std::to_string(f.layer) + "." + f.module;
        st.push_back({prefix + ".lora_A.weight", "F32", {r, f.n_in}, test::f32_bytes(f.a)});
        st.push_back({prefix + ".lora_B.weight", "F32", {f.n_out, r}, test::f32_bytes(f.b)});
    }
    ASSERT_TRUE(lw.write(lora_path).ok());

    // The merged model: every tensor copied, the fused ones with (alpha/r)·B·A added.
    gguf::Writer mw;
    mw.copy_metadata_from(**base_file);
    std::vector<std::vector<float>> keep;
    for (const gguf::TensorInfo& t : (*base_file)->tensors()) {
        ASSERT_EQ(t.type, GgmlType::F32);
        std::vector<float> w(size_t(t.n_elements()));
        std::memcpy(w.data(), t.data, t.n_bytes);
        for (const Fused& f : fused) {
            if (f.target != t.name) continue;
            for (int64_t o = 0; o < f.n_out; ++o)
                for (int64_t i = 0; i < f.n_in; ++i) {
                    double s = 0;
                    for (int k = 0; k < r; ++k) s += double(f.b[size_t(o * r + k)]) * f.a[size_t(k * f.n_in + i)];
                    w[size_t(o * f.n_in + i)] += float(alpha / r * s);
                }
        }
        keep.push_back(std::move(w));
        ASSERT_TRUE(mw.add_tensor(t.name, t.type, t.dims, keep.back().data(), t.n_bytes, true).ok());
    }
    ASSERT_TRUE(mw.write(merged_path).ok());

    TempFolder peft("peft_phi3");
    Value cfg = Value::object();
    cfg.set("peft_type", "LORA");
    cfg.set("r", r);
    cfg.set("lora_alpha", double(alpha));
    Value targets = Value::array();
    targets.push_back("qkv_proj");
    targets.push_back("gate_up_proj");
    cfg.set("target_modules", targets);
    peft.write(cfg, test::safetensors_image(st));

    const std::vector<int32_t> prompt = {1, 17, 42, 99, 7, 250, 3, 64, 128, 5};
    auto logits_of = [&](const std::string& model_path, Backend& be, const LoraAdapter* ad) {
        std::vector<float> out;
        auto f = gguf::File::open(model_path);
        EXPECT_TRUE(f.ok()) << f.message();
        if (!f.ok()) return out;
        auto m = Model::load(**f, be);
        EXPECT_TRUE(m.ok()) << m.message();
        if (!m.ok()) return out;
        auto c = ModelContext::create(**m, 64, GgmlType::F32, 16);
        EXPECT_TRUE(c.ok()) << c.message();
        if (!c.ok()) return out;
        if (ad) {
            Status st = (*c)->attach_lora(*ad, 1.0f);
            EXPECT_TRUE(st.ok()) << st.message();
        }
        EXPECT_TRUE((*c)->eval(prompt.data(), int(prompt.size()), 0, int(prompt.size()), &out).ok());
        return out;
    };
    auto gguf_adapter = LoraAdapter::open_gguf(lora_path);
    ASSERT_TRUE(gguf_adapter.ok()) << gguf_adapter.message();
    auto peft_adapter = LoraAdapter::open_peft(peft.dir, "phi3");
    ASSERT_TRUE(peft_adapter.ok()) << peft_adapter.message();
    for (const char* backend : kBackends) {
        SCOPED_TRACE(backend);
        std::unique_ptr<Backend> owned;
        Backend* be = test::host_test_backend(backend, &owned);
        if (!be) {
            std::printf("[ skip part ] no Vulkan device\n");
            continue;
        }
        const std::vector<float> merged = logits_of(merged_path, *be, nullptr);
        const std::vector<float> base = logits_of(base_path, *be, nullptr);
        const std::vector<float> from_gguf = logits_of(base_path, *be, gguf_adapter->get());
        const std::vector<float> from_peft = logits_of(base_path, *be, peft_adapter->get());
        const double d = max_diff(from_gguf, merged), moved = max_diff(base, merged);
        EXPECT_GT(moved, 0.1) << "the adapter must change the logits for this test to mean anything";
        EXPECT_LT(d, 1e-3);
        EXPECT_EQ(max_diff(from_peft, from_gguf), 0.0);
        std::printf("phi3 fused %-9s: unmerged vs merged max |d| %.2e (the adapter moves logits by %.2f)\n", backend, d, moved);
    }
    std::remove(base_path.c_str());
    std::remove(merged_path.c_str());
    std::remove(lora_path.c_str());
}

// A random Phi-3 with a PEFT adapter on its fused matrices (qkv_proj, gate_up_proj) and on o/down
// (tests/engine/data/lora/tiny-phi3, tools/fixtures/make_lora_phi3_fixture.py): the PEFT folder and
// llama.cpp's GGUF of it both give PEFT's logits on every backend. Needs no shared data.
TEST(LoraPeft, Phi3FusedAdapterMatchesPeft) {
    const std::string dir = test::fixture_path("lora/tiny-phi3");
    auto expected = json::parse_file(dir + "/expected.json");
    ASSERT_TRUE(expected.ok()) << expected.message();
    std::vector<int32_t> prompt;
    for (const Value& v : (*expected)["prompt_ids"].as_array()) prompt.push_back(int32_t(v.as_int()));
    auto file = gguf::File::open(dir + "/base-f32.gguf");
    ASSERT_TRUE(file.ok()) << file.message();
    const std::vector<float> want_base = test::read_f32(dir + "/fused-r4/logits.base.f32");
    const std::vector<float> want = test::read_f32(dir + "/fused-r4/logits.scale1.f32");
    for (const char* backend : kBackends) {
        SCOPED_TRACE(backend);
        std::unique_ptr<Backend> owned;
        Backend* be = test::host_test_backend(backend, &owned);
        if (!be) {
            std::printf("[ skip part ] no Vulkan device\n");
            continue;
        }
        auto m = Model::load(**file, *be);
        ASSERT_TRUE(m.ok()) << m.message();
        auto c = ModelContext::create(**m, 64, GgmlType::F32, 16);
        ASSERT_TRUE(c.ok()) << c.message();
        auto last8_of = [&] {
            std::vector<float> out;
            EXPECT_TRUE((*c)->eval(prompt.data(), int(prompt.size()), 0, 8, &out).ok());
            return out;
        };
        const double d_base = max_diff(last8_of(), want_base);
        EXPECT_LT(d_base, 2e-3);
        auto peft = LoraAdapter::open_peft(dir + "/fused-r4", "phi3");
        ASSERT_TRUE(peft.ok()) << peft.message();
        auto gguf = LoraAdapter::open_gguf(dir + "/fused-r4.gguf");
        ASSERT_TRUE(gguf.ok()) << gguf.message();
        for (const LoraAdapter* ad : {peft->get(), gguf->get()}) {
            Status st = (*c)->attach_lora(*ad, 1.0f);
            ASSERT_TRUE(st.ok()) << st.message();
            const double d = max_diff(last8_of(), want);
            EXPECT_LT(d, 2e-3) << ad->path();
            std::printf("tiny-phi3 %-9s %s: max |d| against PEFT %.2e (base %.2e)\n", backend,
                        ad == peft->get() ? "PEFT folder" : "llama.cpp GGUF", d, d_base);
            (*c)->detach_loras();
        }
    }
}

// ---- refusals ----------------------------------------------------------------------------------

// Each feature we do not apply, in a folder of its own: refused, with a message naming it.
TEST(LoraPeft, UnsupportedFeaturesAreRefusedByName) {
    HEARTH_REQUIRE_TESTDATA(data);
    const QvMaterial m = qv_material(data);
    ASSERT_FALSE(m.weights.empty());
    Value layers = Value::array();
    layers.push_back(0);
    Value modules = Value::array();
    modules.push_back("lm_head");
    Value pattern = Value::object();
    pattern.set("q_proj", 8);
    Value lm_targets = Value::array();
    lm_targets.push_back("q_proj");
    lm_targets.push_back("lm_head");
    struct Case { const char* key; Value value; const char* message; };
    const std::vector<Case> cases = {
        {"use_dora", true, "DoRA (use_dora)"},
        {"modules_to_save", modules, "modules_to_save"},
        {"rank_pattern", pattern, "rank_pattern"},
        {"alpha_pattern", pattern, "alpha_pattern"},
        {"bias", "all", "trained biases (bias = \"all\")"},
        {"bias", "lora_only", "trained biases (bias = \"lora_only\")"},
        {"lora_bias", true, "lora_bias"},
        {"layers_to_transform", layers, "layers_to_transform"},
        {"layers_to_transform", 0, "layers_to_transform"},
        {"target_modules", ".*\\.(q|v)_proj", "target_modules is a regular expression"},
        {"target_modules", "all-linear", "target_modules is a regular expression"},
        {"target_modules", lm_targets, "adapters on embeddings and lm_head are not supported"},
        {"peft_type", "LOHA", "PEFT method 'LOHA' is not supported"},
        {"kasa_config", pattern, "KaSA (kasa_config)"},
        {"arrow_config", pattern, "Arrow routing (arrow_config)"},
        {"r", 8, "disagree with r = 8"},
        {"r", -1, "not a positive rank"},
        {"lora_alpha", "x", "not a positive number"},
        {"use_rslora", "yes", "use_rslora is not true or false"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(std::string(c.key) + " = " + c.value.dump());
        TempFolder f("peft_refuse");
        f.write(with(m.config, c.key, c.value), m.weights);
        auto ad = LoraAdapter::open_peft(f.dir, "llama", 64);
        ASSERT_FALSE(ad.ok());
        EXPECT_NE(ad.message().find(c.message), std::string::npos) << ad.message();
    }
    // No peft_type at all.
    {
        TempFolder f("peft_notype");
        Value c = Value::object();
        for (const auto& [k, v] : m.config.as_object())
            if (k != "peft_type") c.set(k, v);
        f.write(c, m.weights);
        auto ad = LoraAdapter::open_peft(f.dir, "llama", 64);
        ASSERT_FALSE(ad.ok());
        EXPECT_NE(ad.message().find("no peft_type"), std::string::npos) << ad.message();
    }
}

// Tensors we do not run, or that do not make a pair, each in a folder of its own (the q/v config:
// r 16, target_modules q_proj and v_proj).
TEST(LoraPeft, UnsupportedTensorsAreRefusedByName) {
    HEARTH_REQUIRE_TESTDATA(data);
    const QvMaterial m = qv_material(data);
    const std::string pre = "base_model.model.model.layers.0.";
    const test::StTensor qa{pre + "self_attn.q_proj.lora_A.weight", "F32", {16, 256}, test::f32_bytes(std::vector<float>(16 * 256, 0.01f))};
    const test::StTensor qb{pre + "self_attn.q_proj.lora_B.weight", "F32", {256, 16}, test::f32_bytes(std::vector<float>(256 * 16, 0.01f))};
    auto t = [](std::string name, std::vector<int64_t> shape) {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return test::StTensor{std::move(name), "F32", shape, test::f32_bytes(std::vector<float>(size_t(n), 0.5f))};
    };
    struct Case { std::vector<test::StTensor> tensors; const char* message; };
    const std::vector<Case> cases = {
        {{qa, qb, t("base_model.model.model.embed_tokens.lora_embedding_A", {16, 8})}, "lora_embedding_A/B"},
        {{qa, qb, t(pre + "self_attn.k_proj.lora_A.weight", {16, 256}), t(pre + "self_attn.k_proj.lora_B.weight", {128, 16})},
         "is not in target_modules"},
        {{qa, qb, t("base_model.model.lm_head.lora_A.weight", {16, 256})}, "not in a layer of the language model"},
        {{qa, qb, t("base_model.model.model.vision_tower.encoder.layers.0.self_attn.q_proj.lora_A.weight", {16, 256})},
         "not in a layer of the language model"},
        {{qa, qb, t("base_model.model.lm_head.weight", {8, 256})}, "not a LoRA A or B matrix"},
        {{qa, t(pre + "self_attn.q_proj.lora_B.weight", {256, 8})}, "ranks of A (16) and B (8) disagree"},
        {{qa}, "has lora_A but no lora_B"},
        {{qa, qb, t(pre + "self_attn.q_proj.lora_B.bias", {256})}, "lora_bias"},
        {{qa, qb, t(pre + "self_attn.q_proj.lora_magnitude_vector", {256})}, "DoRA"},
        {{qa, qb, t(pre + "self_attn.rotary_emb.lora_A.weight", {16, 256})}, "not a projection an adapter can target"},
        {{qa, t(pre + "self_attn.q_proj.lora_B.weight", {256, 16, 1})}, "not a 2-D matrix"},
        {{}, "has no LoRA tensors"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.message);
        TempFolder f("peft_tensors");
        f.write(m.config, test::safetensors_image(c.tensors));
        auto ad = LoraAdapter::open_peft(f.dir, "llama", 64);
        ASSERT_FALSE(ad.ok());
        EXPECT_NE(ad.message().find(c.message), std::string::npos) << ad.message();
    }
    // An adapter-name segment (lora_A.default.weight) and F16/BF16 storage are read, as F32.
    {
        TempFolder f("peft_named");
        std::string a16, b16;
        for (int i = 0; i < 16 * 256; ++i) {
            const uint16_t h = f32_to_f16(0.25f).bits, b = f32_to_bf16(-0.5f).bits;
            a16.append(reinterpret_cast<const char*>(&h), 2);
            b16.append(reinterpret_cast<const char*>(&b), 2);
        }
        f.write(m.config, test::safetensors_image({{pre + "self_attn.v_proj.lora_A.default.weight", "F16", {16, 256}, a16},
                                                   {pre + "self_attn.v_proj.lora_B.default.weight", "BF16", {256, 16}, b16}}));
        auto ad = LoraAdapter::open_peft(f.dir, "llama", 64);
        ASSERT_TRUE(ad.ok()) << ad.message();
        ASSERT_EQ((*ad)->pairs().size(), 1u);
        const LoraPair& p = (*ad)->pairs()[0];
        EXPECT_EQ(p.target, "blk.0.attn_v.weight");
        ASSERT_EQ(p.a.type, GgmlType::F32);
        EXPECT_EQ(static_cast<const float*>(p.a.data)[100], 0.25f);
        EXPECT_EQ(static_cast<const float*>(p.b.data)[100], -0.5f);
    }
    // The folder itself: a pickle only, no config, another architecture; llama q/k without a head size.
    {
        TempFolder f("peft_bin");
        write_text(f.dir + "/adapter_config.json", m.config.dump());
        write_text(f.dir + "/adapter_model.bin", "PK pickle");
        auto ad = LoraAdapter::open_peft(f.dir, "llama", 64);
        ASSERT_FALSE(ad.ok());
        EXPECT_NE(ad.message().find("adapter_model.bin is a Python pickle"), std::string::npos) << ad.message();
    }
    {
        TempFolder f("peft_empty");
        auto ad = LoraAdapter::open(f.dir, "llama", 64);
        ASSERT_FALSE(ad.ok());
        EXPECT_NE(ad.message().find("no adapter_config.json"), std::string::npos) << ad.message();
    }
    auto other = LoraAdapter::open_peft(data + "/hf-models/tiny-llama/lora/qv-r16", "gpt2", 64);
    ASSERT_FALSE(other.ok());
    EXPECT_NE(other.message().find("architecture 'gpt2' are not supported"), std::string::npos) << other.message();
    auto no_head = LoraAdapter::open_peft(data + "/hf-models/tiny-llama/lora/qv-r16", "llama");
    ASSERT_FALSE(no_head.ok());
    EXPECT_NE(no_head.message().find("needs the base model's head size"), std::string::npos) << no_head.message();
    // A PEFT folder names no architecture: a pair of the wrong shape is what the base refuses, at
    // attach, before anything is attached.
    Base llama = open_base(data + "/hf-models/tiny-llama", "reference");
    ASSERT_TRUE(llama.ctx);
    TempFolder f("peft_shape");
    f.write(m.config, test::safetensors_image({t(pre + "self_attn.q_proj.lora_A.weight", {16, 128}), qb}));
    auto narrow = LoraAdapter::open_peft(f.dir, "llama", 64);
    ASSERT_TRUE(narrow.ok()) << narrow.message();
    Status st = llama.ctx->attach_lora(**narrow, 1.0f);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("'blk.0.attn_q.weight': the adapter maps 128 → 256 values, the model's matrix 256 → 256"),
              std::string::npos) << st.message();
    EXPECT_EQ(llama.ctx->n_loras(), 0);
}

// ---- fuzz --------------------------------------------------------------------------------------

// Mutated configs and weights (flipped bytes, random words, truncations) open and attach, or fail
// with a message; never a crash (ASan/UBSan run this).
TEST(LoraPeft, MutatedFoldersNeverCrash) {
    HEARTH_REQUIRE_TESTDATA(data);
    Base b = open_base(data + "/hf-models/tiny-llama", "reference");
    ASSERT_TRUE(b.ctx);
    const std::string src = data + "/hf-models/tiny-llama/lora/qv-r16";
    const std::string config = test::read_file(src + "/adapter_config.json");
    const std::string weights = test::read_file(src + "/adapter_model.safetensors");
    ASSERT_FALSE(config.empty());
    ASSERT_FALSE(weights.empty());
    uint64_t n_header = 0;
    for (int i = 7; i >= 0; --i) n_header = (n_header << 8) | uint8_t(weights[size_t(i)]);
    const size_t head = std::min<size_t>(weights.size(), 8 + n_header);
    std::mt19937 rng(23);
    TempFolder f("peft_fuzz");
    int opened = 0, attached = 0;
    const int n = 600;
    for (int it = 0; it < n; ++it) {
        std::string c = config, w = weights;
        std::string& m = it % 2 ? c : w;
        const size_t lo = it % 2 ? 0 : 8, hi = it % 2 ? c.size() : head;
        for (int k = 0, nk = 1 + int(rng() % 3); k < nk; ++k) {
            const size_t pos = lo + rng() % (hi - lo);
            if (rng() % 2) m[pos] = char(uint8_t(m[pos]) ^ uint8_t(1u << (rng() % 8)));
            else for (size_t j = pos; j < hi && j < pos + 3; ++j) m[j] = char(rng());
        }
        if (rng() % 6 == 0) m.resize(rng() % m.size());
        write_text(f.dir + "/adapter_config.json", c);
        write_text(f.dir + "/adapter_model.safetensors", w);
        auto ad = LoraAdapter::open_peft(f.dir, "llama", 64);
        if (!ad.ok()) {
            EXPECT_FALSE(ad.message().empty());
            continue;
        }
        ++opened;
        if (b.ctx->attach_lora(**ad, 1.0f).ok()) {
            ++attached;
            std::vector<float> out;
            EXPECT_TRUE(b.ctx->eval(b.prompt.data(), 4, 0, 1, &out).ok());
            b.ctx->detach_loras();
        }
    }
    std::printf("%d mutated PEFT folders: %d opened, %d attached and evaluated\n", n, opened, attached);
}
