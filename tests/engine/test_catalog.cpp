// The curated catalog (engine/hub/catalog.h) and pasted repository references (repo_ref.h): the
// shipped catalog loads and every entry is sound; bad catalogs are clear errors naming the entry;
// ids and URLs parse as the table says; `hearth-cli download ID` and `download URL` fetch the right
// files from the fake hub (fake_hub.h); `hearth-cli catalog` lists the entries.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "engine/hub/catalog.h"
#include "engine/hub/endpoint.h"
#include "engine/hub/listing.h"
#include "engine/hub/repo_ref.h"
#include "engine/model/hparams.h"
#include "engine/util/json.h"
#include "tests/engine/cli_run.h"
#include "tests/engine/fake_hub.h"

namespace {

namespace fs = std::filesystem;
using namespace hearth;
using namespace hearth::hub;

TEST(Catalog, ShippedCatalogLoadsAndEveryEntryIsSound) {
    auto cat = builtin_catalog();
    ASSERT_TRUE(cat.ok()) << cat.message();
    // The compiled-in copy is the file in resources/ (the build regenerates it when the file changes).
    auto file = load_catalog_file(std::string(HEARTH_SOURCE_DIR) + "/resources/catalog.json");
    ASSERT_TRUE(file.ok()) << file.message();
    ASSERT_EQ(file->models.size(), cat->models.size());

    // The catalog's own list of architectures names only ones the engine runs.
    for (const std::string& a : catalog_architectures()) EXPECT_TRUE(is_supported_architecture(a)) << a;

    std::set<std::string> ids;
    for (const auto& m : cat->models) {
        SCOPED_TRACE(m.id);
        EXPECT_TRUE(ids.insert(m.id).second) << "duplicate id";
        EXPECT_TRUE(check_repo_id(m.gguf_repo).ok());
        EXPECT_TRUE(check_repo_id(m.source_repo).ok());
        EXPECT_NE(m.gguf_repo, m.source_repo);
        EXPECT_FALSE(m.description_zh.empty());
        ASSERT_EQ(m.quants.size(), 4u);
        uint64_t last = 0;
        for (const auto& q : m.quants) {
            // Larger quantizations are larger files: catches a size typed into the wrong row.
            EXPECT_GT(q.size_bytes, last) << q.name;
            last = q.size_bytes;
            // Each glob picks this quantization's file by the publisher's naming, and not another's.
            const std::string stem = m.gguf_repo.substr(m.gguf_repo.find('/') + 1);
            for (const auto& g : q.files) {
                std::string example = stem.substr(0, stem.size() - 5) + "-" + q.name + ".gguf";  // "-GGUF" → "-Q4_K_M.gguf"
                EXPECT_TRUE(glob_match(g, example)) << g << " vs " << example;
                for (const auto& other : catalog_quant_names())
                    if (other != q.name)
                        EXPECT_FALSE(glob_match(g, stem.substr(0, stem.size() - 5) + "-" + other + ".gguf")) << g;
            }
        }
    }
    // The models issue #12 names are there.
    for (const char* id : {"deepseek-r1-distill-qwen-1.5b", "deepseek-r1-distill-qwen-7b", "deepseek-r1-distill-qwen-14b",
                           "deepseek-r1-distill-llama-8b", "qwen2.5-1.5b-instruct", "qwen2.5-7b-instruct",
                           "llama-3.2-3b-instruct", "llama-3.1-8b-instruct", "smollm2-1.7b-instruct"})
        EXPECT_NE(cat->find(id), nullptr) << id;
    EXPECT_NE(cat->find("Qwen2.5-7B-Instruct"), nullptr);  // ids are matched case-insensitively
    EXPECT_EQ(cat->find("qwen2.5-7b-instruct")->find_quant("q8_0")->name, "Q8_0");
}

// A one-entry catalog with one field replaced (or removed when `value` is null), as text.
std::string with_field(const std::string& path, const json::Value* value) {
    json::Value q = json::Value::object();
    for (const char* name : {"Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0"}) {
        json::Value e = json::Value::object();
        json::Value files = json::Value::array();
        files.push_back(std::string("*") + name + ".gguf");
        e.set("files", files);
        e.set("size_bytes", int64_t(1000));
        q.set(name, e);
    }
    auto entry = json::parse(R"({"id":"m-1","name":"M","description":{"en":"e","zh-CN":"中"},"architecture":"llama",
        "parameters":100,"context_length":2048,"license":{"id":"MIT","name":"MIT License","gated":false},
        "gguf_repo":"a/m-GGUF","source_repo":"a/m"})").value();
    entry.set("quantizations", q);
    // Walk "a.b.c" and replace or drop the last part.
    json::Value* obj = &entry;
    std::string rest = path;
    while (rest.find('.') != std::string::npos) {
        std::string key = rest.substr(0, rest.find('.'));
        rest = rest.substr(rest.find('.') + 1);
        obj = const_cast<json::Value*>(obj->find(key));
    }
    auto& o = obj->mutable_object();
    if (value) obj->set(rest, *value);
    else for (auto it = o.begin(); it != o.end(); ++it) if (it->first == rest) { o.erase(it); break; }
    json::Value models = json::Value::array();
    models.push_back(entry);
    json::Value root = json::Value::object();
    root.set("version", 1);
    root.set("models", models);
    return root.dump();
}

