// Hugging Face checkpoint -> GGUF (engine/convert, hearth-cli convert).
//
// - The shared fixtures (../shared/testdata/hf-models/*/hf, BF16-stored; one sharded, one tied):
//   converted to F32, every tensor equals llama.cpp's base-f32.gguf byte for byte (BF16 -> F32 is
//   exact, and so is llama's q/k permutation), the metadata keys are llama.cpp's (one intentional
//   difference, kIntentionalExtraKeys), logits within 2e-3 of transformers' and the texts of
//   expected.json tokenized exactly.
// - Our own fixtures (tests/engine/data/convert, tools/fixtures/make_convert_fixtures.py): F16- and
//   F32-stored, many shards, MHA, explicit head_dim with llama3 RoPE scaling, Mistral, untied and
//   tied qwen2, both config layouts, a SentencePiece vocabulary (tokenizer.model): logits within
//   2e-3 of transformers', texts tokenized exactly (as tokenizers / sentencepiece tokenize them).
//   (Tensor-by-tensor against llama.cpp's converter was checked by hand for these; see README.)
// - --type F16 / BF16 / Q8_0: tensor types as llama.cpp chooses them, logits near the F32 ones.
// - Bad input: a clear error naming the file or tensor and no output file (nor OUT.part).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/convert/convert.h"
#include "engine/convert/hf_metadata.h"
#include "engine/gguf/gguf.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/json.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/testdata.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

// Keys Hearth writes that llama.cpp's converter leaves out: add_eos_token is written explicitly
// false by the engine's tokenizer (its value is llama.cpp's default when absent, so nothing reads
// differently). llama.cpp also writes general.basename / general.finetune when the folder's name
// looks like "family-variant"; Hearth does not guess those (not for the shared fixtures' "hf").
// For SentencePiece vocabularies (checked by hand, not here) llama.cpp also writes
// tokenizer.ggml.pre = "default", which Hearth leaves out (SentencePiece has no pre-tokenizer), and
// Hearth writes add_space_prefix = true (llama.cpp's default for them) explicitly.
const std::set<std::string> kIntentionalExtraKeys = {"tokenizer.ggml.add_eos_token"};

fs::path temp_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("hearth-convert-" + name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

std::string convert_to(const std::string& hf_dir, const std::string& out, const std::string& type, convert::ConvertReport* rep = nullptr) {
    convert::ConvertOptions opt;
    opt.hf_dir = hf_dir;
    opt.out_path = out;
    opt.type = type;
    auto r = convert::convert_hf_to_gguf(opt);
    if (!r.ok()) return r.message();
    if (rep) *rep = *r;
    return "";
}

// Logits of the prompt's last 8 positions on the CPU backend, in float32.
std::vector<float> last8_logits(const std::string& gguf_path, const std::vector<int32_t>& prompt) {
    auto f = gguf::File::open(gguf_path);
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return {};
    auto be = create_cpu_backend(BackendOptions{});
    auto m = Model::load(**f, *be);
    EXPECT_TRUE(m.ok()) << m.message();
    if (!m.ok()) return {};
    auto c = ModelContext::create(**m, 128, GgmlType::F32, 32);
    EXPECT_TRUE(c.ok()) << c.message();
    if (!c.ok()) return {};
    std::vector<float> out;
    Status st = (*c)->eval(prompt.data(), int(prompt.size()), 0, 8, &out);
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    if (a.size() != b.size() || a.empty()) return INFINITY;
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

std::vector<int32_t> ints(const json::Value& arr) {
    std::vector<int32_t> v;
    for (const json::Value& x : arr.as_array()) v.push_back(int32_t(x.as_int()));
    return v;
}

// expected.json's texts through the converted file's tokenizer, without special handling of BOS.
void expect_texts_tokenize(const std::string& gguf_path, const json::Value& texts) {
    auto f = gguf::File::open(gguf_path);
    ASSERT_TRUE(f.ok()) << f.message();
    auto tok = tokenizer::Tokenizer::from_gguf(**f);
    ASSERT_TRUE(tok.ok()) << tok.message();
    ASSERT_GT(texts.size(), 0u);
    for (const json::Value& t : texts.as_array())
        EXPECT_EQ((*tok)->encode(t["text"].as_string(), false, true), ints(t["ids"])) << "text: " << t["text"].as_string();
}

std::vector<std::string> subdirs(const fs::path& d) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec))
        if (e.is_directory()) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

