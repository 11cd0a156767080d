// SentencePiece-style encoding (tokenizer.ggml.model = "llama"), as llama.cpp does it: start from
// single UTF-8 characters and repeatedly merge the adjacent pair whose concatenation is the token
// with the highest score (ties: leftmost). Symbols that end up outside the vocabulary fall back to
// their bytes as <0xXX> tokens.
#include <algorithm>
#include <queue>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace hearth::tokenizer {

namespace {

struct Symbol {
    int prev, next;
    size_t off, len;  // bytes of the text; len 0 once merged into the left neighbour
};

struct Bigram {
    float score;
    int left, right;
    size_t len;
};

struct BigramOrder {
    bool operator()(const Bigram& a, const Bigram& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);  // max score, then leftmost
    }
};

}  // namespace

void Tokenizer::encode_spm(std::string_view text, std::vector<int32_t>& out) const {
    std::vector<Symbol> sym;
    sym.reserve(text.size());
    for (size_t off = 0; off < text.size();) {
        const size_t len = std::min(utf8_seq_len(static_cast<unsigned char>(text[off])), text.size() - off);
        const int idx = int(sym.size());
        sym.push_back({idx - 1, off + len == text.size() ? -1 : idx + 1, off, len});
        off += len;
    }
    if (sym.empty()) return;

    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
    auto try_add = [&](int l, int r) {
        if (l < 0 || r < 0) return;
        const size_t len = sym[l].len + sym[r].len;
        const int32_t id = lookup(text.substr(sym[l].off, len));
        if (id < 0) return;
        queue.push({score_[id], l, r, len});
    };
    for (int i = 1; i < int(sym.size()); ++i) try_add(i - 1, i);

    while (!queue.empty()) {
        const Bigram b = queue.top();
        queue.pop();
        Symbol& l = sym[b.left];
        Symbol& r = sym[b.right];
        if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;  // stale
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = b.left;
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }

    for (int i = 0; i != -1; i = sym[i].next) {
        const std::string_view piece = text.substr(sym[i].off, sym[i].len);
        const int32_t id = lookup(piece);
        if (id >= 0) { out.push_back(id); continue; }
        for (unsigned char c : piece) {
            const int32_t bt = byte_token_[c];
            if (bt >= 0) out.push_back(bt);
            else if (unk_ >= 0) out.push_back(unk_);
        }
    }
}

}  // namespace hearth::tokenizer