TEST(Catalog, TheTemplateEntryIsValid) {
    json::Value same("m-1");
    auto c = parse_catalog(with_field("id", &same), "t.json");
    ASSERT_TRUE(c.ok()) << c.message();
}

TEST(Catalog, BadCatalogsAreErrorsNamingTheEntryAndField) {
    struct Case {
        std::string field;
        json::Value value;
        bool remove;
        std::string expect;  // a part of the message
    };
    json::Value files_exact = json::Value::array();
    files_exact.push_back("m-Q4_K_M.gguf");
    json::Value files_wrong_quant = json::Value::array();
    files_wrong_quant.push_back("*Q5_K_M.gguf");
    json::Value files_abs = json::Value::array();
    files_abs.push_back("/*Q4_K_M.gguf");
    json::Value files_dotdot = json::Value::array();
    files_dotdot.push_back("../*Q4_K_M.gguf");
    json::Value files_not_gguf = json::Value::array();
    files_not_gguf.push_back("*Q4_K_M.bin");
    json::Value empty = json::Value::array();
    const std::vector<Case> cases = {
        {"id", "Upper", false, "field 'id'"},
        {"id", {}, true, "field 'id' is missing"},
        {"name", 5, false, "field 'name' must be a string"},
        {"description.zh-CN", {}, true, "description.zh-CN"},
        {"architecture", "mamba", false, "'mamba' is not one the engine runs"},
        {"parameters", -3, false, "field 'parameters' is out of range"},
        {"parameters", 1.5, false, "field 'parameters' must be a whole number"},
        {"context_length", {}, true, "field 'context_length' is missing"},
        {"license.gated", "no", false, "license.gated"},
        {"license.id", "", false, "license.id"},
        {"gguf_repo", "noslash", false, "field 'gguf_repo' must be ORG/NAME"},
        {"source_repo", "a/../b", false, "field 'source_repo'"},
        {"quantizations.Q4_K_M.files", files_exact, false, "has no '*'"},
        {"quantizations.Q4_K_M.files", files_wrong_quant, false, "does not contain the quantization's name Q4_K_M"},
        {"quantizations.Q4_K_M.files", files_abs, false, "not a relative repository path"},
        {"quantizations.Q4_K_M.files", files_dotdot, false, "not a relative repository path"},
        {"quantizations.Q4_K_M.files", files_not_gguf, false, "does not end in .gguf"},
        {"quantizations.Q4_K_M.files", empty, false, "non-empty array"},
        {"quantizations.Q4_K_M.size_bytes", 0, false, "size_bytes"},
        {"quantizations.Q6_K", {}, true, "lacks Q6_K"},
        {"quantizations.IQ1_S", json::Value::object(), false, "is not one of"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.field + " → " + c.expect);
        auto r = parse_catalog(with_field(c.field, c.remove ? nullptr : &c.value), "bad.json");
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.message().find("bad.json: model #1"), std::string::npos) << r.message();
        EXPECT_NE(r.message().find(c.expect), std::string::npos) << r.message();
        if (c.field != "id") EXPECT_NE(r.message().find("('m-1')"), std::string::npos) << r.message();
    }
    // Whole-file faults.
    for (const auto& [text, expect] : std::vector<std::pair<std::string, std::string>>{
             {"{", "not valid JSON"},
             {"[]", "top level must be an object"},
             {R"({"version":2,"models":[]})", "'version' must be 1"},
             {R"({"version":1})", "'models' must be an array"},
             {R"({"version":1,"models":[]})", "'models' is empty"},
             {R"({"version":1,"models":[7]})", "model #1: must be an object"},
         }) {
        auto r = parse_catalog(text, "bad.json");
        ASSERT_FALSE(r.ok()) << text;
        EXPECT_NE(r.message().find(expect), std::string::npos) << r.message();
    }
    // The same id twice.
    json::Value same("m-1");
    auto one = json::parse(with_field("id", &same)).value();
    auto models = one["models"].as_array();
    json::Value twice = json::Value::object();
    twice.set("version", 1);
    twice.set("models", json::Array{models[0], models[0]});
    auto r = parse_catalog(twice.dump(), "dup.json");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("id 'm-1' is used twice"), std::string::npos) << r.message();
    EXPECT_FALSE(load_catalog_file("/nonexistent/catalog.json").ok());
}

