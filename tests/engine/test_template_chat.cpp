// Chat rendering API: the real shared templates with tools, tool calls, reasoning and thinking
// switches (vectors in tests/engine/data/template_scenarios.json, made by Python Jinja2 as
// transformers configures it), the ChatML fallback, bad inputs, resource limits and hearth-cli.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "engine/template/chat_template.h"
#include "engine/util/json.h"
#include "tests/engine/testdata.h"

namespace {

using hearth::json::Value;
namespace chat = hearth::chat;

std::tm fixed_clock() {
    std::tm t{};
    t.tm_year = 2026 - 1900;
    t.tm_mon = 0;
    t.tm_mday = 15;
    t.tm_hour = 12;
    return t;
}

std::string data_path(const char* name) {
    return (std::filesystem::path(HEARTH_SOURCE_DIR) / "tests" / "engine" / "data" / name).string();
}

Value parse(const char* text) {
    auto v = hearth::json::parse(text);
    EXPECT_TRUE(v.ok()) << v.message();
    return v.ok() ? *v : Value();
}

TEST(ChatTemplate, RealTemplatesWithToolsAndReasoning) {
    HEARTH_REQUIRE_TESTDATA(dir);
    auto doc = hearth::json::parse_file(data_path("template_scenarios.json"));
    ASSERT_TRUE(doc.ok()) << doc.message();
    const Value& scenarios = (*doc)["scenarios"];
    const auto& cases = (*doc)["cases"].as_array();
    ASSERT_GT(cases.size(), 100u);
    int passed = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
        const Value& c = cases[i];
        const std::string name = c["template"].as_string();
        // Templates the shared data lacks (Gemma 3's) live beside the scenarios.
        const bool in_repo = c.find("in_repo") != nullptr;
        const std::string source = hearth::test::read_file(in_repo ? data_path("templates") + "/" + name : dir + "/templates/" + name);
        ASSERT_FALSE(source.empty()) << name;
        const Value& sc = scenarios[c["scenario"].as_string()];
        chat::ChatOptions opts;
        opts.add_generation_prompt = c["add_generation_prompt"].as_bool();
        opts.bos_token = "<BOS>";
        opts.eos_token = "<EOS>";
        opts.extra = sc["extra"];
        opts.clock = fixed_clock;
        auto out = chat::render_chat_template(source, sc["messages"], opts);
        const std::string what = "case " + std::to_string(i) + " (" + name + ", " + c["scenario"].as_string() +
                                 (opts.add_generation_prompt ? ", generation prompt)" : ")");
        if (const Value* err = c.find("error")) {
            EXPECT_FALSE(out.ok()) << what << " should fail with: " << err->as_string();
            if (!out.ok()) EXPECT_NE(out.message().find(err->as_string()), std::string::npos) << what << ": " << out.message();
            passed += !out.ok() && out.message().find(err->as_string()) != std::string::npos;
        } else {
            EXPECT_TRUE(out.ok()) << what << ": " << out.message();
            if (out.ok()) EXPECT_EQ(*out, c["expected"].as_string()) << what;
            passed += out.ok() && *out == c["expected"].as_string();
        }
    }
    std::printf("template scenarios (tools, tool calls, reasoning, thinking): %d/%zu passed\n", passed, cases.size());
}

TEST(ChatTemplate, ChatMLFallback) {
    const Value messages = parse(R"([{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "Hi"},
                                     {"role": "assistant", "content": [{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}]}])");
    EXPECT_EQ(chat::render_chatml(messages, true),
              "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
              "<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_EQ(chat::render_chatml(parse(R"([{"role": "user", "content": "x"}])"), false), "<|im_start|>user\nx<|im_end|>\n");
    chat::ChatOptions opts;
    opts.add_generation_prompt = true;
    auto r = chat::render_chat("", parse(R"([{"role": "user", "content": "q"}])"), opts);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_FALSE(chat::render_chat("", parse(R"({"role": "user"})"), opts).ok());
}

