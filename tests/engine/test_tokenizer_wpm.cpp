// WordPiece (BERT, tokenizer.ggml.model "bert"): (a) a hand-made vocabulary in llama.cpp's phantom
// spelling; (b) sentence-transformers/all-MiniLM-L6-v2 against Hugging Face tokenizers, from its
// folder and from a GGUF written from it: tests/engine/data/minilm_cases.json
// (tools/fixtures/gen_wpm_cases.py); the folder is not committed, set
//   HEARTH_MINILM_DIR=.../all-MiniLM-L6-v2   (tokenizer.json, tokenizer_config.json)
// (c) hostile vocabularies and texts: errors or [UNK], never a crash.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
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

const std::string P = "\xe2\x96\x81";  // U+2581, the phantom space

// [PAD] [UNK] [CLS] [SEP] [MASK], then words ("\u2581w") and continuations (bare).
VocabSpec tiny_bert() {
    VocabSpec s;
    s.model = "bert";
    s.tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                P + "un", "aff", "able", P + "a", P + "cafe", P + "hello", P + ",", P + "!", P + ".",
                P + "\xe4\xb8\xad", P + "\xe6\x96\x87", P + "x", "x", P + "don", P + "'", P + "t", "s", P + "the"};
    s.types.assign(s.tokens.size(), int32_t(TokenType::Normal));
    for (int i = 0; i < 5; ++i) s.types[i] = int32_t(TokenType::Control);
    return s;
}

std::unique_ptr<Tokenizer> make(VocabSpec s) {
    auto t = Tokenizer::from_spec(std::move(s));
    EXPECT_TRUE(t.ok()) << t.message();
    return t.ok() ? std::move(*t) : nullptr;
}

std::unique_ptr<Tokenizer> via_gguf(const Tokenizer& tok, std::vector<uint8_t>& image) {
    hearth::gguf::Writer w;
    w.set_string("general.architecture", "bert");
    EXPECT_TRUE(tok.write_gguf_metadata(w).ok());
    image = w.to_bytes();
    auto f = hearth::gguf::File::from_memory(image.data(), image.size(), "bert.gguf");
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return nullptr;
    EXPECT_EQ(*(*f)->get_string("tokenizer.ggml.model"), "bert");
    EXPECT_NE((*f)->find("tokenizer.ggml.cls_token_id"), nullptr);
    EXPECT_NE((*f)->find("tokenizer.ggml.seperator_token_id"), nullptr);
    auto t = Tokenizer::from_gguf(**f);
    EXPECT_TRUE(t.ok()) << t.message();
    return t.ok() ? std::move(*t) : nullptr;
}

using Ids = std::vector<int32_t>;

}  // namespace

TEST(WordPiece, LongestMatchFromTheLeft) {
    auto t = make(tiny_bert());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->type(), VocabType::Wpm);
    EXPECT_EQ(t->encode("unaffable", false, false), (Ids{5, 6, 7}));
    EXPECT_EQ(t->encode("the xxx", false, false), (Ids{22, 16, 17, 17}));
    // No piece at some position: the whole word is one [UNK], the rest goes on.
    EXPECT_EQ(t->encode("unaffablez the", false, false), (Ids{1, 22}));
    EXPECT_EQ(t->encode("zzz", false, false), (Ids{1}));
    // A continuation is never a word start, a word start never a continuation.
    EXPECT_EQ(t->encode("s", false, false), (Ids{1}));
    EXPECT_EQ(t->encode("theun", false, false), (Ids{1}));
}

