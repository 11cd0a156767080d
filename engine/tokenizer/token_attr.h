// Per-token attribute bits the tokenizer works with internally (llama.cpp's llama_token_attr subset).
#pragma once

#include <cstdint>

namespace hearth::tokenizer {

enum : uint32_t {
    kAttrNormal = 1u << 0,
    kAttrUnknown = 1u << 1,
    kAttrControl = 1u << 2,
    kAttrUserDefined = 1u << 3,
    kAttrUnused = 1u << 4,
    kAttrByte = 1u << 5,
    kAttrLStrip = 1u << 6,  // swallow ASCII whitespace before the token when it is found in text
    kAttrRStrip = 1u << 7,  // swallow ASCII whitespace after it
};

}  // namespace hearth::tokenizer
