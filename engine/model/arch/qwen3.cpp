// qwen3 (Qwen3 dense): llama's layer with NeoX RoPE, no biases, and RMSNorm of each query and key
// head before RoPE (QK-norm: LayerRun::attention applies it where the layer has the weights); the
// head size is explicit (q_dim may differ from n_embd).
#include "engine/model/arch/arch.h"
#include "engine/model/manifest.h"

namespace hearth {
namespace {

void tensors(Manifest& m, int l) {
    m.norm(l, "attn_norm", Role::AttnNorm);
    m.attention(l, Manifest::Bias::None);
    m.qk_norm(l);
    m.norm(l, "ffn_norm", Role::FfnNorm);
    m.ffn(l);
}

}  // namespace

extern const ArchDef kArchQwen3 = {Arch::Qwen3, "qwen3", RopeMode::NeoX, {}, nullptr, tensors, llama_layer};

}  // namespace hearth
