// Streamed answer text (engine/sampling/stop_strings, engine/serve/reasoning_split): the model's
// text in pieces, against stop strings an API client sends. Properties, not only "no crash":
//  - the stop filter emits a prefix of the text holding no stop string; unstopped, all of it;
//    stopped, the rest of the text starts with a stop string;
//  - the reasoning splitter's streamed deltas concatenate to what the whole text gives at once
//    (what its header promises), however the text is cut;
//  - so do the tool-call splitter's (engine/serve/tool_calls), in each format: the same content
//    and the same calls;
//  - the answer text (engine/sampling/answer_text: the server and the session), fed the text cut anywhere (inside
//    characters too), gives what UTF-8 reassembly and the stop filter give for those cuts, and
//    releases the tokens' log-probability entries in order: every one when unstopped, else exactly
//    the tokens that began before the cut. (Where the text stops may depend on the cuts: a short
//    stop string that completes first ends the answer before a longer one that began earlier.)
// Parts: the text, the stop strings (one a line), the cuts (each byte a piece length, 1–16, moved
// on to the next character boundary: pieces are whole UTF-8, as the detokenizer gives them).
#include <cstdlib>

#include "engine/sampling/stop_strings.h"
#include "engine/sampling/answer_text.h"
#include "engine/serve/reasoning_split.h"
#include "engine/serve/tool_calls.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8_stream.h"
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

    if (tokenizer::is_valid_utf8(text)) {
        // Token pieces cut anywhere, as a byte-level vocabulary cuts characters; entry i is piece i's.
        AnswerText answer(stops);
        tokenizer::Utf8Stream utf8;
        StopStringFilter by_hand(stops);
        std::string said, expected;
        std::vector<int32_t> released;
        std::vector<size_t> starts;  // where each piece's first whole character begins
        size_t at = 0, k = 0;
        while (at < text.size()) {
            const size_t n = std::min<size_t>(text.size() - at, parts[2].empty() ? 2 : 1 + static_cast<unsigned char>(parts[2][k % parts[2].size()]) % 7);
            size_t b = at;
            while (b > 0 && continuation(text[b])) --b;
            starts.push_back(b);
            LogprobEntry e;
            e.chosen.id = int32_t(k++);
            AnswerText::Out o = answer.push(text.substr(at, n), &e);
            expected += by_hand.feed(utf8.push(text.substr(at, n)));
            said += o.text;
            for (const auto& x : o.logprobs) released.push_back(x.chosen.id);
            at += n;
        }
        AnswerText::Out o = answer.finish();
        said += o.text;
        for (const auto& x : o.logprobs) released.push_back(x.chosen.id);
        if (!by_hand.stopped()) expected += by_hand.feed(utf8.flush());
        if (!by_hand.stopped()) expected += by_hand.flush();
        if (said != expected) std::abort();  // not what reassembly and the stop filter give
        for (size_t i = 0; i < released.size(); ++i)
            if (released[i] != int32_t(i)) std::abort();  // out of order, twice, or skipped
        size_t expect = starts.size();
        if (answer.stopped()) {
            expect = 0;
            while (expect < starts.size() && starts[expect] < said.size()) ++expect;
        }
        if (released.size() != expect) std::abort();  // an entry without its text, or text without its entry
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
