// Describing a loaded model for the UI and `hearth-cli info`-style output.
#pragma once

#include <string>

#include "engine/gguf/gguf.h"

namespace hearth {

// "Q4_K_M"-style name from general.file_type when present, else the type holding most weight bytes.
std::string describe_file_type(const gguf::File& f);
// general.name, or the file name without directory and ".gguf".
std::string model_display_name(const gguf::File& f);

}  // namespace hearth
