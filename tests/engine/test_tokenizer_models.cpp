// Real model vocabularies against Hugging Face: SmolLM2-135M-Instruct (byte-level BPE, pre-tokenizer
// "smollm") and gemma-3-270m (SentencePiece with byte fallback, 262,144 tokens). The expected ids are
// committed (tests/engine/data/{smollm2,gemma3}_cases.json, made by
// tools/fixtures/gen_model_tokenizer_cases.py); the GGUF files are not, so each test reads its file
// from an environment variable and skips without it:
//   HEARTH_SMOLLM2_GGUF=.../SmolLM2-135M-Instruct.Q4_1.gguf
//   HEARTH_GEMMA3_GGUF=.../gemma-3-270m-q4_k_m.gguf
// Ids must match exactly (both sides are deterministic). Gemma's vocabulary load time is printed
// and must stay under a second (a chat app loads it on every model switch).
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/json.h"
#include "tests/engine/fixture_path.h"

using namespace hearth::tokenizer;

namespace {

// The model file named by `env`, or "" (the caller skips).
std::string model_from_env(const char* env) {
    const char* v = std::getenv(env);
    if (!v || !*v || !std::filesystem::exists(v)) return {};
    return v;
}

// Encodes every case (no BOS, special tokens parsed) and compares with the fixture's ids.
void expect_cases(const Tokenizer& tok, const char* fixture) {
    auto doc = hearth::json::parse_file(hearth::test::fixture_path(fixture));
    ASSERT_TRUE(doc.ok()) << doc.message();
    const auto& cases = (*doc)["cases"].as_array();
    ASSERT_GT(cases.size(), 50u);
    size_t same = 0;
    for (const auto& c : cases) {
        const std::string& text = c["text"].as_string();
        std::vector<int32_t> want;
        for (const auto& id : c["ids"].as_array()) want.push_back(int32_t(id.as_int()));
        const std::vector<int32_t> got = tok.encode(text, false, true);
        EXPECT_EQ(got, want) << fixture << " on \"" << text << "\"";
        same += got == want;
    }
    std::printf("%s: %zu of %zu texts tokenize exactly as Hugging Face\n", fixture, same, cases.size());
}

TEST(ModelTokenizers, SmolLM2MatchesHuggingFace) {
    const std::string path = model_from_env("HEARTH_SMOLLM2_GGUF");
    if (path.empty()) GTEST_SKIP() << "set HEARTH_SMOLLM2_GGUF to SmolLM2-135M-Instruct's GGUF file";
    auto tok = Tokenizer::from_path(path);
    ASSERT_TRUE(tok.ok()) << tok.message();
    EXPECT_EQ((*tok)->pre_kind(), PreKind::Starcoder);  // tokenizer.ggml.pre = smollm
    expect_cases(**tok, "smollm2_cases.json");
}

// SmolLM2's tokenizer.json pre-tokenizer, Digits(individual_digits) then ByteLevel, read from a
// Hugging Face folder: the same kind as the GGUF's "smollm".
TEST(ModelTokenizers, HfFolderWithDigitsThenByteLevelIsSmolLM) {
    const auto dir = std::filesystem::temp_directory_path() / ("hearth_smollm_hf_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
        std::FILE* f = std::fopen((dir / "tokenizer.json").string().c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs(R"({"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"1":3,"2":4,"12":5,"\u0120":6},"merges":["a b","1 2"]},)"
                   R"("pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},)"
                   R"({"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]},)"
                   R"("decoder":{"type":"ByteLevel"},"added_tokens":[]})", f);
        std::fclose(f);
    }
    auto tok = Tokenizer::from_hf_dir(dir.string());
    std::filesystem::remove_all(dir);
    ASSERT_TRUE(tok.ok()) << tok.message();
    EXPECT_EQ((*tok)->pre_kind(), PreKind::Starcoder);
    EXPECT_EQ((*tok)->encode("ab12", false, false), (std::vector<int32_t>{2, 3, 4}));  // digits never merge
}