TEST(ChatTemplate, VariablesAndExtraFields) {
    auto t = chat::ChatTemplate::compile(
        "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}"
        "{% if m.reasoning_content is defined %}[{{ m.reasoning_content }}]{% endif %}"
        "{% if m.tool_calls %}{{ m.tool_calls[0].function.arguments | tojson }}{% endif %}|{% endfor %}"
        "{% if add_generation_prompt %}GEN{% endif %}{% if enable_thinking is false %}NOTHINK{% endif %}{{ eos_token }}");
    ASSERT_TRUE(t.ok()) << t.message();
    const Value messages = parse(R"([{"role": "user", "content": "a"},
        {"role": "assistant", "content": "b", "reasoning_content": "r",
         "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1.5, "y": "é"}}}]}])");
    chat::ChatOptions opts;
    opts.bos_token = "<s>";
    opts.eos_token = "</s>";
    opts.add_generation_prompt = true;
    opts.extra = parse(R"({"enable_thinking": false})");
    auto r = t->render(messages, opts);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, "<s>user:a|assistant:b[r]{\"x\": 1.5, \"y\": \"é\"}|GENNOTHINK</s>");
    // The same compiled template renders again with other options.
    opts.add_generation_prompt = false;
    opts.extra = Value();
    r = t->render(messages, opts);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, "<s>user:a|assistant:b[r]{\"x\": 1.5, \"y\": \"é\"}|</s>");
}

TEST(ChatTemplate, BadInputsAreErrors) {
    auto t = chat::ChatTemplate::compile("{% for m in messages %}{{ m.content }}{% endfor %}");
    ASSERT_TRUE(t.ok());
    chat::ChatOptions opts;
    EXPECT_FALSE(t->render(parse(R"({"role": "user"})"), opts).ok());
    EXPECT_FALSE(t->render(parse(R"(["just a string"])"), opts).ok());
    opts.extra = parse("[1]");
    EXPECT_FALSE(t->render(parse("[]"), opts).ok());

    auto bad = chat::ChatTemplate::compile("line 1\n{% for x in y %}\nno end");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("line"), std::string::npos) << bad.message();
    EXPECT_NE(bad.message().find("endfor"), std::string::npos) << bad.message();

    auto raised = chat::render_chat_template("a\n{{ raise_exception('Only user and assistant roles') }}",
                                             parse(R"([{"role": "tool", "content": ""}])"), chat::ChatOptions{});
    ASSERT_FALSE(raised.ok());
    EXPECT_NE(raised.message().find("Only user and assistant roles"), std::string::npos);
    EXPECT_NE(raised.message().find("line 2"), std::string::npos) << raised.message();
}

