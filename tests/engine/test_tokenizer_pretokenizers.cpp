// Every pre-tokenizer family against Hugging Face `tokenizers`: tests/engine/data/pretokenizer_cases.json
// (made by tools/fixtures/gen_pretokenizer_fixtures.py) holds, per family, the regexes and for each
// text the pieces of a Split(isolated) sequence and the ids of byte-level BPE over GPT-2's
// vocabulary. Pieces must match exactly (they need only the JSON); ids must match exactly too
// (they need ../shared/testdata/vocab/ggml-vocab-gpt-2.gguf and skip without it). Exact, because
// both sides are deterministic integer algorithms: any difference is a bug.
//
// Also: every name llama.cpp accepts maps to a kind, and an unknown name is an error naming it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/json.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/testdata.h"

using namespace hearth::tokenizer;

namespace {

const hearth::json::Value& cases() {
    static const hearth::json::Value doc = [] {
        // HEARTH_PRETOKENIZER_CASES: a larger file from the same script, for a one-off deeper check.
        const char* env = std::getenv("HEARTH_PRETOKENIZER_CASES");
        auto d = hearth::json::parse_file(env && *env ? std::string(env) : hearth::test::fixture_path("pretokenizer_cases.json"));
        if (!d.ok()) ADD_FAILURE() << d.message();
        return d.ok() ? std::move(*d) : hearth::json::Value();
    }();
    return doc;
}

std::string show(const std::vector<std::string>& v) {
    std::string s = "[";
    for (const auto& p : v) s += "\"" + p + "\" ";
    return s + "]";
}

TEST(PreTokenizerFixtures, PiecesMatchHuggingFace) {
    const auto& doc = cases();
    const auto& texts = doc["texts"].as_array();
    ASSERT_GT(texts.size(), 30u);
    size_t failures = 0;
    const auto* families = &doc["families"].as_object();
    ASSERT_GE(families->size(), 18u);
    size_t checked = 0;
    for (const auto& [name, fam] : *families) {
        auto kind = pre_kind_from_name(name);
        ASSERT_TRUE(kind.ok()) << kind.message();
        const auto& cs = fam["cases"].as_array();
        ASSERT_EQ(cs.size(), texts.size()) << name;
        for (size_t i = 0; i < texts.size(); ++i) {
            const std::string& text = texts[i].as_string();
            std::vector<std::string> want, got;
            for (const auto& p : cs[i]["pieces"].as_array()) want.push_back(p.as_string());
            for (auto p : pre_tokenize(*kind, text)) got.emplace_back(p);
            if (got != want && ++failures <= 50)
                ADD_FAILURE() << name << " on \"" << text << "\"\n got  " << show(got) << "\n want " << show(want);
            ++checked;
        }
    }
    EXPECT_EQ(failures, 0u);
    std::printf("pre-tokenizer pieces: %zu families x %zu texts = %zu cases, %zu differ\n", families->size(), texts.size(), checked, failures);
}

TEST(PreTokenizerFixtures, IdsMatchHuggingFace) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::string vocab = dir + "/vocab/ggml-vocab-gpt-2.gguf";
    if (!std::filesystem::exists(vocab)) GTEST_SKIP() << vocab << " not found";
    auto base = Tokenizer::from_path(vocab);
    ASSERT_TRUE(base.ok()) << base.message();
    const auto& doc = cases();
    const auto& texts = doc["texts"].as_array();
    size_t checked = 0;
    for (const auto& [name, fam] : doc["families"].as_object()) {
        VocabSpec spec = (*base)->spec();
        spec.pre = name;
        // The fixture's tokenizer is plain: no BOS, every word through the merges, no NFC.
        spec.add_bos = false;
        spec.add_eos = false;
        spec.ignore_merges = false;
        spec.nfc = false;
        auto tok = Tokenizer::from_spec(std::move(spec));
        ASSERT_TRUE(tok.ok()) << name << ": " << tok.message();
        const auto& cs = fam["cases"].as_array();
        for (size_t i = 0; i < texts.size(); ++i) {
            std::vector<int32_t> want;
            for (const auto& id : cs[i]["ids"].as_array()) want.push_back(int32_t(id.as_int()));
            EXPECT_EQ((*tok)->encode(texts[i].as_string(), false, false), want) << name << " on \"" << texts[i].as_string() << "\"";
            ++checked;
        }
    }
    std::printf("pre-tokenizer ids: %zu cases\n", checked);
}

