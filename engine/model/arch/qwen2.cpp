// qwen2 (Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen): llama's layer with NeoX RoPE and q/k/v biases.
#include "engine/model/arch/arch.h"
#include "engine/model/manifest.h"

namespace hearth {
namespace {

void tensors(Manifest& m, int l) {
    m.norm(l, "attn_norm", Role::AttnNorm);
    m.attention(l, Manifest::Bias::Required);
    m.norm(l, "ffn_norm", Role::FfnNorm);
    m.ffn(l);
}

}  // namespace

extern const ArchDef kArchQwen2 = {Arch::Qwen2, "qwen2", RopeMode::NeoX, {}, nullptr, tensors, llama_layer};

}  // namespace hearth
