#include "app/cli/lora_args.h"

#include <filesystem>

namespace hearth::cli {

std::string take_lora_args(Args& args, std::vector<LoraSpec>* out) {
    while (auto arg = args.take({"--lora"})) {
        auto spec = parse_lora_arg(*arg);
        if (!spec.ok()) return spec.message();
        std::error_code ec;
        if (!std::filesystem::exists(spec->path, ec))
            return "--lora '" + *arg + "': no adapter at '" + spec->path + "' (a .gguf adapter or a PEFT folder)";
        out->push_back(*spec);
    }
    return {};
}

}  // namespace hearth::cli
