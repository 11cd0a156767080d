#include "engine/session/chat_render.h"

#include "engine/template/chat_template.h"

namespace hearth {

json::Value messages_to_json(const std::vector<ChatMessage>& messages) {
    json::Value arr = json::Value::array();
    for (const auto& m : messages) {
        json::Value o = json::Value::object();
        o.set("role", m.role);
        o.set("content", m.content);
        arr.push_back(std::move(o));
    }
    return arr;
}

Result<std::string> render_chat_messages(const std::string& chat_template, const tokenizer::Tokenizer& tok,
                                         const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                         const json::Value& extra) {
    chat::ChatOptions o;
    o.add_generation_prompt = add_generation_prompt;
    if (tok.bos_id() >= 0) o.bos_token = tok.token_text(tok.bos_id());
    if (tok.eos_id() >= 0) o.eos_token = tok.token_text(tok.eos_id());
    o.extra = extra;
    return chat::render_chat(chat_template, messages_to_json(messages), o);
}

}  // namespace hearth
