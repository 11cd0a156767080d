// qwen3 (Qwen3 dense): qwen2's layer without biases, with RMSNorm of each query and key head
// before RoPE (QK-norm); the head size is explicit (q_dim may differ from n_embd).
#include "engine/model/arch/arch.h"
#include "engine/model/layer_run.h"
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

void forward(LayerRun& r, const LayerWeights& L) {
    r.norm(L.attn_norm);
    r.attention(L);  // with L.q_norm / L.k_norm
    r.residual();
    r.norm(L.ffn_norm);
    r.ffn(L, LayerRun::Act::SiLU);
    r.residual();
}

}  // namespace

extern const ArchDef kArchQwen3 = {Arch::Qwen3, "qwen3", RopeMode::NeoX, {}, nullptr, tensors, forward};

}  // namespace hearth