TEST(Catalog, SplitGgufGlobsPickEveryShard) {
    // Big models come as "-00001-of-0000N.gguf" shards; one glob per quantization picks them all.
    const std::string g = "*Q8_0-*-of-*.gguf";
    EXPECT_TRUE(glob_match(g, "Big-Q8_0-00001-of-00002.gguf"));
    EXPECT_TRUE(glob_match(g, "Big-Q8_0-00002-of-00002.gguf"));
    EXPECT_FALSE(glob_match(g, "Big-Q6_K-00001-of-00002.gguf"));
    EXPECT_FALSE(glob_match("*Q8_0.gguf", "Big-Q8_0-00001-of-00002.gguf"));
}

TEST(RepoRef, ParsingTable) {
    struct Row {
        const char* in;
        const char* endpoint;
        const char* repo;
        const char* revision;
        const char* path;
        bool folder;
    };
    const Row rows[] = {
        {"HuggingFaceTB/SmolLM2-135M-Instruct", "", "HuggingFaceTB/SmolLM2-135M-Instruct", "", "", false},
        {"  gpt2\n", "", "gpt2", "", "", false},
        {"https://huggingface.co/Qwen/Qwen2.5-7B-Instruct", "", "Qwen/Qwen2.5-7B-Instruct", "", "", false},
        {"https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/", "", "Qwen/Qwen2.5-7B-Instruct", "", "", false},
        {"https://www.huggingface.co/models/a/b", "", "a/b", "", "", false},
        {"http://hf.co/a/b", "", "a/b", "", "", false},
        {"hf.co/a/b", "", "a/b", "", "", false},
        {"huggingface.co/a/b/tree/main", "", "a/b", "main", "", false},
        {"https://hf-mirror.com/a/b", "https://hf-mirror.com", "a/b", "", "", false},
        {"hf-mirror.com/a/b", "https://hf-mirror.com", "a/b", "", "", false},
        {"http://127.0.0.1:8080/a/b", "http://127.0.0.1:8080", "a/b", "", "", false},
        {"https://HuggingFace.co/a/b/tree/v1.0", "", "a/b", "v1.0", "", false},
        {"https://huggingface.co/a/b/tree/main/sub/dir", "", "a/b", "main", "sub/dir", true},
        {"https://huggingface.co/a/b/tree/refs%2Fpr%2F3", "", "a/b", "refs/pr/3", "", false},
        {"https://huggingface.co/a/b/blob/main/m-Q4_K_M.gguf", "", "a/b", "main", "m-Q4_K_M.gguf", false},
        {"https://huggingface.co/a/b/blob/main/m.gguf?download=true", "", "a/b", "main", "m.gguf", false},
        {"https://huggingface.co/a/b/resolve/0123abc/dir/my%20file.gguf", "", "a/b", "0123abc", "dir/my file.gguf", false},
        {"https://hf-mirror.com/a/b/resolve/main/x.gguf#top", "https://hf-mirror.com", "a/b", "main", "x.gguf", false},
        {"gpt2/tree/main", "", "gpt2", "main", "", false},
        {"a/b/blob/main/x.json", "", "a/b", "main", "x.json", false},
    };
    for (const auto& row : rows) {
        SCOPED_TRACE(row.in);
        auto r = parse_repo_ref(row.in);
        ASSERT_TRUE(r.ok()) << r.message();
        EXPECT_EQ(r->endpoint, row.endpoint);
        EXPECT_EQ(r->repo, row.repo);
        EXPECT_EQ(r->revision, row.revision);
        EXPECT_EQ(r->path, row.path);
        EXPECT_EQ(r->folder, row.folder);
    }
    const std::pair<const char*, const char*> bad[] = {
        {"", "nothing to download"},
        {"   ", "nothing to download"},
        {"ftp://huggingface.co/a/b", "only http"},
        {"https://huggingface.co/", "names no repository"},
        {"https://huggingface.co/datasets/a/b", "names a dataset"},
        {"https://huggingface.co/spaces/a/b", "names a space"},
        {"https://user@evil.example/a/b", "no plain host"},
        {"https://huggingface.co/a/b/commits/main", "expected /tree/, /blob/ or /resolve/"},
        {"https://huggingface.co/a/b/blob/main", "names no file"},
        {"https://huggingface.co/a/b/tree", "not followed by a revision"},
        {"https://huggingface.co/a/b/blob/main/../../etc/passwd", "'..'"},
        {"https://huggingface.co/a/b/blob/main/x%2", "malformed %-escape"},
        {"https://huggingface.co/a/b/tree/bad%20rev", "revision"},
        {"a b/c", "not a repository id"},
        {"a/.hidden", "not a repository id"},
    };
    for (const auto& [in, expect] : bad) {
        auto r = parse_repo_ref(in);
        ASSERT_FALSE(r.ok()) << in;
        EXPECT_NE(r.message().find(expect), std::string::npos) << in << ": " << r.message();
    }
}

