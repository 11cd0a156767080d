#include "engine/serve/reasoning_split.h"

namespace hearth {

namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Length of the longest suffix of `s` that is a proper prefix of `tag` (text that may become the tag).
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
    for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n)
        if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
    return 0;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool opened) : state_(opened ? State::ReasoningLead : State::Start) {}

ReasoningSplitter::Delta ReasoningSplitter::feed(std::string_view text) {
    held_.append(text);
    Delta out;
    run(out, false);
    return out;
}

ReasoningSplitter::Delta ReasoningSplitter::flush() {
    Delta out;
    run(out, true);
    return out;
}

void ReasoningSplitter::run(Delta& out, bool at_end) {
    while (true) {
        switch (state_) {
        case State::Start: {
            // Leading whitespace, then either <think> (reasoning follows) or anything else (no reasoning).
            size_t i = 0;
            while (i < held_.size() && is_space(held_[i])) ++i;
            const std::string_view rest = std::string_view(held_).substr(i);
            if (rest.size() >= kOpen.size() && rest.substr(0, kOpen.size()) == kOpen) {
                held_.erase(0, i + kOpen.size());
                state_ = State::ReasoningLead;
                continue;
            }
            if (!at_end && kOpen.substr(0, rest.size()) == rest) return;  // may still become <think>
            state_ = State::Content;
            continue;
        }
        case State::ReasoningLead:
        case State::ContentLead: {
            size_t i = 0;
            while (i < held_.size() && is_space(held_[i])) ++i;
            held_.erase(0, i);
            if (held_.empty()) return;
            state_ = state_ == State::ReasoningLead ? State::Reasoning : State::Content;
            continue;
        }
        case State::Reasoning: {
            const size_t close = held_.find(kClose);
            if (close != std::string::npos) {
                out.reasoning += held_.substr(0, close);
                held_.erase(0, close + kClose.size());
                state_ = State::ContentLead;
                continue;
            }
            const size_t keep = at_end ? 0 : partial_tag_suffix(held_, kClose);
            out.reasoning += held_.substr(0, held_.size() - keep);
            held_.erase(0, held_.size() - keep);
            return;
        }
        case State::Content:
            out.content += held_;
            held_.clear();
            return;
        }
    }
}

}  // namespace hearth
