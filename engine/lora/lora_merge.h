// Folding LoRA adapters into a copy of their base model: W' = W + Σᵢ sᵢ·(αᵢ/rᵢ)·Bᵢ·Aᵢ for every
// matrix an adapter targets, computed in F32 from the dequantized base, the result written in the
// requested type. Every other tensor and all metadata are copied unchanged, so the output is a
// plain model any GGUF reader runs without adapter support. One function for hearth-cli merge-lora
// and the app's "Save merged model…".
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "engine/lora/lora_spec.h"
#include "engine/util/status.h"

namespace hearth {

struct MergeOptions {
    std::string base_path;            // base model .gguf
    std::vector<LoraSpec> loras;      // engine/lora/lora_spec.h
    std::string out_path;             // written as out_path + ".part", renamed when complete
    std::string type;                 // "" = each tensor keeps its base type; else "f32", "f16", "q8_0", ...
};

// The adapters are opened and checked against the base (architecture, names, shapes: the same
// check as ModelContext::attach_lora) before anything is written. Types that can be written: F32,
// F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K (merge_lora_types()); with type "" a merged matrix whose
// base type Hearth cannot write (Q4_1, Q5_0, Q5_1, Q2_K, Q3_K) is written as Q8_0, which holds it at
// least as precisely. A full disk, an error or a cancel leaves no file at out_path nor its ".part".
// Progress in [0,1]; return false to cancel (then no output file remains).
Status merge_lora(const MergeOptions& opt, const std::function<bool(float)>& progress = {},
                  const std::atomic<bool>* cancel = nullptr);

// The --type names merge_lora accepts, for usage texts: "f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k".
std::string merge_lora_types();

}  // namespace hearth
