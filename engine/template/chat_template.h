// Chat templates: render a model's `tokenizer.chat_template` for a conversation the way Hugging Face
// transformers' apply_chat_template does (variables messages, add_generation_prompt, bos_token,
// eos_token, plus any extra ones such as tools or enable_thinking), or ChatML when the model has no
// template.
#pragma once

#include <ctime>
#include <functional>
#include <string>
#include <string_view>

#include "engine/template/jinja.h"
#include "engine/util/json.h"
#include "engine/util/status.h"

namespace hearth::chat {

struct ChatOptions {
    bool add_generation_prompt = false;
    std::string bos_token, eos_token;
    // More template variables (a JSON object, or null for none): {"enable_thinking": false},
    // {"tools": [...]}. They override the ones above when the names collide.
    json::Value extra;
    // The time strftime_now() sees; default: local time now.
    std::function<std::tm()> clock;
};

class ChatTemplate {
public:
    // Parses a template once (syntax errors name the line).
    static Result<ChatTemplate> compile(std::string_view source);

    // `messages` is a JSON array of message objects ({"role", "content", and any other fields such
    // as tool_calls or reasoning_content}). Errors, including the template's raise_exception, are
    // returned with the template line.
    Result<std::string> render(const json::Value& messages, const ChatOptions& options) const;

private:
    jinja::Template tmpl_;
};

// One-shot: compile and render.
Result<std::string> render_chat_template(std::string_view source, const json::Value& messages, const ChatOptions& options);

// The fallback for models without a template:
// "<|im_start|>ROLE\nCONTENT<|im_end|>\n" per message, then "<|im_start|>assistant\n" if asked.
// Content that is a list of parts ({"type": "text", "text": …}) is joined; other non-string
// content is written as JSON.
std::string render_chatml(const json::Value& messages, bool add_generation_prompt);

// The model's template when it has one (non-empty source), ChatML otherwise.
Result<std::string> render_chat(std::string_view template_source, const json::Value& messages, const ChatOptions& options);

}  // namespace hearth::chat
