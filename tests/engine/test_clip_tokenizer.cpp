// CLIP's text tokenizer (Stable Diffusion) against transformers' CLIPTokenizer, exactly: both sides
// are deterministic integer algorithms, so any difference is a bug.
// - tests/engine/data/clip_cases.json (tools/fixtures/gen_clip_tokenizer_cases.py): 77 ids of 61
//   texts through the two tokenizer folders of ../shared/testdata/diffusion (SD 1.x pads with
//   <|endoftext|>, SD 2.x with "!", which is then also a special token inside the text);
// - each pipeline's expected.json "tokens" (ids diffusers fed its text encoder).
// Also: lower case beyond ASCII, the clip pre-tokenizer's coverage, and clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/diffusion/clip_prompt.h"
#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "engine/util/json.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/testdata.h"

using namespace hearth;

namespace {

const char* const kPipelines[] = {"tiny-sd15", "tiny-sd-turbo"};

std::unique_ptr<tokenizer::Tokenizer> open_clip(const std::string& dir) {
    auto t = tokenizer::Tokenizer::from_hf_dir(dir);
    EXPECT_TRUE(t.ok()) << t.message();
    return t.ok() ? std::move(*t) : nullptr;
}

TEST(ClipTokenizer, MatchesTransformersOnEveryCase) {
    HEARTH_REQUIRE_TESTDATA(root);
    auto doc = json::parse_file(test::fixture_path("clip_cases.json"));
    ASSERT_TRUE(doc.ok()) << doc.message();
    const auto& texts = (*doc)["texts"].as_array();
    ASSERT_GE(texts.size(), 60u);
    size_t checked = 0;
    for (const char* name : kPipelines) {
        auto tok = open_clip(root + "/diffusion/" + name + "/tokenizer");
        ASSERT_TRUE(tok);
        const auto& rows = (*doc)["tokenizers"][name].as_array();
        ASSERT_EQ(rows.size(), texts.size());
        for (size_t i = 0; i < texts.size(); ++i) {
            std::vector<int32_t> want;
            for (const auto& v : rows[i]["ids"].as_array()) want.push_back(int32_t(v.as_int()));
            auto got = diffusion::clip_prompt(*tok, texts[i].as_string());
            ASSERT_TRUE(got.ok()) << got.message();
            EXPECT_EQ(got->ids, want) << name << " on \"" << texts[i].as_string() << "\"";
            EXPECT_EQ(got->n_prompt, rows[i]["n_prompt"].as_int()) << name << " on \"" << texts[i].as_string() << "\"";
            EXPECT_EQ(got->n_dropped, rows[i]["n_dropped"].as_int()) << name << " on \"" << texts[i].as_string() << "\"";
            ++checked;
        }
    }
    std::printf("CLIP tokenizer: %zu cases\n", checked);
}

TEST(ClipTokenizer, MatchesWhatDiffusersFedTheTextEncoder) {
    HEARTH_REQUIRE_TESTDATA(root);
    for (const char* name : kPipelines) {
        const std::string dir = root + "/diffusion/" + name;
        auto expected = json::parse_file(dir + "/expected.json");
        ASSERT_TRUE(expected.ok()) << expected.message();
        auto tok = open_clip(dir + "/tokenizer");
        ASSERT_TRUE(tok);
        for (const auto& [text, ids] : (*expected)["tokens"].as_object()) {
            std::vector<int32_t> want;
            for (const auto& v : ids.as_array()) want.push_back(int32_t(v.as_int()));
            auto got = diffusion::clip_prompt(*tok, text);
            ASSERT_TRUE(got.ok()) << got.message();
            EXPECT_EQ(got->ids, want) << name << " on \"" << text << "\"";
        }
    }
}

// Python's str.lower one code point at a time (Rust's char::to_lowercase): no final sigma, İ -> i̇.
TEST(ClipTokenizer, LowerCaseIsUnicodeWide) {
    EXPECT_EQ(tokenizer::lower_case("ABC xyz 09"), "abc xyz 09");
    EXPECT_EQ(tokenizer::lower_case("ΣΊΣΥΦΟΣ"), "σίσυφοσ");
    EXPECT_EQ(tokenizer::lower_case("ПРИВЕТ Ǆ ẞ"), "привет ǆ ß");
    EXPECT_EQ(tokenizer::lower_case("İ"), "i\xCC\x87");
    EXPECT_EQ(tokenizer::lower_case("Ａ中\xFF"), "ａ中\xFF");  // invalid bytes kept
}

TEST(ClipTokenizer, PreTokenizerCoversItsInput) {
    const std::string text = "<|startoftext|>it's  a 123 !!?? ĉat\n";
    std::string joined;
    std::vector<std::string> pieces;
    for (auto p : tokenizer::pre_tokenize(tokenizer::PreKind::Clip, text)) {
        joined += p;
        pieces.emplace_back(p);
    }
    EXPECT_EQ(joined, text);
    const std::vector<std::string> want = {"<|startoftext|>", "it", "'s", "  ", "a", " ", "1", "2", "3", " ", "!!??", " ", "ĉat", "\n"};
    EXPECT_EQ(pieces, want);
    auto spec = tokenizer::pre_spec_from_name("clip");
    ASSERT_TRUE(spec.ok());
    EXPECT_EQ(spec->kind, tokenizer::PreKind::Clip);
}

TEST(ClipTokenizer, BadFoldersAreClearErrors) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("hearth_clip_bad_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto write = [&](const char* name, const std::string& text) { std::ofstream(dir / name) << text; };
    auto error_of = [&] {
        auto t = tokenizer::Tokenizer::from_hf_dir(dir.string());
        return t.ok() ? std::string("opened") : t.message();
    };
    EXPECT_NE(error_of().find("no tokenizer.json"), std::string::npos) << error_of();
    write("vocab.json", R"({"a": 0, "b": 1, "a</w>": 2, "<|startoftext|>": 3, "<|endoftext|>": 4})");
    write("merges.txt", "#version: 0.2\na b\n");
    write("tokenizer_config.json", R"({"tokenizer_class": "GPT2Tokenizer"})");
    EXPECT_NE(error_of().find("only for CLIPTokenizer"), std::string::npos) << error_of();
    write("tokenizer_config.json", R"({"tokenizer_class": "CLIPTokenizer", "pad_token": "<pad>"})");
    EXPECT_NE(error_of().find("'<pad>' is not in vocab.json"), std::string::npos) << error_of();
    write("tokenizer_config.json", R"({"tokenizer_class": "CLIPTokenizer"})");
    write("merges.txt", "#version: 0.2\nab\n");
    EXPECT_NE(error_of().find("is not \"left right\""), std::string::npos) << error_of();
    write("merges.txt", "#version: 0.2\na b\n");
    write("vocab.json", R"({"a": 0, "b": 7})");
    EXPECT_NE(error_of().find("outside"), std::string::npos) << error_of();
    write("vocab.json", "{\"a\": 0, ");
    EXPECT_NE(error_of().find("vocab.json"), std::string::npos) << error_of();
    write("vocab.json", R"({"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6})");
    write("merges.txt", "#version: 0.2\na b</w>\n");
    auto tok = tokenizer::Tokenizer::from_hf_dir(dir.string());
    ASSERT_TRUE(tok.ok()) << tok.message();
    auto p = diffusion::clip_prompt(**tok, "AB ab a", 6);
    ASSERT_TRUE(p.ok()) << p.message();
    EXPECT_EQ(p->ids, (std::vector<int32_t>{5, 4, 4, 2, 6, 6}));
    EXPECT_FALSE(diffusion::clip_prompt(**tok, "a", 1).ok());
    fs::remove_all(dir);
}

