// One answer's text as its tokens come: their pieces (bytes, possibly part of a character) through
// UTF-8 reassembly and the request's stop strings, and each token's log-probability entry released
// with the text it made. An entry comes out once all of its token's text is out. When a stop
// string ends the answer, the token it cuts (some of whose text is out) comes out too, and the
// tokens wholly inside the stop string never do. So the entries that come out are the tokens of
// the text that comes out, in order.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampling/stop_strings.h"
#include "engine/sampling/token_logprobs.h"
#include "engine/tokenizer/utf8_stream.h"

namespace hearth {

class AnswerText {
public:
    explicit AnswerText(std::vector<std::string> stops) : stops_(std::move(stops)) {}

    struct Out {
        std::string text;                    // complete UTF-8, never part of a stop string
        std::vector<LogprobEntry> logprobs;  // the entries released with it
    };
    // A token's bytes, with its entry when the request asks for log probabilities. After stopped(),
    // nothing more comes out.
    Out push(std::string_view piece, const LogprobEntry* entry = nullptr);
    // End of generation: the held-back text (an unfinished character as U+FFFD) and every entry
    // still held (only the stop string's after a stop, which are dropped).
    Out finish();
    bool stopped() const { return stops_.stopped(); }

private:
    // Passes reassembled text to the stop filter, keeping the byte counts.
    std::string filter(const std::string& text);
    std::vector<LogprobEntry> release();

    tokenizer::Utf8Stream utf8_;
    StopStringFilter stops_;
    // Positions count the bytes the stop filter was given (in_) and the bytes it let out (out_).
    struct Held {
        LogprobEntry entry;
        size_t start = 0;               // in_ when its token came
        size_t end = std::string::npos;  // in_ once its token's last character is whole (npos until then)
    };
    std::deque<Held> held_;
    size_t in_ = 0, out_ = 0;
};

}  // namespace hearth
