// SHA-256 and SHA-1 (engine/util) against the FIPS 180 example vectors, fed whole and in odd
// pieces (the hub client hashes chunks as they arrive), and git's blob ids (what a small hub file
// is checked against). Hashes are exact: no tolerance.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "engine/hub/download.h"
#include "engine/util/sha1.h"
#include "engine/util/sha256.h"

namespace {

struct Vector {
    std::string input, sha256, sha1;
};

std::vector<Vector> vectors() {
    return {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
         "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
    };
}

// Both paths: SHA-NI where the CPU has it, and the portable rounds.
TEST(Hash, Sha256Vectors) {
    for (bool hw : {true, false}) {
        hearth::Sha256::set_hardware_allowed(hw);
        for (const auto& v : vectors()) {
            hearth::Sha256 h;
            h.update(v.input);
            EXPECT_EQ(h.hex_digest(), v.sha256) << v.input.substr(0, 20) << (hw ? " (SHA-NI if present)" : " (portable)");
        }
    }
    hearth::Sha256::set_hardware_allowed(true);
    if (!hearth::Sha256::hardware_available()) std::printf("this CPU has no SHA extensions: only the portable path ran\n");
}

TEST(Hash, Sha1Vectors) {
    for (const auto& v : vectors()) {
        hearth::Sha1 h;
        h.update(v.input);
        EXPECT_EQ(h.hex_digest(), v.sha1) << v.input.substr(0, 20);
    }
}

// Pieces of 1, 63, 64, 65 … bytes cross the 64-byte block boundary in every way.
TEST(Hash, PiecewiseEqualsWhole) {
    std::string data;
    for (int i = 0; i < 5000; ++i) data.push_back(char(i * 7 + 3));
    for (size_t piece : {1, 3, 55, 63, 64, 65, 127, 1000, 4096}) {
        hearth::Sha256 a;
        hearth::Sha1 b;
        for (size_t off = 0; off < data.size(); off += piece) {
            a.update(data.data() + off, std::min(piece, data.size() - off));
            b.update(data.data() + off, std::min(piece, data.size() - off));
        }
        hearth::Sha256 wa;
        hearth::Sha1 wb;
        wa.update(data);
        wb.update(data);
        EXPECT_EQ(a.hex_digest(), wa.hex_digest()) << piece;
        EXPECT_EQ(b.hex_digest(), wb.hex_digest()) << piece;
    }
}

// `git hash-object` of an empty file and of "hello world\n".
TEST(Hash, GitBlobIds) {
    hearth::Sha1 empty;
    empty.update(hearth::hub::git_blob_prefix(0));
    EXPECT_EQ(empty.hex_digest(), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    hearth::Sha1 hello;
    hello.update(hearth::hub::git_blob_prefix(12));
    hello.update("hello world\n");
    EXPECT_EQ(hello.hex_digest(), "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
}

}  // namespace
