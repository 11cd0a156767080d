// Hearth's own PRNG (xoshiro256** seeded by splitmix64) and the few distributions sampling needs,
// written out so a seed gives the same tokens with every compiler and standard library
// (std::*_distribution results differ between libraries).
#pragma once

#include <cmath>
#include <cstdint>

namespace hearth {

class Rng {
public:
    explicit Rng(uint64_t seed = 0) { reseed(seed); }
    void reseed(uint64_t seed) {
        uint64_t x = seed;
        for (auto& s : s_) {  // splitmix64 expands the seed into the four words of state
            x += 0x9e3779b97f4a7c15ull;
            uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            s = z ^ (z >> 31);
        }
    }
    // Direct state (tests check the generator against published xoshiro256** vectors).
    static Rng from_state(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
        Rng r;
        r.s_[0] = a; r.s_[1] = b; r.s_[2] = c; r.s_[3] = d;
        return r;
    }
    uint64_t state(int i) const { return s_[i & 3]; }
    uint64_t next() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }
    // Standard normal by Box-Muller (one value per call; the pair's second half is dropped for simplicity).
    double normal() {
        double u1 = uniform();
        if (u1 < 1e-300) u1 = 1e-300;
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

}  // namespace hearth
