#include "engine/session/reuse_plan.h"

#include <algorithm>

namespace hearth {

ReusePlan plan_reuse(const std::vector<int32_t>& cached, const std::vector<int32_t>& prompt, int min_shift_gain) {
    ReusePlan plan;
    const size_t nc = cached.size(), np = prompt.size();
    size_t p = 0;
    while (p < nc && p < np && cached[p] == prompt[p]) ++p;
    plan.keep = int(p);
    plan.n_reuse = int(p);
    if (p < nc && p < np) {
        // For each removal length d, the run of cached[p+d..] that continues the prompt at p; keep the
        // longest (smallest d on ties). A later d can match at most nc-p-d tokens, which bounds the search.
        size_t best_d = 0, best_len = 0;
        for (size_t d = 1; d < nc - p && nc - p - d > best_len; ++d) {
            if (cached[p + d] != prompt[p]) continue;
            size_t len = 0;
            while (p + d + len < nc && p + len < np && cached[p + d + len] == prompt[p + len]) ++len;
            if (len > best_len) { best_len = len; best_d = d; }
        }
        const bool whole_tail = best_len > 0 && p + best_d + best_len == nc;
        if (best_len > 0 && (whole_tail || best_len >= size_t(std::max(min_shift_gain, 1)))) {
            plan.discard = int(best_d);
            plan.shift_end = int(p + best_d + best_len);
            plan.n_reuse = int(p + best_len);
        }
    }
    if (np > 0 && plan.n_reuse >= int(np)) plan.n_reuse = int(np) - 1;  // re-evaluate the last token
    if (plan.discard > 0 && plan.n_reuse <= plan.keep) {                   // nothing of the tail is used
        plan.discard = 0;
        plan.shift_end = 0;
    }
    return plan;
}

}  // namespace hearth
