#include "engine/model/kv_blocks.h"

#include <algorithm>
#include <string>

#include "engine/backend/backend.h"

namespace hearth {

KvBlocks::KvBlocks(int n_blocks) : refs_(size_t(n_blocks > 0 ? n_blocks : 0), 0) {
    // Popped from the back: block 0 first, so a lone sequence gets the identity table.
    for (int b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

int KvBlocks::blocks_for(int n_cells) { return n_cells <= 0 ? 0 : (n_cells + kKvBlockTokens - 1) / kKvBlockTokens; }

int KvBlocks::create_sequence() {
    for (size_t i = 0; i < live_.size(); ++i)
        if (!live_[i]) {
            live_[i] = true;
            tables_[i].clear();
            return int(i);
        }
    live_.push_back(true);
    tables_.emplace_back();
    return int(live_.size() - 1);
}

bool KvBlocks::has_sequence(int seq) const { return seq >= 0 && size_t(seq) < live_.size() && live_[size_t(seq)]; }

void KvBlocks::free_sequence(int seq) {
    if (!has_sequence(seq)) return;
    truncate(seq, 0);
    live_[size_t(seq)] = false;
}

Status KvBlocks::reserve(int seq, int n_cells) {
    if (!has_sequence(seq)) return make_error("KV blocks: no sequence " + std::to_string(seq));
    auto& t = tables_[size_t(seq)];
    const int need = blocks_for(n_cells) - int(t.size());
    if (need <= 0) return {};
    if (need > n_free())
        return make_error("KV blocks: " + std::to_string(need) + " more blocks needed, " + std::to_string(n_free()) + " free");
    for (int i = 0; i < need; ++i) {
        const int32_t b = free_.back();
        free_.pop_back();
        refs_[size_t(b)] = 1;
        t.push_back(b);
    }
    return {};
}

Status KvBlocks::truncate(int seq, int n_cells) {
    if (!has_sequence(seq)) return make_error("KV blocks: no sequence " + std::to_string(seq));
    if (n_cells < 0) return make_error("KV blocks: negative length");
    auto& t = tables_[size_t(seq)];
    const size_t keep = size_t(blocks_for(n_cells));
    while (t.size() > keep) {
        const int32_t b = t.back();
        t.pop_back();
        if (--refs_[size_t(b)] == 0) free_.push_back(b);
    }
    return {};
}

Result<int> KvBlocks::share_prefix(int dst, int src, int n_cells) {
    if (!has_sequence(dst) || !has_sequence(src)) return make_error("KV blocks: no such sequence");
    if (dst == src) return make_error("KV blocks: a sequence cannot share its own prefix");
    auto& d = tables_[size_t(dst)];
    if (!d.empty()) return make_error("KV blocks: the sequence that takes a prefix must be empty");
    const auto& s = tables_[size_t(src)];
    const size_t full = std::min(size_t(n_cells > 0 ? n_cells / kKvBlockTokens : 0), s.size());
    for (size_t i = 0; i < full; ++i) {
        d.push_back(s[i]);
        ++refs_[size_t(s[i])];
    }
    return int(full) * kKvBlockTokens;
}

const std::vector<int32_t>& KvBlocks::table(int seq) const {
    static const std::vector<int32_t> empty;
    return has_sequence(seq) ? tables_[size_t(seq)] : empty;
}

bool KvBlocks::owns_from(int seq, int cell) const {
    if (!has_sequence(seq)) return false;
    const auto& t = tables_[size_t(seq)];
    for (size_t i = size_t(std::max(cell, 0) / kKvBlockTokens); i < t.size(); ++i)
        if (refs_[size_t(t[i])] != 1) return false;
    return true;
}

int32_t KvBlocks::cell(int seq, int p) const {
    return tables_[size_t(seq)][size_t(p / kKvBlockTokens)] * kKvBlockTokens + p % kKvBlockTokens;
}

Status KvBlocks::check() const {
    std::vector<int> count(refs_.size(), 0);
    for (size_t s = 0; s < tables_.size(); ++s) {
        if (!live_[s]) continue;
        for (int32_t b : tables_[s]) {
            if (b < 0 || size_t(b) >= refs_.size()) return make_error("KV blocks: sequence " + std::to_string(s) + " holds block " + std::to_string(b));
            ++count[size_t(b)];
        }
    }
    std::vector<int> in_free(refs_.size(), 0);
    for (int32_t b : free_) ++in_free[size_t(b)];
    for (size_t b = 0; b < refs_.size(); ++b) {
        if (count[b] != refs_[b])
            return make_error("KV blocks: block " + std::to_string(b) + " has " + std::to_string(refs_[b]) + " references, " +
                              std::to_string(count[b]) + " tables hold it");
        if (in_free[b] != (refs_[b] == 0 ? 1 : 0))
            return make_error("KV blocks: block " + std::to_string(b) + (refs_[b] == 0 ? " is lost (not free, not held)" : " is held and free"));
    }
    return {};
}

}  // namespace hearth
