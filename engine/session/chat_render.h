// Rendering a conversation into prompt text with the model's chat template (engine/template), or,
// when the model has none, the turn format its vocabulary shows (Gemma's) or else ChatML.
// bos_token / eos_token come from the model's vocabulary.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/session/chat_format.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth {

// The template used for a model file without one: Gemma's turns when the vocabulary has
// <start_of_turn>/<end_of_turn> and no <|im_start|>; empty (ChatML) otherwise.
std::string_view fallback_chat_template(const tokenizer::Tokenizer& tok);

json::Value messages_to_json(const std::vector<ChatMessage>& messages);

Result<std::string> render_chat_messages(const std::string& chat_template, const tokenizer::Tokenizer& tok,
                                         const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                         const json::Value& extra);

// A model's chat format from its template text and tokenizer (both must outlive it): for holders of
// a model without a Session (the server's scheduler).
class ModelChatFormat final : public ChatFormat {
public:
    ModelChatFormat(std::string chat_template, const tokenizer::Tokenizer& tok) : template_(std::move(chat_template)), tok_(tok) {}
    Result<std::string> render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                    const json::Value& extra) const override {
        return render_chat_messages(template_, tok_, messages, add_generation_prompt, extra);
    }
    Result<std::vector<int32_t>> tokenize(std::string_view text, bool add_bos, bool parse_special) const override {
        return tok_.encode(text, add_bos, parse_special);
    }

private:
    std::string template_;
    const tokenizer::Tokenizer& tok_;
};

}  // namespace hearth
