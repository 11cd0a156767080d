// gemma3 (Gemma 3 text models): embeddings scaled by sqrt(n_embd); per layer RMSNorm before and
// after both the attention and the FFN blocks; QK-norm; GeGLU (tanh GELU); NeoX RoPE. Five of
// every six layers are local (sliding window, RoPE base 10,000), the sixth global (the file's
// base), as transformers' layer_types and llama.cpp's swa pattern 6 have it. Norm weights are
// stored with Gemma's "1 +" already added by the converter, so the shared RMSNorm applies.
#include <cmath>

#include "engine/model/arch/arch.h"
#include "engine/model/layer_run.h"
#include "engine/model/manifest.h"

namespace hearth {
namespace {

constexpr int kSwaPattern = 6;             // layer l is global when (l + 1) % 6 == 0
constexpr float kLocalRopeBase = 10000.0f;  // rope_local_base_freq

Status read(const gguf::File& f, ModelHParams& h) {
    auto w = f.get_int("gemma3.attention.sliding_window", 0);
    if (!w.ok()) return w.status();
    if (*w <= 0) return make_error("gemma3: missing or invalid metadata 'gemma3.attention.sliding_window'");
    for (int l = 0; l < h.n_layer; ++l) {
        if ((l + 1) % kSwaPattern == 0) continue;  // global: the model-wide RoPE (and its scaling)
        LayerHParams& lp = h.layers[size_t(l)];
        lp.window = int(*w);
        lp.rope_freq_base = kLocalRopeBase;
        lp.rope_freq_scale = 1.0f;  // local layers are never scaled
    }
    h.embd_scale = std::sqrt(float(h.n_embd));
    // query_pre_attn_scalar is not in the file: it is head_dim for 270M … 12B and n_embd / n_head for
    // 27B, which llama.cpp recognises by its 62 layers; so do we.
    h.attn_scale = 1.0f / std::sqrt(h.n_layer == 62 ? float(h.n_embd / h.n_head) : float(h.head_dim));
    return {};
}

void tensors(Manifest& m, int l) {
    m.norm(l, "attn_norm", Role::AttnNorm);
    m.attention(l, Manifest::Bias::None);
    m.qk_norm(l);
    m.norm(l, "post_attention_norm", Role::AttnPostNorm);
    m.norm(l, "ffn_norm", Role::FfnNorm);
    m.ffn(l);
    m.norm(l, "post_ffw_norm", Role::FfnPostNorm);
}

void forward(LayerRun& r, const LayerWeights& L) {
    r.norm(L.attn_norm);
    r.attention(L);
    r.post_norm(L.attn_post_norm);
    r.residual();
    r.norm(L.ffn_norm);
    r.ffn(L, LayerRun::Act::GeluTanh);
    r.post_norm(L.ffn_post_norm);
    r.residual();
}

}  // namespace

extern const ArchDef kArchGemma3 = {Arch::Gemma3, "gemma3", RopeMode::NeoX,
                                    {Op::GeluMul, Op::Scale, Op::SlidingWindow}, read, tensors, forward};

}  // namespace hearth