// A hostile or broken template stops with an error instead of hanging, exhausting memory or the stack.
TEST(ChatTemplate, ResourceLimits) {
    const Value none = parse("[]");
    chat::ChatOptions opts;
    // Step budget (lowered from the default 10 million so the test stays quick).
    auto runaway = hearth::jinja::Template::parse(
        "{% for a in range(100000) %}{% for b in range(100000) %}{{ loop.index }}{% endfor %}{% endfor %}");
    ASSERT_TRUE(runaway.ok()) << runaway.message();
    hearth::jinja::RenderOptions ro;
    ro.max_steps = 300000;
    auto loop = runaway->render(Value::object(), ro);
    ASSERT_FALSE(loop.ok());
    EXPECT_NE(loop.message().find("too long"), std::string::npos) << loop.message();

    auto big = chat::render_chat_template(
        "{% set s = 'x' * 1000000 %}{% for a in range(100) %}{{ s }}{% endfor %}", none, opts);
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.message().find("exceeds"), std::string::npos) << big.message();

    auto recursion = chat::render_chat_template("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", none, opts);
    ASSERT_FALSE(recursion.ok());
    EXPECT_NE(recursion.message().find("nest too deeply"), std::string::npos) << recursion.message();

    // Values nested without bound (through a namespace) and namespace cycles are refused; Python
    // would allow the cycle, no real template builds one.
    auto deep_value = chat::render_chat_template(
        "{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}", none, opts);
    ASSERT_FALSE(deep_value.ok());
    EXPECT_NE(deep_value.message().find("nests too deeply"), std::string::npos) << deep_value.message();
    auto cycle = chat::render_chat_template("{% set ns = namespace() %}{% set ns.me = [ns] %}", none, opts);
    ASSERT_FALSE(cycle.ok());
    EXPECT_NE(cycle.message().find("cannot hold another namespace"), std::string::npos) << cycle.message();
    auto long_chain = chat::render_chat_template("{{ 1" + std::string() + [] {
        std::string s;
        for (int i = 0; i < 5000; ++i) s += " + 1";
        return s;
    }() + " }}", none, opts);
    ASSERT_FALSE(long_chain.ok());
    EXPECT_NE(long_chain.message().find("expression too long"), std::string::npos) << long_chain.message();

    std::string deep(5000, '(');
    auto nested = chat::render_chat_template("{{ " + deep + "1" + std::string(5000, ')') + " }}", none, opts);
    ASSERT_FALSE(nested.ok());
    EXPECT_NE(nested.message().find("nests too deeply"), std::string::npos) << nested.message();

    for (const char* broken : {"{{", "{%", "{#", "{{ 'a", "{% if %}", "{{ a[ }}", "{{ ) }}", "{% for %}",
                               "{% set %}", "{% macro %}", "{{ a | }}", "{{ a is }}", "{% raw %}x", "\xff{{ '\xfe' }}"}) {
        auto r = chat::render_chat_template(broken, none, opts);
        if (std::string(broken) == "\xff{{ '\xfe' }}") {
            ASSERT_TRUE(r.ok()) << r.message();  // bytes pass through untouched
            EXPECT_EQ(*r, "\xff\xfe");
        } else {
            EXPECT_FALSE(r.ok()) << broken;
        }
    }
}

// hearth-cli template prints the rendering (skipped when the CLI is not built).
TEST(ChatTemplate, CliRendersTemplate) {
    const std::string cli = HEARTH_CLI_PATH;
    if (!std::filesystem::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli;
    const auto tmp = std::filesystem::temp_directory_path() / ("hearth_template_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(tmp);
    {
        std::ofstream(tmp / "t.jinja") << "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
                                          "{% if add_generation_prompt %}[assistant]{% endif %}{{ tools | length }}";
        std::ofstream(tmp / "m.json") << R"({"messages": [{"role": "user", "content": "héllo"}], "tools": [1, 2]})";
    }
    const std::string out_file = (tmp / "out.txt").string();
    const std::string cmd = "'" + cli + "' template --template '" + (tmp / "t.jinja").string() + "' --messages '" +
                            (tmp / "m.json").string() + "' --add-generation-prompt --bos '<s>' > '" + out_file + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_EQ(hearth::test::read_file(out_file), "<s>[user] héllo\n[assistant]2");
    // Without --template: ChatML.
    const std::string cmd2 = "'" + cli + "' template --messages '" + (tmp / "m.json").string() + "' > '" + out_file + "'";
    ASSERT_EQ(std::system(cmd2.c_str()), 0) << cmd2;
    EXPECT_EQ(hearth::test::read_file(out_file), "<|im_start|>user\nhéllo<|im_end|>\n");
    // A template error is reported with a non-zero status.
    { std::ofstream(tmp / "bad.jinja") << "{{ raise_exception('nope') }}"; }
    const std::string cmd3 = "'" + cli + "' template --template '" + (tmp / "bad.jinja").string() + "' --messages '" +
                             (tmp / "m.json").string() + "' 2> '" + out_file + "'";
    EXPECT_NE(std::system(cmd3.c_str()), 0);
    EXPECT_NE(hearth::test::read_file(out_file).find("nope"), std::string::npos);
    std::filesystem::remove_all(tmp);
}

}  // namespace
