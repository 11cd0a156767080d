#include "engine/session/chat_render.h"

namespace hearth {

std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
    std::string out;
    for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
}

Result<std::string> render_chat_messages(const std::string& chat_template, const tokenizer::Tokenizer& tok,
                                         const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                         const json::Value& extra) {
    // TODO(integration): render `chat_template` with the Jinja engine once engine/template's public
    // entry point is committed; until then every model renders as ChatML.
    (void)chat_template;
    (void)tok;
    (void)extra;
    return render_chatml(messages, add_generation_prompt);
}

}  // namespace hearth
