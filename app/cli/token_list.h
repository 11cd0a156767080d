// Parsing "--tokens" lists ("1 450 4996" or "1,450,4996") for the logits and generate commands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/util/status.h"

namespace hearth::cli {

Result<std::vector<int32_t>> parse_token_list(const std::string& text);

}  // namespace hearth::cli
