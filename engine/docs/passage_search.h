// Finding the passages for a question: by meaning (cosine with the question's embedding) and by
// its words (BM25, keyword_index.h). Meaning alone ranks "error E-4417" beside "error E-4471"; words
// alone match "what is" anywhere. So only passages near enough in meaning (cosine ≥ min_score) are
// ranked, by 0.7 × their cosine and 0.3 × their BM25 score scaled to 0..1 over those passages (a
// relative-score fusion, as hybrid search engines offer; the cosine is not rescaled, so a
// difference in the third decimal stays that small): among relevant passages the question's own
// words decide near-ties, and they never bring in a passage that is not relevant.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/docs/keyword_index.h"

namespace hearth::docs {

// What the chat gives a question: at most this many passages, of at least this cosine (which for
// all-MiniLM-L6-v2 leaves out passages on other subjects; bge models score everything higher).
constexpr size_t kPassagesPerQuestion = 4;
constexpr float kRelevantCosine = 0.15f;

struct SearchablePassage {
    int64_t document_id = 0;
    int32_t seq = 0;
    std::string_view text;
    const float* vector = nullptr;  // `dim` floats, unit length
    size_t dim = 0;
};

// The k best passages, best first, each with its cosine as `score`. Passages of another width than
// `query` are skipped. words_weight 0 ranks by meaning alone.
std::vector<PassageHit> search_passages(const std::vector<SearchablePassage>& passages, const std::vector<float>& query,
                                        std::string_view question, size_t k, float min_score, float words_weight = 0.3f);

}  // namespace hearth::docs
