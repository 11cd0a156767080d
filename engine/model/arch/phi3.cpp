// phi3 (Phi-3, Phi-3.5): llama's layer with NeoX RoPE, q/k/v fused in one attn_qkv matrix and
// gate/up fused in one ffn_up of 2·n_ff rows (gate first), as llama.cpp writes them; the loader
// splits both into row ranges, so the forward is llama's. An optional sliding window
// (phi3.attention.sliding_window) applies to every layer. LongRoPE (the 128k variants, Phi-3.5)
// needs nothing here: the model-wide rope_factors_long/short tensors (manifest.cpp, chosen by the
// context in Model::rope_params) and phi3.rope.scaling.attn_factor (hparams.cpp) are generic.
#include "engine/model/arch/arch.h"
#include "engine/model/manifest.h"

namespace hearth {
namespace {

Status read(const gguf::File& f, ModelHParams& h) {
    auto w = f.get_int("phi3.attention.sliding_window", 0);
    if (!w.ok()) return w.status();
    if (*w < 0) return make_error("phi3.attention.sliding_window must not be negative");
    for (LayerHParams& l : h.layers) l.window = int(*w);
    return {};
}

void tensors(Manifest& m, int l) {
    m.norm(l, "attn_norm", Role::AttnNorm);
    m.attention(l, Manifest::Bias::None, /*fused_qkv=*/true);
    m.norm(l, "ffn_norm", Role::FfnNorm);
    m.ffn(l, /*fused_gate_up=*/true);
}

}  // namespace

extern const ArchDef kArchPhi3 = {Arch::Phi3, "phi3", RopeMode::NeoX, {Op::SlidingWindow}, read, tensors, llama_layer};

}  // namespace hearth
