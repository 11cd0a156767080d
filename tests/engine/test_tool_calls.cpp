// Tool use on the local API (engine/serve/tool_calls.h, the request parser's tools and messages):
// - real chat templates (../shared/testdata/templates) render a conversation with tools, an
//   assistant's tool_calls and a tool's result, parsed from an API request body, exactly as
//   Python's Jinja2 set up as transformers does (tests/engine/data/tool_template_cases.json,
//   tools/fixtures/gen_tool_template_cases.py);
// - each template's call format is recognized;
// - answers split into content and calls per format, and a streamed answer cut at every byte
//   gives the same content and calls as the whole one.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <iterator>

#include "engine/sampling/json_constraint.h"
#include "engine/sampling/rng.h"
#include "engine/sampling/sampler.h"
#include "engine/serve/openai_request.h"
#include "engine/serve/tool_calls.h"
#include "engine/session/chat_render.h"
#include "engine/template/chat_template.h"
#include "engine/util/json.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/testdata.h"

using namespace hearth;

namespace {

std::string read_text(const std::string& path) {
    auto doc = std::ifstream(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(doc), {});
}

std::tm fixed_clock() {
    std::tm t{};
    t.tm_year = 2026 - 1900, t.tm_mon = 0, t.tm_mday = 15, t.tm_hour = 12;
    return t;
}

}  // namespace

TEST(ToolCalls, RealTemplatesRenderToolConversationsAsTransformersDoes) {
    HEARTH_REQUIRE_TESTDATA(dir);
    auto doc = json::parse_file(test::fixture_path("tool_template_cases.json"));
    ASSERT_TRUE(doc.ok()) << doc.message();
    int n = 0;
    for (const json::Value& c : (*doc)["cases"].as_array()) {
        const std::string source = read_text(dir + "/templates/" + c["template"].as_string());
        ASSERT_FALSE(source.empty()) << c["template"].as_string();
        // The messages as a client sends them: arguments as JSON text, through the request parser.
        json::Value msgs = json::Value::array();
        for (json::Value m : c["messages"].as_array()) {
            if (m.find("tool_calls")) {
                json::Value calls = json::Value::array();
                for (json::Value call : m["tool_calls"].as_array()) {
                    json::Value fn = call["function"];
                    fn.set("arguments", fn["arguments"].dump());
                    call.set("function", fn);
                    calls.push_back(call);
                }
                m.set("tool_calls", calls);
            }
            msgs.push_back(m);
        }
        json::Value body = json::Value::object();
        body.set("messages", msgs);
        body.set("tools", c["tools"]);
        ApiRequest req;
        auto err = parse_api_request(body.dump(), true, &req);
        ASSERT_FALSE(err) << err->message;
        ASSERT_TRUE(req.tools.is_array());

        chat::ChatOptions o;
        o.add_generation_prompt = true;
        o.bos_token = c["bos_token"].as_string();
        o.eos_token = c["eos_token"].as_string();
        o.extra = json::Value::object();
        o.extra.set("tools", req.tools);
        o.clock = fixed_clock;
        auto out = chat::render_chat_template(source, messages_to_json(req.messages), o);
        ASSERT_TRUE(out.ok()) << c["template"].as_string() << " " << c["label"].as_string() << ": " << out.message();
        EXPECT_EQ(*out, c["expected"].as_string()) << c["template"].as_string() << " " << c["label"].as_string();
        ++n;
    }
    EXPECT_EQ(n, 10);
}

TEST(ToolCalls, EachTemplateFamilysFormatIsRecognized) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::vector<std::pair<std::string, ToolCallFormat>> want = {
        {"Qwen-Qwen2.5-7B-Instruct.jinja", ToolCallFormat::Hermes},
        {"Qwen-Qwen3-0.6B.jinja", ToolCallFormat::Hermes},
        {"meta-llama-Llama-3.1-8B-Instruct.jinja", ToolCallFormat::Llama3},
        {"meta-llama-Llama-3.2-3B-Instruct.jinja", ToolCallFormat::Llama3},
        {"mistralai-Mistral-Nemo-Instruct-2407.jinja", ToolCallFormat::Mistral},
        {"google-gemma-2-2b-it.jinja", ToolCallFormat::None},
        {"microsoft-Phi-3.5-mini-instruct.jinja", ToolCallFormat::None},
    };
    for (const auto& [name, f] : want) {
        const std::string t = read_text(dir + "/templates/" + name);
        ASSERT_FALSE(t.empty()) << name;
        EXPECT_EQ(int(tool_call_format(t)), int(f)) << name;
    }
    EXPECT_FALSE(template_takes_tools(read_text(dir + "/templates/google-gemma-2-2b-it.jinja")));
    EXPECT_TRUE(template_takes_tools(read_text(dir + "/templates/Qwen-Qwen2.5-7B-Instruct.jinja")));
}

namespace {
struct SplitCase {
    ToolCallFormat format;
    std::string text;
    std::string content;
    std::vector<std::pair<std::string, std::string>> calls;  // name, arguments
};
}  // namespace

