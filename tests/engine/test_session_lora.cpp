// Session::set_loras over the shared LoRA fixtures (lora_base.h): a conversation's adapter set
// gives PEFT's logits, changing it forgets the cached context and keeping it does not, a set that
// fails leaves the previous one working, rescaling and emptying the set behave as attach/detach.
// Tolerance 2e-3 against PEFT, as test_lora.cpp: F32 weights and F32 KV on the reference and CPU
// backends (no 8-bit activations for F32 weights); PEFT sums in another order in float32; a missing
// adapter term or a wrong scale moves these logits by 0.4-4.
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/session/session.h"
#include "tests/engine/lora_base.h"

using namespace hearth;
using test::max_diff;

namespace {

std::unique_ptr<Session> open_session(const std::string& path, const std::string& backend, std::vector<LoraSpec> loras = {}) {
    ModelOptions opt;
    opt.path = path;
    opt.kv_type = "f32";
    opt.backend = backend;
    opt.n_ctx = 256;
    opt.n_threads = 2;
    opt.loras = std::move(loras);
    auto s = Session::open(opt);
    EXPECT_TRUE(s.ok()) << s.message();
    return s.ok() ? std::move(*s) : nullptr;
}

std::vector<float> last8(Session& s, const std::vector<int32_t>& prompt) {
    auto r = s.eval_logits(prompt, 8);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? *r : std::vector<float>{};
}

}  // namespace

class SessionLora : public ::testing::TestWithParam<const char*> {};

// Every adapter at scale 1, then the same path at 0.5 (a rescale), then both adapters together
// where the fixture has two, then the empty set: the base logits bit for bit.
TEST_P(SessionLora, AdapterSetsGivePeftLogits) {
    HEARTH_REQUIRE_TESTDATA(data);
    test::FixtureFiles fx;
    ASSERT_TRUE(test::load_fixture_files(data, GetParam(), &fx));
    for (const char* backend : {"reference", "cpu"}) {
        SCOPED_TRACE(backend);
        auto s = open_session(fx.base(), backend);
        ASSERT_TRUE(s);
        const std::vector<float> base = last8(*s, fx.prompt);
        for (const auto& [name, ad] : fx.expected["adapters"].as_object()) {
            for (const char* scale : {"1", "0.5"}) {
                ASSERT_TRUE(s->set_loras({{fx.adapter(name), std::stof(scale)}}).ok());
                const double d = max_diff(last8(*s, fx.prompt), fx.peft(name, scale));
                EXPECT_LT(d, 2e-3) << name << " at scale " << scale;
                std::printf("%s %-9s %s scale %-3s: max |d| against PEFT %.2e\n", GetParam(), backend, name.c_str(), scale, d);
            }
        }
        if (const json::Value* comb = fx.expected.find("combined")) {
            std::vector<LoraSpec> both;
            for (const json::Value& n : (*comb)["adapters"].as_array()) both.push_back({fx.adapter(n.as_string()), 1.0f});
            ASSERT_TRUE(s->set_loras(both).ok());
            const double d = max_diff(last8(*s, fx.prompt), test::read_f32(fx.dir + "/" + (*comb)["logits"].as_string()));
            EXPECT_LT(d, 2e-3);
            std::printf("%s %-9s both adapters: max |d| against PEFT %.2e\n", GetParam(), backend, d);
        }
        ASSERT_TRUE(s->set_loras({}).ok());
        EXPECT_TRUE(s->loras().empty());
        EXPECT_EQ(max_diff(last8(*s, fx.prompt), base), 0.0) << "the empty set must give the base model bit for bit";
    }
}

