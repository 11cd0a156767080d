// LoRA adapters in llama.cpp's GGUF form, attached to a context and applied unmerged, against
// PEFT over transformers (../shared/testdata/hf-models/*/: base-f32.gguf from llama.cpp's
// converter, lora/NAME.gguf from its convert_lora_to_gguf.py, and PEFT's float32 logits of the last
// 8 prompt positions at scales 1 and 0.5, and of two adapters together).
// Tolerance 2e-3 on logits of rms ~5 (as the base-model fixtures): PEFT computes in float32 with
// another summation order; a missing term or a wrong scale moves logits by 0.8-4 (the fixtures'
// max_abs_logit_change_vs_base), a wrong alpha/r by half of that.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/reference/reference_backend.h"
#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "engine/quant/fp16.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/util/json.h"
#include "tests/engine/lora_base.h"
#include "tests/engine/testdata.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;
using json::Value;
using test::Base;
using test::last8;
using test::max_diff;
using test::open_base;

class LoraFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(LoraFixture, GgufAdaptersMatchPeft) {
    HEARTH_REQUIRE_TESTDATA(data);
    const std::string dir = data + "/hf-models/" + GetParam();
    // Reference and CPU within 2e-3 (F32 weights: no 8-bit activations on the CPU path); Vulkan
    // (lavapipe) the same: its F32 matmuls are float too.
    for (const char* backend : {"reference", "cpu", "vulkan"}) {
        SCOPED_TRACE(backend);
        Base b = open_base(dir, backend);
        if (std::string(backend) == "vulkan" && !b.be) {
            std::printf("[ skip part ] no Vulkan device\n");
            continue;
        }
        ASSERT_TRUE(b.ctx);
        const std::vector<float> base = last8(b);
        for (const auto& [name, ad] : b.expected["adapters"].as_object()) {
            auto adapter = LoraAdapter::open_gguf(dir + "/lora/" + name + ".gguf");
            ASSERT_TRUE(adapter.ok()) << adapter.message();
            for (const char* scale : {"1", "0.5"}) {
                ASSERT_TRUE(b.ctx->attach_lora(**adapter, std::stof(scale)).ok());
                const std::vector<float> want = test::read_f32(dir + "/" + ad["logits_scale" + std::string(scale)].as_string());
                const double d = max_diff(last8(b), want);
                EXPECT_LT(d, 2e-3) << name << " at scale " << scale;
                std::printf("%s %-9s %s scale %-3s: max |d| against PEFT %.2e\n", GetParam(), backend,
                            name.c_str(), scale, d);
                b.ctx->detach_loras();
                // Detached: the base model again, bit for bit.
                const std::vector<float> again = last8(b);
                EXPECT_EQ(max_diff(again, base), 0.0) << "detaching " << name;
            }
        }
        // Two adapters at once, where the fixture has them.
        if (const Value* comb = b.expected.find("combined")) {
            std::vector<std::unique_ptr<LoraAdapter>> held;
            for (const Value& n : (*comb)["adapters"].as_array()) {
                auto adapter = LoraAdapter::open_gguf(dir + "/lora/" + n.as_string() + ".gguf");
                ASSERT_TRUE(adapter.ok()) << adapter.message();
                ASSERT_TRUE(b.ctx->attach_lora(**adapter, 1.0f).ok());
                held.push_back(std::move(*adapter));
            }
            EXPECT_EQ(b.ctx->n_loras(), 2);
            const double d = max_diff(last8(b), test::read_f32(dir + "/" + (*comb)["logits"].as_string()));
            EXPECT_LT(d, 2e-3);
            std::printf("%s %-9s both adapters: max |d| against PEFT %.2e\n", GetParam(), backend, d);
            b.ctx->detach_loras();
        }
    }
}

INSTANTIATE_TEST_SUITE_P(HfModels, LoraFixture, ::testing::Values("tiny-llama", "tiny-qwen2"));

// An adapter for another base model is refused before anything is attached, naming why.
TEST(Lora, WrongBaseIsRefusedWithTheFirstMismatch) {
    HEARTH_REQUIRE_TESTDATA(data);
    Base llama = open_base(data + "/hf-models/tiny-llama", "reference");
    ASSERT_TRUE(llama.ctx);
    auto qwen_adapter = LoraAdapter::open_gguf(data + "/hf-models/tiny-qwen2/lora/all-r8.gguf");
    ASSERT_TRUE(qwen_adapter.ok()) << qwen_adapter.message();
    Status st = llama.ctx->attach_lora(**qwen_adapter, 1.0f);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("made for architecture 'qwen2', the model is 'llama'"), std::string::npos) << st.message();
    EXPECT_EQ(llama.ctx->n_loras(), 0);
}

