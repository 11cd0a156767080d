#include "engine/docs/vector_index.h"

#include <algorithm>

namespace hearth::docs {

void VectorIndex::add(int64_t document_id, int32_t seq, const float* v) {
    for (size_t i = 0; i < ids_.size(); ++i) {
        if (ids_[i].document_id == document_id && ids_[i].seq == seq) {
            std::copy(v, v + dim_, vectors_.begin() + ptrdiff_t(i * size_t(dim_)));
            return;
        }
    }
    ids_.push_back({document_id, seq, 0});
    vectors_.insert(vectors_.end(), v, v + dim_);
}

void VectorIndex::remove_document(int64_t document_id) {
    size_t w = 0;
    for (size_t r = 0; r < ids_.size(); ++r) {
        if (ids_[r].document_id == document_id) continue;
        if (w != r) {
            ids_[w] = ids_[r];
            std::copy_n(vectors_.begin() + ptrdiff_t(r * size_t(dim_)), dim_, vectors_.begin() + ptrdiff_t(w * size_t(dim_)));
        }
        ++w;
    }
    ids_.resize(w);
    vectors_.resize(w * size_t(dim_));
}

void VectorIndex::clear() {
    ids_.clear();
    vectors_.clear();
}

std::vector<PassageHit> VectorIndex::search(const std::vector<float>& query, size_t k, float min_score) const {
    std::vector<PassageHit> hits;
    if (int(query.size()) != dim_ || dim_ == 0 || k == 0) return hits;
    for (size_t i = 0; i < ids_.size(); ++i) {
        const float* v = vectors_.data() + i * size_t(dim_);
        float dot = 0;
        for (int d = 0; d < dim_; ++d) dot += v[d] * query[size_t(d)];
        if (dot >= min_score) hits.push_back({ids_[i].document_id, ids_[i].seq, dot});
    }
    const size_t n = std::min(k, hits.size());
    // Stable: equal scores keep the order passages were added in (document order).
    std::stable_sort(hits.begin(), hits.end(), [](const PassageHit& a, const PassageHit& b) { return a.score > b.score; });
    hits.resize(n);
    return hits;
}

}  // namespace hearth::docs