TEST(ToolCalls, AnswersSplitIntoContentAndCallsStreamedOrWhole) {
    using F = ToolCallFormat;
    const std::vector<SplitCase> cases = {
        {F::Hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", "",
         {{"get_weather", R"({"city": "Paris"})"}}},
        {F::Hermes, "Let me look.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": \"{\\\"x\\\": 1}\"}\n</tool_call>",
         "Let me look.", {{"a", "{}"}, {"b", R"({"x": 1})"}}},
        {F::Hermes, "No call here: a < b and <tool> is not one.", "No call here: a < b and <tool> is not one.", {}},
        {F::Hermes, "<tool_call>{\"name\": \"a\"}", "", {{"a", "{}"}}},  // cut before </tool_call>: still a call
        {F::Hermes, "x <tool_call>not json</tool_call> y", "x <tool_call>not json</tool_call> y", {}},  // kept as text
        {F::Hermes, "<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>", "<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>", {}},
        {F::Llama3, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "", {{"get_weather", R"({"city": "Paris"})"}}},
        {F::Llama3, "<|python_tag|>{\"name\": \"f\", \"parameters\": {}}", "", {{"f", "{}"}}},
        {F::Llama3, "  {\"city\": \"Paris\"}", "  {\"city\": \"Paris\"}", {}},  // JSON, but no call
        {F::Llama3, "The answer is {\"name\": \"f\"}.", "The answer is {\"name\": \"f\"}.", {}},
        {F::Llama3, "<|pyt", "<|pyt", {}},
        {F::Mistral, "[{\"name\": \"f\", \"arguments\": {\"a\": 1}}, {\"name\": \"g\", \"arguments\": {}}]", "", {{"f", R"({"a": 1})"}, {"g", "{}"}}},
        {F::Mistral, "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}]", "", {{"f", "{}"}}},
        {F::Mistral, "[1, 2] are numbers", "[1, 2] are numbers", {}},
        {F::None, "<tool_call>{\"name\": \"a\"}</tool_call>", "<tool_call>{\"name\": \"a\"}</tool_call>", {}},
    };
    for (const SplitCase& c : cases) {
        const ToolCallSplit whole = split_tool_calls(c.format, c.text);
        EXPECT_EQ(whole.content, c.content) << c.text;
        ASSERT_EQ(whole.calls.size(), c.calls.size()) << c.text;
        for (size_t i = 0; i < c.calls.size(); ++i) {
            EXPECT_EQ(whole.calls[i].name, c.calls[i].first) << c.text;
            EXPECT_EQ(whole.calls[i].arguments, c.calls[i].second) << c.text;
            EXPECT_EQ(whole.calls[i].id.size(), 9u);
            for (char ch : whole.calls[i].id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)));
        }
        // Streamed in two pieces cut at every byte, and byte by byte: the same parts.
        for (size_t cut = 0; cut <= c.text.size(); ++cut) {
            for (bool bytewise : {false, true}) {
                ToolCallStream s(c.format);
                std::string sent;
                if (bytewise) {
                    for (char ch : c.text) sent += s.feed(std::string(1, ch));
                } else {
                    sent += s.feed(std::string_view(c.text).substr(0, cut));
                    sent += s.feed(std::string_view(c.text).substr(cut));
                }
                const ToolCallSplit rest = s.finish();
                EXPECT_EQ(sent + rest.content, c.content) << c.text << " cut at " << cut;
                ASSERT_EQ(rest.calls.size(), c.calls.size()) << c.text << " cut at " << cut;
                for (size_t i = 0; i < c.calls.size(); ++i) EXPECT_EQ(rest.calls[i].arguments, c.calls[i].second);
                if (bytewise) break;
            }
        }
    }
    // Text before a Hermes call goes out before the call is complete.
    ToolCallStream s(F::Hermes);
    EXPECT_EQ(s.feed("Checking the weather"), "Checking the weather");
    EXPECT_EQ(s.feed(" now.\n<tool"), " now.");
    EXPECT_EQ(s.feed("_call>{\"name\": \"a\"}"), "");
    EXPECT_EQ(s.finish().calls.size(), 1u);
}

