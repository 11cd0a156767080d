// SHA-1 (FIPS 180-4), streaming. Only for what git names with it: a small file in a hub repository
// is checked against its git blob id, sha1("blob <size>\0" + bytes). Not for security.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/util/md_block_buffer.h"

namespace hearth {

class Sha1 {
public:
    Sha1() { reset(); }
    void reset();
    void update(const void* data, size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    std::array<uint8_t, 20> digest();  // finishes; call reset() before reusing
    std::string hex_digest();

private:
    void blocks(const uint8_t* p, size_t n);  // n whole 64-byte blocks
    void block(const uint8_t* p);
    uint32_t h_[5];
    MdBlockBuffer buf_;
};

}  // namespace hearth
