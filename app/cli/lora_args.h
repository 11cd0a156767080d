// `--lora PATH[:SCALE]`, repeatable, for every hearth-cli command that runs a model (logits,
// generate, bench, merge-lora): parsed once here with the engine's parse_lora_arg.
#pragma once

#include <string>
#include <vector>

#include "app/cli/command.h"
#include "engine/lora/lora_spec.h"

namespace hearth::cli {

// Consumes every --lora from `args` into `out`, in the order given; returns an error message ("" when
// fine). A path that does not exist is refused here, before a model is loaded for nothing.
std::string take_lora_args(Args& args, std::vector<LoraSpec>* out);

}  // namespace hearth::cli
