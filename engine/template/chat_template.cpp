#include "engine/template/chat_template.h"

namespace hearth::chat {

Result<ChatTemplate> ChatTemplate::compile(std::string_view source) {
    auto t = jinja::Template::parse(source);
    if (!t.ok()) return t.status();
    ChatTemplate ct;
    ct.tmpl_ = std::move(t.value());
    return ct;
}

Result<std::string> ChatTemplate::render(const json::Value& messages, const ChatOptions& options) const {
    if (!messages.is_array()) return make_error("chat messages must be a JSON array");
    for (const json::Value& m : messages.as_array())
        if (!m.is_object()) return make_error("each chat message must be a JSON object");
    if (!options.extra.is_null() && !options.extra.is_object())
        return make_error("extra template variables must be a JSON object");
    json::Value vars = json::Value::object();
    vars.set("messages", messages);
    vars.set("add_generation_prompt", options.add_generation_prompt);
    vars.set("bos_token", options.bos_token);
    vars.set("eos_token", options.eos_token);
    for (const auto& [k, v] : options.extra.as_object()) vars.set(k, v);
    jinja::RenderOptions ro;
    ro.clock = options.clock;
    return tmpl_.render(vars, ro);
}

Result<std::string> render_chat_template(std::string_view source, const json::Value& messages, const ChatOptions& options) {
    auto t = ChatTemplate::compile(source);
    if (!t.ok()) return t.status();
    return t->render(messages, options);
}

namespace {

std::string content_text(const json::Value& content) {
    if (content.is_string()) return content.as_string();
    if (content.is_null()) return {};
    if (content.is_array()) {
        std::string out;
        bool all_text = true;
        for (const json::Value& part : content.as_array()) {
            const json::Value* text = part.find("text");
            if (!text || !text->is_string()) { all_text = false; break; }
            out += text->as_string();
        }
        if (all_text) return out;
    }
    return content.dump();
}

}  // namespace

std::string render_chatml(const json::Value& messages, bool add_generation_prompt) {
    std::string out;
    for (const json::Value& m : messages.as_array()) {
        const json::Value* role = m.find("role");
        out += "<|im_start|>";
        out += role && role->is_string() ? role->as_string() : std::string("user");
        out += '\n';
        if (const json::Value* content = m.find("content")) out += content_text(*content);
        out += "<|im_end|>\n";
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
}

Result<std::string> render_chat(std::string_view template_source, const json::Value& messages, const ChatOptions& options) {
    if (template_source.empty()) {
        if (!messages.is_array()) return make_error("chat messages must be a JSON array");
        return render_chatml(messages, options.add_generation_prompt);
    }
    return render_chat_template(template_source, messages, options);
}

}  // namespace hearth::chat
