// Which experts each token of a batch goes to, from the router's logits: the softmax over all
// experts, the n_used most probable (ties: the lower expert), their probabilities as weights,
// renormalized to sum to 1 when asked (Mixtral, Qwen3-MoE's norm_topk_prob) — transformers'
// Qwen3MoeTopKRouter and llama.cpp's build_moe_ffn with softmax gating. The tokens are then
// grouped by expert, so each expert runs once over all the tokens that chose it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hearth {

struct ExpertRouting {
    std::vector<int32_t> tokens;  // token indices grouped by expert (expert 0's first), ascending within a group
    std::vector<float> weights;   // the weight of each entry of `tokens`
    std::vector<int> first;       // n_expert + 1 offsets: expert e's entries are [first[e], first[e + 1])
    int count(int e) const { return first[size_t(e) + 1] - first[size_t(e)]; }
};

// logits: n_tokens rows of n_expert. A NaN logit ranks below every number (a broken router row
// still picks n_used distinct experts).
ExpertRouting route_tokens(const float* logits, int n_tokens, int n_expert, int n_used, bool normalize);

}  // namespace hearth
