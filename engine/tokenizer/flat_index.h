// Open-addressing hash tables for the vocabulary: text -> id and (left id, right id) -> merge.
// A 150k-token vocabulary with 280k merges is built and probed millions of times while loading;
// node-based std::unordered_map spends that time in cache misses, these flat arrays do not.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

// Maps token text to its id. Stores only ids (and a hash tag); texts stay in the caller's vector,
// which must outlive the index and not change.
class TextIndex {
public:
    void reserve(size_t n) {
        size_t cap = 16;
        while (cap < n * 2) cap <<= 1;
        slots_.assign(cap, Slot{0, -1});
        mask_ = cap - 1;
    }
    // Returns false for a duplicate text (the first id is kept).
    bool insert(const std::vector<std::string>& texts, int32_t id) {
        const uint64_t h = hash(texts[size_t(id)]);
        const uint32_t tag = uint32_t(h >> 32);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (s.id < 0) { s = {tag, id}; return true; }
            if (s.tag == tag && texts[size_t(s.id)] == texts[size_t(id)]) return false;
        }
    }
    int32_t find(const std::vector<std::string>& texts, std::string_view text) const {
        if (slots_.empty()) return -1;
        const uint64_t h = hash(text);
        const uint32_t tag = uint32_t(h >> 32);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.id < 0) return -1;
            if (s.tag == tag && texts[size_t(s.id)] == text) return s.id;
        }
    }

private:
    struct Slot {
        uint32_t tag;
        int32_t id;  // -1: empty
    };
    static uint64_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
    std::vector<Slot> slots_;
    size_t mask_ = 0;
};

// Maps a pair of token ids to the merge that joins them: its rank and the resulting token.
class MergeIndex {
public:
    struct Merge {
        int32_t rank;
        int32_t result;
    };
    void reserve(size_t n) {
        size_t cap = 16;
        while (cap < n * 2) cap <<= 1;
        slots_.assign(cap, Slot{kEmpty, {0, 0}});
        mask_ = cap - 1;
    }
    // Keeps the first merge of a pair (the lowest rank when inserted in rank order).
    void insert(int32_t left, int32_t right, Merge m) {
        const uint64_t key = make_key(left, right);
        for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (s.key == kEmpty) { s = {key, m}; ++size_; return; }
            if (s.key == key) return;
        }
    }
    const Merge* find(int32_t left, int32_t right) const {
        if (slots_.empty()) return nullptr;
        const uint64_t key = make_key(left, right);
        for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.key == kEmpty) return nullptr;
            if (s.key == key) return &s.merge;
        }
    }
    size_t size() const { return size_; }

private:
    static constexpr uint64_t kEmpty = ~uint64_t(0);
    struct Slot {
        uint64_t key;
        Merge merge;
    };
    static uint64_t make_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
    static uint64_t mix(uint64_t k) {  // splitmix64 finalizer: ids are small and dense, spread them
        k ^= k >> 30;
        k *= 0xbf58476d1ce4e5b9ull;
        k ^= k >> 27;
        k *= 0x94d049bb133111ebull;
        return k ^ (k >> 31);
    }
    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

}  // namespace hearth::tokenizer
