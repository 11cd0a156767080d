// Unpacking deflate data with zlib, for PDF streams (zlib's header) and zip members (raw), never
// past a limit the caller sets (a few kilobytes can unpack to gigabytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hearth::docs {

enum class Inflated {
    Complete,   // the data's end was reached
    Truncated,  // the input ran out first (out holds what came before)
    Damaged,    // the bytes stopped being deflate data (out holds what came before)
    TooLarge,   // out passed `limit`
};

// `raw`: no zlib header (zip); else a zlib stream (PDF's FlateDecode).
Inflated inflate_into(std::string_view in, bool raw, size_t limit, std::string* out);

}  // namespace hearth::docs
