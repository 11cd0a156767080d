#include "engine/tokenizer/utf8_stream.h"

#include <algorithm>

#include "engine/tokenizer/unicode.h"

namespace hearth::tokenizer {

namespace {

const char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Could `s` (shorter than its lead byte announces) still become a valid sequence? Checks the lead
// byte and, for the second byte, the ranges that rule out overlongs, surrogates and > U+10FFFF.
bool valid_incomplete(std::string_view s) {
    const auto b0 = static_cast<unsigned char>(s[0]);
    const size_t need = utf8_seq_len(b0);
    if (need < 2 || b0 == 0xC0 || b0 == 0xC1 || b0 > 0xF4 || s.size() >= need) return false;
    for (size_t i = 1; i < s.size(); ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xC0) != 0x80) return false;
        if (i == 1) {
            if (b0 == 0xE0 && b < 0xA0) return false;  // overlong
            if (b0 == 0xED && b > 0x9F) return false;  // surrogate
            if (b0 == 0xF0 && b < 0x90) return false;  // overlong
            if (b0 == 0xF4 && b > 0x8F) return false;  // > U+10FFFF
        }
    }
    return true;
}

}  // namespace

std::string Utf8Stream::push(std::string_view bytes) {
    held_.append(bytes);
    std::string out;
    size_t i = 0;
    while (i < held_.size()) {
        const std::string_view rest(held_.data() + i, held_.size() - i);
        const size_t ok = valid_utf8_prefix(rest);
        out.append(rest.substr(0, ok));
        i += ok;
        if (i == held_.size()) break;
        // held_[i] starts an invalid or unfinished sequence: wait if it can still complete, else replace one byte.
        const std::string_view tail(held_.data() + i, std::min<size_t>(held_.size() - i, 4));
        if (tail.size() == held_.size() - i && valid_incomplete(tail)) break;
        out += kReplacement;
        ++i;
    }
    held_.erase(0, i);
    return out;
}

std::string Utf8Stream::flush() {
    std::string out;
    if (!held_.empty()) out = kReplacement;
    held_.clear();
    return out;
}

}  // namespace hearth::tokenizer