// Any bytes, valid UTF-8 or not, split into non-empty pieces that cover the input exactly, for
// every kind (random byte strings biased towards the characters the matchers branch on).
TEST(PreTokenizerFixtures, EveryKindCoversArbitraryBytes) {
    std::set<PreKind> kinds;
    for (const PreName& n : pre_names()) kinds.insert(n.spec.kind);
    const char* const atoms[] = {" ", "  ", "\n", "\r", "\t", "a", "Z", "'", "s", "1", "123", ".", "/", "\xE2\x96\x81",
                                 "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\xA6\x99", "\xCC\x81", "\xFF", "\xE4", "\x80", "\xF0\x9F"};
    uint32_t seed = 12345;
    auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
    for (PreKind k : kinds) {
        for (int i = 0; i < 300; ++i) {
            std::string s;
            const int n = int(next() % 24);
            for (int j = 0; j < n; ++j) s += atoms[next() % (sizeof(atoms) / sizeof(atoms[0]))];
            std::string joined;
            for (std::string_view p : pre_tokenize(k, s)) {
                ASSERT_FALSE(p.empty()) << pre_kind_name(k);
                joined += p;
            }
            ASSERT_EQ(joined, s) << pre_kind_name(k);
        }
    }
}

// Every kind is exercised by some fixture family, and every accepted name reaches one of them.
TEST(PreTokenizerNames, EveryNameHasATestedKind) {
    std::set<PreKind> tested;
    for (const auto& [name, fam] : cases()["families"].as_object()) tested.insert(*pre_kind_from_name(name));
    std::map<std::string, int> by_kind;
    for (const PreName& n : pre_names()) {
        EXPECT_TRUE(tested.count(n.spec.kind)) << n.name << " -> " << pre_kind_name(n.spec.kind) << " has no fixture";
        auto k = pre_kind_from_name(n.name);
        ASSERT_TRUE(k.ok()) << n.name;
        EXPECT_EQ(*k, n.spec.kind);
        ++by_kind[pre_kind_name(n.spec.kind)];
    }
    EXPECT_GE(pre_names().size(), 70u);
    for (const auto& [k, count] : by_kind) std::printf("  %-14s %d names\n", k.c_str(), count);
}

TEST(PreTokenizerNames, LlamaCppSpellings) {
    EXPECT_EQ(*pre_kind_from_name("smollm"), PreKind::Starcoder);
    EXPECT_EQ(*pre_kind_from_name("jina-v2-es"), PreKind::Gpt2);
    EXPECT_EQ(*pre_kind_from_name("poro-chat"), PreKind::Bloom);
    EXPECT_EQ(*pre_kind_from_name("gpt3-finnish"), PreKind::Bloom);
    EXPECT_EQ(*pre_kind_from_name("minerva-7b"), PreKind::Starcoder);
    EXPECT_EQ(*pre_kind_from_name("hunyuan"), PreKind::Qwen2);
    EXPECT_EQ(*pre_kind_from_name("hunyuan-dense"), PreKind::DeepseekV3);
    EXPECT_EQ(*pre_kind_from_name("smaug-bpe"), PreKind::Llama3);
    EXPECT_EQ(*pre_kind_from_name("default"), PreKind::Default);
    EXPECT_EQ(*pre_kind_from_name(""), PreKind::Default);  // llama.cpp: missing name = default set
    // llama.cpp's per-name flags: Llama 3 sets BOS and ignore_merges, DBRX (same regex) does not.
    EXPECT_TRUE(pre_spec_from_name("llama-bpe")->ignore_merges);
    EXPECT_FALSE(pre_spec_from_name("dbrx")->ignore_merges);
    EXPECT_TRUE(pre_spec_from_name("tekken")->add_bos);
    EXPECT_FALSE(pre_spec_from_name("smollm")->clean_spaces);
}

TEST(PreTokenizerNames, UnknownNameIsAnErrorNamingIt) {
    for (const char* bad : {"no-such-pre", "GPT-2", "llama3 ", "jina-v2-en"}) {
        auto k = pre_kind_from_name(bad);
        ASSERT_FALSE(k.ok()) << bad;
        EXPECT_NE(k.message().find(std::string("'") + bad + "'"), std::string::npos) << k.message();
    }
    // Known to llama.cpp but not a regex split over byte-level BPE: a different message, still named.
    auto g = pre_kind_from_name("gemma4");
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.message().find("'gemma4'"), std::string::npos);
    EXPECT_NE(g.message().find("not supported"), std::string::npos);

    // Through a whole vocabulary: the loader's error carries the name.
    VocabSpec s;
    s.model = "gpt2";
    s.pre = "made-up-pre";
    s.tokens = {"a", "b", "ab"};
    s.merges = {"a b"};
    auto t = Tokenizer::from_spec(s);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.message().find("'made-up-pre'"), std::string::npos) << t.message();
}

}  // namespace