// Mutated folders (flipped bytes, truncations, inserted bytes in any of the three files): opened or
// refused with a message, never a crash; what opens tokenizes arbitrary text.
TEST(ClipTokenizer, MutatedFoldersNeverCrash) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("hearth_clip_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::vector<std::pair<std::string, std::string>> good = {
        {"vocab.json", R"({"a": 0, "b": 1, "!": 2, "a</w>": 3, "b</w>": 4, "!</w>": 5, "ab</w>": 6, "<|startoftext|>": 7, "<|endoftext|>": 8})"},
        {"merges.txt", "#version: 0.2\na b</w>\n! !</w>\n"},
        {"tokenizer_config.json", R"({"tokenizer_class": "CLIPTokenizer", "bos_token": {"content": "<|startoftext|>"}, "pad_token": "!"})"},
    };
    uint32_t seed = 2024;
    auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
    int opened = 0, total = 0;
    for (int round = 0; round < 600; ++round) {
        for (size_t f = 0; f < good.size(); ++f) {
            std::string text = good[f].second;
            if (f == next() % good.size()) {
                switch (next() % 4) {
                    case 0: text[next() % text.size()] = char(next()); break;
                    case 1: text.resize(next() % text.size()); break;
                    case 2: text.insert(next() % text.size(), 1, "{}\",: \n\\0x"[next() % 11]); break;
                    case 3: text.erase(next() % text.size(), 1 + next() % 4); break;
                }
            }
            std::ofstream(dir / good[f].first, std::ios::binary | std::ios::trunc) << text;
        }
        ++total;
        auto tok = tokenizer::Tokenizer::from_hf_dir(dir.string());
        if (!tok.ok()) {
            EXPECT_FALSE(tok.message().empty());
            continue;
        }
        ++opened;
        for (const char* t : {"AB ab!! a", "", "\xFF\xFE<|endoftext|>", "b!a!b"}) {
            auto p = diffusion::clip_prompt(**tok, t, 8);
            if (p.ok()) EXPECT_EQ(p->ids.size(), 8u);
        }
    }
    std::printf("%d mutated CLIP tokenizer folders: %d opened\n", total, opened);
    EXPECT_GT(opened, 0);
    EXPECT_LT(opened, total);
    fs::remove_all(dir);
}

}  // namespace