TEST(ToolCalls, RequestsNameWhatIsWrong) {
    const std::string ask = R"("messages": [{"role": "user", "content": "x"}])";
    const std::vector<std::pair<std::string, std::string>> bad = {
        {R"({)" + ask + R"(, "tools": {}})", "tools"},
        {R"({)" + ask + R"(, "tools": [{"type": "retrieval"}]})", "tools[0]"},
        {R"({)" + ask + R"(, "tools": [{"type": "function", "function": {"name": ""}}]})", "tools[0].function.name"},
        {R"({)" + ask + R"(, "tools": [{"type": "function", "function": {"name": "f", "parameters": 3}}]})", "tools[0].function.parameters"},
        {R"({)" + ask + R"(, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}})", "tool_choice"},
        {R"({)" + ask + R"(, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "always"})", "tool_choice"},
        {R"({)" + ask + R"(, "tools": [], "tool_choice": "required"})", "tool_choice"},
        {R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}]}]})", "messages[0].tool_calls[0].function.arguments"},
        {R"({"messages": [{"role": "assistant", "tool_calls": [{"id": 5, "function": {"name": "f"}}]}]})", "messages[0].tool_calls[0].id"},
        {R"({"messages": [{"role": "tool", "content": "x", "tool_call_id": 7}]})", "messages[0].tool_call_id"},
        {R"({"messages": [{"role": "function", "content": "x"}]})", "messages[0].role"},
    };
    for (const auto& [body, param] : bad) {
        ApiRequest r;
        auto e = parse_api_request(body, true, &r);
        ASSERT_TRUE(e) << body;
        EXPECT_EQ(e->param, param) << body << ": " << e->message;
    }
    // tool_choice "none": the model is given no tools.
    ApiRequest r;
    ASSERT_FALSE(parse_api_request(R"({)" + ask + R"(, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"})", true, &r));
    EXPECT_TRUE(r.tools.is_null());
    ASSERT_FALSE(parse_api_request(R"({)" + ask + R"(, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "auto"})", true, &r));
    EXPECT_TRUE(r.tools.is_array());
    EXPECT_FALSE(r.tool_required);
    ASSERT_FALSE(parse_api_request(R"({)" + ask + R"(, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required"})", true, &r));
    EXPECT_TRUE(r.tool_required);
    ASSERT_FALSE(parse_api_request(R"({)" + ask + R"(, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "f"}}})", true, &r));
    EXPECT_EQ(r.tool_name, "f");
}

// A forced call (tool_choice "required" or named), enforced on a model that would rather write
// anything else: sampled over single-byte tokens with random logits, in each format, it is always
// one call the format's splitter reads, to the function asked for, with arguments its parameters
// admit (pydantic's $defs included); with "required" and several functions, to one of them.
TEST(ToolCalls, ForcedCallsAreAlwaysOneCallToTheFunctionAsked) {
    auto tools = json::parse(R"([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
            "properties": {"city": {"enum": ["Paris", "Rome"]}, "days": {"type": "integer"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "book", "parameters": {"$defs": {"Seat": {"type": "object",
            "properties": {"row": {"type": "integer"}}, "required": ["row"]}}, "type": "object",
            "properties": {"seat": {"$ref": "#/$defs/Seat"}}, "required": ["seat"]}}}])");
    ASSERT_TRUE(tools.ok());
    std::vector<std::string> pieces;
    for (int b = 0; b < 256; ++b) pieces.push_back(std::string(1, char(b)));
    pieces.push_back("");  // the end of generation
    std::vector<uint8_t> eog(pieces.size(), 0);
    eog.back() = 1;
    const auto vocab = make_vocab_pieces(std::move(pieces), std::move(eog));
    for (ToolCallFormat f : {ToolCallFormat::Hermes, ToolCallFormat::Llama3, ToolCallFormat::Mistral}) {
        for (const std::string name : {"get_weather", "book", ""}) {
            const ForcedCall fc = forced_call(f, *tools, name);
            auto schema = compile_json_schema(fc.schema);
            ASSERT_TRUE(schema.ok()) << schema.message();
            for (uint64_t seed = 1; seed <= 6; ++seed) {
                SamplingParams p;
                p.temperature = 1.0f, p.seed = seed, p.top_k = 0, p.top_p = 1.0f, p.min_p = 0.0f;
                Sampler sampler(p);
                JsonConstraint c(JsonAnswer{*schema, fc.prefix, fc.suffix}, vocab, false);
                Rng rng(seed);
                std::string text;
                for (int step = 0; step < 3000 && !c.finished(); ++step) {
                    std::vector<float> logits(vocab->piece.size());
                    for (auto& l : logits) l = float(rng.normal());
                    logits[' '] = logits['\t'] = -4.0f;  // fewer runs of whitespace, shorter texts
                    logits['}'] += 2.0f, logits['"'] += 2.0f, logits[']'] += 2.0f;
                    const int32_t t = sampler.sample(logits.data(), int(logits.size()), &c);
                    ASSERT_GE(t, 0) << text;
                    c.accept(t);
                    text += vocab->piece[size_t(t)];
                }
                ASSERT_TRUE(c.finished()) << text;
                const ToolCallSplit split = split_tool_calls(f, text);
                ASSERT_EQ(split.calls.size(), 1u) << text;
                EXPECT_EQ(split.content, "") << text;
                if (!name.empty()) EXPECT_EQ(split.calls[0].name, name) << text;
                auto args = json::parse(split.calls[0].arguments);
                ASSERT_TRUE(args.ok()) << text;
                if (name.empty()) {  // several functions to choose from: any object as arguments
                    EXPECT_TRUE(split.calls[0].name == "get_weather" || split.calls[0].name == "book") << text;
                    EXPECT_TRUE(args->is_object()) << text;
                } else if (split.calls[0].name == "get_weather") {
                    const std::string city = (*args)["city"].as_string();
                    EXPECT_TRUE(city == "Paris" || city == "Rome") << text;
                } else {
                    ASSERT_EQ(split.calls[0].name, "book") << text;
                    EXPECT_TRUE((*args)["seat"]["row"].is_int()) << text;
                }
            }
        }
    }
}