// The set given when the session opens (ModelOptions::loras) is attached before the first token.
TEST_P(SessionLora, AdaptersGivenAtOpen) {
    HEARTH_REQUIRE_TESTDATA(data);
    test::FixtureFiles fx;
    ASSERT_TRUE(test::load_fixture_files(data, GetParam(), &fx));
    const std::string name = fx.expected["adapters"].as_object().begin()->first;
    auto s = open_session(fx.base(), "reference", {{fx.adapter(name), 0.5f}});
    ASSERT_TRUE(s);
    ASSERT_EQ(s->loras().size(), 1u);
    EXPECT_LT(max_diff(last8(*s, fx.prompt), fx.peft(name, "0.5")), 2e-3);
}

INSTANTIATE_TEST_SUITE_P(HfModels, SessionLora, ::testing::Values("tiny-llama", "tiny-qwen2"));

// A different set forgets the cached context (its K/V came from other weights); the same set,
// paths and scales, keeps it.
TEST(SessionLoraCache, ChangingTheSetClearsTheContext) {
    HEARTH_REQUIRE_TESTDATA(data);
    test::FixtureFiles fx;
    ASSERT_TRUE(test::load_fixture_files(data, "tiny-llama", &fx));
    auto s = open_session(fx.base(), "reference");
    ASSERT_TRUE(s);
    last8(*s, fx.prompt);
    ASSERT_EQ(s->context_tokens(), fx.prompt);
    ASSERT_TRUE(s->set_loras({}).ok());  // unchanged (empty → empty): kept
    EXPECT_EQ(s->context_tokens(), fx.prompt);
    const std::vector<LoraSpec> qv{{fx.adapter("qv-r16"), 1.0f}};
    ASSERT_TRUE(s->set_loras(qv).ok());
    EXPECT_TRUE(s->context_tokens().empty()) << "a new adapter set must forget the cached context";
    last8(*s, fx.prompt);
    ASSERT_EQ(s->context_tokens(), fx.prompt);
    ASSERT_TRUE(s->set_loras(qv).ok());  // the same set again
    EXPECT_EQ(s->context_tokens(), fx.prompt) << "the same set must keep the cached context";
    ASSERT_TRUE(s->set_loras({{fx.adapter("qv-r16"), 0.5f}}).ok());  // same path, another scale
    EXPECT_TRUE(s->context_tokens().empty()) << "a rescale changes the weights: the context must go";
    last8(*s, fx.prompt);
    ASSERT_TRUE(s->set_loras({}).ok());
    EXPECT_TRUE(s->context_tokens().empty()) << "detaching all must forget the cached context";
}

// A set that cannot be attached (tiny-qwen2's adapter on tiny-llama, a missing file) is refused
// with the adapter named; the previous set stays attached and gives the same logits bit for bit.
TEST(SessionLoraCache, FailingSetKeepsThePreviousOne) {
    HEARTH_REQUIRE_TESTDATA(data);
    test::FixtureFiles fx;
    ASSERT_TRUE(test::load_fixture_files(data, "tiny-llama", &fx));
    auto s = open_session(fx.base(), "reference");
    ASSERT_TRUE(s);
    const std::vector<LoraSpec> good{{fx.adapter("qv-r16"), 1.0f}};
    ASSERT_TRUE(s->set_loras(good).ok());
    const std::vector<float> before = last8(*s, fx.prompt);
    const std::string qwen = data + "/hf-models/tiny-qwen2/lora/all-r8.gguf";
    Status st = s->set_loras({{fx.adapter("mlp-r8"), 1.0f}, {qwen, 1.0f}});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find(qwen), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("made for architecture 'qwen2'"), std::string::npos) << st.message();
    EXPECT_EQ(s->loras(), good);
    EXPECT_EQ(max_diff(last8(*s, fx.prompt), before), 0.0) << "the previous set must still be attached";
    st = s->set_loras({{fx.dir + "/lora/no-such-adapter.gguf", 1.0f}});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("no-such-adapter.gguf"), std::string::npos) << st.message();
    EXPECT_EQ(s->loras(), good);
    EXPECT_EQ(max_diff(last8(*s, fx.prompt), before), 0.0);
}
