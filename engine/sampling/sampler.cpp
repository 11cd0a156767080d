#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "engine/sampling/top_k.h"

namespace hearth {

namespace {
bool better(const TokenCandidate& a, const TokenCandidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}
}  // namespace

void apply_penalties(std::vector<TokenCandidate>& c, const std::deque<int32_t>& recent, float repeat, float presence,
                     float frequency) {
    if (recent.empty() || (repeat == 1.0f && presence == 0.0f && frequency == 0.0f)) return;
    std::unordered_map<int32_t, int> count;
    for (int32_t t : recent) ++count[t];
    for (auto& tc : c) {
        auto it = count.find(tc.id);
        if (it == count.end()) continue;
        // As llama.cpp: divide positive logits and multiply negative ones, so the penalty always lowers.
        if (repeat != 1.0f) tc.logit = tc.logit > 0 ? tc.logit / repeat : tc.logit * repeat;
        tc.logit -= float(it->second) * frequency + presence;
    }
}

void sort_candidates(std::vector<TokenCandidate>& c) { std::sort(c.begin(), c.end(), better); }

void apply_top_k(std::vector<TokenCandidate>& c, int k) {
    if (k <= 0 || size_t(k) >= c.size()) {
        sort_candidates(c);
        return;
    }
    std::partial_sort(c.begin(), c.begin() + k, c.end(), better);
    c.resize(size_t(k));
}

std::vector<double> softmax_probs(const std::vector<TokenCandidate>& c) {
    std::vector<double> p(c.size());
    if (c.empty()) return p;
    double mx = c[0].logit;
    for (const auto& t : c) mx = std::max(mx, double(t.logit));
    double sum = 0;
    for (size_t i = 0; i < c.size(); ++i) sum += (p[i] = std::exp(double(c[i].logit) - mx));
    for (auto& v : p) v /= sum;
    return p;
}

void apply_top_p(std::vector<TokenCandidate>& c, float p) {
    if (p >= 1.0f || c.size() <= 1) return;
    sort_candidates(c);
    const std::vector<double> probs = softmax_probs(c);
    double cum = 0;
    size_t keep = c.size();
    for (size_t i = 0; i < c.size(); ++i) {
        cum += probs[i];
        if (cum >= p) { keep = i + 1; break; }  // the smallest prefix whose mass reaches p
    }
    c.resize(std::max<size_t>(keep, 1));
}

void apply_min_p(std::vector<TokenCandidate>& c, float p) {
    if (p <= 0.0f || c.size() <= 1) return;
    float mx = c[0].logit;
    for (const auto& t : c) mx = std::max(mx, t.logit);
    // prob_i >= p * prob_max  <=>  logit_i >= logit_max + ln p
    const double threshold = double(mx) + std::log(double(p));
    std::vector<TokenCandidate> kept;
    for (const auto& t : c)
        if (double(t.logit) >= threshold) kept.push_back(t);
    if (!kept.empty()) c.swap(kept);
}

void apply_temperature(std::vector<TokenCandidate>& c, float t) {
    for (auto& tc : c) tc.logit /= t;
}

int32_t argmax_token(const float* logits, int n) {
    int best = 0;
    for (int i = 1; i < n; ++i)
        if (logits[i] > logits[best]) best = i;
    return best;
}

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

void Sampler::reset() {
    recent_.clear();
    rng_.reseed(p_.seed);
}

void Sampler::accept(int32_t token) {
    if (p_.penalty_last_n <= 0) return;
    recent_.push_back(token);
    while (recent_.size() > size_t(p_.penalty_last_n)) recent_.pop_front();
}

int32_t Sampler::sample(const float* logits, int n_vocab, TokenConstraint* constraint) {
    if (!p_.logit_bias.empty()) {
        biased_.assign(logits, logits + n_vocab);
        for (const auto& [id, bias] : p_.logit_bias)
            if (id >= 0 && id < n_vocab) biased_[size_t(id)] += bias;
        logits = biased_.data();
    }
    const int32_t t = choose(logits, n_vocab);
    if (!constraint || constraint->allows(t)) return t;
    restricted_.assign(logits, logits + n_vocab);
    if (constraint->restrict(restricted_.data(), n_vocab) == 0) return -1;
    const int32_t r = choose(restricted_.data(), n_vocab);
    return constraint->allows(r) ? r : -1;  // only a model whose allowed logits are all -inf gets here
}

int32_t Sampler::choose(const float* logits, int n_vocab) {
    // A token at -inf (a constraint's refusal) is no candidate: no filter or rounding can pick it.
    cand_.clear();
    for (int i = 0; i < n_vocab; ++i)
        if (logits[i] != -INFINITY) cand_.push_back({i, logits[i]});
    if (cand_.empty()) return argmax_token(logits, n_vocab);  // every logit -inf: as before, the first
    apply_penalties(cand_, recent_, p_.repeat_penalty, p_.presence_penalty, p_.frequency_penalty);
    if (p_.temperature <= 0.0f) {
        const auto it = std::min_element(cand_.begin(), cand_.end(), better);
        return it->id;
    }
    apply_top_k(cand_, p_.top_k);
    apply_top_p(cand_, p_.top_p);
    apply_min_p(cand_, p_.min_p);
    apply_temperature(cand_, p_.temperature);
    return draw_token(cand_, rng_.uniform());
}

int32_t draw_token(const std::vector<TokenCandidate>& c, double u) {
    const std::vector<double> probs = softmax_probs(c);
    double cum = 0;
    for (size_t i = 0; i < probs.size(); ++i) {
        cum += probs[i];
        if (u < cum) return c[i].id;
    }
    return c.back().id;  // rounding left u above the total
}

bool Sampler::device_compatible(const SamplingParams& p) {
    if (!p.logit_bias.empty()) return false;
    const bool no_penalty = (p.repeat_penalty == 1.0f || p.penalty_last_n <= 0) && p.presence_penalty == 0.0f &&
                            p.frequency_penalty == 0.0f;
    if (!no_penalty) return false;
    if (p.temperature <= 0.0f) return true;
    return p.top_k >= 1 && p.top_k <= kMaxDeviceTopK && p.top_p >= 1.0f && p.min_p <= 0.0f;
}

}  // namespace hearth
