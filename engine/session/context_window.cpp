#include "engine/session/context_window.h"

#include <algorithm>

namespace hearth {

int answer_reserve(int n_ctx, int max_new_tokens) {
    const int cap = std::max(16, n_ctx / 4);
    const int want = max_new_tokens > 0 ? max_new_tokens : cap;
    return std::clamp(want, 16, cap);
}

WindowDecision choose_window(const std::vector<WindowMessage>& messages, int overhead, int n_ctx, int reserve) {
    WindowDecision d;
    d.reserve = reserve;
    const int n = int(messages.size());
    if (n == 0) {
        d.error = "there is no message to answer";
        return d;
    }
    int system_tokens = overhead;
    for (const auto& m : messages)
        if (m.is_system) system_tokens += m.tokens;
    const int budget = n_ctx - reserve;

    // Suffix sums of the non-system messages: tokens[i] = cost of keeping messages i..n-1.
    std::vector<int> suffix(n + 1, 0);
    for (int i = n - 1; i >= 0; --i) suffix[i] = suffix[i + 1] + (messages[i].is_system ? 0 : messages[i].tokens);

    const int last = n - 1;
    if (system_tokens + suffix[last] > budget) {
        d.error = "the message is " + std::to_string(messages[last].tokens) + " tokens long, but the context window holds " +
                  std::to_string(n_ctx) + " tokens of which " + std::to_string(system_tokens) +
                  " go to the system prompt and " + std::to_string(reserve) +
                  " are kept for the answer; shorten the message or raise the context length in Settings";
        return d;
    }
    // Earliest non-system start that fits; prefer starting at a user turn so no answer is left
    // without its question.
    int first = last;
    for (int i = 0; i <= last; ++i) {
        if (messages[i].is_system) continue;
        if (system_tokens + suffix[i] <= budget && (messages[i].starts_turn || i == last)) {
            first = i;
            break;
        }
    }
    // The first non-system message overall when everything fits (may be an assistant greeting).
    int first_non_system = 0;
    while (first_non_system < n && messages[first_non_system].is_system) ++first_non_system;
    if (system_tokens + suffix[first_non_system] <= budget) first = first_non_system;

    d.ok = true;
    d.first_kept = first;
    d.prompt_tokens = system_tokens + suffix[first];
    return d;
}

}  // namespace hearth
