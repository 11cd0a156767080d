// What a caller asks of token sampling: the settings of one generate() call (Session) and of a
// Sampler. Kept apart from session.h so the sampler does not depend on the session above it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hearth {

struct SamplingParams {
    float temperature = 0.8f;      // 0 = greedy
    int top_k = 40;                // 0 = off
    float top_p = 0.95f;           // 1 = off
    float min_p = 0.05f;           // 0 = off
    float repeat_penalty = 1.1f;   // 1 = off
    float presence_penalty = 0.0f, frequency_penalty = 0.0f;
    int penalty_last_n = 64;       // window of recent tokens the penalties look at
    uint64_t seed = 0xC0FFEE;
    int max_new_tokens = 512;      // < 0 = until the context is full... of shifts (until EOG)
    std::vector<std::string> stop; // stop strings (not emitted)
    // Added to the named tokens' logits before anything else (OpenAI's logit_bias): -100 all but bans
    // a token, +100 all but forces it. Ids must be in the vocabulary (the caller checks).
    std::vector<std::pair<int32_t, float>> logit_bias;
};

}  // namespace hearth
