// The framing SHA-1 and SHA-256 share (FIPS 180-4, Merkle–Damgård): input cut into 64-byte blocks
// with a partial block carried between updates, and the final padding — 0x80, zeros up to 56 mod
// 64, then the message length in bits, big-endian. Each hash brings only its compression function.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace hearth {

class MdBlockBuffer {
public:
    void reset() { len_ = 0; total_ = 0; }

    // Feeds n bytes; `blocks(p, k)` compresses k whole 64-byte blocks at p.
    template <class Blocks>
    void update(const uint8_t* p, size_t n, Blocks&& blocks) {
        total_ += n;
        if (len_ > 0) {
            const size_t take = std::min(n, 64 - len_);
            std::memcpy(buf_ + len_, p, take);
            len_ += take; p += take; n -= take;
            if (len_ < 64) return;
            blocks(buf_, size_t(1));
            len_ = 0;
        }
        if (n >= 64) blocks(p, n / 64);
        p += n / 64 * 64;
        n %= 64;
        std::memcpy(buf_, p, n);
        len_ = n;
    }

    // Pads and compresses the last block(s).
    template <class Blocks>
    void finish(Blocks&& blocks) {
        const uint64_t bits = total_ * 8;
        uint8_t pad[72] = {0x80};
        const size_t pad_len = (len_ < 56 ? 56 : 120) - len_;
        for (int i = 0; i < 8; ++i) pad[pad_len + size_t(i)] = uint8_t(bits >> (56 - 8 * i));
        update(pad, pad_len + 8, blocks);
    }

private:
    uint8_t buf_[64];
    size_t len_ = 0;
    uint64_t total_ = 0;  // bytes fed, padding included after finish()
};

// The state words as the digest's bytes, big-endian.
inline void store_be_words(const uint32_t* h, int n_words, uint8_t* out) {
    for (int i = 0; i < n_words; ++i)
        for (int j = 0; j < 4; ++j) out[4 * i + j] = uint8_t(h[i] >> (24 - 8 * j));
}

}  // namespace hearth
