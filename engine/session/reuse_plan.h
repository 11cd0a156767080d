// Deciding how much of a cached context a new prompt can keep (pure logic, tested on its own).
// Two cases reuse the cache: the new prompt starts with a prefix of the cached tokens (a follow-up
// turn), or it equals the cached tokens with one range removed, possibly followed by new tokens (the
// app's sliding window dropped old turns): then the cache is shifted (kv_shift) rather than
// recomputed. The part after the removed range need not match to its end (a re-tokenized answer
// may differ from the generated tokens near its end): the longest matching run is reused.
#pragma once

#include <cstdint>
#include <vector>

namespace hearth {

struct ReusePlan {
    int keep = 0;      // cells [0, keep) stay as they are
    int discard = 0;   // > 0: cells [keep, keep+discard) are dropped and [keep+discard, shift_end) shifted down
    int shift_end = 0; // end of the cells moved by the shift (cells from here on are not needed)
    int n_reuse = 0;   // after the shift, cells [0, n_reuse) hold prompt[0, n_reuse)
};

// n_reuse is always < prompt.size() when the prompt is non-empty: the last prompt token is
// evaluated again so its logits exist to sample from. A shift is planned only when it saves at
// least `min_shift_gain` tokens of recomputation (or covers the whole rest of the cache).
ReusePlan plan_reuse(const std::vector<int32_t>& cached, const std::vector<int32_t>& prompt, int min_shift_gain = 8);

}  // namespace hearth
