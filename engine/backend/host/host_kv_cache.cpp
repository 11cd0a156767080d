#include "engine/backend/host/host_kv_cache.h"

#include <cstring>
#include <new>
#include <vector>

#include "engine/backend/host/host_buffer.h"
#include "engine/backend/host/rope_math.h"
#include "engine/quant/fp16.h"

namespace hearth {

HostKvCache::HostKvCache(const KvCacheDesc& d) : KvCache(d) {
    const size_t bytes = size_t(d.n_layer) * layer_bytes();
    k_.reset(new (std::nothrow) uint8_t[bytes]());
    v_.reset(new (std::nothrow) uint8_t[bytes]());
}

void HostKvCache::read(const uint8_t* base, size_t off, float* dst) const {
    if (desc_.type == GgmlType::F16) {
        const f16_t* s = reinterpret_cast<const f16_t*>(base + off);
        for (int d = 0; d < desc_.head_dim; ++d) dst[d] = f16_to_f32(s[d]);
    } else {
        std::memcpy(dst, base + off, size_t(desc_.head_dim) * 4);
    }
}

void HostKvCache::write(uint8_t* base, size_t off, const float* src) const {
    if (desc_.type == GgmlType::F16) {
        f16_t* o = reinterpret_cast<f16_t*>(base + off);
        for (int d = 0; d < desc_.head_dim; ++d) o[d] = f32_to_f16(src[d]);
    } else {
        std::memcpy(base + off, src, size_t(desc_.head_dim) * 4);
    }
}

void HostKvCache::shift(int keep, int discard, int n_used, const RopeParams& p, const int32_t* table) {
    auto cell = [&](int c) { return table ? table[c / kKvBlockTokens] * kKvBlockTokens + c % kKvBlockTokens : c; };
    const auto& d = desc_;
    const float* ff = p.freq_factors ? reinterpret_cast<const float*>(host_ptr(*p.freq_factors)) : nullptr;
    std::vector<float> buf(static_cast<size_t>(d.head_dim));
    // Destination cells are below their sources, so ascending order never overwrites unread cells.
    // The rotation by -discard carries no magnitude factor: the key already has it.
    for (int l = 0; l < d.n_layer; ++l)
        for (int c = keep + discard; c < n_used; ++c)
            for (int h = 0; h < d.n_kv_head; ++h) {
                const size_t src = offset(l, cell(c), h), dst = offset(l, cell(c - discard), h);
                read(k(), src, buf.data());
                rope_math::rotate_head(buf.data(), p, -double(discard), ff, 1.0);
                write(k(), dst, buf.data());
                std::memmove(v() + dst, v() + src, size_t(d.head_dim) * elt());
            }
}

void HostKvCache::copy_from(const HostKvCache& src, int n) {
    const auto& d = src.desc();
    const size_t bytes = size_t(d.head_dim) * src.elt();
    for (int l = 0; l < d.n_layer; ++l)
        for (int c = 0; c < n; ++c)
            for (int h = 0; h < d.n_kv_head; ++h) {
                const size_t off = src.offset(l, c, h);
                std::memcpy(k() + off, src.k() + off, bytes);
                std::memcpy(v() + off, src.v() + off, bytes);
            }
}

}  // namespace hearth
