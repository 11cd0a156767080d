// Tokenizer pieces in isolation: Unicode tables, pre-tokenizer splits, BPE/SPM on hand-made
// vocabularies, special tokens, BOS/EOS, end-of-generation ids, streaming UTF-8 detokenization,
// error messages for bad vocabularies, and the `hearth-cli tokenize` command.
//
// The expected pre-tokenizer splits follow the original regexes; the matchers were also compared
// offline with Python's `regex` module running those regexes on 9,000 random strings per kind.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/unicode_nfc.h"
#include "engine/tokenizer/utf8_stream.h"
#include "tests/engine/testdata.h"

using namespace hearth::tokenizer;

namespace {

std::vector<std::string> split(PreKind k, std::string_view text) {
    std::vector<std::string> out;
    for (auto p : pre_tokenize(k, text)) out.emplace_back(p);
    return out;
}

using Pieces = std::vector<std::string>;

TEST(Unicode, Categories) {
    EXPECT_EQ(category('A'), Category::Lu);
    EXPECT_EQ(category('z'), Category::Ll);
    EXPECT_EQ(category('5'), Category::Nd);
    EXPECT_EQ(category(' '), Category::Zs);
    EXPECT_EQ(category(0x4E16), Category::Lo);   // 世
    EXPECT_EQ(category(0x1F999), Category::So);  // 🦙
    EXPECT_EQ(category(0x0301), Category::Mn);   // combining acute
    EXPECT_EQ(category(0x2163), Category::Nl);   // Ⅳ
    EXPECT_EQ(category(0x3002), Category::Po);   // 。
    EXPECT_EQ(category(0x10FFFF), Category::Cn);
    EXPECT_TRUE(is_whitespace(0x3000));
    EXPECT_TRUE(is_whitespace(0x85));
    EXPECT_FALSE(is_whitespace(0x200B));  // zero width space is not White_Space
    EXPECT_STREQ(unicode_version(), "14.0.0");
}

TEST(Unicode, ByteLevelMapping) {
    EXPECT_EQ(byte_to_cp(' '), 0x120u);   // Ġ
    EXPECT_EQ(byte_to_cp('\n'), 0x10Au);  // Ċ
    EXPECT_EQ(byte_to_cp('A'), uint32_t('A'));
    for (int b = 0; b < 256; ++b) EXPECT_EQ(byte_from_cp(byte_to_cp(uint8_t(b))), b);
    const std::string raw = "Hi \xF0\x9F\xA6\x99\n\xFF";
    EXPECT_EQ(byte_level_decode(byte_level_encode(raw)), raw);
}

TEST(Unicode, DecodeKeepsEveryByte) {
    const std::string s = "a\xE4\xB8\x96\xFF\xE4\xB8";  // a, 世, invalid byte, truncated sequence
    const auto cps = decode_utf8(s);
    ASSERT_EQ(cps.size(), 5u);
    EXPECT_EQ(cps[1].cp, 0x4E16u);
    EXPECT_EQ(cps[2].cp, 0xFFFDu);
    EXPECT_EQ(cps[3].cp, 0xFFFDu);
    EXPECT_EQ(cps[4].offset, 6u);
    EXPECT_FALSE(is_valid_utf8(s));
    EXPECT_TRUE(is_valid_utf8("\xE4\xB8\x96"));
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // surrogate
    EXPECT_FALSE(is_valid_utf8("\xC0\x80"));      // overlong
}

TEST(Unicode, Nfc) {
    // (The implementation was also compared offline with Python's unicodedata.normalize on 48k strings.)
    EXPECT_EQ(nfc("e\xCC\x81"), "\xC3\xA9");                    // e + U+0301 -> é
    EXPECT_EQ(nfc("\xE2\x84\xAB"), "\xC3\x85");                 // Å (angstrom sign) -> Å
    EXPECT_EQ(nfc("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"), "\xED\x95\x9C");  // jamo ᄒ ᅡ ᆫ -> 한
    EXPECT_EQ(nfc("a\xCC\xA3\xCC\x87"), nfc("a\xCC\x87\xCC\xA3"));     // marks reordered by class
    EXPECT_EQ(nfc("a\xCC\x87\xCC\xA3"), "\xE1\xBA\xA1\xCC\x87");      // ạ + U+0307
    EXPECT_EQ(nfc("x\xFF" "e\xCC\x81"), "x\xFF\xC3\xA9");         // invalid bytes kept
    EXPECT_TRUE(nfc_quick_check("plain ascii, \xE4\xB8\x96\xE7\x95\x8C"));
    EXPECT_FALSE(nfc_quick_check("e\xCC\x81"));
}

TEST(PreTokenizer, Gpt2) {
    EXPECT_EQ(split(PreKind::Gpt2, "Hello world"), (Pieces{"Hello", " world"}));
    EXPECT_EQ(split(PreKind::Gpt2, "   Hello"), (Pieces{"  ", " Hello"}));
    EXPECT_EQ(split(PreKind::Gpt2, "I'm 3333 ok!!  "), (Pieces{"I", "'m", " 3333", " ok", "!!", "  "}));
    EXPECT_EQ(split(PreKind::Gpt2, "I'M"), (Pieces{"I", "'", "M"}));  // case-sensitive contractions
    EXPECT_EQ(split(PreKind::Gpt2, "\n =\t\tx"), (Pieces{"\n", " =", "\t", "\t", "x"}));
}

TEST(PreTokenizer, Llama3AndQwen2) {
    EXPECT_EQ(split(PreKind::Llama3, "I'M 1314151 (ok)\n\n  x"),
              (Pieces{"I", "'M", " ", "131", "415", "1", " (", "ok", ")\n\n", " ", " x"}));
    EXPECT_EQ(split(PreKind::Qwen2, "I'M 1314151"), (Pieces{"I", "'M", " ", "1", "3", "1", "4", "1", "5", "1"}));
    EXPECT_EQ(split(PreKind::Llama3, "\tHello   \n  there"), (Pieces{"\tHello", "   \n", " ", " there"}));
    EXPECT_EQ(split(PreKind::Llama3, "'hello ſ'ſ"), (Pieces{"'hello", " \xC5\xBF", "'\xC5\xBF"}));
    EXPECT_EQ(split(PreKind::Qwen2, "我想在apple工作"), (Pieces{"我想在apple工作"}));
}

TEST(PreTokenizer, DeepseekFamilies) {
    EXPECT_EQ(split(PreKind::DeepseekV3, "Hello123 世界。.cpp\n"),
              (Pieces{"Hello", "123", " ", "世界", "。.", "cpp", "\n"}));
    EXPECT_EQ(split(PreKind::DeepseekCoder, "a1 b,c\r\n"), (Pieces{"a", "1", " b", ",", "c", "\r", "\n"}));
    EXPECT_EQ(split(PreKind::DeepseekLlm, "Hello  world 42  "), (Pieces{"Hello", " ", " world", " ", "42", "  "}));
}

TEST(PreTokenizer, PiecesCoverInvalidUtf8) {
    const std::string s = "ab\xFF\xFE cd\xE4";
    for (PreKind k : {PreKind::Gpt2, PreKind::Llama3, PreKind::Qwen2, PreKind::DeepseekLlm, PreKind::DeepseekCoder, PreKind::DeepseekV3}) {
        std::string joined;
        for (auto& p : split(k, s)) {
            EXPECT_FALSE(p.empty());
            joined += p;
        }
        EXPECT_EQ(joined, s) << pre_kind_name(k);
    }
}

TEST(PreTokenizer, Names) {
    EXPECT_EQ(*pre_kind_from_name("llama-bpe"), PreKind::Llama3);
    EXPECT_EQ(*pre_kind_from_name("deepseek-r1-qwen"), PreKind::Qwen2);
    EXPECT_EQ(*pre_kind_from_name(""), PreKind::Default);
    auto bad = pre_kind_from_name("no-such-pre");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("no-such-pre"), std::string::npos);
}

