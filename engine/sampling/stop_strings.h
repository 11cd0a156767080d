// Stop strings over streamed text: text that could still be the start of a stop string is held
// back, and released as soon as it no longer can; a stop string itself is never emitted.
// Input pieces must be complete UTF-8; output is then complete UTF-8 too (a stop string starts
// with a lead byte, so a held-back suffix always starts on a character boundary).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth {

class StopStringFilter {
public:
    explicit StopStringFilter(std::vector<std::string> stops);
    // Adds text; returns what may be emitted now. After a stop string completes, stopped() is true,
    // the text before it has been returned and everything from it on is dropped.
    std::string feed(std::string_view text);
    std::string flush();  // end of generation: releases held-back text
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;
    std::string pending_;
    bool stopped_ = false;
};

}  // namespace hearth