class CatalogCli : public ::testing::Test {
protected:
    void SetUp() override {
        REQUIRE_CLI();
        dir = fs::temp_directory_path() / ("hearth_catalog_cli_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    fs::path dir;
};

TEST_F(CatalogCli, ListsEveryEntryAsTextAndJson) {
    auto cat = builtin_catalog();
    ASSERT_TRUE(cat.ok());
    auto text = cli::run("catalog");
    ASSERT_EQ(text.rc, 0) << text.out;
    for (const auto& m : cat->models) EXPECT_NE(text.out.find(m.id), std::string::npos) << m.id;
    auto js = cli::run("catalog --json 2>/dev/null");
    ASSERT_EQ(js.rc, 0) << js.out;
    auto parsed = parse_catalog(js.out, "catalog --json");  // what it prints is itself a valid catalog
    ASSERT_TRUE(parsed.ok()) << parsed.message();
    EXPECT_EQ(parsed->models.size(), cat->models.size());
    auto bad = cli::run("catalog --catalog /nonexistent.json");
    EXPECT_EQ(bad.rc, 1);
    EXPECT_NE(bad.out.find("/nonexistent.json"), std::string::npos) << bad.out;
}

TEST_F(CatalogCli, DownloadByCatalogIdFetchesOneQuantization) {
    test::FakeHub hub;
    hub.repo = "bartowski/Qwen2.5-7B-Instruct-GGUF";  // the catalog's GGUF repository for qwen2.5-7b-instruct
    hub.files = {
        {"README.md", "# card\n", false},
        {"Qwen2.5-7B-Instruct-Q4_K_M.gguf", test::pattern_bytes(300000, 1), true},
        {"Qwen2.5-7B-Instruct-Q8_0.gguf", test::pattern_bytes(500000, 2), true},
        {"Qwen2.5-7B-Instruct-Q4_K_L.gguf", test::pattern_bytes(1000, 3), true},
    };
    auto r = cli::run("download qwen2.5-7b-instruct --quant Q8_0 --endpoint " + hub.endpoint() + " -o '" +
                      (dir / "q8").string() + "'");
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(fs::file_size(dir / "q8" / "Qwen2.5-7B-Instruct-Q8_0.gguf"), 500000u);
    EXPECT_FALSE(fs::exists(dir / "q8" / "Qwen2.5-7B-Instruct-Q4_K_M.gguf"));
    EXPECT_FALSE(fs::exists(dir / "q8" / "README.md"));

    // Default quantization Q4_K_M; HF_ENDPOINT chooses the hub as for any download. Q4_K_L, whose
    // name starts the same, is not taken.
    std::string out;
    int rc = test::run_shell("HF_TOKEN= HF_ENDPOINT=" + hub.endpoint() + " " + HEARTH_CLI_PATH +
                                 " download Qwen2.5-7B-Instruct -o '" + (dir / "q4").string() + "' 2>&1",
                             &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_EQ(fs::file_size(dir / "q4" / "Qwen2.5-7B-Instruct-Q4_K_M.gguf"), 300000u);
    EXPECT_FALSE(fs::exists(dir / "q4" / "Qwen2.5-7B-Instruct-Q4_K_L.gguf"));
    EXPECT_FALSE(fs::exists(dir / "q4" / "Qwen2.5-7B-Instruct-Q8_0.gguf"));

    // Mistakes are one clear line and exit status 1.
    r = cli::run("download qwen2.5-7b-instruct --quant Q2_K --endpoint " + hub.endpoint());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.out.find("has no quantization 'Q2_K'"), std::string::npos) << r.out;
    r = cli::run("download qwen2.5-7b-instruct x.gguf --endpoint " + hub.endpoint());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.out.find("--quant"), std::string::npos) << r.out;
    r = cli::run("download org/model --quant Q4_K_M --endpoint " + hub.endpoint());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.out.find("needs a catalog id"), std::string::npos) << r.out;
}