// A tiny byte-level vocabulary: all 256 byte characters plus a few merged tokens.
VocabSpec tiny_bpe() {
    VocabSpec s;
    s.model = "gpt2";
    s.pre = "gpt-2";
    for (int b = 0; b < 256; ++b) {
        std::string t;
        append_utf8(t, byte_to_cp(uint8_t(b)));
        s.tokens.push_back(t);
    }
    for (const char* t : {"ab", "abc", "\xC4\xA0" "a", "\xC4\xA0" "ab", "<|end|>", "<tool>"}) s.tokens.push_back(t);
    s.merges = {"\xC4\xA0 a", "a b", "\xC4\xA0" "a b", "ab c"};
    s.types.assign(s.tokens.size(), int32_t(TokenType::Normal));
    s.types[260] = int32_t(TokenType::Control);
    s.types[261] = int32_t(TokenType::UserDefined);
    s.eos = 260;
    return s;
}

TEST(Bpe, MergesByRank) {
    auto t = Tokenizer::from_spec(tiny_bpe());
    ASSERT_TRUE(t.ok()) << t.message();
    const Tokenizer& tok = **t;
    EXPECT_EQ(tok.encode("abc", false, false), (std::vector<int32_t>{257}));
    EXPECT_EQ(tok.encode("abc ab", false, false), (std::vector<int32_t>{257, 259}));
    EXPECT_EQ(tok.encode("cab", false, false), (std::vector<int32_t>{'c', 256}));
    EXPECT_EQ(tok.decode({257, 259, 10}), "abc ab\n");
    EXPECT_TRUE(tok.is_eog(260));
    EXPECT_EQ(tok.eos_id(), 260);
}

