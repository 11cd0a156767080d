// Rendering a conversation into prompt text with the model's chat template, or ChatML when the
// model has none.
#pragma once

#include <string>
#include <vector>

#include "engine/session/session.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth {

// The ChatML rendering (<|im_start|>role\ncontent<|im_end|>\n …), used when a model has no template.
std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt);

Result<std::string> render_chat_messages(const std::string& chat_template, const tokenizer::Tokenizer& tok,
                                         const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                         const json::Value& extra);

}  // namespace hearth
