// What the prompt policy (prompt_policy.h) needs of a loaded model: its chat template and its
// tokenizer. A Session is one; the server's scheduler, which holds the model without a Session,
// has its own (ModelChatFormat, chat_render.h). Kept apart so the policy does not depend on either.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/util/json.h"
#include "engine/util/status.h"

namespace hearth {

struct ChatMessage {
    std::string role;     // "system", "user", "assistant"
    std::string content;
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
