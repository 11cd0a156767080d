// SHA-256 (FIPS 180-4), streaming: the hub client hashes a download while it arrives, so a 10 GB
// file is verified without a second pass. Tested against the FIPS/NIST vectors (tests/engine/test_hash.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/util/md_block_buffer.h"

namespace hearth {

class Sha256 {
public:
    Sha256() { reset(); }
    void reset();
    void update(const void* data, size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    std::array<uint8_t, 32> digest();  // finishes; call reset() before reusing
    std::string hex_digest();           // lower-case hex, as the hub writes lfs.oid

    // The SHA-NI path is used where the CPU has it; tests turn it off to check the portable rounds.
    static bool hardware_available();
    static void set_hardware_allowed(bool allowed);

private:
    void blocks(const uint8_t* p, size_t n);  // n whole 64-byte blocks
    void block(const uint8_t* p);
    uint32_t h_[8];
    MdBlockBuffer buf_;
};

std::string to_hex(const uint8_t* bytes, size_t n);

}  // namespace hearth
