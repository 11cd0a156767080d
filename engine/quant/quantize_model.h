// Whole-model quantization with llama.cpp's file-type presets (Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0, ...):
// which type each tensor gets (the plan) and the streaming rewrite of a GGUF file. Qt-free, so
// `hearth-cli quantize` and the app's model wizard share it.
//
// The per-tensor choices follow llama.cpp's llama_tensor_get_type for the presets offered here, so
// the files have the same tensor types and (with the same reference quantizers) the same size:
//  - output.weight (or token_embd.weight when the output is tied to it) -> Q6_K, unless the preset is
//    Q8_0 (stays Q8_0) or its row length is not a multiple of the preset's block (-> Q8_0);
//  - Q4_K_M / Q5_K_M: attn_v (also attn_qkv) and ffn_down -> Q6_K on "use_more_bits" layers (the
//    first and last eighth, and every third layer between); 70B-class llama attn_v Q4_K -> Q5_K;
//  - a row length that is not a multiple of the chosen type's block falls back as llama.cpp does
//    (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0; F16 when not even a multiple of 32).
// Tensors are visited in llama.cpp's order (by layer number, then name) for the layer counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/quant/types.h"
#include "engine/util/status.h"

namespace hearth::quant {

struct Preset {
    std::string_view name;   // "Q4_K_M"
    GgmlType base;           // the type most matrices get
    uint32_t file_type;      // llama.cpp's llama_ftype, written as general.file_type
    bool mixture;            // applies the per-tensor rules (false: every matrix gets `base`, as --pure)
};

// Case-insensitive: F16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K, and the uniform Q4_K, Q5_K.
std::optional<Preset> preset_from_name(std::string_view name);
std::string preset_names();  // "F16, Q8_0, ..." for messages

// What the plan needs to know of a tensor and of the model.
struct TensorDesc {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> dims;  // ne[0] (row length) first
};
struct ModelDesc {
    std::string arch;           // general.architecture
    int n_layer = 0;            // {arch}.block_count
    int n_head = 0, n_head_kv = 0;
    int n_expert = 0;           // {arch}.expert_count (0 or 1: dense)
    std::vector<TensorDesc> tensors;  // file order
};

struct TensorPlan {
    std::string name;
    GgmlType from = GgmlType::F32, to = GgmlType::F32;
    std::vector<int64_t> dims;
    size_t in_bytes = 0, out_bytes = 0;
    bool fell_back = false;     // the rule's type did not fit the row length
};
struct ModelPlan {
    std::vector<TensorPlan> tensors;  // file order
    size_t in_bytes = 0, out_bytes = 0;
    int n_fallback = 0;
};

// The type of every tensor under `preset`. Errors: a tensor of a type that cannot be converted. `with_imatrix`: importance weights will be used, which
// changes one rule as in llama.cpp (Q4_0: ffn_down of the first eighth of layers -> Q4_1).
Result<ModelPlan> plan_quantization(const ModelDesc& model, const Preset& preset, bool with_imatrix = false);

// Importance weights per tensor name (eval::read_imatrix's output: mean squared activation per input
// column, one per element of a row).
using ImportanceMap = std::map<std::string, std::vector<float>>;

struct QuantizeOptions {
    Preset preset{};
    int threads = 1;
    // Called after each tensor is written: tensors done / total, and bytes of output so far / total.
    std::function<void(const TensorPlan& t, int done, int total, size_t out_done, size_t out_total)> progress;
    const std::atomic<bool>* cancel = nullptr;  // set it to stop; the output is then not created
    // Importance-weighted rounding (null: plain rounding). A tensor without an entry is rounded
    // plainly, as llama-quantize does; an entry whose length is not the row length is an error.
    const ImportanceMap* importance = nullptr;
};

// Reads `in_path` (GGUF), writes `out_path` atomically (a .part file renamed at the end). Returns the
// plan that was carried out.
Result<ModelPlan> quantize_model(const std::string& in_path, const std::string& out_path, const QuantizeOptions& opts);

// The ModelDesc of an open GGUF file (used by quantize_model and `quantize --dry-run`).
Result<ModelDesc> describe_model(const gguf::File& file);

}  // namespace hearth::quant
