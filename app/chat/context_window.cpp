#include "app/chat/context_window.h"

#include <algorithm>

namespace hearth::app {

int answerReserve(int nCtx, int maxNewTokens) {
    const int cap = std::max(16, nCtx / 4);
    const int want = maxNewTokens > 0 ? maxNewTokens : cap;
    return std::clamp(want, 16, cap);
}

WindowDecision chooseWindow(const std::vector<WindowMessage>& messages, int overhead, int nCtx, int reserve) {
    WindowDecision d;
    d.reserve = reserve;
    const int n = int(messages.size());
    if (n == 0) {
        d.error = "there is no message to answer";
        return d;
    }
    int systemTokens = overhead;
    for (const auto& m : messages)
        if (m.isSystem) systemTokens += m.tokens;
    const int budget = nCtx - reserve;

    // Suffix sums of the non-system messages: tokens[i] = cost of keeping messages i..n-1.
    std::vector<int> suffix(n + 1, 0);
    for (int i = n - 1; i >= 0; --i) suffix[i] = suffix[i + 1] + (messages[i].isSystem ? 0 : messages[i].tokens);

    const int last = n - 1;
    if (systemTokens + suffix[last] > budget) {
        d.error = "the message is " + std::to_string(messages[last].tokens) + " tokens long, but the context window holds " +
                  std::to_string(nCtx) + " tokens of which " + std::to_string(systemTokens) +
                  " go to the system prompt and " + std::to_string(reserve) +
                  " are kept for the answer; shorten the message or raise the context length in Settings";
        return d;
    }
    // Earliest non-system start that fits; prefer starting at a user turn so no answer is left
    // without its question.
    int first = last;
    for (int i = 0; i <= last; ++i) {
        if (messages[i].isSystem) continue;
        if (systemTokens + suffix[i] <= budget && (messages[i].startsTurn || i == last)) {
            first = i;
            break;
        }
    }
    // The first non-system message overall when everything fits (may be an assistant greeting).
    int firstNonSystem = 0;
    while (firstNonSystem < n && messages[firstNonSystem].isSystem) ++firstNonSystem;
    if (systemTokens + suffix[firstNonSystem] <= budget) first = firstNonSystem;

    d.ok = true;
    d.firstKept = first;
    d.promptTokens = systemTokens + suffix[first];
    return d;
}

}  // namespace hearth::app