TEST(Bpe, SpecialTokensInText) {
    auto t = Tokenizer::from_spec(tiny_bpe());
    ASSERT_TRUE(t.ok()) << t.message();
    const Tokenizer& tok = **t;
    // Control tokens only with parse_special; user-defined ones always.
    EXPECT_EQ(tok.encode("ab<|end|>", false, true), (std::vector<int32_t>{256, 260}));
    EXPECT_NE(tok.encode("ab<|end|>", false, false).size(), 2u);
    EXPECT_EQ(tok.encode("<tool>ab", false, false), (std::vector<int32_t>{261, 256}));
    EXPECT_EQ(tok.token_to_piece(260), "");
    EXPECT_EQ(tok.token_to_piece(260, true), "<|end|>");
    EXPECT_EQ(tok.token_to_piece(261), "<tool>");
}

// A tiny SentencePiece vocabulary with byte fallback.
VocabSpec tiny_spm() {
    VocabSpec s;
    s.model = "llama";
    s.tokens = {"<unk>", "<s>", "</s>"};
    s.types = {int32_t(TokenType::Unknown), int32_t(TokenType::Control), int32_t(TokenType::Control)};
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        s.tokens.push_back(buf);
        s.types.push_back(int32_t(TokenType::Byte));
    }
    const std::pair<const char*, float> words[] = {
        {"\xE2\x96\x81", -1}, {"a", -2}, {"b", -2}, {"\xE2\x96\x81" "a", -1.5f}, {"ab", -1}, {"\xE2\x96\x81" "ab", -0.5f}};
    for (auto [w, sc] : words) {
        s.tokens.push_back(w);
        s.types.push_back(int32_t(TokenType::Normal));
    }
    s.scores.assign(s.tokens.size(), 0.0f);
    for (size_t i = 0; i < 6; ++i) s.scores[259 + i] = words[i].second;
    return s;
}

TEST(Spm, ScoresAndByteFallback) {
    auto t = Tokenizer::from_spec(tiny_spm());
    ASSERT_TRUE(t.ok()) << t.message();
    const Tokenizer& tok = **t;
    EXPECT_TRUE(tok.add_bos());
    EXPECT_TRUE(tok.add_space_prefix());
    EXPECT_EQ(tok.encode("ab", true, false), (std::vector<int32_t>{1, 264}));  // <s> ▁ab
    // é has no token: its two UTF-8 bytes become <0xC3> <0xA9>
    EXPECT_EQ(tok.encode("ab\xC3\xA9", false, false), (std::vector<int32_t>{264, 3 + 0xC3, 3 + 0xA9}));
    EXPECT_EQ(tok.decode(tok.encode("ab ab\xC3\xA9", true, false)), "ab ab\xC3\xA9");
    EXPECT_TRUE(tok.is_eog(2));
}

