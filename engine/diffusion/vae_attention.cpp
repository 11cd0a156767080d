#include "engine/diffusion/vae_attention.h"

#include <cmath>

namespace hearth::diffusion {

Status load_vae_attention(DiffusionWeights& wt, const std::string& p, int ch, VaeAttention* a) {
    const bool old = !wt.has(p + "to_q.weight") && wt.has(p + "query.weight");
    HEARTH_RETURN_IF_ERROR(load_norm(wt, p + "group_norm", ch, &a->n));
    const struct { const char* now; const char* before; Tensor* w; Tensor* b; } proj[] = {
        {"to_q", "query", &a->q, &a->qb}, {"to_k", "key", &a->k, &a->kb}, {"to_v", "value", &a->v, &a->vb}, {"to_out.0", "proj_attn", &a->o, &a->ob}};
    for (const auto& pr : proj) {
        const std::string name = p + (old ? pr.before : pr.now);
        HEARTH_RETURN_IF_ERROR(wt.conv(name + ".weight", ch, ch, 1, pr.w));  // [c, c] or [c, c, 1, 1]
        HEARTH_RETURN_IF_ERROR(wt.vector(name + ".bias", ch, pr.b));
    }
    return Status();
}

void run_vae_attention(Backend& be, const VaeAttention& a, int groups, float eps, const Tensor& X, const Tensor& N, const Tensor& Q,
                       const Tensor& K, const Tensor& V) {
    be.group_norm(X, groups, a.n.w, a.n.b, eps, N);
    be.matmul(a.q, N, Q, &a.qb);
    be.matmul(a.k, N, K, &a.kb);
    be.matmul(a.v, N, V, &a.vb);
    be.attention_qkv(Q, K, V, 1, 1.0f / std::sqrt(float(X.cols)), false, N);  // one head over every pixel
    be.matmul(a.o, N, Q, &a.ob);
    be.add(X, Q, X);
}

}  // namespace hearth::diffusion
