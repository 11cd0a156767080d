// Streamed answer text (engine/sampling/stop_strings, engine/serve/reasoning_split): the model's
// text in pieces, against stop strings an API client sends. Properties, not only "no crash":
//  - the stop filter emits a prefix of the text holding no stop string; unstopped, all of it;
//    stopped, the rest of the text starts with a stop string;
//  - the reasoning splitter's streamed deltas concatenate to what the whole text gives at once
//    (what its header promises), however the text is cut;
//  - so do the tool-call splitter's (engine/serve/tool_calls), in each format: the same content
//    and the same calls.
// Parts: the text, the stop strings (one a line), the cuts (each byte a piece length, 1–16, moved
// on to the next character boundary: pieces are whole UTF-8, as the detokenizer gives them).
#include <cstdlib>

#include "engine/sampling/stop_strings.h"
#include "engine/serve/reasoning_split.h"
#include "engine/serve/tool_calls.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

namespace {
bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

std::vector<std::string_view> cut(std::string_view text, std::string_view lengths) {
    std::vector<std::string_view> pieces;
    size_t at = 0, k = 0;
    while (at < text.size()) {
        size_t n = lengths.empty() ? 3 : 1 + (static_cast<unsigned char>(lengths[k++ % lengths.size()]) % 16);
        size_t end = std::min(text.size(), at + n);
        while (end < text.size() && continuation(text[end])) ++end;
        pieces.push_back(text.substr(at, end - at));
        at = end;
    }
    return pieces;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto parts = fuzz::split_parts(data, size, 3);
    const std::string_view text = parts[0];
    std::vector<std::string> stops;
    for (size_t at = 0; at <= parts[1].size();) {
        const size_t nl = std::min(parts[1].find('\n', at), parts[1].size());
        const std::string s(parts[1].substr(at, nl - at));
        if (!s.empty() && !continuation(s[0])) stops.push_back(s);  // a stop string starts on a character
        at = nl + 1;
    }
    const auto pieces = cut(text, parts[2]);

    StopStringFilter filter(stops);
    std::string out;
    for (std::string_view p : pieces) out += filter.feed(p);
    out += filter.flush();
    if (text.substr(0, out.size()) != out) std::abort();  // not a prefix of the text
    for (const std::string& s : stops)
        if (out.find(s) != std::string::npos) std::abort();  // a stop string got out
    if (!filter.stopped() && out.size() != text.size()) std::abort();
    if (filter.stopped()) {
        bool starts = false;
        for (const std::string& s : stops) starts |= text.substr(out.size(), s.size()) == s;
        if (!starts) std::abort();  // stopped where no stop string begins
    }

    const bool opened = size % 2 == 1;
    ReasoningSplitter whole(opened), streamed(opened);
    ReasoningSplitter::Delta all = whole.feed(text), tail = whole.flush();
    all.reasoning += tail.reasoning;
    all.content += tail.content;
    ReasoningSplitter::Delta sum;
    for (std::string_view p : pieces) {
        const ReasoningSplitter::Delta d = streamed.feed(p);
        sum.reasoning += d.reasoning;
        sum.content += d.content;
    }
    tail = streamed.flush();
    sum.reasoning += tail.reasoning;
    sum.content += tail.content;
    if (sum.reasoning != all.reasoning || sum.content != all.content) std::abort();  // the cuts changed the answer
    size_t n_calls = 0;
    for (ToolCallFormat f : {ToolCallFormat::Hermes, ToolCallFormat::Llama3, ToolCallFormat::Mistral}) {
        const ToolCallSplit one = split_tool_calls(f, text);
        ToolCallStream st(f);
        std::string sent;
        for (std::string_view p : pieces) sent += st.feed(p);
        const ToolCallSplit rest = st.finish();
        if (sent + rest.content != one.content || rest.calls.size() != one.calls.size()) std::abort();
        for (size_t i = 0; i < one.calls.size(); ++i)
            if (rest.calls[i].name != one.calls[i].name || rest.calls[i].arguments != one.calls[i].arguments) std::abort();
        n_calls += one.calls.size();
    }
    return filter.stopped() || !all.reasoning.empty() || n_calls ? 0 : fuzz::refused("no stop string, reasoning or tool call");
}

std::vector<std::string> hearth::fuzz::seeds() {
    return {
        join_parts({"<think>\nLet me see: 2 + 2.\n</think>\n\nIt is 4.<|im_end|>ignored", "<|im_end|>\n</s>", "\x01\x02\x03\x05\x08"}),
        join_parts({"The answer is 世界 and then END of story", "END\nEN\nstory", "\x10\x01"}),
        join_parts({"reasoning first</think>  content, stop here: ### more", "###\n##", "\x07"}),
        join_parts({"abcabcabd", "abd\nbca\ncab", "\x02"}),
        join_parts({"Sure.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1, \"x\"]}}\n</tool_call>\n<tool_call>{\"name\": \"g\"}",
                    "", "\x03\x01\x09"}),
        join_parts({" {\"name\": \"get\", \"parameters\": {\"q\": \"ü\"}}", "", "\x02"}),
        join_parts({"[TOOL_CALLS][{\"name\": \"f\", \"arguments\": \"{}\"}]", "", "\x05"}),
    };
}
