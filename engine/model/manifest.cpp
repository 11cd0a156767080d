#include "engine/model/manifest.h"

#include "engine/model/arch/arch.h"
#include "engine/model/projection.h"

namespace hearth {

bool role_is_matrix(Role r) {
    switch (r) {
        case Role::TokEmbd: case Role::Output: case Role::Q: case Role::K: case Role::V: case Role::QKV:
        case Role::AttnOut: case Role::Gate: case Role::Up: case Role::GateUp: case Role::Down:
        case Role::Router: case Role::GateExps: case Role::UpExps: case Role::DownExps:
            return true;
        default:
            return false;
    }
}

int projection_slot(Role r) {
    switch (r) {
        case Role::Q: return kSlotQ;
        case Role::K: return kSlotK;
        case Role::V: return kSlotV;
        case Role::AttnOut: return kSlotO;
        case Role::Gate: return kSlotGate;
        case Role::Up: return kSlotUp;
        case Role::Down: return kSlotDown;
        default: return -1;
    }
}

std::vector<int> projection_slots(Role r) {
    if (r == Role::QKV) return {kSlotQ, kSlotK, kSlotV};
    if (r == Role::GateUp) return {kSlotGate, kSlotUp};
    if (const int slot = projection_slot(r); slot >= 0) return {slot};
    return {};
}

void Manifest::add(Role role, int layer, const std::string& base, std::vector<int64_t> shape, bool optional) {
    TensorSpec t;
    const bool bias = role == Role::QBias || role == Role::KBias || role == Role::VBias;
    t.name = (layer >= 0 ? "blk." + std::to_string(layer) + "." : std::string()) + base + (bias ? ".bias" : ".weight");
    t.shape = std::move(shape);
    t.role = role;
    t.layer = layer;
    t.optional = optional;
    t_.push_back(std::move(t));
}

void Manifest::attention(int l, Bias bias, bool fused_qkv) {
    const int64_t E = h_.n_embd, Q = h_.q_dim(), KV = h_.kv_dim();
    if (fused_qkv) {
        add(Role::QKV, l, "attn_qkv", {E, Q + 2 * KV});
    } else {
        add(Role::Q, l, "attn_q", {E, Q});
        add(Role::K, l, "attn_k", {E, KV});
        add(Role::V, l, "attn_v", {E, KV});
    }
    if (bias != Bias::None) {
        const bool opt = bias == Bias::Optional;
        add(Role::QBias, l, "attn_q", {Q}, opt);
        add(Role::KBias, l, "attn_k", {KV}, opt);
        add(Role::VBias, l, "attn_v", {KV}, opt);
    }
    add(Role::AttnOut, l, "attn_output", {Q, E});
}

void Manifest::qk_norm(int l) {
    add(Role::QNorm, l, "attn_q_norm", {h_.head_dim});
    add(Role::KNorm, l, "attn_k_norm", {h_.head_dim});
}

void Manifest::ffn(int l, bool fused_gate_up) {
    const int64_t E = h_.n_embd, F = h_.n_ff;
    if (fused_gate_up) {
        add(Role::GateUp, l, "ffn_up", {E, 2 * F});
    } else {
        add(Role::Gate, l, "ffn_gate", {E, F});
        add(Role::Up, l, "ffn_up", {E, F});
    }
    add(Role::Down, l, "ffn_down", {F, E});
}

void Manifest::experts(int l) {
    const int64_t E = h_.n_embd, F = h_.n_ff_exp, X = h_.n_expert;
    add(Role::Router, l, "ffn_gate_inp", {E, X});
    add(Role::GateExps, l, "ffn_gate_exps", {E, F, X});
    add(Role::UpExps, l, "ffn_up_exps", {E, F, X});
    add(Role::DownExps, l, "ffn_down_exps", {F, E, X});
}

std::vector<TensorSpec> model_manifest(const ArchDef& arch, const ModelHParams& h) {
    Manifest m(h);
    m.add(Role::TokEmbd, -1, "token_embd", {h.n_embd, h.n_vocab});
    m.add(Role::OutputNorm, -1, "output_norm", {h.n_embd});
    m.add(Role::Output, -1, "output", {h.n_embd, h.n_vocab}, /*optional: tied to token_embd*/ true);
    for (int l = 0; l < h.n_layer; ++l) arch.layer_tensors(m, l);
    m.add(Role::RopeFreqs, -1, "rope_freqs", {h.rope.n_dims / 2}, true);
    m.add(Role::RopeFactorsLong, -1, "rope_factors_long", {h.rope.n_dims / 2}, true);
    m.add(Role::RopeFactorsShort, -1, "rope_factors_short", {h.rope.n_dims / 2}, true);
    return m.tensors();
}

}  // namespace hearth
