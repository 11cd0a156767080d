// Writing an adapter (read from a PEFT folder or a GGUF file) as a GGUF LoRA adapter in llama.cpp's
// form: general.type = adapter, adapter.type = lora, adapter.lora.alpha, and per target the F32/F16
// matrices "<base tensor>.lora_a" (GGUF dims {n_in, r}) and ".lora_b" ({r, n_out}), q/k rows in the
// base GGUF's order. llama.cpp scales each term by alpha/r, so an rsLoRA adapter's √r goes into
// the alpha written (LoraAdapter::alpha() already holds it): unlike convert_lora_to_gguf.py, which
// writes lora_alpha unchanged and so is off by √r for rsLoRA.
#pragma once

#include <string>

#include "engine/lora/lora_adapter.h"
#include "engine/util/status.h"

namespace hearth {

// Writes `adapter` to `out_path` (atomically: the gguf writer's .part and rename).
Status export_lora_gguf(const LoraAdapter& adapter, const std::string& out_path);

}  // namespace hearth