TEST(WordPiece, NormalizesAndSplitsLikeBert) {
    auto t = make(tiny_bert());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->encode("Caf\xc3\xa9", false, false), (Ids{9}));                  // accent stripped, lower case
    EXPECT_EQ(t->encode("CAFE\xcc\x81", false, false), (Ids{9}));                 // combining acute dropped
    EXPECT_EQ(t->encode("Hello, the!", false, false), (Ids{10, 11, 22, 12}));     // punctuation isolated
    EXPECT_EQ(t->encode("don't", false, false), (Ids{18, 19, 20}));
    EXPECT_EQ(t->encode("\xe4\xb8\xad\xe6\x96\x87", false, false), (Ids{14, 15}));  // 中文: one word per ideograph
    EXPECT_EQ(t->encode("x\xe4\xb8\xadx", false, false), (Ids{16, 14, 16}));
    EXPECT_EQ(t->encode("\tthe\r\nthe\xe3\x80\x80the", false, false), (Ids{22, 22, 22}));  // tab, CRLF, ideographic space
    EXPECT_EQ(t->encode("th\xe2\x80\x8b" "e", false, false), (Ids{22}));          // zero-width space (Cf) dropped
    EXPECT_EQ(t->encode(std::string("the\0the", 7), false, false), (Ids{1}));     // NUL dropped: "thethe"
    EXPECT_EQ(t->encode("THE\x07 \xff the", false, false), (Ids{22, 22}));        // control and invalid byte dropped
    EXPECT_TRUE(t->encode("", false, false).empty());
    EXPECT_TRUE(t->encode(" \n\t ", false, false).empty());
}

TEST(WordPiece, WordsOverAHundredCharactersAreUnknown) {
    auto t = make(tiny_bert());
    ASSERT_TRUE(t);
    Ids xs(100, 17);  // "\u2581x", then 99 continuations "x"
    xs[0] = 16;
    EXPECT_EQ(t->encode(std::string(100, 'x'), false, false), xs);
    EXPECT_EQ(t->encode(std::string(101, 'x'), false, false), (Ids{1}));
    // Characters, not bytes: 100 ideographs are 300 bytes but each its own word anyway; 100 é are 100 characters.
    std::string e100;
    for (int i = 0; i < 101; ++i) e100 += "\xc3\xa9";
    EXPECT_EQ(t->encode(e100, false, false), (Ids{1}));
}

TEST(WordPiece, SpecialTokensAndDecode) {
    auto t = make(tiny_bert());
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->add_bos());
    EXPECT_TRUE(t->add_eos());
    EXPECT_EQ(t->bos_id(), 2);
    EXPECT_EQ(t->eos_id(), 3);
    EXPECT_EQ(t->unk_id(), 1);
    EXPECT_EQ(t->pad_id(), 0);
    EXPECT_EQ(t->encode("hello", true, false), (Ids{2, 10, 3}));
    EXPECT_EQ(t->encode("[CLS] hello [MASK]", false, true), (Ids{2, 10, 4}));
    EXPECT_EQ(t->encode("[CLS]", false, false), (Ids{1, 1, 1}));  // not parsed: "[", "cls", "]" have no pieces
    EXPECT_EQ(t->token_to_piece(10), " hello");
    EXPECT_EQ(t->token_to_piece(6), "aff");
    EXPECT_EQ(t->token_to_piece(2), "");
    EXPECT_EQ(t->token_to_piece(2, true), "[CLS]");
    EXPECT_EQ(t->decode(t->encode("Hello, unaffable the x!", true, false)), "hello, unaffable the x!");
    EXPECT_EQ(t->decode({2, 10, 3}, true), "[CLS] hello [SEP]");
    EXPECT_EQ(t->decode(t->encode("don't", false, false)), "don't");
}

TEST(WordPiece, GgufRoundTrip) {
    auto t = make(tiny_bert());
    ASSERT_TRUE(t);
    std::vector<uint8_t> image;
    auto back = via_gguf(*t, image);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->type(), VocabType::Wpm);
    EXPECT_EQ(back->bos_id(), 2);
    EXPECT_EQ(back->eos_id(), 3);
    for (const char* text : {"Hello, unaffable the x!", "[CLS] don't [SEP]", "Caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87"})
        EXPECT_EQ(back->encode(text, true, true), t->encode(text, true, true)) << text;
}