// Hugging Face folders whose tokenizer.json splits with Tekken's (Mistral) or GPT-4o's (Llama 4)
// regex before ByteLevel are recognised as those pre-tokenizers.
TEST(ModelTokenizers, HfFolderWithTekkenOrGpt4oRegex) {
    const std::string tekken =
        R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    const std::string gpt4o =
        R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    for (const auto& [regex, kind] : {std::pair{tekken, PreKind::Tekken}, std::pair{gpt4o, PreKind::Gpt4o}}) {
        using hearth::json::Value;
        Value split = Value::object();
        split.set("type", "Split");
        Value pattern = Value::object();
        pattern.set("Regex", regex);
        split.set("pattern", pattern);
        split.set("behavior", "Isolated");
        Value bl = Value::object();
        bl.set("type", "ByteLevel");
        bl.set("use_regex", false);
        Value pre = Value::object();
        pre.set("type", "Sequence");
        pre.set("pretokenizers", Value(hearth::json::Array{split, bl}));
        Value vocab = Value::object();
        for (const char* t : {"a", "b", "ab", "A", "B"}) vocab.set(t, int64_t(vocab.size()));
        Value model = Value::object();
        model.set("type", "BPE");
        model.set("vocab", vocab);
        model.set("merges", Value(hearth::json::Array{Value("a b")}));
        Value doc = Value::object();
        doc.set("model", model);
        doc.set("pre_tokenizer", pre);
        doc.set("added_tokens", Value::array());
        const auto dir = std::filesystem::temp_directory_path() / ("hearth_hf_pre_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        std::FILE* f = std::fopen((dir / "tokenizer.json").string().c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs(doc.dump().c_str(), f);
        std::fclose(f);
        auto tok = Tokenizer::from_hf_dir(dir.string());
        std::filesystem::remove_all(dir);
        ASSERT_TRUE(tok.ok()) << tok.message();
        EXPECT_EQ((*tok)->pre_kind(), kind) << pre_kind_name(kind);
        EXPECT_EQ((*tok)->encode("abAB", false, false), (std::vector<int32_t>{2, 3, 4}));  // "ab", "AB" -> A B
    }
}

TEST(ModelTokenizers, Gemma3MatchesTransformersAndLoadsFast) {
    const std::string path = model_from_env("HEARTH_GEMMA3_GGUF");
    if (path.empty()) GTEST_SKIP() << "set HEARTH_GEMMA3_GGUF to gemma-3-270m's GGUF file";
    auto file = hearth::gguf::File::open(path);
    ASSERT_TRUE(file.ok()) << file.message();
    const auto t0 = std::chrono::steady_clock::now();
    auto tok = Tokenizer::from_gguf(**file);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(tok.ok()) << tok.message();
    std::printf("gemma-3 vocabulary (%d tokens): Tokenizer::from_gguf took %.1f ms\n", (*tok)->n_vocab(), ms);
    EXPECT_EQ((*tok)->n_vocab(), 262144);
    EXPECT_EQ((*tok)->type(), VocabType::Spm);
    EXPECT_LT(ms, 1000.0);
    expect_cases(**tok, "gemma3_cases.json");
    // Whitespace runs longer than the longest whitespace token (31) take the longest tokens first,
    // as SentencePiece and llama.cpp do with these user-defined tokens (transformers' conversion to
    // BPE merges differs there: see tools/fixtures/gen_model_tokenizer_cases.py).
    const int32_t spaces31 = (*tok)->find_token(std::string(31, ' ')), spaces9 = (*tok)->find_token(std::string(9, ' '));
    ASSERT_GE(spaces31, 0);
    EXPECT_EQ((*tok)->encode(std::string(40, ' '), false, false), (std::vector<int32_t>{spaces31, spaces9}));
}

}  // namespace
