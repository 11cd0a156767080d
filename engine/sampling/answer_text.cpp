#include "engine/sampling/answer_text.h"

namespace hearth {

AnswerText::Out AnswerText::push(std::string_view piece, const LogprobEntry* entry) {
    if (stopped()) return {};
    const std::string bytes = utf8_.push(piece);
    if (entry) held_.push_back({*entry, in_, std::string::npos});
    Out o;
    o.text = filter(bytes);
    o.logprobs = release();
    return o;
}

AnswerText::Out AnswerText::finish() {
    Out o;
    if (!stopped()) {
        o.text = filter(utf8_.flush());
        if (!stopped()) {
            const std::string rest = stops_.flush();
            out_ += rest.size();
            o.text += rest;
        }
    }
    o.logprobs = release();
    held_.clear();  // (after a stop: the stop string's tokens)
    return o;
}

std::string AnswerText::filter(const std::string& text) {
    in_ += text.size();
    // Every held token whose character was waiting is whole once nothing is pending.
    if (utf8_.pending() == 0)
        for (auto it = held_.rbegin(); it != held_.rend() && it->end == std::string::npos; ++it) it->end = in_;
    std::string out = stops_.feed(text);
    out_ += out.size();
    return out;
}

std::vector<LogprobEntry> AnswerText::release() {
    std::vector<LogprobEntry> out;
    const bool cut = stopped();
    while (!held_.empty()) {
        Held& h = held_.front();
        const bool all_out = h.end != std::string::npos && h.end <= out_;
        if (!all_out && !(cut && h.start < out_)) break;
        out.push_back(std::move(h.entry));
        held_.pop_front();
    }
    if (cut) held_.clear();
    return out;
}

}  // namespace hearth
