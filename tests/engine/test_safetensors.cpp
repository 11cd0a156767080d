// The safetensors reader: the shared files (PEFT adapters, a BF16 checkpoint), a round trip of
// every float dtype, each malformed header named in its error, and many mutated files that must
// each open or fail with a message, never crash (this test also runs under ASan/UBSan).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/quant/fp16.h"
#include "engine/safetensors/safetensors.h"
#include "tests/engine/safetensors_image.h"
#include "tests/engine/testdata.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;
using test::StTensor;

namespace {

Result<std::unique_ptr<safetensors::File>> parse(const std::string& image) {
    return safetensors::File::from_memory(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "t.safetensors");
}

// Expects `image` to be refused with a message containing `what`.
void expect_error(const std::string& image, const std::string& what) {
    auto f = parse(image);
    ASSERT_FALSE(f.ok()) << "accepted; expected: " << what;
    EXPECT_NE(f.message().find(what), std::string::npos) << f.message();
}

// A header of our own text (its length written in front) and `data` after it.
std::string raw(const std::string& header, const std::string& data = std::string()) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
    return out + header + data;
}

}  // namespace

TEST(Safetensors, ReadsTheSharedFiles) {
    HEARTH_REQUIRE_TESTDATA(data);
    for (const char* p : {"/hf-models/tiny-llama/lora/qv-r16/adapter_model.safetensors",
                          "/hf-models/tiny-qwen2/lora/all-r8/adapter_model.safetensors",
                          "/hf-models/tiny-llama/hf/model.safetensors"}) {
        SCOPED_TRACE(p);
        auto f = safetensors::File::open(data + p);
        ASSERT_TRUE(f.ok()) << f.message();
        ASSERT_NE((*f)->metadata_value("format"), nullptr);
        EXPECT_EQ(*(*f)->metadata_value("format"), "pt");
        ASSERT_FALSE((*f)->tensors().empty());
        for (const auto& t : (*f)->tensors()) {
            auto v = (*f)->to_f32(t);
            ASSERT_TRUE(v.ok()) << v.message();
            ASSERT_EQ(int64_t(v->size()), t.n_elements());
            for (float x : *v) ASSERT_TRUE(std::isfinite(x)) << t.name;
        }
    }
    auto ckpt = safetensors::File::open(data + "/hf-models/tiny-llama/hf/model.safetensors");
    ASSERT_TRUE(ckpt.ok());
    const auto* emb = (*ckpt)->tensor("model.embed_tokens.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->dtype, safetensors::DType::BF16);
    EXPECT_EQ(emb->shape, (std::vector<int64_t>{1984, 256}));
}

TEST(Safetensors, RoundTripOfEveryFloatType) {
    const std::vector<float> v = {1.0f, -2.5f, 0.125f, 3.0e-3f, 61440.0f, -0.0f};
    std::string f16, bf16, f64;
    for (float x : v) {
        const uint16_t h = f32_to_f16(x).bits, b = f32_to_bf16(x).bits;
        const double d = x;
        f16.append(reinterpret_cast<const char*>(&h), 2);
        bf16.append(reinterpret_cast<const char*>(&b), 2);
        f64.append(reinterpret_cast<const char*>(&d), 8);
    }
    const std::string image = test::safetensors_image({
        {"a.f32", "F32", {2, 3}, test::f32_bytes(v)},
        {"a.f16", "F16", {6}, f16},
        {"a.bf16", "BF16", {3, 2}, bf16},
        {"a.f64", "F64", {1, 6}, f64},
        {"ids", "I64", {2}, std::string(16, '\1')},
        {"scalar", "F32", {}, test::f32_bytes({7.0f})},
        {"empty", "F32", {0, 4}, ""},
    }, {{"format", "pt"}, {"note", "round trip"}});
    auto f = parse(image);
    ASSERT_TRUE(f.ok()) << f.message();
    EXPECT_EQ((*f)->tensors().size(), 7u);
    EXPECT_EQ(*(*f)->metadata_value("note"), "round trip");
    for (const char* name : {"a.f32", "a.f16", "a.bf16", "a.f64"}) {
        SCOPED_TRACE(name);
        const auto* t = (*f)->tensor(name);
        ASSERT_NE(t, nullptr);
        auto got = (*f)->to_f32(*t);
        ASSERT_TRUE(got.ok()) << got.message();
        ASSERT_EQ(got->size(), v.size());
        for (size_t i = 0; i < v.size(); ++i) {
            // F16 and BF16 hold these values exactly except 3e-3 (their rounding, half an ulp).
            const float tol = std::string(name) == "a.bf16" ? 1e-5f : std::string(name) == "a.f16" ? 1e-6f : 0.0f;
            EXPECT_NEAR((*got)[i], v[i], tol) << i;
        }
    }
    EXPECT_EQ((*f)->tensor("a.f32")->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ((*f)->tensor("scalar")->n_elements(), 1);
    EXPECT_EQ((*f)->tensor("empty")->n_bytes, 0u);
    auto ids = (*f)->to_f32(*(*f)->tensor("ids"));
    ASSERT_FALSE(ids.ok());
    EXPECT_NE(ids.message().find("stored as I64"), std::string::npos) << ids.message();
    EXPECT_EQ((*f)->tensor("absent"), nullptr);
}

TEST(Safetensors, MalformedHeadersAreNamed) {
    expect_error("", "too short");
    expect_error(std::string("\x10\0\0\0", 4), "too short");
    std::string huge(8, '\0');
    huge[4] = 1;  // 2^32
    expect_error(huge + "{}", "not believable");
    std::string past(8, '\0');
    past[0] = 100;
    expect_error(past + "{}", "runs past the end of the file");
    expect_error(raw("{\"a\":"), "not valid JSON");
    expect_error(raw("[1,2]"), "not a JSON object");
    expect_error(raw("{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", "x"), "unknown dtype 'Q4'");
    expect_error(raw("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "xxxx"), "no dtype");
    expect_error(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "xxxx"), "non-negative integer");
    expect_error(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "xxxx"), "non-negative integer");
    expect_error(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "xxxx"), "end before they begin");
    expect_error(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", "xxxx"), "not a pair");
    expect_error(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "xxxx"), "past its end");
    expect_error(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "xxxx"), "4 bytes of data for shape [2] of F32");
    expect_error(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", "xxxx"), "too large");
    expect_error(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "xxxxxxxx"), "overlap");
    expect_error(raw("{\"__metadata__\":{\"format\":1}}"), "not a string");
    expect_error(raw("{\"__metadata__\":[]}"), "__metadata__ is not an object");
    expect_error(raw("{\"a\":3}"), "not an object");
    // The header alone, no tensors, is a valid (empty) file.
    auto empty = parse(raw("{}"));
    ASSERT_TRUE(empty.ok()) << empty.message();
    EXPECT_TRUE((*empty)->tensors().empty());
}

