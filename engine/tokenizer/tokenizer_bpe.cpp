// Byte-level BPE encoding of one pre-tokenized word (already in GPT-2's byte-level text): start from
// single characters and repeatedly merge the adjacent pair with the lowest merge rank (ties:
// leftmost), as Hugging Face tokenizers and llama.cpp do. Pairs are looked up by token ids.
#include <algorithm>
#include <queue>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace hearth::tokenizer {

namespace {

struct Symbol {
    int32_t id;  // -1: a character outside the vocabulary
    int prev, next;
    size_t off, len;  // len 0 once merged into the left neighbour
};

struct Candidate {
    int32_t rank;
    int left, right;
    int32_t left_id, right_id, result;
};

struct CandidateOrder {
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);  // min rank, then leftmost
    }
};

}  // namespace

void Tokenizer::encode_bpe_word(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (ignore_merges_) {  // Llama 3: a word that is a token is taken whole
        if (int32_t id = lookup(word); id >= 0) { out.push_back(id); return; }
    }
    std::vector<Symbol> sym;
    sym.reserve(word.size());
    const std::string& suffix = spec_.end_of_word_suffix;
    for (size_t off = 0; off < word.size();) {
        const size_t len = std::min(utf8_seq_len(static_cast<unsigned char>(word[off])), word.size() - off);
        const int idx = int(sym.size());
        const bool last = off + len == word.size();
        // CLIP: the last character carries the word-end suffix ("o</w>"), so merges know word ends.
        const int32_t id = last && !suffix.empty() ? lookup(std::string(word.substr(off, len)) + suffix)
                                                   : lookup(word.substr(off, len));
        sym.push_back({id, idx - 1, last ? -1 : idx + 1, off, len});
        off += len;
    }

    std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> queue;
    auto try_add = [&](int l, int r) {
        if (l < 0 || r < 0 || sym[l].id < 0 || sym[r].id < 0) return;
        const MergeIndex::Merge* m = merges_.find(sym[l].id, sym[r].id);
        if (!m) return;
        queue.push({m->rank, l, r, sym[l].id, sym[r].id, m->result});
    };
    for (int i = 1; i < int(sym.size()); ++i) try_add(i - 1, i);

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& l = sym[c.left];
        Symbol& r = sym[c.right];
        // Stale when either side was merged away or changed since the candidate was queued.
        if (l.len == 0 || r.len == 0 || l.next != c.right || l.id != c.left_id || r.id != c.right_id) continue;
        l.id = c.result;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = c.left;
        try_add(l.prev, c.left);
        try_add(c.left, l.next);
    }

    for (int i = 0; i != -1; i = sym[i].next) {
        if (sym[i].id >= 0) out.push_back(sym[i].id);
        else if (unk_ >= 0) out.push_back(unk_);  // no token for this character: unk, or dropped as HF does without one
    }
}

}  // namespace hearth::tokenizer
