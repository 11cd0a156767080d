// One layer of a transformer encoder with biased projections and layer norms, over plain q/k/v rows
// (no KV cache): CLIP's text tower (norm before each block, causal attention, engine/diffusion)
// and BERT (norm after each residual add, attention both ways, engine/embed) are this one layer
// with two switches.
#pragma once

#include <span>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/util/status.h"

namespace hearth {

struct BiasedLinear {
    Tensor w, b;  // w: [out rows, in cols], any weight type; b: F32 [out]
};
struct LayerNormWeights {
    Tensor w, b;  // F32 [hidden]
};

struct EncoderLayerWeights {
    LayerNormWeights attn_norm, ffn_norm;  // pre-norm: before each block; post-norm: after its residual add
    BiasedLinear q, k, v, o, up, down;
};

struct EncoderLayerShape {
    int n_head = 1;
    float eps = 1e-5f;
    Activation act = Activation::Gelu;
    bool pre_norm = true;  // CLIP: x += attn(ln1(x)); x += mlp(ln2(x)). BERT: x = ln1(x + attn(x)); x = ln2(x + mlp(x))
    bool causal = false;
    // Several sequences one after another in the rows (a batch of texts to embed): their lengths,
    // summing to the rows; attention stays inside each. Empty: the rows are one sequence.
    std::span<const int> seq_lens;
};

// Scratch rows for n tokens: h, q, k, v, attn are n × hidden, ff is n × intermediate (F32).
struct EncoderScratch {
    Tensor h, q, k, v, attn, ff;
};

// An encoder's activations for up to `capacity` tokens, in one buffer that grows only: the token,
// position and segment ids (I32), the hidden rows x, a second row set e for the embeddings summed
// into x, and the layer's scratch. Views cover the first n rows.
class EncoderActivations {
public:
    Status reserve(Backend& be, int n, int64_t hidden, int64_t intermediate);
    // x = word_table[ids] + position_table[positions] over the first ids.size() rows (reserved).
    Status embed(Backend& be, const Tensor& word_table, const Tensor& position_table, const std::vector<int32_t>& ids,
                 const std::vector<int32_t>& positions);
    Tensor ids(int n) const { return ints(ids_, n); }
    Tensor positions(int n) const { return ints(pos_, n); }
    Tensor segments(int n) const { return ints(types_, n); }
    Tensor x(int n) const { return x_.row_range(0, n); }
    Tensor e(int n) const { return e_.row_range(0, n); }
    EncoderScratch scratch(int n) const;

private:
    Tensor ints(const Tensor& t, int n) const { return make_tensor(buf_.get(), t.offset, GgmlType::I32, 1, n); }
    BufferPtr buf_;
    int capacity_ = 0;
    Tensor ids_, pos_, types_, x_, e_, h_, q_, k_, v_, attn_, ff_;
};

// The ops a backend must run for this layer (beyond matmul, add, get_rows).
inline constexpr Op kEncoderLayerOps[] = {Op::LayerNorm, Op::Activate, Op::AttentionQkv};

// Runs one layer on x (n × hidden, F32), in place.
void run_encoder_layer(Backend& be, const EncoderLayerWeights& L, const EncoderLayerShape& s, const Tensor& x,
                       const EncoderScratch& t);

}  // namespace hearth
