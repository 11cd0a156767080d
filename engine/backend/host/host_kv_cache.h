// The KV cache of the host backends (reference and CPU): K and V of every layer in host memory, in
// the paged layout backend.h's contract defines, F16 or F32. Shared so both backends read and write
// the same cells, and so tests can read cells in the documented layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/backend/backend.h"

namespace hearth {

class HostKvCache final : public KvCache {
public:
    explicit HostKvCache(const KvCacheDesc& d);
    bool ok() const { return k_ != nullptr && v_ != nullptr; }
    size_t elt() const { return desc_.type == GgmlType::F16 ? 2 : 4; }
    size_t layer_bytes() const { return size_t(desc_.n_blocks()) * desc_.n_kv_head * kKvBlockTokens * desc_.head_dim * elt(); }
    // Byte offset of element (cell c, head h, dim 0) of a layer, per the contract in backend.h.
    size_t offset(int layer, int c, int h) const {
        return ((((size_t(layer) * desc_.n_blocks() + c / kKvBlockTokens) * desc_.n_kv_head + h) * kKvBlockTokens +
                 c % kKvBlockTokens) * desc_.head_dim) * elt();
    }
    uint8_t* k() const { return k_.get(); }
    uint8_t* v() const { return v_.get(); }
    // Reads/writes head_dim values as F32.
    void read(const uint8_t* base, size_t off, float* dst) const;
    void write(uint8_t* base, size_t off, const float* src) const;

    // Backend::kv_shift and kv_copy for every host backend (reference and CPU share one cache).
    // table: the sequence's block table (logical block -> physical block), or null (identity).
    void shift(int keep, int discard, int n_used, const RopeParams& p, const int32_t* table = nullptr);
    void copy_from(const HostKvCache& src, int n);

private:
    std::unique_ptr<uint8_t[]> k_, v_;
};

}  // namespace hearth