// Every shared fixture: tensors byte-equal to llama.cpp's base-f32.gguf, its metadata keys and
// scalar values, logits within 2e-3 of transformers (F32 engine vs transformers' float32; the shared
// LoRA tests use the same bound), texts tokenized exactly.
TEST(Convert, SharedFixturesMatchLlamaCppAndTransformers) {
    HEARTH_REQUIRE_TESTDATA(data);
    const fs::path root = fs::path(data) / "hf-models";
    const auto names = subdirs(root);
    ASSERT_FALSE(names.empty());
    for (const std::string& name : names) {
        SCOPED_TRACE(name);
        const fs::path dir = root / name;
        const std::string out = (temp_dir(name) / "out.gguf").string();
        ASSERT_EQ(convert_to((dir / "hf").string(), out, "F32"), "");
        auto ours = gguf::File::open(out);
        auto ref = gguf::File::open((dir / "base-f32.gguf").string());
        ASSERT_TRUE(ours.ok() && ref.ok());

        ASSERT_EQ((*ours)->tensors().size(), (*ref)->tensors().size());
        for (const auto& rt : (*ref)->tensors()) {
            const gguf::TensorInfo* t = (*ours)->tensor(rt.name);
            ASSERT_NE(t, nullptr) << rt.name;
            EXPECT_EQ(t->dims, rt.dims) << rt.name;
            EXPECT_EQ(t->type, rt.type) << rt.name;
            ASSERT_EQ(t->n_bytes, rt.n_bytes) << rt.name;
            EXPECT_EQ(std::memcmp(t->data, rt.data, rt.n_bytes), 0) << rt.name << " differs";
        }
        std::set<std::string> ours_keys, ref_keys;
        for (const auto& [k, v] : (*ours)->metadata()) ours_keys.insert(k);
        for (const auto& [k, v] : (*ref)->metadata()) {
            ref_keys.insert(k);
            const gguf::Value* o = (*ours)->find(k);
            if (!o) continue;
            EXPECT_EQ(int(o->type), int(v.type)) << k;
            if (v.type == gguf::ValueType::STRING) EXPECT_EQ(o->str, v.str) << k;
            else if (v.type == gguf::ValueType::ARRAY) EXPECT_EQ(o->arr.size(), v.arr.size()) << k;
            else EXPECT_EQ(o->as_double(), v.as_double()) << k;
        }
        for (const auto& k : ref_keys) EXPECT_TRUE(ours_keys.count(k)) << "missing key " << k;
        for (const auto& k : ours_keys)
            EXPECT_TRUE(ref_keys.count(k) || kIntentionalExtraKeys.count(k)) << "extra key " << k;
        // Token texts, types and merges in full.
        for (const char* k : {"tokenizer.ggml.tokens", "tokenizer.ggml.merges"}) {
            auto a = (*ours)->get_string_array(k), b = (*ref)->get_string_array(k);
            ASSERT_TRUE(a.ok() && b.ok()) << k;
            EXPECT_TRUE(*a == *b) << k;
        }
        auto ta = (*ours)->get_int_array("tokenizer.ggml.token_type"), tb = (*ref)->get_int_array("tokenizer.ggml.token_type");
        ASSERT_TRUE(ta.ok() && tb.ok());
        EXPECT_TRUE(*ta == *tb);

        auto e = json::parse_file((dir / "expected.json").string());
        ASSERT_TRUE(e.ok()) << e.message();
        const auto logits = last8_logits(out, ints((*e)["prompt_ids"]));
        EXPECT_LT(max_abs_diff(logits, test::read_f32((dir / "logits.f32").string())), 2e-3);
        expect_texts_tokenize(out, (*e)["texts"]);
    }
}

