// Shared helpers of the Vulkan tests: the lavapipe-or-GPU backend (skipping with a reason when no
// Vulkan device exists), random weights in every block format, and host<->device tensors.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/quant/quant.h"
#ifdef HEARTH_HAVE_VULKAN
#include "engine/backend/vulkan/vulkan_backend.h"
#endif

namespace hearth::vktest {

// A Vulkan backend on the preferred device (lavapipe here). `mask` is HEARTH_VULKAN_MASK_FEATURES
// for this backend ("" = none); backends are cached per mask. Null + reason when there is none.
inline Backend* backend(const std::string& mask, std::string* why) {
#ifndef HEARTH_HAVE_VULKAN
    *why = "the Vulkan backend is not built into this binary (HEARTH_VULKAN=OFF or no Vulkan SDK)";
    return nullptr;
#else
    // Never destroyed: a static destroyed at exit would tear its devices down after the validation
    // layer (loaded later, so its own statics are destroyed first) is gone, and crash inside it.
    static auto& cache = *new std::vector<std::pair<std::string, std::unique_ptr<Backend>>>();
    for (auto& [m, b] : cache) if (m == mask) return b.get();
    if (mask.empty()) unsetenv("HEARTH_VULKAN_MASK_FEATURES");
    else setenv("HEARTH_VULKAN_MASK_FEATURES", mask.c_str(), 1);
    auto b = create_vulkan_backend(-1, true);
    unsetenv("HEARTH_VULKAN_MASK_FEATURES");
    if (!b.ok()) {
        *why = "no Vulkan device: " + b.message();
        return nullptr;
    }
    cache.emplace_back(mask, std::move(*b));
    return cache.back().second.get();
#endif
}

#ifdef HEARTH_HAVE_VULKAN
// A fresh (uncached) backend created with the given environment switches set, e.g.
// {{"HEARTH_VULKAN_MAX_MEMORY", "8388608"}}; null + reason when there is no Vulkan device.
inline std::unique_ptr<Backend> backend_with(const std::vector<std::pair<const char*, std::string>>& env, std::string* why) {
    for (auto& [k, v] : env) setenv(k, v.c_str(), 1);
    auto b = create_vulkan_backend(-1, true);
    for (auto& [k, v] : env) unsetenv(k);
    if (!b.ok()) { *why = "no Vulkan device: " + b.message(); return nullptr; }
    return std::move(*b);
}
#endif

#define HEARTH_REQUIRE_VULKAN(var, mask)                  \
    std::string var##_why;                                 \
    ::hearth::Backend* var = ::hearth::vktest::backend(mask, &var##_why); \
    if (!var) GTEST_SKIP() << var##_why

// Bytes of a rows x cols weight of type t: F32/F16 from uniform(-1, 1); block formats from random
// bytes with their f16 scale fields set to sane values (covers every quant bit pattern).
inline std::vector<uint8_t> random_weights(GgmlType t, int64_t rows, int64_t cols, std::mt19937& rng) {
    const size_t rb = row_bytes(t, cols);
    std::vector<uint8_t> out(rb * size_t(rows));
    std::uniform_real_distribution<float> u(-1.0f, 1.0f), sc(0.002f, 0.05f);
    if (t == GgmlType::F32) {
        for (size_t i = 0; i < out.size() / 4; ++i) { float v = u(rng); std::memcpy(&out[i * 4], &v, 4); }
        return out;
    }
    if (t == GgmlType::F16) {
        for (size_t i = 0; i < out.size() / 2; ++i) { f16_t h = f32_to_f16(u(rng)); std::memcpy(&out[i * 2], &h, 2); }
        return out;
    }
    for (auto& b : out) b = uint8_t(rng());
    const auto& tr = traits(t);
    std::vector<int> d_at, m_at;  // byte offsets of f16 scale (d) and min (m) fields in a block
    switch (t) {
        case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: d_at = {0}; break;
        case GgmlType::Q4_1: case GgmlType::Q5_1: d_at = {0}; m_at = {2}; break;
        case GgmlType::Q4_K: case GgmlType::Q5_K: d_at = {0, 2}; break;  // d and dmin, both positive
        case GgmlType::Q6_K: d_at = {208}; break;
        default: break;
    }
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t b = 0; b < cols / tr.block_elems; ++b) {
            uint8_t* blk = &out[size_t(r) * rb + size_t(b) * tr.block_bytes];
            for (int o : d_at) { f16_t h = f32_to_f16(sc(rng)); std::memcpy(blk + o, &h, 2); }
            for (int o : m_at) { f16_t h = f32_to_f16(u(rng) * 0.05f); std::memcpy(blk + o, &h, 2); }
        }
    return out;
}

inline std::vector<float> random_f32(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}

// A tensor in a fresh buffer of `b` holding `data` (row_stride from the type unless given).
struct DevTensor {
    BufferPtr buf;
    Tensor t;
};
inline DevTensor upload(Backend& b, GgmlType type, int64_t rows, int64_t cols, const void* data, size_t row_stride = 0) {
    DevTensor d;
    const size_t rs = row_stride ? row_stride : row_bytes(type, cols);
    auto buf = b.alloc(rs * size_t(rows) + 64, BufferUsage::Activations);
    EXPECT_TRUE(buf.ok()) << buf.message();
    if (!buf.ok()) return d;
    d.buf = *buf;
    d.t = make_tensor(d.buf.get(), 0, type, rows, cols);
    d.t.row_stride = rs;
    if (data) {
        if (rs == row_bytes(type, cols)) {
            EXPECT_TRUE(b.upload(d.t, data).ok());
        } else {  // strided: upload row by row
            for (int64_t r = 0; r < rows; ++r) {
                Tensor row = d.t.row_range(r, 1);
                row.row_stride = row_bytes(type, cols);
                EXPECT_TRUE(b.upload(row, static_cast<const uint8_t*>(data) + size_t(r) * row_bytes(type, cols)).ok());
            }
        }
    }
    return d;
}

inline std::vector<float> download(Backend& b, const Tensor& t) {
    std::vector<float> out(size_t(t.rows) * size_t(t.cols));
    if (t.row_stride == size_t(t.cols) * 4) {
        Status st = b.download(t, out.data());
        EXPECT_TRUE(st.ok()) << st.message();
        return out;
    }
    for (int64_t r = 0; r < t.rows; ++r) {
        Tensor row = t.row_range(r, 1);
        row.row_stride = size_t(t.cols) * 4;
        Status st = b.download(row, out.data() + size_t(r) * size_t(t.cols));
        EXPECT_TRUE(st.ok()) << st.message();
        if (!st.ok()) break;
    }
    return out;
}

inline std::vector<float> dequant(GgmlType t, const std::vector<uint8_t>& w, int64_t rows, int64_t cols) {
    std::vector<float> out(size_t(rows) * size_t(cols));
    const size_t rb = row_bytes(t, cols);
    for (int64_t r = 0; r < rows; ++r) dequantize_row(t, w.data() + size_t(r) * rb, out.data() + size_t(r) * size_t(cols), cols);
    return out;
}

// x rounded as quantize_q8.comp does: blocks of 32, d = max|x| / 127, q = round-half-even(x / d).
// Returns the dequantized values and each element's block scale d.
inline void quantize_q8_host(const std::vector<float>& x, std::vector<float>& xq, std::vector<float>& dx) {
    xq.resize(x.size());
    dx.resize(x.size());
    for (size_t b = 0; b < x.size(); b += 32) {
        float amax = 0;
        for (size_t i = b; i < b + 32; ++i) amax = std::max(amax, std::fabs(x[i]));
        const float d = amax / 127.0f, inv = amax > 0 ? 127.0f / amax : 0.0f;
        for (size_t i = b; i < b + 32; ++i) {
            xq[i] = d * std::nearbyint(x[i] * inv);
            dx[i] = d;
        }
    }
}

// x as a matmul on b sees it: quantized to 8 bits (quantize_q8_host) when b multiplies block
// weights of type t by n <= 4 tokens with an 8-bit matrix-vector variant, else unchanged; dx holds
// each element's block scale (0 when not quantized), for the one-flipped-rounding allowance.
inline std::vector<float> x_as_seen(Backend& b, GgmlType t, int64_t n, const std::vector<float>& x, std::vector<float>& dx) {
    dx.assign(x.size(), 0.0f);
#ifdef HEARTH_HAVE_VULKAN
    const auto f = vk::enabled(b);
    if (n <= 4 && t != GgmlType::F32 && t != GgmlType::F16 && (f.dot || f.int8)) {
        std::vector<float> xq;
        quantize_q8_host(x, xq, dx);
        return xq;
    }
#else
    (void)b; (void)t; (void)n;
#endif
    return x;
}

}  // namespace hearth::vktest
