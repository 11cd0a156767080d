// The tensors of a model file, by architecture: one list, read by the loader (which checks each
// tensor's presence, shape and type and binds it by role) and by the random-model writer (which
// generates them in this order). Names and shapes are llama.cpp's: GGUF dims {cols, rows}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model/hparams.h"

namespace hearth {

enum class Role : uint8_t {
    TokEmbd, OutputNorm, Output, RopeFreqs, RopeFactorsLong, RopeFactorsShort,
    AttnNorm, Q, K, V, QKV, QBias, KBias, VBias, QNorm, KNorm, AttnOut, AttnPostNorm,
    FfnNorm, Gate, Up, GateUp, Down, FfnPostNorm,
    // A mixture-of-experts FFN: the router (n_expert × n_embd) and the experts' matrices, one 3-D
    // tensor each with the experts stacked along the last dimension (llama.cpp's ffn_*_exps).
    Router, GateExps, UpExps, DownExps,
};

// Matrices may be stored in any weight type; every other tensor is an F32 vector.
bool role_is_matrix(Role r);
// The projection slot (engine/model/projection.h) a role's matrix fills, or -1 (norms, biases,
// model-wide tensors, and fused matrices, which fill several).
int projection_slot(Role r);
// Every slot a role's matrix fills, in the order of its rows: one for a plain projection, q/k/v for
// a fused attn_qkv, gate/up for a fused ffn_up; none for a tensor that is not a projection.
std::vector<int> projection_slots(Role r);

struct TensorSpec {
    std::string name;              // "blk.3.attn_q.weight"
    std::vector<int64_t> shape;    // GGUF dims: {cols}, {cols, rows} or {cols, rows, experts}
    Role role;
    int layer = -1;                // -1: a model-wide tensor
    bool optional = false;         // absent is fine (the loader decides what absence means)
};

class Manifest {
public:
    explicit Manifest(const ModelHParams& h) : h_(h) {}
    const ModelHParams& hparams() const { return h_; }
    const std::vector<TensorSpec>& tensors() const { return t_; }

    void add(Role role, int layer, const std::string& base, std::vector<int64_t> shape, bool optional = false);
    // Shared layer pieces, in llama.cpp's file order.
    void norm(int l, const char* base, Role role) { add(role, l, base, {h_.n_embd}); }
    // q, k, v (separate or one fused attn_qkv), their biases, then attn_output.
    enum class Bias { None, Optional, Required };
    void attention(int l, Bias bias, bool fused_qkv = false);
    void qk_norm(int l);          // attn_q_norm, attn_k_norm: per-head weights [head_dim]
    void ffn(int l, bool fused_gate_up = false);  // gate, up (or one ffn_up of 2·n_ff rows), down
    void experts(int l);          // ffn_gate_inp (the router), ffn_gate_exps, ffn_up_exps, ffn_down_exps

private:
    const ModelHParams& h_;
    std::vector<TensorSpec> t_;
};

struct ArchDef;
// The whole model's tensors: token_embd, output_norm, output (optional: tied), the layers, then
// rope_freqs (optional), then LongRoPE's rope_factors_long / rope_factors_short (optional, both or
// neither: Phi-3 128k and Phi-3.5; the context picks one by its length).
std::vector<TensorSpec> model_manifest(const ArchDef& arch, const ModelHParams& h);

}  // namespace hearth
