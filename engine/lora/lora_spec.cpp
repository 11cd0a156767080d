#include "engine/lora/lora_spec.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace hearth {

Result<LoraSpec> parse_lora_arg(const std::string& arg) {
    if (arg.empty()) return make_error("--lora needs a path (PATH or PATH:SCALE)");
    std::error_code ec;
    const size_t colon = arg.rfind(':');
    if (colon == std::string::npos || std::filesystem::exists(arg, ec)) return LoraSpec{arg, 1.0f};
    const std::string path = arg.substr(0, colon), scale = arg.substr(colon + 1);
    if (path.empty()) return make_error("--lora '" + arg + "': the path before ':' is empty");
    errno = 0;
    char* end = nullptr;
    const float v = std::strtof(scale.c_str(), &end);
    if (scale.empty() || end != scale.c_str() + scale.size() || errno == ERANGE || !std::isfinite(v))
        return make_error("--lora '" + arg + "': the scale '" + scale + "' is not a number (PATH:SCALE, e.g. adapter.gguf:0.5)");
    return LoraSpec{path, v};
}

}  // namespace hearth
