// LoRA adapters in llama.cpp's GGUF form (convert_lora_to_gguf.py: general.type = adapter,
// adapter.type = lora, adapter.lora.alpha, tensors "<base tensor>.lora_a" [n_in → r] and
// ".lora_b" [r → n_out], q/k rows already permuted as the base model's). Read and checked here;
// attached to a ModelContext (ModelContext::attach_lora) and applied unmerged by the projections:
// y = W·x + s·(alpha/r)·B(A·x).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/util/status.h"

namespace hearth {

struct LoraPair {
    std::string target;   // the base tensor, e.g. "blk.3.attn_q.weight"
    const gguf::TensorInfo* a = nullptr;  // rows r, cols n_in (F32 or F16)
    const gguf::TensorInfo* b = nullptr;  // rows n_out, cols r (F32 or F16)
    int rank() const { return int(a->ne(1)); }
};

class LoraAdapter {
public:
    // Opens and checks the file: its type and form, the architecture it was made for, and each
    // A/B pair (present together, F32/F16, 2-D, ranks that agree). Shapes against a base model are
    // checked when it is attached.
    static Result<std::unique_ptr<LoraAdapter>> open_gguf(const std::string& path);

    const std::string& path() const { return path_; }
    const std::string& architecture() const { return arch_; }
    float alpha() const { return alpha_; }  // 0: none given (scale = user scale, as llama.cpp)
    const std::vector<LoraPair>& pairs() const { return pairs_; }

private:
    std::string path_, arch_;
    float alpha_ = 0.0f;
    std::unique_ptr<gguf::File> file_;
    std::vector<LoraPair> pairs_;
};

}  // namespace hearth
