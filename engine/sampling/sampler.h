// Token sampling: logit bias, repetition/presence/frequency penalties over a window of recent tokens, then
// top-k, top-p, min-p, temperature and a draw from Hearth's own PRNG (llama.cpp's default order:
// the filters look at untempered probabilities). Temperature <= 0 is greedy (argmax after the
// penalties). Ties are broken by the smaller token id, so results never depend on the sort
// implementation: the same seed gives the same tokens everywhere.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "engine/sampling/rng.h"
#include "engine/sampling/sampling_params.h"
#include "engine/sampling/token_constraint.h"

namespace hearth {

struct TokenCandidate {
    int32_t id;
    float logit;
};

// The individual steps, exposed for tests. Each keeps at least one candidate.
void apply_penalties(std::vector<TokenCandidate>& c, const std::deque<int32_t>& recent, float repeat, float presence,
                     float frequency);
void sort_candidates(std::vector<TokenCandidate>& c);              // logit descending, id ascending on ties
void apply_top_k(std::vector<TokenCandidate>& c, int k);           // k <= 0: off; leaves c sorted
void apply_top_p(std::vector<TokenCandidate>& c, float p);         // p >= 1: off; leaves c sorted
void apply_min_p(std::vector<TokenCandidate>& c, float p);         // p <= 0: off
void apply_temperature(std::vector<TokenCandidate>& c, float t);   // t > 0
std::vector<double> softmax_probs(const std::vector<TokenCandidate>& c);
int32_t argmax_token(const float* logits, int n);                  // smallest id among equal maxima
// Draws from softmax(c) (c as left by the filters): the first candidate whose cumulative probability exceeds u.
int32_t draw_token(const std::vector<TokenCandidate>& c, double u);

class Sampler {
public:
    explicit Sampler(const SamplingParams& p);
    // Chooses the next token from raw logits (n_vocab values); does not record it. With a
    // constraint: only a token it allows (token_constraint.h); -1 when it allows none.
    int32_t sample(const float* logits, int n_vocab, TokenConstraint* constraint = nullptr);
    // Records a token in the penalty window (prompt tokens too, so penalties see the context).
    void accept(int32_t token);
    void reset();  // clears the window and reseeds
    // Draws the uniform the next sample() would use (device sampling passes it to the backend).
    double next_uniform() { return rng_.uniform(); }
    // True when `p` uses only greedy or top-k (k <= kMaxDeviceTopK) with temperature, without
    // penalties, top-p or min-p: then Backend::sample_top_k makes the same choice on the device.
    static bool device_compatible(const SamplingParams& p);

private:
    SamplingParams p_;
    Rng rng_;
    std::deque<int32_t> recent_;
    std::vector<TokenCandidate> cand_;
    std::vector<float> restricted_;  // the logits with a constraint's refusals at -inf
    std::vector<float> biased_;      // the logits with SamplingParams::logit_bias added

    int32_t choose(const float* logits, int n_vocab);
};

}  // namespace hearth
