// Tokenizer test vectors from ../shared/testdata/vocab (see its README): every string of every
// vocabulary must tokenize to exactly the ids Hugging Face tokenizers produce. Encoding is done as
// llama.cpp's test-tokenizer-0 does it: no BOS/EOS added, special tokens not parsed.
// The Hugging Face folders (qwen2, llama-bpe, deepseek-v3) run twice: from tokenizer.json and from a
// GGUF written from it and read back.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/json.h"
#include "tests/engine/testdata.h"

using hearth::tokenizer::Tokenizer;

namespace {

struct Case {
    std::string text;
    std::vector<int32_t> ids;
};

std::vector<Case> read_inp_out(const std::string& inp_path, const std::string& out_path) {
    const std::string inp = hearth::test::read_file(inp_path);
    const std::string out = hearth::test::read_file(out_path);
    std::vector<std::string> texts;
    const std::string sep = "\n__ggml_vocab_test__\n";
    for (size_t pos = 0; pos < inp.size();) {
        const size_t next = inp.find(sep, pos);
        if (next == std::string::npos) { texts.push_back(inp.substr(pos)); break; }
        texts.push_back(inp.substr(pos, next - pos));
        pos = next + sep.size();
    }
    std::vector<Case> cases;
    std::istringstream lines(out);
    std::string line;
    for (size_t i = 0; std::getline(lines, line); ++i) {
        Case c;
        c.text = i < texts.size() ? texts[i] : std::string();
        std::istringstream ids(line);
        for (int32_t id; ids >> id;) c.ids.push_back(id);
        cases.push_back(std::move(c));
    }
    EXPECT_EQ(texts.size(), cases.size()) << inp_path << ": strings and id lines differ in number";
    return cases;
}

std::vector<Case> read_expected_json(const std::string& path) {
    std::vector<Case> cases;
    auto j = hearth::json::parse_file(path);
    EXPECT_TRUE(j.ok()) << j.message();
    if (!j.ok()) return cases;
    for (const auto& c : (*j)["cases"].as_array()) {
        Case k;
        k.text = c["text"].as_string();
        for (const auto& id : c["ids"].as_array()) k.ids.push_back(int32_t(id.as_int()));
        cases.push_back(std::move(k));
    }
    return cases;
}

std::string ids_str(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += std::to_string(id) + " ";
    return s;
}

// Runs every case, reports each mismatch and prints the pass count.
void run_cases(const Tokenizer& tok, const std::vector<Case>& cases, const std::string& label) {
    ASSERT_FALSE(cases.empty()) << label << ": no test cases";
    size_t pass = 0;
    for (const Case& c : cases) {
        const std::vector<int32_t> got = tok.encode(c.text, /*add_special=*/false, /*parse_special=*/false);
        if (got == c.ids) { ++pass; continue; }
        ADD_FAILURE() << label << ": '" << c.text << "'\n  expected " << ids_str(c.ids) << "\n  got      " << ids_str(got);
    }
    std::printf("[ vectors  ] %-40s %zu/%zu passed\n", label.c_str(), pass, cases.size());
    EXPECT_EQ(pass, cases.size());
}

// Process CPU time: wall-clock time on a shared, busy build machine says little.
double ms_since(std::clock_t t0) { return 1000.0 * double(std::clock() - t0) / CLOCKS_PER_SEC; }

std::unique_ptr<Tokenizer> via_gguf(const Tokenizer& tok, std::vector<uint8_t>& image, const std::string& label) {
    hearth::gguf::Writer w;
    w.set_string("general.architecture", "llama");
    EXPECT_TRUE(tok.write_gguf_metadata(w).ok());
    image = w.to_bytes();
    const std::clock_t t0 = std::clock();
    auto f = hearth::gguf::File::from_memory(image.data(), image.size(), "written.gguf");
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return nullptr;
    auto t = Tokenizer::from_gguf(**f);
    std::printf("[ timing   ] %-40s %.0f ms (GGUF parse + vocabulary build, CPU time)\n", (label + " from GGUF").c_str(), ms_since(t0));
    EXPECT_TRUE(t.ok()) << t.message();
    return t.ok() ? std::move(*t) : nullptr;
}

class GgufVocab : public ::testing::TestWithParam<const char*> {};

TEST_P(GgufVocab, MatchesEveryVector) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::string base = dir + "/vocab/ggml-vocab-" + GetParam() + ".gguf";
    auto file = hearth::gguf::File::open(base);
    ASSERT_TRUE(file.ok()) << file.message();
    auto tok = Tokenizer::from_gguf(**file);
    ASSERT_TRUE(tok.ok()) << tok.message();
    run_cases(**tok, read_inp_out(base + ".inp", base + ".out"), std::string(GetParam()) + " (gguf)");
}

INSTANTIATE_TEST_SUITE_P(Shared, GgufVocab,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "deepseek-llm", "deepseek-coder"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n) if (c == '-') c = '_';
                             return n;
                         });

struct HfCase {
    const char* name;    // label
    const char* folder;  // under vocab/hf
    const char* vectors; // ggml-vocab-NAME.gguf.inp/.out, or "" for expected.json
};

void PrintTo(const HfCase& c, std::ostream* os) { *os << c.name; }  // readable test names in CTest

class HfVocab : public ::testing::TestWithParam<HfCase> {};

TEST_P(HfVocab, MatchesEveryVectorFromFolderAndFromWrittenGguf) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const HfCase& p = GetParam();
    const std::string folder = dir + "/vocab/hf/" + p.folder;
    std::vector<Case> cases;
    if (*p.vectors) {
        const std::string base = dir + "/vocab/ggml-vocab-" + p.vectors + ".gguf";
        cases = read_inp_out(base + ".inp", base + ".out");
    } else {
        cases = read_expected_json(folder + "/expected.json");
    }
    const std::clock_t t0 = std::clock();
    auto tok = Tokenizer::from_hf_dir(folder);
    ASSERT_TRUE(tok.ok()) << tok.message();
    std::printf("[ timing   ] %-40s %.0f ms (JSON parse + vocabulary build, CPU time)\n",
                (std::string(p.name) + " from tokenizer.json").c_str(), ms_since(t0));
    run_cases(**tok, cases, std::string(p.name) + " (tokenizer.json)");

    std::vector<uint8_t> image;
    auto back = via_gguf(**tok, image, p.name);
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(back->n_vocab(), (*tok)->n_vocab());
    EXPECT_EQ(back->bos_id(), (*tok)->bos_id());
    EXPECT_EQ(back->eos_id(), (*tok)->eos_id());
    EXPECT_EQ(back->add_bos(), (*tok)->add_bos());
    EXPECT_EQ(back->eog_ids(), (*tok)->eog_ids());
    run_cases(*back, cases, std::string(p.name) + " (gguf written from it)");
}

INSTANTIATE_TEST_SUITE_P(Shared, HfVocab,
                         ::testing::Values(HfCase{"qwen2", "qwen3", "qwen2"}, HfCase{"llama-bpe", "llama3", "llama-bpe"},
                                           HfCase{"deepseek-v3", "deepseek_v3", ""}),
                         [](const auto& info) {
                             std::string n = info.param.name;
                             for (char& c : n) if (c == '-') c = '_';
                             return n;
                         });

}  // namespace