// An older BERT GGUF: bos/eos keys only, or no ids at all (found by text).
TEST(WordPiece, GgufWithoutClsAndSepKeys) {
    VocabSpec s = tiny_bert();
    hearth::gguf::Writer w;
    w.set_string("tokenizer.ggml.model", "bert");
    w.set_string_array("tokenizer.ggml.tokens", s.tokens);
    w.set_i32_array("tokenizer.ggml.token_type", s.types);
    const auto image = w.to_bytes();
    auto f = hearth::gguf::File::from_memory(image.data(), image.size(), "old-bert.gguf");
    ASSERT_TRUE(f.ok()) << f.message();
    auto t = Tokenizer::from_gguf(**f);
    ASSERT_TRUE(t.ok()) << t.message();
    EXPECT_EQ((*t)->encode("hello", true, false), (Ids{2, 10, 3}));
}

TEST(WordPiece, HostileVocabulariesAreErrors) {
    {
        VocabSpec s = tiny_bert();
        s.tokens[1] = "[NOPE]";
        auto t = Tokenizer::from_spec(s);
        ASSERT_FALSE(t.ok());
        EXPECT_NE(t.message().find("[UNK]"), std::string::npos) << t.message();
    }
    {
        VocabSpec s = tiny_bert();
        s.tokens[2] = "[NOCLS]";
        auto t = Tokenizer::from_spec(s);
        ASSERT_FALSE(t.ok());
        EXPECT_NE(t.message().find("[CLS]"), std::string::npos) << t.message();
        s.add_bos = false;  // said outright: fine
        EXPECT_TRUE(Tokenizer::from_spec(s).ok());
    }
    {
        VocabSpec s = tiny_bert();
        s.tokens[6] = "";   // empty tokens get placeholder texts
        s.tokens[7] = P;    // a bare phantom space
        s.unk = 1000;       // out of range: dropped with a warning, then found by text
        auto t = Tokenizer::from_spec(s);
        ASSERT_TRUE(t.ok()) << t.message();
        EXPECT_EQ((*t)->unk_id(), 1);
        EXPECT_EQ((*t)->encode("unaffable", false, false), (Ids{1}));
    }
    {
        VocabSpec s;
        s.model = "bert";
        s.tokens = {"[UNK]"};
        s.add_bos = s.add_eos = false;
        auto t = Tokenizer::from_spec(s);
        ASSERT_TRUE(t.ok()) << t.message();
        EXPECT_EQ((*t)->encode("anything at all", false, true), (Ids{0, 0, 0}));
    }
}

TEST(WordPiece, HugeTextsStayCheap) {
    auto t = make(tiny_bert());
    ASSERT_TRUE(t);
    const std::string one_word(4 << 20, 'x');  // one 4 MiB word: a single [UNK]
    const Ids one = t->encode(one_word, false, false);
    EXPECT_TRUE(one == Ids{1}) << one.size() << " ids";
    std::string words;
    for (int i = 0; i < 100000; ++i) words += "unaffable, ";
    EXPECT_EQ(t->encode(words, false, false).size(), 400000u);
    std::string junk;
    for (uint32_t i = 0; i < 300000; ++i) junk += char(i * 7919u % 256u);
    (void)t->encode(junk, true, true);
    (void)t->decode(t->encode(junk, true, true), true);
}