TEST(Utf8Stream, HoldsBackIncompleteSequences) {
    Utf8Stream s;
    const std::string emoji = "\xF0\x9F\xA6\x99";  // 🦙
    EXPECT_EQ(s.push("a" + emoji.substr(0, 1)), "a");
    EXPECT_EQ(s.pending(), 1u);
    EXPECT_EQ(s.push(emoji.substr(1, 2)), "");
    EXPECT_EQ(s.push(emoji.substr(3) + "\xE4\xB8"), emoji);
    EXPECT_EQ(s.push("\x96"), "\xE4\xB8\x96");
    EXPECT_EQ(s.pending(), 0u);
}

TEST(Utf8Stream, ReplacesInvalidBytes) {
    Utf8Stream s;
    EXPECT_EQ(s.push("\xFF" "a"), "\xEF\xBF\xBD" "a");
    EXPECT_EQ(s.push("\xE4" "b"), "\xEF\xBF\xBD" "b");      // lead byte followed by ASCII
    EXPECT_EQ(s.push("\xED\xA0"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // would be a surrogate: never valid
    EXPECT_EQ(s.push("\xE4\xB8"), "");
    EXPECT_EQ(s.flush(), "\xEF\xBF\xBD");
}

// Streams a text's tokens piece by piece: every chunk must be valid UTF-8 and together they must
// give the text back. Returns how many pieces were not valid UTF-8 on their own.
int stream_check(const Tokenizer& tok, const std::string& text) {
    const std::vector<int32_t> ids = tok.encode(text, false, false);
    Utf8Stream stream;
    std::string out;
    int partial = 0;
    for (int32_t id : ids) {
        const std::string piece = tok.token_to_piece(id);
        if (!is_valid_utf8(piece)) ++partial;
        const std::string chunk = stream.push(piece);
        EXPECT_TRUE(is_valid_utf8(chunk)) << "token " << id;
        out += chunk;
    }
    out += stream.flush();
    std::string expected = text;
    if (tok.add_space_prefix()) expected = " " + expected;  // SPM's own prefix space, as the pieces carry it
    EXPECT_EQ(out, expected);
    return partial;
}

const char* const kCjkEmoji = "我想在apple工作🦙😶\xE2\x80\x8D\xF0\x9F\x8C\xAB\xEF\xB8\x8F 鳩 𠀋 ok";

TEST(Utf8Stream, ChineseAndEmojiSplitAcrossTokens) {
    HEARTH_REQUIRE_TESTDATA(dir);
    int partial_total = 0;
    for (const char* f : {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-llm.gguf"}) {
        auto file = hearth::gguf::File::open(dir + "/vocab/" + f);
        ASSERT_TRUE(file.ok()) << file.message();
        auto tok = Tokenizer::from_gguf(**file);
        ASSERT_TRUE(tok.ok()) << tok.message();
        partial_total += stream_check(**tok, kCjkEmoji);
    }
    auto qwen = Tokenizer::from_hf_dir(dir + "/vocab/hf/qwen3");
    ASSERT_TRUE(qwen.ok()) << qwen.message();
    partial_total += stream_check(**qwen, kCjkEmoji);
    EXPECT_GT(partial_total, 0) << "the text should split some characters across tokens";
}

TEST(RealVocab, BosEosAndEndOfGeneration) {
    HEARTH_REQUIRE_TESTDATA(dir);
    auto spm_file = hearth::gguf::File::open(dir + "/vocab/ggml-vocab-llama-spm.gguf");
    ASSERT_TRUE(spm_file.ok());
    auto spm = Tokenizer::from_gguf(**spm_file);
    ASSERT_TRUE(spm.ok());
    EXPECT_EQ((*spm)->encode("Hello world", true, false), (std::vector<int32_t>{1, 15043, 3186}));
    EXPECT_EQ((*spm)->decode({1, 15043, 3186}), "Hello world");
    EXPECT_TRUE((*spm)->is_eog(2));

    auto qwen = Tokenizer::from_hf_dir(dir + "/vocab/hf/qwen3");
    ASSERT_TRUE(qwen.ok());
    const Tokenizer& q = **qwen;
    EXPECT_FALSE(q.add_bos());
    EXPECT_EQ(q.find_token("<|im_end|>"), 151645);
    EXPECT_EQ(q.eos_id(), 151645);
    EXPECT_TRUE(q.is_eog(151645));
    EXPECT_TRUE(q.is_eog(151643));  // <|endoftext|>
    EXPECT_FALSE(q.is_eog(151644));
    EXPECT_EQ(q.encode("<|im_start|>user\nHi<|im_end|>", true, true),
              (std::vector<int32_t>{151644, 872, 198, 13048, 151645}));
    EXPECT_EQ(q.encode("<think>", false, false), (std::vector<int32_t>{151667}));  // user-defined: always
    EXPECT_EQ(q.token_type(151667), TokenType::UserDefined);

    auto llama3 = Tokenizer::from_hf_dir(dir + "/vocab/hf/llama3");
    ASSERT_TRUE(llama3.ok());
    EXPECT_TRUE((*llama3)->add_bos());
    EXPECT_EQ((*llama3)->encode("Hello", true, false), (std::vector<int32_t>{128000, 9906}));
    EXPECT_TRUE((*llama3)->is_eog((*llama3)->find_token("<|eot_id|>")));
    EXPECT_TRUE((*llama3)->is_eog(128001));

    auto ds = Tokenizer::from_hf_dir(dir + "/vocab/hf/deepseek_v3");
    ASSERT_TRUE(ds.ok());
    EXPECT_EQ((*ds)->bos_id(), 0);
    EXPECT_TRUE((*ds)->add_bos());
    EXPECT_TRUE((*ds)->is_eog(1));
    EXPECT_EQ((*ds)->n_vocab(), 128815);
}

TEST(RealVocab, QwenNormalizesNfc) {
    HEARTH_REQUIRE_TESTDATA(dir);
    auto qwen = Tokenizer::from_hf_dir(dir + "/vocab/hf/qwen3");
    ASSERT_TRUE(qwen.ok());
    EXPECT_TRUE((*qwen)->normalizes_nfc());
    EXPECT_EQ((*qwen)->encode("Cafe\xCC\x81", false, false), (*qwen)->encode("Caf\xC3\xA9", false, false));
    auto llama3 = Tokenizer::from_hf_dir(dir + "/vocab/hf/llama3");
    ASSERT_TRUE(llama3.ok());
    EXPECT_FALSE((*llama3)->normalizes_nfc());  // no normalizer in its tokenizer.json
    EXPECT_NE((*llama3)->encode("Cafe\xCC\x81", false, false), (*llama3)->encode("Caf\xC3\xA9", false, false));
}

TEST(RealVocab, DecodeRestoresText) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::string inp = hearth::test::read_file(dir + "/vocab/ggml-vocab-qwen2.gguf.inp");
    std::vector<std::unique_ptr<Tokenizer>> toks;
    for (const char* f : {"ggml-vocab-llama-spm.gguf", "ggml-vocab-deepseek-coder.gguf"}) {
        auto file = hearth::gguf::File::open(dir + "/vocab/" + f);
        ASSERT_TRUE(file.ok());
        auto t = Tokenizer::from_gguf(**file);
        ASSERT_TRUE(t.ok());
        toks.push_back(std::move(*t));
    }
    auto q = Tokenizer::from_hf_dir(dir + "/vocab/hf/qwen3");
    ASSERT_TRUE(q.ok());
    toks.push_back(std::move(*q));
    for (const auto& t : toks) {
        // Every test string (the whole file at once, too) comes back byte for byte.
        EXPECT_EQ(t->decode(t->encode(inp, false, false)), inp);
    }
}

TEST(Errors, BadVocabulariesSayWhatIsWrong) {
    VocabSpec s = tiny_bpe();
    s.model = "rwkv";
    EXPECT_NE(Tokenizer::from_spec(s).message().find("unsupported tokenizer model 'rwkv'"), std::string::npos);
    s = tiny_bpe();
    s.pre = "no-such-pre";
    EXPECT_NE(Tokenizer::from_spec(s).message().find("no-such-pre"), std::string::npos);
    s = tiny_bpe();
    s.merges.push_back("nospace");
    EXPECT_NE(Tokenizer::from_spec(s).message().find("merges"), std::string::npos);
    s = tiny_bpe();
    s.merges.clear();
    EXPECT_FALSE(Tokenizer::from_spec(s).ok());
    s = tiny_bpe();
    s.types.pop_back();
    EXPECT_NE(Tokenizer::from_spec(s).message().find("token_type"), std::string::npos);
    s = tiny_bpe();
    s.add_bos = true;  // but no BOS id
    EXPECT_NE(Tokenizer::from_spec(s).message().find("BOS"), std::string::npos);
    s = tiny_bpe();
    s.tokens.clear();
    s.types.clear();
    EXPECT_FALSE(Tokenizer::from_spec(s).ok());

    s = tiny_bpe();
    s.pad = 100000;  // out of range: dropped with a warning
    auto t = Tokenizer::from_spec(s);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ((*t)->pad_id(), -1);
    EXPECT_FALSE((*t)->warnings().empty());
}

TEST(Errors, MissingFilesAndKeys) {
    auto r = Tokenizer::from_hf_dir("/nonexistent/tokenizer/folder");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("tokenizer.json"), std::string::npos);

    hearth::gguf::Writer w;
    w.set_string("general.architecture", "llama");
    const auto image = w.to_bytes();
    auto f = hearth::gguf::File::from_memory(image.data(), image.size(), "novocab.gguf");
    ASSERT_TRUE(f.ok()) << f.message();
    auto t = Tokenizer::from_gguf(**f);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.message().find("no vocabulary"), std::string::npos);

    hearth::gguf::Writer w2;
    w2.set_string("tokenizer.ggml.model", "gpt2");
    w2.set_i32_array("tokenizer.ggml.tokens", {1, 2, 3});  // wrong type
    const auto image2 = w2.to_bytes();
    auto f2 = hearth::gguf::File::from_memory(image2.data(), image2.size(), "badtokens.gguf");
    ASSERT_TRUE(f2.ok()) << f2.message();
    auto t2 = Tokenizer::from_gguf(**f2);
    ASSERT_FALSE(t2.ok());
    EXPECT_NE(t2.message().find("tokenizer.ggml.tokens"), std::string::npos);
}