// Our fixtures cover what the shared ones do not; transformers' float32 logits of the stored
// weights, within 2e-3 (float32 on both sides; logits of rms ~5).
TEST(Convert, OwnFixturesMatchTransformers) {
    const fs::path root = test::fixture_path("convert");
    const auto names = subdirs(root);
    ASSERT_GE(names.size(), 9u) << "fixtures missing under " << root;
    for (const std::string& name : names) {
        SCOPED_TRACE(name);
        const fs::path dir = root / name;
        const std::string out = (temp_dir(name) / "out.gguf").string();
        convert::ConvertReport rep;
        ASSERT_EQ(convert_to(dir.string(), out, "F32", &rep), "");
        auto e = json::parse_file((dir / "expected.json").string());
        ASSERT_TRUE(e.ok()) << e.message();
        EXPECT_EQ(int64_t(rep.n_shards), (*e)["shards"].as_int());
        // The converter's memory promise (the figure for a 1 GiB checkpoint is in tests/bench/README.md).
        EXPECT_LT(rep.peak_anon_mb, rep.largest_tensor_mb + 256.0);
        const auto logits = last8_logits(out, ints((*e)["prompt_ids"]));
        EXPECT_LT(max_abs_diff(logits, test::read_f32((dir / "logits.f32").string())), 2e-3);
        expect_texts_tokenize(out, (*e)["texts"]);

        auto f = gguf::File::open(out);
        ASSERT_TRUE(f.ok());
        const bool untied = name.find("untied") != std::string::npos || name.rfind("llama", 0) == 0 || name.rfind("mistral", 0) == 0;
        EXPECT_EQ((*f)->tensor("output.weight") != nullptr, untied);
        EXPECT_EQ((*f)->tensor("rope_freqs.weight") != nullptr, name.find("llama3") != std::string::npos);
        if (name == "qwen2-f16-untied") {  // generation_config.json's sampling defaults
            EXPECT_EQ(*(*f)->get_int("general.sampling.top_k", 0), 20);
            EXPECT_FLOAT_EQ(float(*(*f)->get_float("general.sampling.temp", 0)), 0.7f);
            EXPECT_FLOAT_EQ(float(*(*f)->get_float("general.sampling.top_p", 0)), 0.8f);
            EXPECT_FLOAT_EQ(float(*(*f)->get_float("general.sampling.penalty_repeat", 0)), 1.05f);
        }
        if (name == "llama-spm-bf16") {  // tokenizer.model read: a SentencePiece vocabulary with scores
            EXPECT_EQ(*(*f)->get_string("tokenizer.ggml.model"), "llama");
            EXPECT_EQ((*(*f)->get_float_array("tokenizer.ggml.scores")).size(), 320u);
            EXPECT_EQ(*(*f)->get_int("tokenizer.ggml.bos_token_id", -1), 1);
        }
        if (name == "qwen3-bf16-tied") {  // QK-norm weights, explicit head size
            EXPECT_EQ(*(*f)->get_string("general.architecture"), "qwen3");
            EXPECT_EQ(*(*f)->get_int("qwen3.attention.key_length", 0), 16);
            EXPECT_EQ((*f)->tensor("blk.1.attn_k_norm.weight")->dims, (std::vector<int64_t>{16}));
        }
        if (name == "qwen3moe-bf16-untied-shards" || name == "mixtral-f16-untied") {
            // the experts stacked as llama.cpp stacks them, the router kept in F32 (its rule)
            const bool qwen = name[0] == 'q';
            const std::string a = qwen ? "qwen3moe" : "llama";
            EXPECT_EQ(*(*f)->get_string("general.architecture"), a);
            EXPECT_EQ(*(*f)->get_int(a + ".expert_count", 0), 4);
            EXPECT_EQ(*(*f)->get_int(a + ".expert_used_count", 0), 2);
            EXPECT_EQ((*f)->find(a + ".expert_feed_forward_length") != nullptr, qwen);
            EXPECT_EQ((*f)->find(a + ".expert_weights_norm"), nullptr);  // renormalized: llama.cpp's assumption, unsaid
            const int64_t F = qwen ? 24 : 64;
            EXPECT_EQ((*f)->tensor("blk.0.ffn_gate_exps.weight")->dims, (std::vector<int64_t>{32, F, 4}));
            EXPECT_EQ((*f)->tensor("blk.1.ffn_down_exps.weight")->dims, (std::vector<int64_t>{F, 32, 4}));
            EXPECT_EQ((*f)->tensor("blk.0.ffn_gate_inp.weight")->type, GgmlType::F32);
            EXPECT_EQ((*f)->tensor("blk.0.ffn_gate.weight"), nullptr);
        }
        if (name == "llama-f32-headdim-llama3") {
            EXPECT_EQ(*(*f)->get_int("llama.attention.key_length", 0), 16);
            EXPECT_EQ(*(*f)->get_int("llama.rope.dimension_count", 0), 16);
            EXPECT_EQ((*f)->tensor("blk.0.attn_q.weight")->dims, (std::vector<int64_t>{32, 64}));
        }
    }
}

