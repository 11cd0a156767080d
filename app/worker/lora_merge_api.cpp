// TEMPORARY (issue #14): stands in for the engine's merge_lora until engine/lora/lora_merge.cpp
// lands (see lora_merge_api.h). It never pretends to succeed: it writes nothing and says so.
#include "app/worker/lora_merge_api.h"

namespace hearth {

Status merge_lora(const MergeOptions&, const std::function<bool(float)>&, const std::atomic<bool>*) {
    return make_error("merging adapters into a model is not available yet in this build");
}

}  // namespace hearth
