#include "engine/sampling/token_logprobs.h"

#include <algorithm>
#include <cmath>

namespace hearth {

namespace {
float finite_or_low(float v) { return std::isnan(v) ? -INFINITY : v; }
}  // namespace

LogprobEntry token_logprobs(const float* logits, int n, int32_t chosen, int n_top) {
    float mx = -INFINITY;
    for (int i = 0; i < n; ++i) mx = std::max(mx, finite_or_low(logits[i]));
    // log p_i = x_i - (max + log sum exp(x - max)); every logit -inf: every token equally likely.
    const bool flat = mx == -INFINITY;
    double sum = 0.0;
    if (!flat)
        for (int i = 0; i < n; ++i) sum += std::exp(double(finite_or_low(logits[i])) - double(mx));
    const double log_norm = flat ? std::log(double(n)) : double(mx) + std::log(sum);
    auto lp = [&](int32_t id) -> float {
        const float x = flat ? 0.0f : finite_or_low(logits[id]);
        return x == -INFINITY ? -INFINITY : float(double(x) - log_norm);
    };
    LogprobEntry e;
    e.chosen = {chosen, lp(chosen)};
    n_top = std::clamp(n_top, 0, std::min(n, kMaxTopLogprobs));
    if (n_top > 0) {
        // One pass keeping the n_top best in a small sorted array: no copy of the vocabulary.
        auto better = [&](int32_t a, int32_t b) {
            const float xa = finite_or_low(logits[a]), xb = finite_or_low(logits[b]);
            return xa > xb || (xa == xb && a < b);
        };
        std::vector<int32_t> best;
        best.reserve(size_t(n_top) + 1);
        for (int32_t i = 0; i < n; ++i) {
            if (int(best.size()) == n_top && !better(i, best.back())) continue;
            best.insert(std::upper_bound(best.begin(), best.end(), i, better), i);
            if (int(best.size()) > n_top) best.pop_back();
        }
        for (int32_t id : best) e.top.push_back({id, lp(id)});
    }
    return e;
}

}  // namespace hearth