// --type: 2-D weights in the type asked for, 1-D in F32 (llama.cpp's rule), general.file_type as
// llama.cpp numbers it; logits near transformers'. Tolerances: BF16 from a BF16 checkpoint is exact and
// so is F16 for these small weights (measured 1.3e-5; 2e-2 leaves room for a backend's 16-bit
// matmul path); Q8_0's bytes equal llama.cpp's converter's for this model (checked by hand with
// gguf-py), and its rounding moves these rms-5 logits by up to 0.26 (measured) over 8 x 1984: 0.4.
// general.name for the folder a person picks: its own name unless it is named for its role only
// ("model", a hub cache's snapshot hash); then the model card's title, the hub cache's repository
// name, or the parent folder's. (A sentence-transformers download keeps the weights in "model/":
// the converted MiniLM was called "Model".)
TEST(Convert, ModelNameForFolder) {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / "hearth_convert_names";
    fs::remove_all(root);
    auto make = [&](const fs::path& rel, const std::string& readme = "") {
        fs::create_directories(root / rel);
        if (!readme.empty()) std::ofstream(root / rel / "README.md") << readme;
        return (root / rel).string();
    };
    using convert::model_name_for_folder;
    EXPECT_EQ(model_name_for_folder(make("smollm2-135m")), "Smollm2 135m");
    EXPECT_EQ(model_name_for_folder(make("smollm2-135m") + "/"), "Smollm2 135m");
    const std::string card = "---\nlanguage: en\ntags:\n- sentence-transformers\n---\n\n# all-MiniLM-L6-v2\nThis is a model.\n# Later\n";
    EXPECT_EQ(model_name_for_folder(make("st/model", card)), "all-MiniLM-L6-v2");
    EXPECT_EQ(model_name_for_folder(make("plain-card/model", "# Qwen3 Tiny\r\n")), "Qwen3 Tiny");
    EXPECT_EQ(model_name_for_folder(make("cache/models--Qwen--Qwen3-0.6B/snapshots/0123456789abcdef0123456789abcdef01234567")),
              "Qwen3-0.6B");
    EXPECT_EQ(model_name_for_folder(make("my-bert/model")), "My Bert");                       // no card: the parent
    EXPECT_EQ(model_name_for_folder(make("odd/model", "# " + std::string(100, 'x') + "\n")), "Odd");  // a title too long
    EXPECT_EQ(model_name_for_folder(make("front-only/model", "---\n# not a title: inside the front matter\n---\n")),
              "Front Only");
    fs::remove_all(root);
}

TEST(Convert, OutputTypes) {
    HEARTH_REQUIRE_TESTDATA(data);
    const fs::path dir = fs::path(data) / "hf-models" / "tiny-llama";
    auto e = json::parse_file((dir / "expected.json").string());
    ASSERT_TRUE(e.ok());
    const auto ref = test::read_f32((dir / "logits.f32").string());
    struct Case { const char* type; GgmlType t; int file_type; double tol; };
    for (const Case& c : {Case{"F16", GgmlType::F16, 1, 2e-2}, Case{"BF16", GgmlType::BF16, 32, 2e-2},
                          Case{"Q8_0", GgmlType::Q8_0, 7, 0.4}, Case{"", GgmlType::BF16, 32, 2e-2}}) {
        SCOPED_TRACE(c.type);
        const std::string out = (temp_dir(std::string("type") + c.type) / "out.gguf").string();
        ASSERT_EQ(convert_to((dir / "hf").string(), out, c.type), "");
        auto f = gguf::File::open(out);
        ASSERT_TRUE(f.ok());
        EXPECT_EQ(*(*f)->get_int("general.file_type", -1), c.file_type);
        for (const auto& t : (*f)->tensors()) EXPECT_EQ(t.type, t.dims.size() == 1 ? GgmlType::F32 : c.t) << t.name;
        const double d = max_abs_diff(last8_logits(out, ints((*e)["prompt_ids"])), ref);
        std::printf("  --type %s: max |logit - transformers| = %.4g\n", c.type[0] ? c.type : "(auto)", d);
        EXPECT_LT(d, c.tol);
    }
    EXPECT_NE(convert_to((dir / "hf").string(), (temp_dir("badtype") / "o.gguf").string(), "Q4_K"), "");
}

