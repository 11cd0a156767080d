// Where an adapter's pairs land in a model: the one check every user of an adapter makes before it
// touches anything (ModelContext::attach_lora, which applies the pairs unmerged, and merge_lora,
// which folds them into a copy of the base file). Both then see the same refusals: another
// architecture, a tensor the model has no such matrix for, a shape that does not fit.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/lora/lora_adapter.h"
#include "engine/model/hparams.h"
#include "engine/model/manifest.h"
#include "engine/util/status.h"

namespace hearth {

struct LoraTarget {
    const LoraPair* pair = nullptr;  // into the adapter
    int layer = -1;
    Role role = Role::Q;             // a layer matrix: Q…Down, or a fused one (QKV, GateUp)
    int64_t n_in = 0, n_out = 0;     // the base matrix maps n_in → n_out values (GGUF dims {n_in, n_out})
};

// Every pair of `adapter` matched to the layer matrix of `manifest` (the model's tensors, from
// model_manifest) it targets, in the adapter's order. Errors name the adapter and the first pair
// that does not fit; nothing is returned partly.
Result<std::vector<LoraTarget>> match_lora_targets(const LoraAdapter& adapter, const ModelHParams& h,
                                                   const std::vector<TensorSpec>& manifest);

}  // namespace hearth
