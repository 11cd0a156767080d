#include "engine/session/chat_render.h"

#include "engine/template/builtin_templates.h"
#include "engine/template/chat_template.h"

namespace hearth {

json::Value messages_to_json(const std::vector<ChatMessage>& messages) {
    json::Value arr = json::Value::array();
    for (const auto& m : messages) {
        json::Value o = json::Value::object();
        o.set("role", m.role);
        o.set("content", m.content);
        // Only when present: Llama 3's template tests `'tool_calls' in message`.
        if (m.tool_calls.is_array() && m.tool_calls.size() > 0) o.set("tool_calls", m.tool_calls);
        if (!m.tool_call_id.empty()) o.set("tool_call_id", m.tool_call_id);
        arr.push_back(std::move(o));
    }
    return arr;
}

std::string_view fallback_chat_template(const tokenizer::Tokenizer& tok) {
    // The base Gemma files carry no template, and ChatML's <|im_start|> is not one of their tokens
    // (the model then echoes the tags); their vocabulary has Gemma's turn tokens instead.
    if (tok.find_token("<start_of_turn>") >= 0 && tok.find_token("<end_of_turn>") >= 0 && tok.find_token("<|im_start|>") < 0)
        return chat::kGemmaTurnTemplate;
    return {};  // ChatML
}

Result<std::string> render_chat_messages(const std::string& chat_template, const tokenizer::Tokenizer& tok,
                                         const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                         const json::Value& extra) {
    chat::ChatOptions o;
    o.add_generation_prompt = add_generation_prompt;
    if (tok.bos_id() >= 0) o.bos_token = tok.token_text(tok.bos_id());
    if (tok.eos_id() >= 0) o.eos_token = tok.token_text(tok.eos_id());
    o.extra = extra;
    const std::string_view source = chat_template.empty() ? fallback_chat_template(tok) : std::string_view(chat_template);
    return chat::render_chat(source, messages_to_json(messages), o);
}

}  // namespace hearth
