// Splitting a reasoning model's answer into its reasoning and its content, as DeepSeek's API and
// llama.cpp's server report them (`reasoning_content` and `content`): the text between <think> and
// </think> is reasoning; whitespace right after either tag is dropped. Works on streamed pieces,
// holding back only what could still be the start of a tag, so the streamed deltas concatenate to
// exactly what the whole text gives.
#pragma once

#include <string>
#include <string_view>

namespace hearth {

class ReasoningSplitter {
public:
    // `opened`: the prompt already opened <think> (the template writes it), the answer starts inside.
    explicit ReasoningSplitter(bool opened);

    struct Delta {
        std::string reasoning, content;
    };
    Delta feed(std::string_view text);
    Delta flush();  // end of the answer: releases what was held back

private:
    enum class State { Start, ReasoningLead, Reasoning, ContentLead, Content };
    void run(Delta& out, bool at_end);
    State state_;
    std::string held_;
};

}  // namespace hearth
