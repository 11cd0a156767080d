// The passages of a conversation's documents as unit vectors, searched by cosine similarity (a dot
// product, since the embedder normalizes). Brute force over a contiguous array: a person's
// documents are thousands of passages, not millions, and 10,000 × 384 floats are scanned in about
// a millisecond, with no index to build or keep consistent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hearth::docs {

struct PassageHit {
    int64_t document_id = 0;
    int32_t seq = 0;       // the passage's place in its document, from 0
    float score = 0;       // cosine similarity with the query
};

class VectorIndex {
public:
    explicit VectorIndex(int dim = 0) : dim_(dim) {}
    int dim() const { return dim_; }
    size_t size() const { return ids_.size(); }

    // Copies `v` (dim floats). A passage already present (same document and seq) is replaced.
    void add(int64_t document_id, int32_t seq, const float* v);
    void remove_document(int64_t document_id);
    void clear();
    // The k best passages with score ≥ min_score, best first (ties: document order). A query of
    // another width gives none.
    std::vector<PassageHit> search(const std::vector<float>& query, size_t k, float min_score = -1.0f) const;

private:
    int dim_ = 0;
    std::vector<float> vectors_;  // size() × dim_
    std::vector<PassageHit> ids_; // score unused
};

}  // namespace hearth::docs
