#include "engine/model/expert_routing.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hearth {

ExpertRouting route_tokens(const float* logits, int n_tokens, int n_expert, int n_used, bool normalize) {
    ExpertRouting r;
    r.first.assign(size_t(n_expert) + 1, 0);
    std::vector<int> chosen(size_t(n_tokens) * size_t(n_used));
    std::vector<float> prob(size_t(n_tokens) * size_t(n_used));
    std::vector<int> order(static_cast<size_t>(n_expert));
    std::vector<float> p(static_cast<size_t>(n_expert));
    for (int t = 0; t < n_tokens; ++t) {
        const float* z = logits + size_t(t) * size_t(n_expert);
        float mx = -std::numeric_limits<float>::infinity();
        for (int e = 0; e < n_expert; ++e)
            if (z[e] > mx) mx = z[e];
        double sum = 0;
        for (int e = 0; e < n_expert; ++e) {
            p[size_t(e)] = std::isnan(z[e]) ? 0.0f : std::exp(z[e] - mx);
            sum += p[size_t(e)];
        }
        for (int e = 0; e < n_expert; ++e) p[size_t(e)] = sum > 0 ? float(p[size_t(e)] / sum) : 0.0f;
        for (int e = 0; e < n_expert; ++e) order[size_t(e)] = e;
        auto rank = [&](int a, int b) {  // higher logit first, NaN last, then the lower expert
            const bool na = std::isnan(z[a]), nb = std::isnan(z[b]);
            if (na != nb) return nb;
            if (!na && z[a] != z[b]) return z[a] > z[b];
            return a < b;
        };
        std::partial_sort(order.begin(), order.begin() + n_used, order.end(), rank);
        double chosen_sum = 0;
        for (int j = 0; j < n_used; ++j) chosen_sum += p[size_t(order[size_t(j)])];
        for (int j = 0; j < n_used; ++j) {
            const int e = order[size_t(j)];
            chosen[size_t(t) * size_t(n_used) + size_t(j)] = e;
            prob[size_t(t) * size_t(n_used) + size_t(j)] =
                normalize && chosen_sum > 0 ? float(p[size_t(e)] / chosen_sum) : p[size_t(e)];
            ++r.first[size_t(e) + 1];
        }
    }
    for (int e = 0; e < n_expert; ++e) r.first[size_t(e) + 1] += r.first[size_t(e)];
    r.tokens.resize(size_t(n_tokens) * size_t(n_used));
    r.weights.resize(r.tokens.size());
    std::vector<int> next(r.first.begin(), r.first.end() - 1);
    for (int t = 0; t < n_tokens; ++t)  // tokens in order, so each group is ascending
        for (int j = 0; j < n_used; ++j) {
            const size_t i = size_t(t) * size_t(n_used) + size_t(j);
            const int slot = next[size_t(chosen[i])]++;
            r.tokens[size_t(slot)] = t;
            r.weights[size_t(slot)] = prob[i];
        }
    return r;
}

}  // namespace hearth
