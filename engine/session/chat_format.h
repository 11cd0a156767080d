// What the prompt policy (prompt_policy.h) needs of a loaded model: its chat template and its
// tokenizer. A Session is one; the server's scheduler, which holds the model without a Session,
// has its own (ModelChatFormat, chat_render.h). Kept apart so the policy does not depend on either.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/util/json.h"
#include "engine/util/status.h"

namespace hearth {

struct ChatMessage {
    ChatMessage() = default;
    ChatMessage(std::string r, std::string c) : role(std::move(r)), content(std::move(c)) {}
    std::string role;     // "system", "user", "assistant"; "tool" for a tool's result (the API)
    std::string content;
    // The API's tool use, given to the template as Hugging Face's do: an assistant turn's calls
    // (OpenAI's tool_calls: [{"id", "type": "function", "function": {"name", "arguments"}}], the
    // arguments as a JSON object where they parse) and the call a tool result answers. Null and
    // empty for every other turn, and then not given to the template at all.
    json::Value tool_calls;
    std::string tool_call_id;
};

class ChatFormat {
public:
    virtual ~ChatFormat() = default;
    // Renders the model's chat template (when it has none, fallback_chat_template's: Gemma turns or
    // ChatML). `extra` holds additional template variables, e.g. {"enable_thinking": false}.
    virtual Result<std::string> render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                            const json::Value& extra = json::Value::object()) const = 0;
    virtual Result<std::vector<int32_t>> tokenize(std::string_view text, bool add_bos, bool parse_special) const = 0;
};

}  // namespace hearth