TEST(WordPiece, HfFolderRefusesWhatItCannotMatch) {
    const auto dir = std::filesystem::temp_directory_path() / ("hearth_wpm_hf_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto with = [&](const std::string& normalizer, const std::string& pre) {
        std::FILE* f = std::fopen((dir / "tokenizer.json").string().c_str(), "w");
        if (!f) return std::string("cannot write");
        const std::string json =
            R"({"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,)"
            R"("vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"hello":4,"##s":5,",":6}},)"
            R"("added_tokens":[{"id":0,"content":"[PAD]","special":true},{"id":1,"content":"[UNK]","special":true},)"
            R"({"id":2,"content":"[CLS]","special":true},{"id":3,"content":"[SEP]","special":true}],)"
            R"("normalizer":)" + normalizer + R"(,"pre_tokenizer":)" + pre +
            R"(,"post_processor":{"type":"BertProcessing","sep":["[SEP]",3],"cls":["[CLS]",2]},)"
            R"("decoder":{"type":"WordPiece","prefix":"##","cleanup":true}})";
        std::fputs(json.c_str(), f);
        std::fclose(f);
        auto t = Tokenizer::from_hf_dir(dir.string());
        if (!t.ok()) return t.message();
        EXPECT_EQ((*t)->encode("Hellos, hello", true, false), (Ids{2, 4, 5, 6, 4, 3}));
        EXPECT_EQ((*t)->token_text(4), P + "hello");
        EXPECT_EQ((*t)->token_text(5), "s");
        EXPECT_EQ((*t)->token_text(2), "[CLS]");
        return std::string();
    };
    const std::string bert_pre = R"({"type":"BertPreTokenizer"})";
    EXPECT_EQ(with(R"({"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true})", bert_pre), "");
    EXPECT_NE(with(R"({"type":"BertNormalizer","lowercase":false})", bert_pre).find("cased"), std::string::npos);
    EXPECT_NE(with(R"({"type":"BertNormalizer","lowercase":true,"strip_accents":false})", bert_pre).find("strip_accents"), std::string::npos);
    EXPECT_NE(with(R"({"type":"NFC"})", bert_pre).find("NFC"), std::string::npos);
    EXPECT_NE(with(R"({"type":"BertNormalizer"})", R"({"type":"Whitespace"})").find("Whitespace"), std::string::npos);
    std::filesystem::remove_all(dir);
}

// all-MiniLM-L6-v2 against Hugging Face, from the folder and from a GGUF written from it.
TEST(WordPiece, MiniLMMatchesHuggingFace) {
    const char* env = std::getenv("HEARTH_MINILM_DIR");
    if (!env || !*env || !std::filesystem::exists(env)) GTEST_SKIP() << "set HEARTH_MINILM_DIR to all-MiniLM-L6-v2's folder (tokenizer.json)";
    auto folder = Tokenizer::from_hf_dir(env);
    ASSERT_TRUE(folder.ok()) << folder.message();
    const Tokenizer& hf = **folder;
    ASSERT_EQ(hf.type(), VocabType::Wpm);
    ASSERT_EQ(hf.n_vocab(), 30522);
    // The spelling llama.cpp's converter writes.
    EXPECT_EQ(hf.token_text(101), "[CLS]");
    EXPECT_EQ(hf.token_text(102), "[SEP]");
    EXPECT_EQ(hf.token_text(100), "[UNK]");
    EXPECT_EQ(hf.token_text(1996), P + "the");
    EXPECT_EQ(hf.token_text(2015), "s");  // "##s"
    EXPECT_EQ(hf.token_type(101), TokenType::Control);
    EXPECT_EQ(hf.bos_id(), 101);
    EXPECT_EQ(hf.eos_id(), 102);
    EXPECT_EQ(hf.unk_id(), 100);
    EXPECT_EQ(hf.pad_id(), 0);
    EXPECT_EQ(hf.encode("Hello world", true, false), (Ids{101, 7592, 2088, 102}));

    std::vector<uint8_t> image;
    auto gguf = via_gguf(hf, image);
    ASSERT_TRUE(gguf);

    auto doc = hearth::json::parse_file(hearth::test::fixture_path("minilm_cases.json"));
    ASSERT_TRUE(doc.ok()) << doc.message();
    const auto& cases = (*doc)["cases"].as_array();
    ASSERT_GE(cases.size(), 100u);
    size_t same_hf = 0, same_gguf = 0;
    for (const auto& c : cases) {
        const std::string& text = c["text"].as_string();
        Ids want;
        for (const auto& id : c["ids"].as_array()) want.push_back(int32_t(id.as_int()));
        const Ids a = hf.encode(text, false, true), b = gguf->encode(text, false, true);
        EXPECT_EQ(a, want) << "folder on \"" << text << "\"";
        EXPECT_EQ(b, want) << "GGUF on \"" << text << "\"";
        same_hf += a == want;
        same_gguf += b == want;
    }
    std::printf("minilm_cases.json: %zu (folder) and %zu (GGUF) of %zu texts tokenize exactly as Hugging Face\n", same_hf, same_gguf,
                cases.size());
}
