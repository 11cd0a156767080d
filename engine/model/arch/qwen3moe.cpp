// qwen3moe (Qwen3-30B-A3B, Qwen3-235B-A22B, Qwen3-Coder-30B-A3B): qwen3's attention (NeoX RoPE,
// QK-norm, explicit head size, no biases) with a mixture-of-experts FFN in every layer — a router
// over expert_count experts, each token taking its expert_used_count best, their weights
// renormalized (Qwen3's norm_topk_prob, which llama.cpp assumes for this architecture).
#include "engine/model/arch/arch.h"
#include "engine/model/layer_run.h"
#include "engine/model/manifest.h"

namespace hearth {
namespace {

Status read(const gguf::File&, ModelHParams& h) {
    if (!h.has_experts()) return make_error("qwen3moe: missing metadata 'qwen3moe.expert_count'");
    return {};
}

void tensors(Manifest& m, int l) {
    m.norm(l, "attn_norm", Role::AttnNorm);
    m.attention(l, Manifest::Bias::None);
    m.qk_norm(l);
    m.norm(l, "ffn_norm", Role::FfnNorm);
    m.experts(l);
}

// x += Wo·attn(norm(x)); x += Σ w·expert(norm(x)) over the token's chosen experts.
void forward(LayerRun& r, const LayerWeights& L) {
    r.norm(L.attn_norm);
    r.attention(L, LayerRun::Out::Residual);
    r.norm(L.ffn_norm);
    r.expert_ffn(L);
}

}  // namespace

extern const ArchDef kArchQwen3Moe = {Arch::Qwen3Moe, "qwen3moe", RopeMode::NeoX, {}, read, tensors, forward, /*experts*/ true};

}  // namespace hearth
