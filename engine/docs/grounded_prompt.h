// The user turn a model answers when documents are searched: the passages found, each numbered and
// named by its file (and line or heading), then the person's question, with the instruction to
// answer from them, to cite them as [1], [2], and to say so when they do not hold the answer.
// What is stored as the turn's prompt and replayed as history, so a regenerated answer and the
// KV cache see the same text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth::docs {

struct Excerpt {
    std::string source;   // the file's name, as the person sees it
    int line = 0;         // 0: not shown
    std::string heading;  // "" : not shown
    std::string text;
};

std::string grounded_message(std::string_view question, const std::vector<Excerpt>& excerpts);

}  // namespace hearth::docs
