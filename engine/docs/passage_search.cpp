#include "engine/docs/passage_search.h"

#include <algorithm>
#include <map>

#include "engine/docs/keyword_index.h"

namespace hearth::docs {

std::vector<PassageHit> search_passages(const std::vector<SearchablePassage>& passages, const std::vector<float>& query,
                                        std::string_view question, size_t k, float min_score, float words_weight) {
    // BM25's statistics (how rare a word is) come from every passage; only the relevant ones are ranked.
    KeywordIndex words;
    std::vector<PassageHit> relevant;
    for (const SearchablePassage& p : passages) {
        words.add(p.document_id, p.seq, p.text);
        if (p.dim != query.size() || !p.vector) continue;
        float dot = 0;
        for (size_t d = 0; d < p.dim; ++d) dot += p.vector[d] * query[d];
        if (dot >= min_score) relevant.push_back({p.document_id, p.seq, dot});
    }
    if (relevant.empty()) return relevant;
    std::map<std::pair<int64_t, int32_t>, float> bm25;
    for (const PassageHit& h : words.search(question, words.size())) bm25[{h.document_id, h.seq}] = h.score;
    float top_bm25 = 0;
    for (const PassageHit& h : relevant) {
        auto w = bm25.find({h.document_id, h.seq});
        if (w != bm25.end()) top_bm25 = std::max(top_bm25, w->second);
    }
    struct Ranked {
        PassageHit hit;
        float fused;
    };
    std::vector<Ranked> ranked;
    for (const PassageHit& h : relevant) {
        auto w = bm25.find({h.document_id, h.seq});
        const float word = w == bm25.end() || top_bm25 <= 0 ? 0.0f : w->second / top_bm25;
        ranked.push_back({h, (1 - words_weight) * h.score + words_weight * word});
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
        return a.fused != b.fused ? a.fused > b.fused : a.hit.score > b.hit.score;
    });
    std::vector<PassageHit> out;
    for (size_t i = 0; i < ranked.size() && i < k; ++i) out.push_back(ranked[i].hit);
    return out;
}

}  // namespace hearth::docs