TEST_F(CatalogCli, DownloadSourceFetchesTheOriginalCheckpoint) {
    test::FakeHub hub;
    hub.repo = "Qwen/Qwen2.5-7B-Instruct";  // the catalog's source repository for qwen2.5-7b-instruct
    hub.files = {
        {"config.json", "{}\n", false},
        {"tokenizer.json", "{\"model\":{}}\n", false},
        {"model-00001-of-00002.safetensors", test::pattern_bytes(40000, 7), true},
        {"model-00002-of-00002.safetensors", test::pattern_bytes(30000, 8), true},
        {"original/consolidated.00.pth", test::pattern_bytes(50000, 9), true},
        {"README.md", "card\n", false},
    };
    auto r = cli::run("download qwen2.5-7b-instruct --source --endpoint " + hub.endpoint() + " -o '" + (dir / "hf").string() + "'");
    ASSERT_EQ(r.rc, 0) << r.out;
    for (const char* f : {"config.json", "tokenizer.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
        EXPECT_TRUE(fs::exists(dir / "hf" / f)) << f;
    EXPECT_FALSE(fs::exists(dir / "hf" / "original"));
    EXPECT_FALSE(fs::exists(dir / "hf" / "README.md"));
    r = cli::run("download qwen2.5-7b-instruct --source --quant Q8_0 --endpoint " + hub.endpoint());
    EXPECT_EQ(r.rc, 1);
}

TEST_F(CatalogCli, DownloadByPastedUrl) {
    test::FakeHub hub;
    hub.files = {
        {"config.json", "{}\n", false},
        {"sub/a.gguf", test::pattern_bytes(70000, 4), true},
        {"sub/b.txt", "b\n", false},
        {"model.gguf", test::pattern_bytes(90000, 5), true},
    };
    // A mirror URL carries the endpoint (here the fake hub) and the file; no --endpoint needed.
    std::string out;
    int rc = test::run_shell("HF_TOKEN= HF_ENDPOINT= " + std::string(HEARTH_CLI_PATH) + " download '" + hub.endpoint() +
                                 "/org/model/blob/main/model.gguf' -o '" + (dir / "one").string() + "' 2>&1",
                             &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_EQ(fs::file_size(dir / "one" / "model.gguf"), 90000u);
    EXPECT_FALSE(fs::exists(dir / "one" / "config.json"));

    // A huggingface.co page URL means "the hub": the configured endpoint serves it. A /tree/ folder
    // takes everything under it.
    auto r = cli::run("download https://huggingface.co/org/model/tree/main/sub --endpoint " + hub.endpoint() + " -o '" +
                      (dir / "folder").string() + "'");
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_TRUE(fs::exists(dir / "folder" / "sub" / "a.gguf"));
    EXPECT_TRUE(fs::exists(dir / "folder" / "sub" / "b.txt"));
    EXPECT_FALSE(fs::exists(dir / "folder" / "model.gguf"));

    // The revision in the URL is the one asked for.
    hub.clear_seen();
    r = cli::run("download 'hf.co/org/model/resolve/v2/config.json' --endpoint " + hub.endpoint() + " -o '" +
                 (dir / "rev").string() + "'");
    ASSERT_EQ(r.rc, 0) << r.out;
    bool saw_rev = false;
    for (const auto& s : hub.seen()) saw_rev |= s.path.find("/tree/v2") != std::string::npos;
    EXPECT_TRUE(saw_rev);

    r = cli::run("download https://huggingface.co/datasets/org/model --endpoint " + hub.endpoint());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.out.find("names a dataset"), std::string::npos) << r.out;
}

}  // namespace
