// The one prompt policy of Hearth: how a conversation becomes the tokens a model is given. The app's
// worker, `hearth-cli generate --chat` and the OpenAI-compatible server all call it, so a model
// sees the same prompt whichever of them asks:
//   - the chat template renders the messages (ChatFormat::render_chat, with its template variables);
//   - the BOS rule: templates usually write the BOS token themselves, it is added only when not;
//   - the context window: when the conversation does not fit n_ctx minus the room kept for the
//     answer, the oldest whole turns leave (context_window.h), or, where dropping is not wanted
//     (the server: a silent truncation would answer another question), it is an error;
//   - n_keep: the tokens a context shift must keep (the system prompt, else the BOS token);
//   - the think prefix: a template that opens the reasoning itself ("<think>" at the end of the
//     prompt) starts the answer inside it;
//   - the end-of-turn marker the template writes after an answer, as a stop string.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/session/chat_format.h"

namespace hearth {

// Tokenizes prompt text with the BOS rule: BOS (when the vocabulary has one) is added only when the
// text does not already start with it. `parse_special` for rendered chat text (its tags are tokens).
Result<std::vector<int32_t>> tokenize_prompt(const ChatFormat& f, const std::string& text, bool parse_special);

struct ChatPromptRequest {
    // System messages never leave the window; the last message is the one being answered.
    std::vector<ChatMessage> messages;
    json::Value template_extra = json::Value::object();  // e.g. {"enable_thinking": false}
    int n_ctx = 0;
    int reserve = 0;              // tokens kept free for the answer (answer_reserve, context_window.h)
    bool drop_old_turns = true;   // false: a conversation that does not fit is an error
};

enum class PromptError {
    None,
    NoMessage,   // nothing to answer
    Template,    // the chat template failed (message: the template's error)
    Tokenize,    // tokenizing failed
    TooLong,     // even the last message alone does not fit (or, without dropping, the conversation)
};

struct ChatPrompt {
    PromptError error = PromptError::None;
    std::string message;          // when error != None: what went wrong, in English
    std::vector<int32_t> tokens;  // the prompt
    std::string text;             // the rendered text it came from
    size_t first_kept = 0;        // index in the request's messages of the first non-system message kept
    int n_keep = 0;               // tokens a context shift keeps (≤ n_ctx / 2)
    bool think_open = false;      // the prompt ends inside an opened <think>: the answer starts as reasoning
    int last_tokens = 0;          // estimated tokens of the last message
    int too_long_tokens = 0;      // TooLong: the prompt's length as reported (the larger of the two counts)
    bool ok() const { return error == PromptError::None; }
};

ChatPrompt build_chat_prompt(const ChatFormat& f, const ChatPromptRequest& req);

// The marker the template writes after an assistant's answer ("<|im_end|>", "<end_of_turn>",
// "<|eot_id|>", "</s>" …), as stop strings: a model whose vocabulary does not mark it as the end
// of generation still stops there. Empty when the template shows none.
std::vector<std::string> end_of_turn_stops(const ChatFormat& f);

}  // namespace hearth