TEST(Gguf, WrittenMetadataRoundTrips) {
    auto t = Tokenizer::from_spec(tiny_spm());
    ASSERT_TRUE(t.ok());
    hearth::gguf::Writer w;
    ASSERT_TRUE((*t)->write_gguf_metadata(w).ok());
    const auto image = w.to_bytes();
    auto f = hearth::gguf::File::from_memory(image.data(), image.size(), "spm.gguf");
    ASSERT_TRUE(f.ok()) << f.message();
    EXPECT_EQ(*(*f)->get_string("tokenizer.ggml.model"), "llama");
    auto back = Tokenizer::from_gguf(**f);
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_EQ((*back)->n_vocab(), (*t)->n_vocab());
    EXPECT_EQ((*back)->encode("ab ab\xC3\xA9", true, false), (*t)->encode("ab ab\xC3\xA9", true, false));
    EXPECT_EQ((*back)->token_type(3), TokenType::Byte);
}

TEST(Cli, TokenizePrintsIds) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::string cli = HEARTH_CLI_PATH;
    if (!std::filesystem::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli;
    auto run = [&](const std::string& args) {
        std::string out;
        (void)hearth::test::run_shell(cli + " tokenize " + args + " 2>&1", &out);
        return out;
    };
    const std::string spm = dir + "/vocab/ggml-vocab-llama-spm.gguf";
    EXPECT_EQ(run("-m '" + spm + "' 'Hello world'"), "1 15043 3186\n");
    EXPECT_EQ(run("-m '" + spm + "' --no-bos 'Hello world'"), "15043 3186\n");
    EXPECT_EQ(run("-m '" + dir + "/vocab/hf/qwen3' '<|im_start|>Hi'"), "151644 13048\n");
    EXPECT_NE(run("-m /nonexistent.gguf x").find("hearth-cli:"), std::string::npos);
}

}  // namespace
