// What the diffusion tests compare: two float arrays, largest and mean absolute difference.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace hearth::test {

struct Difference {
    double max = 0, mean = 0;
};

inline Difference difference(const std::vector<float>& got, const std::vector<float>& want) {
    Difference d;
    const size_t n = std::min(got.size(), want.size());
    for (size_t i = 0; i < n; ++i) {
        const double e = std::fabs(double(got[i]) - want[i]);
        d.max = std::max(d.max, std::isnan(e) ? INFINITY : e);
        d.mean += e;
    }
    if (n) d.mean /= double(n);
    if (got.size() != want.size()) d.max = INFINITY;
    return d;
}

}  // namespace hearth::test