TEST(Safetensors, MissingFileIsAnError) {
    auto f = safetensors::File::open("/nonexistent/adapter_model.safetensors");
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.message().find("cannot open"), std::string::npos) << f.message();
}

// Truncations, flipped bits, random words in the header, hostile header lengths: every image
// opens (and then every tensor converts) or fails with a message.
TEST(Safetensors, MutatedFilesNeverCrash) {
    std::vector<std::string> seeds;
    std::mt19937 rng(17);
    {
        std::vector<float> a(8 * 64), b(64 * 8);
        for (float& x : a) x = float(rng() % 1000) / 1000.0f;
        for (float& x : b) x = float(rng() % 1000) / 1000.0f;
        seeds.push_back(test::safetensors_image({{"m.lora_A.weight", "F32", {8, 64}, test::f32_bytes(a)},
                                                 {"m.lora_B.weight", "BF16", {64, 8}, std::string(64 * 8 * 2, '\x3f')},
                                                 {"m.bias", "F16", {64}, std::string(128, '\x3c')}}));
    }
    if (const std::string data = test::testdata_dir(); !data.empty())
        seeds.push_back(test::read_file(data + "/hf-models/tiny-llama/lora/mlp-r8/adapter_model.safetensors"));
    int opened = 0, total = 0;
    for (const std::string& seed : seeds) {
        ASSERT_GT(seed.size(), 16u);
        uint64_t n_header = 0;
        for (int i = 7; i >= 0; --i) n_header = (n_header << 8) | uint8_t(seed[size_t(i)]);
        const size_t head = std::min<size_t>(seed.size(), 8 + n_header);
        for (int it = 0; it < 1500; ++it, ++total) {
            std::string m = seed;
            switch (it % 5) {
                case 0:  // truncated anywhere
                    m.resize(rng() % m.size());
                    break;
                case 1:  // a hostile header length
                    for (int i = 0; i < 8; ++i) m[size_t(i)] = char(rng());
                    if (rng() % 2) m[7] = m[6] = m[5] = 0;
                    break;
                case 2:  // flipped bits in the header
                    for (int k = 0, n = 1 + int(rng() % 4); k < n; ++k) {
                        const size_t pos = 8 + rng() % (head - 8);
                        m[pos] = char(uint8_t(m[pos]) ^ uint8_t(1u << (rng() % 8)));
                    }
                    break;
                case 3:  // a digit of the header changed (offsets and shapes stay numbers)
                    for (int k = 0; k < 50; ++k) {
                        const size_t pos = 8 + rng() % (head - 8);
                        if (m[pos] >= '0' && m[pos] <= '9') {
                            m[pos] = char('0' + rng() % 10);
                            break;
                        }
                    }
                    break;
                default:  // random bytes in the header
                    for (size_t j = 8 + rng() % (head - 8), e = std::min(head, j + 1 + rng() % 6); j < e; ++j) m[j] = char(rng());
            }
            auto f = parse(m);
            if (!f.ok()) {
                EXPECT_FALSE(f.message().empty());
                continue;
            }
            ++opened;
            for (const auto& t : (*f)->tensors()) (void)(*f)->to_f32(t);  // touches every byte it claims
        }
    }
    std::printf("%d mutated safetensors files: %d opened\n", total, opened);
}
