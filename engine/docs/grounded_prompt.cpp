#include "engine/docs/grounded_prompt.h"

namespace hearth::docs {

std::string grounded_message(std::string_view question, const std::vector<Excerpt>& excerpts) {
    if (excerpts.empty()) return std::string(question);
    // The instruction first and the question last, nearest the answer: the order small models follow
    // best (with the instruction between the excerpts and the question, 270M models copied it back).
    std::string m = "Answer the question at the end using these excerpts from my documents where they are relevant, "
                    "and cite them by number, like [1]. If they do not hold the answer, say so before answering from "
                    "what you know.\n";
    for (size_t i = 0; i < excerpts.size(); ++i) {
        const Excerpt& x = excerpts[i];
        m += "\n[" + std::to_string(i + 1) + "] " + x.source;
        if (x.line > 0) m += ", line " + std::to_string(x.line);
        if (!x.heading.empty()) m += " (" + x.heading + ")";
        m += "\n" + x.text + "\n";
    }
    m += "\nQuestion: ";
    m += question;
    return m;
}

}  // namespace hearth::docs
