#include "engine/session/reuse_plan.h"

#include <algorithm>

namespace hearth {

ReusePlan plan_reuse(const std::vector<int32_t>& cached, const std::vector<int32_t>& prompt) {
    ReusePlan plan;
    const size_t nc = cached.size(), np = prompt.size();
    size_t p = 0;
    while (p < nc && p < np && cached[p] == prompt[p]) ++p;
    plan.keep = int(p);
    plan.n_reuse = int(p);
    if (p < nc && p < np) {
        // Smallest removal d such that the rest of the cache, cached[p+d..], continues the prompt at p.
        for (size_t d = 1; d < nc - p; ++d) {
            const size_t tail = nc - p - d;
            if (p + tail > np || cached[p + d] != prompt[p]) continue;
            if (std::equal(cached.begin() + long(p + d), cached.end(), prompt.begin() + long(p))) {
                plan.discard = int(d);
                plan.n_reuse = int(p + tail);
                break;
            }
        }
    }
    if (np > 0 && plan.n_reuse >= int(np)) plan.n_reuse = int(np) - 1;  // re-evaluate the last token
    if (plan.discard > 0 && plan.n_reuse <= plan.keep) plan.discard = 0;  // nothing of the tail is used
    return plan;
}

}  // namespace hearth
