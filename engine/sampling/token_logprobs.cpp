#include "engine/sampling/token_logprobs.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace hearth {

namespace {

float finite_or_low(float v) { return std::isnan(v) ? -INFINITY : v; }

// exp(x) for x <= 0 in float (Cephes' expf: 2^k · p(r), k = round(x / ln 2), |r| <= ln 2 / 2, within
// 2 ulp), written without calls or branches so the loops below vectorize (with -fno-trapping-math,
// engine/CMakeLists.txt): the double exp of the C library made a row of Gemma's 262k vocabulary
// 1.9 ms, this 0.3 ms. Below -87 (and for NaN,
// which no comparison holds for) it gives exp(-87), 1.6e-38, instead of 0: beside the maximum's 1
// in the sum, nothing.
inline float exp_nonpositive(float x) {
    x = x > -87.0f ? x : -87.0f;
    const float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 · 2^23)
    float r = x - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t bits = (int32_t(k) + 127) << 23;  // 2^k, k in [-126, 0]
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

constexpr int kLanes = 8;  // independent accumulators: the compiler may keep them in one vector register

float max_logit(const float* x, int n) {
    float lane[kLanes];
    std::fill(lane, lane + kLanes, -INFINITY);
    int i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int k = 0; k < kLanes; ++k) lane[k] = x[i + k] > lane[k] ? x[i + k] : lane[k];  // NaN: never greater
    for (; i < n; ++i) lane[0] = x[i] > lane[0] ? x[i] : lane[0];
    return *std::max_element(lane, lane + kLanes);
}

// sum exp(x_i - mx) in double (a float sum of 262k terms could lose 1%), the exps in float.
double sum_exp(const float* x, int n, float mx) {
    constexpr int kBlock = 256;
    float e[kBlock];
    double lane[kLanes] = {};
    for (int i0 = 0; i0 < n; i0 += kBlock) {
        const int m = std::min(kBlock, n - i0);
        for (int j = 0; j < m; ++j) e[j] = exp_nonpositive(x[i0 + j] - mx);  // -inf and NaN: as -87
        int j = 0;
        for (; j + kLanes <= m; j += kLanes)
            for (int k = 0; k < kLanes; ++k) lane[k] += double(e[j + k]);
        for (; j < m; ++j) lane[0] += double(e[j]);
    }
    double sum = 0;
    for (double v : lane) sum += v;
    return sum;
}

}  // namespace

LogprobEntry token_logprobs(const float* logits, int n, int32_t chosen, int n_top) {
    const float mx = max_logit(logits, n);
    // log p_i = x_i - (max + log sum exp(x - max)); every logit -inf: every token equally likely.
    const bool flat = mx == -INFINITY;
    const double log_norm = flat ? std::log(double(n)) : double(mx) + std::log(sum_exp(logits, n, mx));
    auto lp = [&](int32_t id) -> float {
        const float x = flat ? 0.0f : finite_or_low(logits[id]);
        return x == -INFINITY ? -INFINITY : float(double(x) - log_norm);
    };
    LogprobEntry e;
    e.chosen = {chosen, lp(chosen)};
    n_top = std::clamp(n_top, 0, std::min(n, kMaxTopLogprobs));
    if (n_top > 0) {
        // One pass keeping the n_top best in a small sorted array (ties: the smaller id, which comes
        // first, so a later token must be strictly greater); most tokens fail the first comparison.
        auto better = [&](int32_t a, int32_t b) {
            const float xa = finite_or_low(logits[a]), xb = finite_or_low(logits[b]);
            return xa > xb || (xa == xb && a < b);
        };
        std::vector<int32_t> best;
        best.reserve(size_t(n_top) + 1);
        float bar = -INFINITY;  // the last kept one's logit, once n_top are kept
        for (int32_t i = 0; i < n; ++i) {
            if (int(best.size()) == n_top && !(logits[i] > bar)) continue;  // NaN: never greater
            best.insert(std::upper_bound(best.begin(), best.end(), i, better), i);
            if (int(best.size()) > n_top) best.pop_back();
            if (int(best.size()) == n_top) bar = finite_or_low(logits[best.back()]);
        }
        for (int32_t id : best) e.top.push_back({id, lp(id)});
    }
    return e;
}

}  // namespace hearth
