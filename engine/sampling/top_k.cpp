#include "engine/sampling/top_k.h"

#include <vector>

#include "engine/sampling/sampler.h"

namespace hearth {

int32_t sample_top_k_row(const float* logits, int n, int k, float temperature, double u) {
    if (k <= 1 || n <= 1) return argmax_token(logits, n);
    std::vector<TokenCandidate> c(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) c[size_t(i)] = {i, logits[i]};
    apply_top_k(c, k);
    apply_temperature(c, temperature);
    return draw_token(c, u);
}

}  // namespace hearth
