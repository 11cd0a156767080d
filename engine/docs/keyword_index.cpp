#include "engine/docs/keyword_index.h"

#include <algorithm>
#include <cmath>

#include "engine/util/utf8.h"

namespace hearth::docs {

namespace {

bool is_cjk(uint32_t cp) {
    return (cp >= 0x3040 && cp <= 0x30FF) ||   // kana
           (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0x20000 && cp <= 0x2FA1F) ||  // ideographs
           (cp >= 0xAC00 && cp <= 0xD7AF);      // Hangul syllables
}

bool is_word_char(uint32_t cp) {
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    // Letters of other scripts (Latin accents, Greek, Cyrillic …): not punctuation, symbols or spaces.
    return cp >= 0xC0 && !(cp >= 0x2000 && cp <= 0x2BFF) && !(cp >= 0x3000 && cp <= 0x303F) && !(cp >= 0xFF00 && cp <= 0xFF0F) &&
           cp != 0xD7 && cp != 0xF7;
}

}  // namespace

std::vector<std::string> keyword_terms(std::string_view text) {
    std::vector<std::string> terms;
    std::string word;
    std::string prev_cjk;  // the CJK character before, for pairs
    auto flush = [&] {
        if (!word.empty()) terms.push_back(std::move(word));
        word.clear();
    };
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_decode_at(text, i, &cp);
        if (n == 0) {  // not UTF-8 (a text cut mid-character): a separator, never part of a term
            flush();
            prev_cjk.clear();
            ++i;
            continue;
        }
        const std::string_view ch = text.substr(i, n);
        i += n;
        if (is_cjk(cp)) {
            flush();
            terms.emplace_back(ch);
            if (!prev_cjk.empty()) terms.push_back(prev_cjk + std::string(ch));
            prev_cjk = std::string(ch);
            continue;
        }
        prev_cjk.clear();
        if (is_word_char(cp)) {
            if (cp < 0x80) word += char(std::tolower(int(cp)));
            else word.append(ch);
        } else {
            flush();
        }
    }
    flush();
    return terms;
}

void KeywordIndex::add(int64_t document_id, int32_t seq, std::string_view text) {
    Passage p{document_id, seq, 0, {}};
    for (std::string& t : keyword_terms(text)) {
        ++p.length;
        if (p.counts[t]++ == 0) ++document_frequency_[t];
    }
    total_length_ += p.length;
    passages_.push_back(std::move(p));
}

std::vector<PassageHit> KeywordIndex::search(std::string_view query, size_t k) const {
    std::vector<PassageHit> hits;
    if (passages_.empty() || k == 0) return hits;
    std::vector<std::string> terms = keyword_terms(query);
    std::sort(terms.begin(), terms.end());
    terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
    const double n = double(passages_.size());
    const double avg = std::max(1.0, double(total_length_) / n);
    constexpr double k1 = 1.2, b = 0.75;
    std::vector<std::pair<std::string, double>> weighted;  // query terms the passages have, with their idf
    for (const std::string& t : terms) {
        auto df = document_frequency_.find(t);
        if (df == document_frequency_.end()) continue;
        weighted.emplace_back(t, std::log(1.0 + (n - df->second + 0.5) / (df->second + 0.5)));
    }
    if (weighted.empty()) return hits;
    for (const Passage& p : passages_) {
        double score = 0;
        for (const auto& [t, idf] : weighted) {
            auto c = p.counts.find(t);
            if (c == p.counts.end()) continue;
            const double f = c->second;
            score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * p.length / avg));
        }
        if (score > 0) hits.push_back({p.document_id, p.seq, float(score)});
    }
    std::stable_sort(hits.begin(), hits.end(), [](const PassageHit& a, const PassageHit& c) { return a.score > c.score; });
    if (hits.size() > k) hits.resize(k);
    return hits;
}

}  // namespace hearth::docs
