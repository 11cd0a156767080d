// LoRA adapters, read from either form a person has: llama.cpp's GGUF (convert_lora_to_gguf.py:
// general.type = adapter, adapter.type = lora, adapter.lora.alpha, tensors "<base tensor>.lora_a"
// [n_in → r] and ".lora_b" [r → n_out], q/k rows already permuted as the base model's) or a PEFT
// folder (adapter_config.json + adapter_model.safetensors). Either way the adapter becomes a list
// of A/B pairs named by the base tensor they target; attached to a ModelContext
// (ModelContext::attach_lora) and applied unmerged by the projections: y = W·x + s·(alpha/r)·B(A·x).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/quant/types.h"
#include "engine/util/status.h"

namespace hearth {

// One matrix of a pair: rows × cols, row-major, F32 or F16. The bytes belong to the adapter (its
// mapped file, or what it converted when reading).
struct LoraMatrix {
    std::string name;  // as stored in the file, for messages
    GgmlType type = GgmlType::F32;
    int64_t rows = 0, cols = 0;
    const void* data = nullptr;
    size_t n_bytes = 0;
};

struct LoraPair {
    std::string target;  // the base tensor, e.g. "blk.3.attn_q.weight"
    LoraMatrix a;        // rows r, cols n_in
    LoraMatrix b;        // rows n_out, cols r
    int rank() const { return int(a.rows); }
};

class LoraAdapter {
public:
    // A folder (PEFT) or a .gguf file, told apart by what the path is. `base_arch` and
    // `base_head_dim` describe the model it will be attached to (what a PEFT folder needs, see
    // open_peft; a GGUF file ignores them).
    static Result<std::unique_ptr<LoraAdapter>> open(const std::string& path, const std::string& base_arch,
                                                     int base_head_dim = 0);
    // Opens and checks the file: its type and form, the architecture it was made for, and each
    // A/B pair (present together, F32/F16, 2-D, ranks that agree). Shapes against a base model are
    // checked when it is attached.
    static Result<std::unique_ptr<LoraAdapter>> open_gguf(const std::string& path);
    // A PEFT folder (engine/lora/lora_peft.cpp). `arch` is the base model's architecture ("llama",
    // "qwen2", ...): PEFT names modules the Hugging Face way. For llama, the rows of B on q and k are
    // permuted per head as llama.cpp's converter permuted the base model's q/k rows, which needs the
    // base's head size (`head_dim`; an adapter on q or k of a llama without it is an error).
    // The rsLoRA factor is folded into alpha(), so pair_scale() is alpha/√r for such adapters.
    static Result<std::unique_ptr<LoraAdapter>> open_peft(const std::string& dir, const std::string& arch,
                                                          int head_dim = 0);

    const std::string& path() const { return path_; }
    const std::string& architecture() const { return arch_; }  // PEFT: the architecture it was read for
    // The scale of each pair's term at user scale 1: alpha / r (rsLoRA: alpha / √r, folded in when
    // read: alpha() is then lora_alpha·√r), or 1 when the file gives no alpha (llama.cpp's rule).
    float pair_scale(const LoraPair& p) const { return alpha_ > 0 ? alpha_ / float(p.rank()) : 1.0f; }
    float alpha() const { return alpha_; }  // 0: none given
    const std::vector<LoraPair>& pairs() const { return pairs_; }

private:
    std::string path_, arch_;
    float alpha_ = 0.0f;
    std::unique_ptr<gguf::File> file_;               // GGUF: the mapped file the matrices point into
    std::vector<std::vector<uint8_t>> owned_;        // PEFT: converted matrices
    std::vector<LoraPair> pairs_;
};

}  // namespace hearth
