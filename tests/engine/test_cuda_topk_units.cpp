// Host check of the device top-k sampler's selection logic (kernels/topk_select.h, used by
// kernels/sample.cu): the ranking keys, the slot update of a list insertion, the split of a row
// across warps, and the draw. A host model of the two kernels built from those pieces (lists of 64
// slots, candidates offered a line of 32 at a time as the warp ballot does) must pick exactly the id
// top_k.cpp's sample_top_k_row picks: the same keys, the same float division by the temperature
// and the same double softmax, so no tolerance. What this cannot check (warp shuffles, ballots) is
// covered by CudaOps.SampleTopKMatchesHost where a GPU exists.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/backend/backend.h"
#include "kernels/topk_select.h"

using namespace hearth;
using namespace hearth::kern;

namespace {

// One warp's list: slot s of the device list lives in lane s % 32, register s / 32.
struct HostList {
    uint64_t slot[kTopkSlots] = {};
    uint64_t thr = 0;
    int k;
    explicit HostList(int k_) : k(k_) {}

    void insert(uint64_t x) {
        int p = 0;
        for (uint64_t v : slot) p += v > x;  // the two ballots' popcounts
        uint64_t next[kTopkSlots];
        for (int s = 0; s < kTopkSlots; ++s) next[s] = topk_slot_after_insert(s, p, x, slot[s], s ? slot[s - 1] : 0);
        std::copy(next, next + kTopkSlots, slot);
        thr = slot[k - 1];
    }
    // One line of 32 keys, lowest lane first (__ffs order), each re-tested against the rising threshold.
    void offer(const uint64_t* line) {
        for (int lane = 0; lane < 32; ++lane)
            if (line[lane] > thr) insert(line[lane]);
    }
};

int32_t model_sample(const std::vector<float>& x, int k, float temperature, double u) {
    const int64_t n = int64_t(x.size());
    const int n_warps = topk_warps_per_row(n, 4);
    std::vector<uint64_t> lists;
    for (int w = 0; w < n_warps; ++w) {
        HostList L(k);
        for (int64_t j = 0; topk_element(w, n_warps, j, 0) < n; ++j) {
            uint64_t line[32];
            for (int lane = 0; lane < 32; ++lane) {
                const int64_t i = topk_element(w, n_warps, j, lane);
                line[lane] = i < n ? topk_key(x[size_t(i)], int32_t(i)) : 0;
            }
            L.offer(line);
        }
        lists.insert(lists.end(), L.slot, L.slot + kTopkSlots);
    }
    HostList M(k);
    for (size_t i0 = 0; i0 < lists.size(); i0 += 32) {
        uint64_t line[32];
        for (int lane = 0; lane < 32; ++lane) line[lane] = i0 + lane < lists.size() ? lists[i0 + lane] : 0;
        M.offer(line);
    }
    int count = 0;
    while (count < k && M.slot[count] != 0) ++count;
    if (count == 0) return 0;
    if (count == 1 || k == 1) return topk_key_id(M.slot[0]);
    return topk_key_id(M.slot[topk_draw(M.slot, count, temperature, u)]);
}

std::vector<float> logits(size_t n, std::mt19937& rng, int distinct) {
    // `distinct` > 0 draws from that many values only, so ties are common.
    std::normal_distribution<float> nd(0.0f, 3.0f);
    std::uniform_int_distribution<int> pick(0, std::max(1, distinct) - 1);
    std::vector<float> v(n);
    for (auto& x : v) x = distinct > 0 ? float(pick(rng)) * 0.5f - 2.0f : nd(rng);
    return v;
}

}  // namespace

