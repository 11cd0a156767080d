#include "engine/util/sha1.h"

#include <algorithm>
#include <cstring>

#include "engine/util/sha256.h"  // to_hex

namespace hearth {
namespace {
inline uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
}  // namespace

void Sha1::reset() {
    h_[0] = 0x67452301; h_[1] = 0xEFCDAB89; h_[2] = 0x98BADCFE; h_[3] = 0x10325476; h_[4] = 0xC3D2E1F0;
    buf_.reset();
}

void Sha1::block(const uint8_t* p) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i)
        w[i] = (uint32_t(p[4 * i]) << 24) | (uint32_t(p[4 * i + 1]) << 16) | (uint32_t(p[4 * i + 2]) << 8) | p[4 * i + 3];
    for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
    for (int i = 0; i < 80; ++i) {
        uint32_t f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6; }
        uint32_t t = rotl(a, 5) + f + e + k + w[i];
        e = d; d = c; c = rotl(b, 30); b = a; a = t;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d; h_[4] += e;
}

void Sha1::blocks(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) block(p + 64 * i);
}

void Sha1::update(const void* data, size_t n) {
    buf_.update(static_cast<const uint8_t*>(data), n, [this](const uint8_t* q, size_t k) { blocks(q, k); });
}

std::array<uint8_t, 20> Sha1::digest() {
    buf_.finish([this](const uint8_t* q, size_t k) { blocks(q, k); });
    std::array<uint8_t, 20> out;
    store_be_words(h_, 5, out.data());
    return out;
}

std::string Sha1::hex_digest() {
    auto d = digest();
    return to_hex(d.data(), d.size());
}

}  // namespace hearth
