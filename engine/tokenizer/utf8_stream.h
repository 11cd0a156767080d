// Streaming detokenization: token pieces are byte strings that may split a UTF-8 character (byte
// tokens, byte-level BPE). Utf8Stream holds back an incomplete trailing sequence until the bytes
// that complete it arrive, so every string it returns is valid UTF-8. Bytes that can never form a
// valid sequence come out as U+FFFD, as a UTF-8 decoder with replacement would show them.
#pragma once

#include <string>
#include <string_view>

namespace hearth::tokenizer {

class Utf8Stream {
public:
    // Appends bytes; returns the text now complete (possibly empty), always valid UTF-8.
    std::string push(std::string_view bytes);
    // End of stream: whatever is still held back (an unfinished sequence) as U+FFFD.
    std::string flush();
    // Bytes held back, waiting for the rest of their character (0..3).
    size_t pending() const { return held_.size(); }
    void reset() { held_.clear(); }

private:
    std::string held_;
};

}  // namespace hearth::tokenizer
