// The pieces of device top-k sampling (kernels/sample.cu) that do not depend on warp shuffles,
// __host__ __device__ so they are unit-tested on machines without a GPU
// (tests/engine/test_cuda_topk_units.cpp) against top_k.cpp's sample_top_k_row.
//
// Candidates are ranked by a 64-bit key whose unsigned order is the sampler's order: larger logit
// first, equal logits by smaller token id. High word: the float's bits mapped to an order-preserving
// unsigned (-0 folded onto +0, as the sampler's == treats them); low word: ~id. NaN logits get key 0,
// which also marks an empty slot, so they are never chosen (the host sampler's comparisons skip
// them too, except for a NaN at id 0 in greedy mode, which argmax_token keeps).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define HT_HD __host__ __device__ __forceinline__
#else
#define HT_HD inline
#endif

namespace hearth::kern {

constexpr int kTopkSlots = 64;  // == kMaxDeviceTopK (engine/sampling/top_k.h); the per-warp candidate list

HT_HD uint32_t topk_float_bits(float v) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(v);
#else
    uint32_t b;
    std::memcpy(&b, &v, 4);
    return b;
#endif
}
HT_HD float topk_bits_float(uint32_t b) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(b);
#else
    float v;
    std::memcpy(&v, &b, 4);
    return v;
#endif
}

HT_HD uint64_t topk_key(float v, int32_t id) {
    if (v != v) return 0;     // NaN: never a candidate
    if (v == 0.0f) v = 0.0f;  // -0 == +0 for the sampler: the id decides
    const uint32_t b = topk_float_bits(v);
    const uint32_t ord = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
    return (uint64_t(ord) << 32) | uint64_t(~uint32_t(id));
}
HT_HD int32_t topk_key_id(uint64_t key) { return int32_t(~uint32_t(key)); }
HT_HD float topk_key_value(uint64_t key) {
    const uint32_t ord = uint32_t(key >> 32);
    return topk_bits_float((ord & 0x80000000u) ? (ord & 0x7fffffffu) : ~ord);
}

// New content of slot s of a descending list after inserting `x` at position p (slots >= p move
// down one; the last slot falls off). `cur` is slot s's key, `prev` slot s-1's (any value for s = 0).
HT_HD uint64_t topk_slot_after_insert(int s, int p, uint64_t x, uint64_t cur, uint64_t prev) {
    return s < p ? cur : (s == p ? x : prev);
}

// Element i of a row of n, visited by warp w of n_warps at step j and lane l: rows are read in
// 32-element lines, line (j * n_warps + w); i >= n is out of range.
HT_HD int64_t topk_element(int w, int n_warps, int64_t j, int lane) {
    return (j * n_warps + w) * 32 + lane;
}

// Warps per row for a row of n logits: about 4096 logits per warp (so a 128k vocabulary uses 32
// warps and the merge reads 2048 keys), a multiple of `warps_per_block`, at most 64.
HT_HD int topk_warps_per_row(int64_t n, int warps_per_block) {
    int64_t w = (n + 4095) / 4096;
    if (w > 64) w = 64;
    if (w < 1) w = 1;
    return int((w + warps_per_block - 1) / warps_per_block * warps_per_block);
}

// The draw over the final candidates (descending keys, `count` valid, 1 <= count <= 64), exactly as
// sampler.cpp does it: logits divided by the temperature in float, softmax in double with the max
// subtracted, the first candidate whose cumulative probability exceeds u, else the last one.
// Returns the chosen slot. Probabilities are recomputed in the second pass instead of stored (the
// same expression, so the same values).
HT_HD int topk_draw(const uint64_t* keys, int count, float temperature, double u) {
    double mx = -INFINITY;
    for (int i = 0; i < count; ++i) {
        const double l = double(topk_key_value(keys[i]) / temperature);
        mx = l > mx ? l : mx;
    }
    double sum = 0.0;
    for (int i = 0; i < count; ++i) sum += exp(double(topk_key_value(keys[i]) / temperature) - mx);
    double cum = 0.0;
    for (int i = 0; i < count; ++i) {
        cum += exp(double(topk_key_value(keys[i]) / temperature) - mx) / sum;
        if (u < cum) return i;
    }
    return count - 1;
}

}  // namespace hearth::kern
