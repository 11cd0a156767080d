// Rendering a conversation into prompt text with the model's chat template (engine/template), or
// ChatML when the model has none. bos_token / eos_token come from the model's vocabulary.
#pragma once

#include <string>
#include <vector>

#include "engine/session/session.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth {

json::Value messages_to_json(const std::vector<ChatMessage>& messages);

Result<std::string> render_chat_messages(const std::string& chat_template, const tokenizer::Tokenizer& tok,
                                         const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                         const json::Value& extra);

}  // namespace hearth