// F16 adapter matrices (what convert_lora_to_gguf.py --outtype f16 writes) run on every host
// backend: the same adapter as F16 against PEFT's float32 logits. Rounding A and B to F16 moves
// each weight by at most 2^-11 of itself; the adapter moves these logits by at most ~4 (the
// fixture's max change), so the rounding is worth ~4·2^-11·(a few) ≈ 1e-2 at most: bound 1e-2,
// five times the F32 bound, still a fraction of what a wrong scale (2 or more) would give.
TEST(Lora, F16AdaptersMatchPeft) {
    HEARTH_REQUIRE_TESTDATA(data);
    const std::string dir = data + "/hf-models/tiny-llama";
    auto f32 = LoraAdapter::open_gguf(dir + "/lora/qv-r16.gguf");
    ASSERT_TRUE(f32.ok()) << f32.message();
    // The same adapter written with F16 matrices.
    const std::string path = test::temp_file("lora_f16.gguf");
    {
        gguf::Writer w;
        w.set_string("general.architecture", "llama");
        w.set_string("general.type", "adapter");
        w.set_string("adapter.type", "lora");
        w.set_f32("adapter.lora.alpha", (*f32)->alpha());
        for (const LoraPair& p : (*f32)->pairs()) {
            for (const auto& [m, suffix] : {std::pair{&p.a, ".lora_a"}, std::pair{&p.b, ".lora_b"}}) {
                ASSERT_EQ(m->type, GgmlType::F32);
                std::vector<f16_t> h(size_t(m->rows * m->cols));
                const float* src = static_cast<const float*>(m->data);
                for (size_t i = 0; i < h.size(); ++i) h[i] = f32_to_f16(src[i]);
                ASSERT_TRUE(w.add_tensor(p.target + suffix, GgmlType::F16, {m->cols, m->rows}, h.data(), h.size() * 2).ok());
            }
        }
        ASSERT_TRUE(w.write(path).ok());
    }
    auto f16 = LoraAdapter::open_gguf(path);
    ASSERT_TRUE(f16.ok()) << f16.message();
    ASSERT_EQ((*f16)->pairs().front().a.type, GgmlType::F16);
    for (const char* backend : {"reference", "cpu", "vulkan"}) {
        SCOPED_TRACE(backend);
        Base b = open_base(dir, backend);
        if (std::string(backend) == "vulkan" && !b.be) {
            std::printf("[ skip part ] no Vulkan device\n");
            continue;
        }
        ASSERT_TRUE(b.ctx);
        ASSERT_TRUE(b.ctx->attach_lora(**f16, 1.0f).ok());
        const std::vector<float> want = test::read_f32(dir + "/" + b.expected["adapters"]["qv-r16"]["logits_scale1"].as_string());
        const double d = max_diff(last8(b), want);
        EXPECT_LT(d, 1e-2);
        std::printf("tiny-llama %-9s qv-r16 as F16: max |d| against PEFT %.2e\n", backend, d);
    }
    std::remove(path.c_str());
}

// Files that are not LoRA adapters, or broken ones, are errors naming the problem.
TEST(Lora, BadAdapterFilesAreClearErrors) {
    HEARTH_REQUIRE_TESTDATA(data);
    auto base = LoraAdapter::open_gguf(data + "/hf-models/tiny-llama/base-f32.gguf");
    ASSERT_FALSE(base.ok());
    EXPECT_NE(base.message().find("not an adapter"), std::string::npos) << base.message();
    const std::string path = test::temp_file("lora_half.gguf");
    gguf::Writer w;
    w.set_string("general.architecture", "llama");
    w.set_string("general.type", "adapter");
    w.set_string("adapter.type", "lora");
    w.set_f32("adapter.lora.alpha", 16.0f);
    std::vector<float> a(64 * 4, 0.0f);
    ASSERT_TRUE(w.add_tensor("blk.0.attn_q.weight.lora_a", GgmlType::F32, {64, 4}, a.data(), a.size() * 4).ok());
    ASSERT_TRUE(w.write(path).ok());
    auto half = LoraAdapter::open_gguf(path);
    ASSERT_FALSE(half.ok());
    EXPECT_NE(half.message().find("has lora_a but no lora_b"), std::string::npos) << half.message();
    std::remove(path.c_str());
}

// Hostile adapter files (flipped bytes and patched words in the metadata and tensor table) open
// and attach, or fail with an error; never a crash (ASan/UBSan run this in CI).
TEST(Lora, MutatedAdapterFilesNeverCrash) {
    HEARTH_REQUIRE_TESTDATA(data);
    Base b = open_base(data + "/hf-models/tiny-llama", "reference");
    ASSERT_TRUE(b.ctx);
    const std::string bytes = test::read_file(data + "/hf-models/tiny-llama/lora/qv-r16.gguf");
    ASSERT_FALSE(bytes.empty());
    const std::string path = test::temp_file("lora_mut.gguf");
    std::mt19937 rng(5);
    int opened = 0, attached = 0;
    const size_t head = std::min<size_t>(bytes.size(), 1024);  // metadata and tensor table
    for (int it = 0; it < 400; ++it) {
        std::string m = bytes;
        for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k) {
            const size_t pos = rng() % head;
            if (rng() % 2) m[pos] = char(uint8_t(m[pos]) ^ uint8_t(1u << (rng() % 8)));
            else for (size_t j = pos; j < head && j < pos + 4; ++j) m[j] = char(rng());
        }
        if (rng() % 5 == 0) m.resize(rng() % m.size());
        {
            FILE* f = std::fopen(path.c_str(), "wb");
            ASSERT_TRUE(f);
            std::fwrite(m.data(), 1, m.size(), f);
            std::fclose(f);
        }
        auto ad = LoraAdapter::open_gguf(path);
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
    std::printf("400 mutated adapters: %d opened, %d attached and evaluated\n", opened, attached);
    std::remove(path.c_str());
}