namespace {

// A writable copy of a fixture folder to break.
fs::path copy_fixture(const std::string& name, const std::string& tag) {
    const fs::path d = temp_dir("bad-" + tag);
    fs::copy(test::fixture_path(("convert/" + name).c_str()), d / "hf", fs::copy_options::recursive);
    return d;
}

void rewrite_config(const fs::path& hf, const std::string& from, const std::string& to) {
    std::ifstream in(hf / "config.json");
    std::string s((std::istreambuf_iterator<char>(in)), {});
    const size_t at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    std::ofstream(hf / "config.json") << s;
}

// Converts d/hf to d/out.gguf expecting an error that contains every `needles`, and no output.
void expect_failure(const fs::path& d, const std::vector<std::string>& needles) {
    const std::string out = (d / "out.gguf").string();
    const std::string msg = convert_to((d / "hf").string(), out, "F32");
    ASSERT_NE(msg, "") << "conversion succeeded";
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(out + ".part"));
}

}  // namespace

TEST(Convert, CorruptSafetensorsHeaderNamesTheFile) {
    const fs::path d = copy_fixture("mistral-bf16", "header");
    {
        std::fstream f(d / "hf" / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(12);
        f.write("\x01\x02garbage", 9);  // inside the JSON header
    }
    expect_failure(d, {"model.safetensors"});
}

TEST(Convert, TruncatedShardNamesTheFile) {
    const fs::path d = copy_fixture("qwen2-f32-tied", "truncated");
    const fs::path shard = d / "hf" / "model-00002-of-00003.safetensors";
    fs::resize_file(shard, fs::file_size(shard) / 2);
    expect_failure(d, {"model-00002-of-00003.safetensors"});
}

TEST(Convert, ShapeThatDisagreesWithConfigNamesTheTensor) {
    const fs::path d = copy_fixture("mistral-bf16", "shape");
    rewrite_config(d / "hf", "\"intermediate_size\": 64", "\"intermediate_size\": 96");
    expect_failure(d, {"mlp.", "[64, 32]", "[96, 32]", "model.safetensors"});
}

// A mixture of experts: a count that disagrees with the tensors is named; layouts llama.cpp's architectures cannot express
// are refused by key; unnormalized expert weights are converted and said (expert_weights_norm false),
// and the engine then runs them so (the logits move away from the normalized fixture's).
TEST(Convert, ExpertLayoutsAreCheckedOrSaid) {
    {
        const fs::path d = copy_fixture("mixtral-f16-untied", "expert-missing");
        rewrite_config(d / "hf", "\"num_local_experts\": 4", "\"num_local_experts\": 5");
        expect_failure(d, {"block_sparse_moe.gate.weight", "[4, 32]", "[5, 32]"});  // the router, checked first
    }
    {
        const fs::path d = copy_fixture("qwen3moe-bf16-untied-shards", "sparse-step");
        rewrite_config(d / "hf", "\"decoder_sparse_step\": 1", "\"decoder_sparse_step\": 2");
        expect_failure(d, {"decoder_sparse_step", "dense layers"});
    }
    {
        const fs::path d = copy_fixture("qwen3moe-bf16-untied-shards", "mlp-only");
        rewrite_config(d / "hf", "\"mlp_only_layers\": []", "\"mlp_only_layers\": [1]");
        expect_failure(d, {"mlp_only_layers"});
    }
    const fs::path d = copy_fixture("qwen3moe-bf16-untied-shards", "unnormalized");
    rewrite_config(d / "hf", "\"norm_topk_prob\": true", "\"norm_topk_prob\": false");
    const std::string out = (d / "out.gguf").string();
    ASSERT_EQ(convert_to((d / "hf").string(), out, "F32"), "");
    auto f = gguf::File::open(out);
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(*(*f)->get_bool("qwen3moe.expert_weights_norm", true));
    auto e = json::parse_file((d / "hf" / "expected.json").string());
    ASSERT_TRUE(e.ok());
    const double moved = max_abs_diff(last8_logits(out, ints((*e)["prompt_ids"])), test::read_f32((d / "hf" / "logits.f32").string()));
    EXPECT_GT(moved, 0.05) << "expert_weights_norm false was not honoured";
}

TEST(Convert, UnsupportedArchitectureIsNamed) {
    const fs::path d = copy_fixture("mistral-bf16", "arch");
    rewrite_config(d / "hf", "MistralForCausalLM", "GPTNeoXForCausalLM");
    expect_failure(d, {"GPTNeoXForCausalLM", "not supported", "config.json"});
}

TEST(Convert, MissingTensorAndIndexWithoutItsShardAreNamed) {
    {
        const fs::path d = copy_fixture("qwen2-f16-untied", "lm-head");
        rewrite_config(d / "hf", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3");
        expect_failure(d, {"model.layers.2."});
    }
    {
        const fs::path d = copy_fixture("llama-f16-mha-shards", "index");
        fs::remove(d / "hf" / "model-00003-of-00007.safetensors");
        expect_failure(d, {"model-00003-of-00007.safetensors"});
    }
}

// A full disk while writing (RLIMIT_FSIZE through the shell's ulimit: writes past 64 KiB fail):
// hearth-cli says so on stderr, exits non-zero, and leaves neither OUT nor OUT.part.
TEST(Convert, FullDiskLeavesNoOutput) {
    const std::string cli = HEARTH_CLI_PATH;
    if (!fs::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli;
    const fs::path d = temp_dir("fulldisk");
    const std::string out = (d / "out.gguf").string();
    const std::string cmd = "sh -c \"trap '' XFSZ; ulimit -f 64; exec '" + cli + "' convert '" +
                            test::fixture_path("convert/llama-f32-headdim-llama3") + "' -o '" + out + "' -q\" 2>&1";
    std::string text;
    const int rc = test::run_shell(cmd, &text);
    EXPECT_TRUE(rc > 0) << text;
    EXPECT_NE(text.find("out.gguf.part"), std::string::npos) << text;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(out + ".part"));
}

// hearth-cli convert end to end: the summary names the peak anonymous memory.
TEST(Convert, CliPrintsPeakMemory) {
    const std::string cli = HEARTH_CLI_PATH;
    if (!fs::exists(cli)) GTEST_SKIP() << "hearth-cli not built at " << cli;
    const std::string out = (temp_dir("cli") / "out.gguf").string();
    const std::string cmd = "'" + cli + "' convert '" + test::fixture_path("convert/qwen2-f32-tied") + "' -o '" + out + "' --type Q8_0 -q 2>&1";
    std::string text;
    EXPECT_EQ(test::run_shell(cmd, &text), 0) << text;
    EXPECT_NE(text.find("peak anonymous memory"), std::string::npos) << text;
    EXPECT_TRUE(fs::exists(out));
}

// Cancelling from the progress callback (the wizard's Cancel) is an error and leaves no file.
TEST(Convert, CancelLeavesNoOutput) {
    const fs::path d = temp_dir("cancel");
    convert::ConvertOptions opt;
    opt.hf_dir = test::fixture_path("convert/qwen2-f32-tied");
    opt.out_path = (d / "out.gguf").string();
    int calls = 0;
    auto r = convert::convert_hf_to_gguf(opt, [&](float) { return ++calls < 3; });
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("cancelled"), std::string::npos) << r.message();
    EXPECT_EQ(calls, 3);
    EXPECT_FALSE(fs::exists(opt.out_path));
    EXPECT_FALSE(fs::exists(opt.out_path + ".part"));
}

// The chat template comes from tokenizer_config.json or, when that has none (newer transformers),
// from chat_template.jinja beside it.
TEST(Convert, ChatTemplateFromJinjaFile) {
    const fs::path d = copy_fixture("qwen2-f32-tied", "jinja");
    const std::string tmpl = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
    std::ofstream(d / "hf" / "chat_template.jinja") << tmpl;
    const std::string out = (d / "out.gguf").string();
    ASSERT_EQ(convert_to((d / "hf").string(), out, "F16"), "");
    auto f = gguf::File::open(out);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*(*f)->get_string("tokenizer.chat_template"), tmpl);
}

TEST(Convert, TruncatedSentencePieceModelNamesTheFile) {
    const fs::path d = copy_fixture("llama-spm-bf16", "spm");
    const fs::path model = d / "hf" / "tokenizer.model";
    fs::resize_file(model, fs::file_size(model) / 2 + 1);
    expect_failure(d, {"tokenizer.model"});
}
