// Every case of ../shared/testdata/templates/cases.json: real chat templates (Qwen, Llama, DeepSeek,
// Mistral, Gemma, Phi, SmolLM3) rendered by Python Jinja2 as transformers configures it. "expected"
// cases must match byte for byte; "error" cases must fail with that message.
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/template/chat_template.h"
#include "engine/util/json.h"
#include "tests/engine/testdata.h"

namespace {

using hearth::json::Value;

// The fixed moment the reference renderings were made with: 2026-01-15 12:00:00.
std::tm fixed_clock() {
    std::tm t{};
    t.tm_year = 2026 - 1900;
    t.tm_mon = 0;
    t.tm_mday = 15;
    t.tm_hour = 12;
    return t;
}

TEST(TemplateCases, AllSharedCasesReproduce) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::string tdir = dir + "/templates/";
    auto doc = hearth::json::parse_file(tdir + "cases.json");
    ASSERT_TRUE(doc.ok()) << doc.message();
    const auto& cases = (*doc)["cases"].as_array();
    ASSERT_GT(cases.size(), 0u);
    int passed = 0, expected_ok = 0, errors_ok = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
        const Value& c = cases[i];
        const std::string name = c["template"].as_string();
        const std::string source = hearth::test::read_file(tdir + name);
        ASSERT_FALSE(source.empty()) << "cannot read " << tdir + name;
        hearth::chat::ChatOptions opts;
        opts.add_generation_prompt = c["add_generation_prompt"].as_bool();
        opts.bos_token = c["bos_token"].as_string();
        opts.eos_token = c["eos_token"].as_string();
        if (const Value* extra = c.find("extra")) opts.extra = *extra;
        opts.clock = fixed_clock;
        auto out = hearth::chat::render_chat_template(source, c["messages"], opts);
        if (const Value* err = c.find("error")) {
            if (!out.ok() && out.message().find(err->as_string()) != std::string::npos) {
                ++passed;
                ++errors_ok;
            } else {
                ADD_FAILURE() << "case " << i << " (" << name << ") should fail with '" << err->as_string() << "', got "
                              << (out.ok() ? "output:\n" + *out : "error: " + out.message());
            }
            continue;
        }
        const std::string& expected = c["expected"].as_string();
        if (out.ok() && *out == expected) {
            ++passed;
            ++expected_ok;
        } else {
            ADD_FAILURE() << "case " << i << " (" << name << ")\n"
                          << (out.ok() ? "got:\n[" + *out + "]" : "error: " + out.message()) << "\nexpected:\n["
                          << expected << "]";
        }
    }
    std::printf("template cases: %d/%zu passed (%d renderings byte-exact, %d expected errors raised)\n", passed,
                cases.size(), expected_ok, errors_ok);
    EXPECT_EQ(size_t(passed), cases.size());
}

// Each shared template file also parses on its own (no syntax the interpreter does not know).
TEST(TemplateCases, AllSharedTemplatesParse) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const char* names[] = {"HuggingFaceTB-SmolLM3-3B.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja",
                           "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
                           "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-ai-DeepSeek-V3.1.jinja",
                           "google-gemma-2-2b-it.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja",
                           "meta-llama-Llama-3.2-3B-Instruct.jinja", "microsoft-Phi-3.5-mini-instruct.jinja",
                           "mistralai-Mistral-Nemo-Instruct-2407.jinja"};
    for (const char* n : names) {
        const std::string source = hearth::test::read_file(dir + "/templates/" + n);
        ASSERT_FALSE(source.empty()) << n;
        auto t = hearth::chat::ChatTemplate::compile(source);
        EXPECT_TRUE(t.ok()) << n << ": " << t.message();
    }
}

}  // namespace
