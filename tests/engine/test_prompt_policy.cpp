// The one prompt policy (engine/session/prompt_policy.h) and its context-window choice
// (engine/session/context_window.h, moved here from the app's tests with it): which turns stay,
// the BOS rule, n_keep, the think prefix, too-long prompts and the template's end-of-turn stop.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/session/context_window.h"
#include "engine/session/prompt_policy.h"
#include "engine/session/session.h"
#include "engine/template/builtin_templates.h"
#include "engine/testmodels/random_model.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;

namespace {

WindowMessage sys(int t) { return {true, false, t}; }
WindowMessage user(int t) { return {false, true, t}; }
WindowMessage bot(int t) { return {false, false, t}; }

// A random-weight model whose vocabulary has <s> (BOS); `chat_template` empty: ChatML.
std::unique_ptr<Session> open_model(const std::string& name, const std::string& chat_template, int n_ctx = 256) {
    const std::string path = test::temp_file(name);
    RandomModelShape shape;
    shape.chat_template = chat_template;
    if (!write_random_llama_model(path, shape, GgmlType::F32, 5).ok()) return nullptr;
    ModelOptions opt;
    opt.path = path;
    opt.n_ctx = n_ctx;
    opt.backend = "cpu";
    opt.n_threads = 1;
    auto s = Session::open(opt);
    std::filesystem::remove(path);
    return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace

TEST(ContextWindow, Reserve) {
    EXPECT_EQ(answer_reserve(4096, 512), 512);
    EXPECT_EQ(answer_reserve(4096, 100000), 1024);  // capped at n_ctx/4
    EXPECT_EQ(answer_reserve(4096, -1), 1024);      // "until done": a quarter
    EXPECT_EQ(answer_reserve(32, 4), 16);           // at least 16
}

TEST(ContextWindow, EverythingFits) {
    const auto d = choose_window({sys(10), user(5), bot(20), user(5)}, 2, 100, 20);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.first_kept, 1);
    EXPECT_EQ(d.prompt_tokens, 42);
}

TEST(ContextWindow, OldestTurnsLeave) {
    // n_ctx 100, reserve 20 → 80 for the prompt; system+overhead 12.
    const auto d = choose_window({sys(10), user(20), bot(20), user(20), bot(20), user(10)}, 2, 100, 20);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.first_kept, 3);  // from 3 costs 12 + 50 = 62 ≤ 80; from 1 it would cost 102
    EXPECT_EQ(d.prompt_tokens, 62);
    // A window never starts with an answer whose question left: from 2 would fit (67), but 2 is an answer.
    const auto d2 = choose_window({sys(10), user(30), bot(10), user(30), bot(5), user(10)}, 2, 100, 20);
    ASSERT_TRUE(d2.ok);
    EXPECT_EQ(d2.first_kept, 3);
}

TEST(ContextWindow, OnlyTheLastMessageFits) {
    const auto d = choose_window({user(40), bot(40), user(60)}, 0, 100, 30);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.first_kept, 2);
}

TEST(ContextWindow, MessageTooLong) {
    const auto d = choose_window({sys(10), user(500)}, 2, 256, 64);
    EXPECT_FALSE(d.ok);
    EXPECT_NE(d.error.find("500 tokens"), std::string::npos);
    EXPECT_NE(d.error.find("256"), std::string::npos);
    EXPECT_FALSE(choose_window({}, 0, 100, 10).ok);
}

