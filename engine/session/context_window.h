// The sliding context window policy (pure logic): given the token cost of each
// message of a conversation, decide which oldest turns leave the model's context so that the system
// prompt, the newest turns and room for the answer fit in n_ctx.
//
// Why turns and not tokens: cutting inside a message would leave the model a half sentence (or half
// a UTF-8 character); dropping whole user→assistant turns from the oldest keeps what stays readable,
// and because the dropped tokens are one contiguous range after the system prompt, the engine can
// shift its KV cache instead of recomputing the window.
#pragma once

#include <string>
#include <vector>

namespace hearth {

struct WindowMessage {
    bool is_system = false;  // system messages never leave the window
    bool starts_turn = false;  // a user message: the window may start here
    int tokens = 0;         // cost of this message as rendered by the chat template
};

struct WindowDecision {
    bool ok = false;
    int first_kept = 0;      // index of the first non-system message still in the window
    int prompt_tokens = 0;   // estimated tokens of the kept messages
    int reserve = 0;        // tokens kept free for the answer
    std::string error;      // when !ok: why nothing fits (the newest message alone is too long)
};

// Tokens kept free for the answer: max_new_tokens when set, capped at a quarter of the context so
// that a long max_new_tokens does not push every earlier turn out; at least 16.
int answer_reserve(int n_ctx, int max_new_tokens);

// Chooses the window. `overhead` counts tokens outside the messages (BOS, generation prompt).
// The last message must be the one being answered; it is always kept. When even the system prompt
// plus that last message plus `reserve` overflow n_ctx, the decision is an error that says by how much.
WindowDecision choose_window(const std::vector<WindowMessage>& messages, int overhead, int n_ctx, int reserve);

}  // namespace hearth
