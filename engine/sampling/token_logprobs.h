// Log probabilities of one row of logits, as OpenAI's API reports them: the chosen token's and the
// `n_top` most likely tokens'. They are the model's own distribution, log-softmax of the raw logits,
// before penalties, logit bias, temperature, filters or a JSON constraint (vLLM's default, "raw
// logprobs"): a client comparing answers compares what the model thinks, not how it was sampled.
#pragma once

#include <cstdint>
#include <vector>

namespace hearth {

// The most that may be asked per token (OpenAI's top_logprobs limit).
constexpr int kMaxTopLogprobs = 20;

struct TokenLogprob {
    int32_t id = 0;
    float logprob = 0.0f;
};

// One generated token's entry.
struct LogprobEntry {
    TokenLogprob chosen;
    std::vector<TokenLogprob> top;  // most likely first; ties: the smaller id first
};

// The entry for `chosen` (0 <= chosen < n) with the n_top (0..kMaxTopLogprobs, at most n) most
// likely tokens. Sums in double, so a 150k-token vocabulary loses nothing to rounding. A logit of
// -inf is a token of probability 0 (logprob -inf); NaN logits count as -inf.
LogprobEntry token_logprobs(const float* logits, int n, int32_t chosen, int n_top);

}  // namespace hearth