TEST(PromptPolicy, BosRuleAndNKeep) {
    auto s = open_model("pp_chatml.gguf", "");
    ASSERT_TRUE(s);
    const int32_t bos = (*s->tokenize("", true, false))[0];
    // Raw text: BOS added once; text that starts with BOS's text keeps a single one.
    auto raw = tokenize_prompt(*s, "hello", false);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ((*raw)[0], bos);
    auto twice = tokenize_prompt(*s, "<s>hello", true);
    ASSERT_TRUE(twice.ok());
    EXPECT_EQ((*twice)[0], bos);
    EXPECT_NE((*twice)[1], bos);

    ChatPromptRequest req;
    req.messages = {{"system", "Be brief."}, {"user", "Hi there"}};
    req.n_ctx = s->n_ctx();
    const ChatPrompt p = build_chat_prompt(*s, req);
    ASSERT_TRUE(p.ok()) << p.message;
    EXPECT_EQ(p.tokens[0], bos);                                  // ChatML writes no BOS: the rule adds it
    EXPECT_NE(p.text.find("<|im_start|>system\nBe brief."), std::string::npos);
    EXPECT_EQ(p.first_kept, 1u);
    // n_keep covers BOS and the system turn: the common prefix with the system-only render.
    auto sys_only = tokenize_prompt(*s, *s->render_chat({{"system", "Be brief."}}, false), true);
    ASSERT_TRUE(sys_only.ok());
    EXPECT_GT(p.n_keep, 1);
    EXPECT_LE(p.n_keep, int(sys_only->size()));
    EXPECT_FALSE(p.think_open);

    // Without a system prompt n_keep is the BOS token.
    req.messages = {{"user", "Hi there"}};
    EXPECT_EQ(build_chat_prompt(*s, req).n_keep, 1);
}

TEST(PromptPolicy, OldTurnsLeaveOrTheRequestFails) {
    auto s = open_model("pp_window.gguf", "", 128);
    ASSERT_TRUE(s);
    const std::string long_turn(120, 'x');
    ChatPromptRequest req;
    req.messages = {{"system", "S"}, {"user", long_turn}, {"assistant", long_turn}, {"user", "short question"}};
    req.n_ctx = s->n_ctx();
    req.reserve = 16;
    // The app's chat: the oldest turn leaves, the system prompt stays.
    ChatPrompt p = build_chat_prompt(*s, req);
    ASSERT_TRUE(p.ok()) << p.message;
    EXPECT_EQ(p.first_kept, 3u);
    EXPECT_LE(int(p.tokens.size()) + req.reserve, req.n_ctx);
    EXPECT_NE(p.text.find("<|im_start|>system\nS"), std::string::npos);
    EXPECT_EQ(p.text.find(long_turn), std::string::npos);
    // The server: no silent truncation.
    req.drop_old_turns = false;
    p = build_chat_prompt(*s, req);
    EXPECT_EQ(p.error, PromptError::TooLong);
    EXPECT_GT(p.too_long_tokens, req.n_ctx);
    // A last message that cannot fit at all is an error either way.
    req.drop_old_turns = true;
    req.messages = {{"user", std::string(400, 'y')}};
    p = build_chat_prompt(*s, req);
    EXPECT_EQ(p.error, PromptError::TooLong);
    EXPECT_NE(p.message.find("128"), std::string::npos) << p.message;
    // Nothing to answer.
    req.messages = {{"system", "S"}};
    EXPECT_EQ(build_chat_prompt(*s, req).error, PromptError::NoMessage);
}

TEST(PromptPolicy, ThinkPrefixAndTemplateErrors) {
    auto s = open_model("pp_think.gguf",
                        "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
                        "{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}");
    ASSERT_TRUE(s);
    ChatPromptRequest req;
    req.messages = {{"user", "Why?"}};
    req.n_ctx = s->n_ctx();
    ChatPrompt p = build_chat_prompt(*s, req);
    ASSERT_TRUE(p.ok()) << p.message;
    EXPECT_TRUE(p.think_open);

    auto bad = open_model("pp_bad.gguf", "{% for m in messages %}{{ m.content | nosuchfilter }}{% endfor %}");
    ASSERT_TRUE(bad);
    p = build_chat_prompt(*bad, req);
    EXPECT_EQ(p.error, PromptError::Template);
    EXPECT_FALSE(p.message.empty());
}

TEST(PromptPolicy, EndOfTurnStops) {
    auto chatml = open_model("pp_eot1.gguf", "");
    ASSERT_TRUE(chatml);
    EXPECT_EQ(end_of_turn_stops(*chatml), std::vector<std::string>{"<|im_end|>"});
    auto gemma = open_model("pp_eot2.gguf", std::string(chat::kGemmaTurnTemplate));
    ASSERT_TRUE(gemma);
    EXPECT_EQ(end_of_turn_stops(*gemma), std::vector<std::string>{"<end_of_turn>"});
    auto plain = open_model("pp_eot3.gguf", "{% for m in messages %}{{ m.content }}\n{% endfor %}");
    ASSERT_TRUE(plain);
    EXPECT_TRUE(end_of_turn_stops(*plain).empty());
}
