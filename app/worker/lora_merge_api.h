// TEMPORARY (issue #14): a copy of the declaration of engine/lora/lora_merge.h, which another
// helper is writing during the same session. The app's merge job is coded against exactly this
// API; when the engine's header lands on main, delete this file and lora_merge_api.cpp and include
// "engine/lora/lora_merge.h" in lora_merge_job.cpp instead (both define hearth::merge_lora: they
// must never be linked together).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "engine/lora/lora_spec.h"
#include "engine/util/status.h"

namespace hearth {

struct MergeOptions {
    std::string base_path;
    std::vector<LoraSpec> loras;
    std::string out_path;
    std::string type;  // "" = keep base types
};

// Writes out_path.part, renames it to out_path at the end.
Status merge_lora(const MergeOptions& opt, const std::function<bool(float)>& progress = {},
                  const std::atomic<bool>* cancel = nullptr);

}  // namespace hearth
