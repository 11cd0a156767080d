// PNG files (engine/util/png_file): a round trip keeps every 8-bit value and the text chunks; a
// write that cannot finish leaves no file; hostile bytes (mutations of a real PNG) are errors,
// never crashes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "engine/util/png_file.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const char* name) {
    const fs::path d = fs::temp_directory_path() / (std::string(name) + "_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}

std::vector<float> test_image(int w, int h) {
    std::vector<float> rgb(size_t(w) * size_t(h) * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = float((i * 37) % 256) / 255.0f;
    rgb[0] = -3.0f;  // clamped to 0
    rgb[1] = 7.0f;   // clamped to 1
    rgb[2] = NAN;    // written as 0
    return rgb;
}

TEST(PngFile, RoundTripKeepsPixelsAndText) {
    const fs::path d = temp_dir("hearth_png");
    const std::string path = (d / "a.png").string();
    const std::vector<float> rgb = test_image(13, 7);
    ASSERT_TRUE(write_png_rgb(path, 13, 7, rgb, {{"prompt", "一只猫, a cat"}, {"seed", "42"}}).ok());
    EXPECT_FALSE(fs::exists(path + ".part"));
    auto img = read_png_rgb(path);
    ASSERT_TRUE(img.ok()) << img.message();
    EXPECT_EQ(img->width, 13);
    EXPECT_EQ(img->height, 7);
    ASSERT_EQ(img->rgb.size(), rgb.size());
    EXPECT_EQ(img->rgb[0], 0.0f);
    EXPECT_EQ(img->rgb[1], 1.0f);
    EXPECT_EQ(img->rgb[2], 0.0f);
    for (size_t i = 3; i < rgb.size(); ++i) EXPECT_NEAR(img->rgb[i], rgb[i], 0.5f / 255.0f) << i;
    ASSERT_EQ(img->text.size(), 2u);
    EXPECT_EQ(img->text[0].first, "prompt");
    EXPECT_EQ(img->text[0].second, "一只猫, a cat");
    fs::remove_all(d);
}

TEST(PngFile, FailuresAreErrorsAndLeaveNothing) {
    const fs::path d = temp_dir("hearth_png_bad");
    EXPECT_NE(write_png_rgb((d / "missing" / "a.png").string(), 2, 2, test_image(2, 2)).message().find("cannot create"), std::string::npos);
    EXPECT_NE(write_png_rgb((d / "a.png").string(), 2, 2, std::vector<float>(5)).message().find("needs 12 values"), std::string::npos);
    EXPECT_FALSE(fs::exists(d / "a.png"));
    EXPECT_FALSE(fs::exists(d / "a.png.part"));
    EXPECT_NE(read_png_rgb((d / "none.png").string()).message().find("cannot open"), std::string::npos);
    std::ofstream(d / "text.png") << "not a png at all";
    EXPECT_NE(read_png_rgb((d / "text.png").string()).message().find("not a readable PNG"), std::string::npos);
    fs::remove_all(d);
}

// PNG's chunk CRC (ISO 3309, as zlib's crc32), so mutations reach the decoder instead of all
// failing the checksum.
uint32_t crc32(const unsigned char* p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

// Recomputes the CRC of every whole chunk after the 8-byte signature.
void fix_crcs(std::string& m) {
    size_t at = 8;
    while (at + 12 <= m.size()) {
        const auto* u = reinterpret_cast<const unsigned char*>(m.data());
        const size_t len = (size_t(u[at]) << 24) | (size_t(u[at + 1]) << 16) | (size_t(u[at + 2]) << 8) | u[at + 3];
        if (len > m.size() || at + 12 + len > m.size()) return;
        const uint32_t c = crc32(u + at + 4, len + 4);
        for (int k = 0; k < 4; ++k) m[at + 8 + len + size_t(k)] = char(c >> (24 - 8 * k));
        at += 12 + len;
    }
}

// A chunk whose length field claims more than any of ours holds: libpng allocated what an ancillary
// chunk says before reading it, so a 97-byte file (found by fuzz_png) whose tEXt claimed 1.2 GB took
// 1.2 GB of memory and 2 s under ASan. Now an error, with the process's peak memory unmoved.
TEST(PngFile, ChunkLengthBeyondTheFileIsAnErrorNotAnAllocation) {
    const fs::path d = temp_dir("hearth_png_chunk");
    std::string m("\x89PNG\r\n\x1a\n", 8);
    auto chunk = [&](const std::string& type, const std::string& data, uint32_t claimed) {
        for (int k = 0; k < 4; ++k) m += char(claimed >> (24 - 8 * k));
        const std::string body = type + data;
        m += body;
        const uint32_t c = crc32(reinterpret_cast<const unsigned char*>(body.data()), body.size());
        for (int k = 0; k < 4; ++k) m += char(c >> (24 - 8 * k));
    };
    chunk("IHDR", std::string("\0\0\0\1\0\0\0\1\x08\x02\0\0\0", 13), 13);  // 1x1, 8-bit RGB
    chunk("tEXt", "prompt", 0x49454e44u);  // as the fuzzer's file: "IEND" read as a length
    const std::string path = (d / "claims.png").string();
    std::ofstream(path, std::ios::binary) << m;
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    auto img = read_png_rgb(path);
    getrusage(RUSAGE_SELF, &after);
    EXPECT_FALSE(img.ok());
    EXPECT_NE(img.message().find("not a readable PNG (its tEXt chunk at byte 33 claims 1229278788 bytes"), std::string::npos)
        << img.message();
    EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 64L << 10) << "KB of peak memory for a " << m.size() << "-byte file";
    fs::remove_all(d);
}

TEST(PngFile, MutatedFilesNeverCrash) {
    const fs::path d = temp_dir("hearth_png_fuzz");
    const std::string good = (d / "good.png").string();
    ASSERT_TRUE(write_png_rgb(good, 24, 16, test_image(24, 16), {{"k", "v"}}).ok());
    std::ifstream in(good, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::mt19937 rng(5);
    int opened = 0;
    const int total = 250;
    for (int i = 0; i < total; ++i) {
        std::string m = bytes;
        switch (rng() % 3) {
            case 0: for (int k = 0; k < 1 + int(rng() % 4); ++k) m[8 + rng() % (m.size() - 8)] = char(rng()); break;
            case 1: m.resize(rng() % m.size()); break;
            case 2: m.insert(8 + rng() % (m.size() - 8), std::string(1 + rng() % 8, char(rng()))); break;
        }
        if (rng() % 4) fix_crcs(m);  // most reach the chunk parser and the inflater
        const std::string path = (d / "m.png").string();
        std::ofstream(path, std::ios::binary | std::ios::trunc) << m;
        auto img = read_png_rgb(path);
        if (img.ok()) {
            ++opened;
            EXPECT_EQ(img->rgb.size(), size_t(img->width) * size_t(img->height) * 3);
        } else {
            EXPECT_FALSE(img.message().empty());
        }
    }
    std::printf("%d mutated PNG files: %d opened\n", total, opened);
    EXPECT_LT(opened, total);
    fs::remove_all(d);
}

}  // namespace
