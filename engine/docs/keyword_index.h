// Keyword search over passages (BM25), beside the vector search: an embedding model places "error
// E-4471" and "error E-4417" nearly together, and a question about one of them must find that one.
// Terms are lower-cased runs of ASCII letters and digits, runs of other letters as they are, and for
// Chinese, Japanese and Korean text each character and each pair of neighbours (no word breaker
// needed).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>


namespace hearth::docs {

// A passage found for a question (by words here; by meaning and words in passage_search).
struct PassageHit {
    int64_t document_id = 0;
    int32_t seq = 0;       // the passage's place in its document, from 0
    float score = 0;
};

std::vector<std::string> keyword_terms(std::string_view text);

class KeywordIndex {
public:
    void add(int64_t document_id, int32_t seq, std::string_view text);
    size_t size() const { return passages_.size(); }
    // The k passages with the highest BM25 score (k1 = 1.2, b = 0.75) for the query's terms, best
    // first; passages sharing no term with the query are not returned.
    std::vector<PassageHit> search(std::string_view query, size_t k) const;

private:
    struct Passage {
        int64_t document_id;
        int32_t seq;
        uint32_t length;                                  // terms
        std::unordered_map<std::string, uint32_t> counts; // term → occurrences
    };
    std::vector<Passage> passages_;
    std::unordered_map<std::string, uint32_t> document_frequency_;
    uint64_t total_length_ = 0;
};

}  // namespace hearth::docs
