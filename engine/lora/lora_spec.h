// What a person names when attaching an adapter: a path and a scale. Parsed the same way for
// every command line (`--lora PATH[:SCALE]`) and kept by the Session and the app's store.
#pragma once

#include <string>

#include "engine/util/status.h"

namespace hearth {

struct LoraSpec {
    std::string path;     // a PEFT folder or a .gguf adapter
    float scale = 1.0f;   // multiplies the adapter's own alpha / r

    bool operator==(const LoraSpec&) const = default;
};

// "PATH" (scale 1) or "PATH:SCALE". A path that exists as given wins over a split at its last
// colon; a suffix after the colon that is not a finite number is an error ("PATH:abc").
Result<LoraSpec> parse_lora_arg(const std::string& arg);

}  // namespace hearth
