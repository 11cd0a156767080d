// llama (and what llama.cpp writes as llama: Mistral, SmolLM, TinyLlama, DeepSeek-R1-Distill-Llama,
// and Mixtral, whose FFN is a mixture of experts): pre-norm attention with normal (adjacent-pair)
// RoPE, optional q/k/v biases, SwiGLU FFN.
#include "engine/model/arch/arch.h"
#include "engine/model/layer_run.h"
#include "engine/model/manifest.h"

namespace hearth {
namespace {

void tensors(Manifest& m, int l) {
    m.norm(l, "attn_norm", Role::AttnNorm);
    m.attention(l, Manifest::Bias::Optional);
    m.norm(l, "ffn_norm", Role::FfnNorm);
    if (m.hparams().has_experts()) m.experts(l);
    else m.ffn(l);
}

}  // namespace

// The pre-norm layer: x += Wo·attn(norm(x)); x += down(silu(gate·norm(x)) * up·norm(x)).
void llama_layer(LayerRun& r, const LayerWeights& L) {
    r.norm(L.attn_norm);
    r.attention(L, LayerRun::Out::Residual);
    r.norm(L.ffn_norm);
    if (L.experts.present()) r.expert_ffn(L);
    else r.ffn(L, LayerRun::Act::SiLU, LayerRun::Out::Residual);
}

extern const ArchDef kArchLlama = {Arch::Llama, "llama", RopeMode::Normal, {}, nullptr, tensors, llama_layer, /*experts*/ true};

}  // namespace hearth