TEST(CudaTopkUnits, KeysOrderAsTheSampler) {
    const float vals[] = {-INFINITY, -1e30f, -2.5f, -1e-30f, -0.0f, 0.0f, 1e-30f, 1.0f, 3e38f, INFINITY};
    for (float a : vals)
        for (float b : vals)
            for (int ia : {0, 7, 128255})
                for (int ib : {0, 7, 128255}) {
                    if (ia == ib) continue;
                    const bool better = a > b || (a == b && ia < ib);  // sampler.cpp's order
                    EXPECT_EQ(topk_key(a, ia) > topk_key(b, ib), better) << a << "#" << ia << " vs " << b << "#" << ib;
                }
    for (float a : vals) {
        const uint64_t key = topk_key(a, 1234);
        EXPECT_NE(key, 0u);
        EXPECT_EQ(topk_key_id(key), 1234);
        EXPECT_EQ(topk_key_value(key), a == 0.0f ? 0.0f : a);
    }
    EXPECT_EQ(topk_key(std::nanf(""), 3), 0u);  // NaN never enters a list
}

TEST(CudaTopkUnits, WarpsPerRowCoverEveryElementOnce) {
    for (int64_t n : {1, 31, 32, 33, 4095, 4096, 4097, 32000, 128256, 151936, 300000}) {
        const int w = topk_warps_per_row(n, 4);
        EXPECT_EQ(w % 4, 0);
        EXPECT_LE(w, 64);
        std::vector<int> seen(size_t(n), 0);
        for (int wi = 0; wi < w; ++wi)
            for (int64_t j = 0; topk_element(wi, w, j, 0) < n; ++j)
                for (int lane = 0; lane < 32; ++lane)
                    if (int64_t i = topk_element(wi, w, j, lane); i < n) ++seen[size_t(i)];
        EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; })) << n;
    }
}

TEST(CudaTopkUnits, ModelPicksTheHostSamplersId) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    int cases = 0;
    for (size_t n : {1, 2, 5, 63, 64, 65, 1000, 4097, 32000}) {
        for (int distinct : {0, 3, 50}) {
            for (int k : {1, 2, 7, 32, 33, 40, 64}) {
                for (float t : {0.3f, 1.0f, 2.5f}) {
                    const auto x = logits(n, rng, distinct);
                    const double u = uni(rng);
                    EXPECT_EQ(model_sample(x, k, t, u), sample_top_k_row(x.data(), int(n), k, t, u))
                        << "n " << n << " distinct " << distinct << " k " << k << " t " << t << " u " << u;
                    ++cases;
                }
            }
        }
    }
    EXPECT_GT(cases, 500);
}

TEST(CudaTopkUnits, ModelOnALlama3SizedVocabularyAndEdgeRows) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    for (int rep = 0; rep < 3; ++rep) {
        auto x = logits(128256, rng, 0);
        x[128255] = 40.0f;  // the best logit in the last line of the last warp
        x[77] = 40.0f;      // tied: the smaller id wins greedy
        for (int k : {1, 5, 64}) {
            const double u = uni(rng);
            EXPECT_EQ(model_sample(x, k, 0.8f, u), sample_top_k_row(x.data(), 128256, k, 0.8f, u)) << k;
        }
        EXPECT_EQ(model_sample(x, 1, 1.0f, 0.0), 77);
    }
    // All equal: greedy and every draw with u near 0 give id 0; u near 1 the k-th smallest id.
    std::vector<float> flat(5000, 1.5f);
    EXPECT_EQ(model_sample(flat, 1, 1.0f, 0.5), 0);
    EXPECT_EQ(model_sample(flat, 8, 1.0f, 0.01), sample_top_k_row(flat.data(), 5000, 8, 1.0f, 0.01));
    EXPECT_EQ(model_sample(flat, 8, 1.0f, 0.99), sample_top_k_row(flat.data(), 5000, 8, 1.0f, 0.99));
    // -inf everywhere but one: that one, whatever u.
    std::vector<float> one(300, -INFINITY);
    one[123] = -5.0f;
    EXPECT_EQ(model_sample(one, 64, 1.0f, 0.999), 123);
    EXPECT_EQ(sample_top_k_row(one.data(), 300, 64, 1.0f, 0.999), 123);
    // -0 and +0 tie: the smaller id.
    std::vector<float> zeros = {-1.0f, 0.0f, -0.0f};
    zeros[1] = -0.0f;
    zeros[2] = 0.0f;
    EXPECT_EQ(model_sample(zeros, 1, 1.0f, 0.0), sample_top_k_row(zeros.data(), 3, 1, 1.0f, 0.0));
}
