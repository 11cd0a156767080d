// GGUF reader and writer: the shared real files, a writer->reader round trip of every value type,
// typed getters, and many corrupted files that must each give an error (never a crash; this test
// also runs under ASan/UBSan in CI).
#include <gtest/gtest.h>

#include <csignal>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "engine/gguf/gguf.h"
#include "engine/quant/quant.h"
#include "tests/engine/testdata.h"

using namespace hearth;
using gguf::ValueType;

namespace {

// ---- the shared files --------------------------------------------------------------------------

std::vector<std::string> files_in(const std::string& dir, const std::string& suffix) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string p = e.path().string();
        if (p.size() >= suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) out.push_back(p);
    }
    std::sort(out.begin(), out.end());
    return out;
}

TEST(GgufShared, ReadsEveryVocabFile) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const auto paths = files_in(dir + "/vocab", ".gguf");
    ASSERT_GE(paths.size(), 5u);
    for (const auto& p : paths) {
        SCOPED_TRACE(p);
        auto f = gguf::File::open(p);
        ASSERT_TRUE(f.ok()) << f.message();
        EXPECT_EQ((*f)->version(), 3u);
        EXPECT_TRUE((*f)->tensors().empty());
        auto tokens = (*f)->get_string_array("tokenizer.ggml.tokens");
        ASSERT_TRUE(tokens.ok()) << tokens.message();
        EXPECT_GT(tokens->size(), 30000u);
        auto model = (*f)->get_string("tokenizer.ggml.model");
        ASSERT_TRUE(model.ok());
        EXPECT_TRUE(*model == "llama" || *model == "gpt2") << *model;
        // token types are i32, one per token
        auto types = (*f)->get_int_array("tokenizer.ggml.token_type");
        ASSERT_TRUE(types.ok()) << types.message();
        EXPECT_EQ(types->size(), tokens->size());
        if (*model == "llama") {
            auto scores = (*f)->get_float_array("tokenizer.ggml.scores");
            ASSERT_TRUE(scores.ok()) << scores.message();
            EXPECT_EQ(scores->size(), tokens->size());
        } else {
            auto merges = (*f)->get_string_array("tokenizer.ggml.merges");
            ASSERT_TRUE(merges.ok()) << merges.message();
            EXPECT_GT(merges->size(), 1000u);
        }
    }
}

TEST(GgufShared, ReadsEveryReferenceModel) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const auto paths = files_in(dir + "/reference", ".gguf");
    ASSERT_GE(paths.size(), 5u);
    for (const auto& p : paths) {
        SCOPED_TRACE(p);
        auto r = gguf::File::open(p);
        ASSERT_TRUE(r.ok()) << r.message();
        const gguf::File& f = **r;
        auto arch = f.get_string("general.architecture");
        ASSERT_TRUE(arch.ok());
        EXPECT_TRUE(*arch == "llama" || *arch == "qwen2");
        auto n_embd = f.get_int(*arch + ".embedding_length", 0);
        ASSERT_TRUE(n_embd.ok());
        EXPECT_EQ(*n_embd, 64);
        const gguf::TensorInfo* emb = f.tensor("token_embd.weight");
        ASSERT_NE(emb, nullptr);
        EXPECT_EQ(emb->ne(0), 64);
        EXPECT_EQ(emb->ne(1), 32000);
        size_t total = 0;
        for (const auto& t : f.tensors()) {
            ASSERT_NE(t.data, nullptr);
            EXPECT_EQ(t.n_bytes, row_bytes(t.type, t.ne(0)) * size_t(t.n_elements() / t.ne(0))) << t.name;
            EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % f.alignment(), 0u) << t.name;
            total += t.n_bytes;
        }
        EXPECT_LT(total, f.file_size());
        // Embeddings were drawn N(0,1): the dequantized first row has a plausible spread.
        std::vector<float> row(64);
        dequantize_row(emb->type, emb->data, row.data(), 64);
        double ss = 0;
        for (float v : row) ss += double(v) * v;
        EXPECT_GT(ss / 64, 0.1);
        EXPECT_LT(ss / 64, 10.0);
    }
}

// ---- round trip --------------------------------------------------------------------------------

gguf::Value make_scalar(ValueType t, int64_t i, double f = 0) {
    gguf::Value v;
    v.type = t;
    v.i = i;
    v.u = uint64_t(i);
    v.f = f;
    return v;
}

TEST(GgufRoundTrip, EveryValueTypeAndSeveralTensorTypes) {
    gguf::Writer w;
    w.set_u32("general.alignment", 64);
    w.set_value("t.u8", make_scalar(ValueType::U8, 250));
    w.set_value("t.i8", make_scalar(ValueType::I8, -100));
    w.set_value("t.u16", make_scalar(ValueType::U16, 65000));
    w.set_value("t.i16", make_scalar(ValueType::I16, -32000));
    w.set_u32("t.u32", 4000000000u);
    w.set_i32("t.i32", -2000000000);
    w.set_f32("t.f32", 1.5f);
    w.set_bool("t.bool", true);
    w.set_string("t.string", "héllo\n\"world\"");
    w.set_string("t.empty", "");
    w.set_u64("t.u64", 18000000000000000000ull);
    w.set_value("t.i64", make_scalar(ValueType::I64, -9000000000000000000ll));
    w.set_value("t.f64", make_scalar(ValueType::F64, 0, 3.141592653589793));
    w.set_string_array("t.strings", {"a", "", "ccc", "\xe4\xb8\xad"});
    w.set_i32_array("t.ints", {1, -2, 3});
    w.set_f32_array("t.floats", {0.25f, -1e30f});
    w.set_string_array("t.empty_array", {});
    gguf::Value nested;  // [[1, 2], [], [3]] of u16
    nested.type = ValueType::ARRAY;
    nested.elem_type = ValueType::ARRAY;
    for (std::vector<int> inner : {std::vector<int>{1, 2}, std::vector<int>{}, std::vector<int>{3}}) {
        gguf::Value a;
        a.type = ValueType::ARRAY;
        a.elem_type = ValueType::U16;
        for (int x : inner) a.arr.push_back(make_scalar(ValueType::U16, x));
        nested.arr.push_back(a);
    }
    w.set_value("t.nested", nested);
    w.set_u32("t.replaced", 1);
    w.set_u32("t.replaced", 2);  // a key set twice is replaced, never duplicated

    // Tensors: F32 1-D, F16 2-D, Q8_0 2-D, Q4_K 3-D, and a lazily produced Q6_K.
    std::mt19937 rng(7);
    std::normal_distribution<float> nd;
    std::vector<float> f32(10);
    for (auto& x : f32) x = nd(rng);
    std::vector<uint16_t> f16(6 * 4);
    for (size_t k = 0; k < f16.size(); ++k) f16[k] = uint16_t(k * 977);
    std::vector<uint8_t> q8(2 * sizeof(block_q8_0) * 3);
    for (auto& b : q8) b = uint8_t(rng());
    std::vector<uint8_t> q4k(sizeof(block_q4_K) * 2 * 2);
    for (auto& b : q4k) b = uint8_t(rng());
    ASSERT_TRUE(w.add_tensor("norm.weight", GgmlType::F32, {10}, f32.data(), f32.size() * 4).ok());
    ASSERT_TRUE(w.add_tensor("f16.weight", GgmlType::F16, {6, 4}, f16.data(), f16.size() * 2).ok());
    ASSERT_TRUE(w.add_tensor("q8.weight", GgmlType::Q8_0, {64, 3}, q8.data(), q8.size(), /*borrow=*/true).ok());
    ASSERT_TRUE(w.add_tensor("q4k.weight", GgmlType::Q4_K, {256, 2, 2}, q4k.data(), q4k.size()).ok());
    ASSERT_TRUE(w.add_tensor_lazy("q6k.weight", GgmlType::Q6_K, {256, 1}, [](void* dst, size_t n) {
                    std::memset(dst, 0x5a, n);
                    return Status();
                }).ok());
    // Writer-side checks
    EXPECT_FALSE(w.add_tensor("norm.weight", GgmlType::F32, {10}, f32.data(), 40).ok()) << "duplicate name";
    EXPECT_FALSE(w.add_tensor("bad.size", GgmlType::F32, {10}, f32.data(), 36).ok()) << "wrong byte count";
    EXPECT_FALSE(w.add_tensor("bad.block", GgmlType::Q8_0, {31}, q8.data(), 34).ok()) << "row not a block multiple";
    EXPECT_FALSE(w.add_tensor("bad.dims", GgmlType::F32, {1, 1, 1, 1, 1}, f32.data(), 4).ok()) << "5 dims";
    EXPECT_FALSE(w.add_tensor(std::string(64, 'x'), GgmlType::F32, {1}, f32.data(), 4).ok()) << "name too long";
    EXPECT_EQ(w.tensor_count(), 5u);

    const std::vector<uint8_t> bytes = w.to_bytes();
    ASSERT_FALSE(bytes.empty());
    auto r = gguf::File::from_memory(bytes.data(), bytes.size(), "roundtrip");
    ASSERT_TRUE(r.ok()) << r.message();
    const gguf::File& f = **r;
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.metadata().size(), 20u);
    EXPECT_EQ(f.metadata()[0].first, "general.alignment");  // insertion order kept
    EXPECT_EQ(f.find("t.u8")->type, ValueType::U8);
    EXPECT_EQ(f.find("t.u8")->as_int(), 250);
    EXPECT_EQ(f.find("t.i8")->as_int(), -100);
    EXPECT_EQ(f.find("t.u16")->as_int(), 65000);
    EXPECT_EQ(f.find("t.i16")->as_int(), -32000);
    EXPECT_EQ(*f.get_int("t.u32", 0), 4000000000ll);
    EXPECT_EQ(*f.get_int("t.i32", 0), -2000000000ll);
    EXPECT_EQ(*f.get_float("t.f32", 0), 1.5);
    EXPECT_EQ(*f.get_bool("t.bool", false), true);
    EXPECT_EQ(*f.get_string("t.string"), "héllo\n\"world\"");
    EXPECT_EQ(*f.get_string("t.empty", "x"), "");
    EXPECT_EQ(f.find("t.u64")->u, 18000000000000000000ull);
    EXPECT_EQ(f.find("t.u64")->type, ValueType::U64);
    EXPECT_FALSE(f.get_int("t.u64", 0).ok()) << "above INT64_MAX is an error, not a wrap";
    EXPECT_EQ(*f.get_int("t.i64", 0), -9000000000000000000ll);
    EXPECT_EQ(*f.get_float("t.f64", 0), 3.141592653589793);
    EXPECT_EQ(*f.get_string_array("t.strings"), (std::vector<std::string>{"a", "", "ccc", "\xe4\xb8\xad"}));
    EXPECT_EQ(*f.get_int_array("t.ints"), (std::vector<int64_t>{1, -2, 3}));
    EXPECT_EQ(*f.get_float_array("t.floats"), (std::vector<double>{0.25, double(-1e30f)}));
    EXPECT_TRUE(f.get_string_array("t.empty_array")->empty());
    const gguf::Value* nv = f.find("t.nested");
    ASSERT_NE(nv, nullptr);
    ASSERT_EQ(nv->elem_type, ValueType::ARRAY);
    ASSERT_EQ(nv->arr.size(), 3u);
    EXPECT_EQ(nv->arr[0].elem_type, ValueType::U16);
    ASSERT_EQ(nv->arr[0].arr.size(), 2u);
    EXPECT_EQ(nv->arr[0].arr[1].as_int(), 2);
    EXPECT_TRUE(nv->arr[1].arr.empty());
    EXPECT_EQ(nv->arr[2].arr[0].as_int(), 3);
    EXPECT_EQ(*f.get_int("t.replaced", 0), 2);

    ASSERT_EQ(f.tensors().size(), 5u);
    const char* names[] = {"norm.weight", "f16.weight", "q8.weight", "q4k.weight", "q6k.weight"};
    for (size_t k = 0; k < 5; ++k) EXPECT_EQ(f.tensors()[k].name, names[k]);
    const gguf::TensorInfo* t = f.tensor("norm.weight");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dims, (std::vector<int64_t>{10}));
    EXPECT_EQ(std::memcmp(t->data, f32.data(), 40), 0);
    t = f.tensor("f16.weight");
    EXPECT_EQ(t->type, GgmlType::F16);
    EXPECT_EQ(t->dims, (std::vector<int64_t>{6, 4}));
    EXPECT_EQ(std::memcmp(t->data, f16.data(), f16.size() * 2), 0);
    t = f.tensor("q8.weight");
    EXPECT_EQ(t->type, GgmlType::Q8_0);
    EXPECT_EQ(t->n_bytes, q8.size());
    EXPECT_EQ(std::memcmp(t->data, q8.data(), q8.size()), 0);
    t = f.tensor("q4k.weight");
    EXPECT_EQ(t->dims, (std::vector<int64_t>{256, 2, 2}));
    EXPECT_EQ(t->n_elements(), 1024);
    EXPECT_EQ(std::memcmp(t->data, q4k.data(), q4k.size()), 0);
    t = f.tensor("q6k.weight");
    EXPECT_EQ(t->n_bytes, sizeof(block_q6_K));
    EXPECT_EQ(t->data[0], 0x5a);
    EXPECT_EQ(t->data[sizeof(block_q6_K) - 1], 0x5a);
    for (const auto& ti : f.tensors()) EXPECT_EQ(ti.offset % 64, 0u) << ti.name;
    EXPECT_EQ(f.tensor("missing"), nullptr);

    // The same image through write(): atomic (no .part left), then mmapped by open().
    const std::string path = ::testing::TempDir() + "hearth_gguf_roundtrip.gguf";
    ASSERT_TRUE(w.write(path).ok());
    EXPECT_FALSE(std::filesystem::exists(path + ".part"));
    auto r2 = gguf::File::open(path);
    ASSERT_TRUE(r2.ok()) << r2.message();
    EXPECT_EQ((*r2)->file_size(), bytes.size());
    const std::string on_disk = test::read_file(path);
    ASSERT_EQ(on_disk.size(), bytes.size());
    EXPECT_EQ(std::memcmp(on_disk.data(), bytes.data(), bytes.size()), 0);
    std::filesystem::remove(path);

    // copy_metadata_from copies everything except general.alignment, in order.
    gguf::Writer w2;
    w2.copy_metadata_from(f);
    auto bytes2 = w2.to_bytes();
    auto r3 = gguf::File::from_memory(bytes2.data(), bytes2.size());
    ASSERT_TRUE(r3.ok()) << r3.message();
    EXPECT_EQ((*r3)->metadata().size(), 19u);
    EXPECT_EQ((*r3)->alignment(), 32u);
    EXPECT_EQ((*r3)->find("general.alignment"), nullptr);
    EXPECT_EQ((*r3)->find("t.nested")->arr[0].arr[1].as_int(), 2);
}

TEST(GgufRoundTrip, FailingFillAbortsWriteAndLeavesNoFile) {
    gguf::Writer w;
    w.set_string("general.architecture", "llama");
    ASSERT_TRUE(w.add_tensor_lazy("x.weight", GgmlType::F32, {4}, [](void*, size_t) {
                    return make_error("source went away");
                }).ok());
    const std::string path = ::testing::TempDir() + "hearth_gguf_fail.gguf";
    Status st = w.write(path);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("source went away"), std::string::npos) << st.message();
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_FALSE(std::filesystem::exists(path + ".part"));
    // A directory that does not exist is an error too, not a crash.
    EXPECT_FALSE(w.write("/nonexistent-dir/x.gguf").ok());
    // A bad alignment is refused at write time.
    gguf::Writer w2;
    w2.set_u32("general.alignment", 48);
    EXPECT_FALSE(w2.write(::testing::TempDir() + "hearth_gguf_align.gguf").ok());
    EXPECT_TRUE(w2.to_bytes().empty());
}

TEST(GgufRoundTrip, FullDiskIsAnErrorAndLeavesNoFile) {
    // Simulate a full disk with a file-size limit: write() then fails with EFBIG (SIGXFSZ ignored).
    gguf::Writer w;
    std::vector<uint8_t> big(1 << 20, 0x11);
    ASSERT_TRUE(w.add_tensor("big.weight", GgmlType::I8, {int64_t(big.size())}, big.data(), big.size(), true).ok());
    const std::string path = ::testing::TempDir() + "hearth_gguf_full.gguf";
    struct rlimit old_lim {};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = old_lim;
    lim.rlim_cur = 64 * 1024;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    Status st = w.write(path);
    setrlimit(RLIMIT_FSIZE, &old_lim);
    std::signal(SIGXFSZ, old_handler);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("write failed"), std::string::npos) << st.message();
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_FALSE(std::filesystem::exists(path + ".part"));
    // With the limit lifted the same writer succeeds.
    ASSERT_TRUE(w.write(path).ok());
    EXPECT_EQ(std::filesystem::file_size(path), w.to_bytes().size());
    std::filesystem::remove(path);
}

TEST(GgufGetters, WrongTypesAndMissingKeys) {
    gguf::Writer w;
    w.set_string("s", "text");
    w.set_u32("n", 7);
    w.set_f32("x", 0.5f);
    w.set_bool("b", false);
    w.set_i32_array("ints", {1, 2});
    auto bytes = w.to_bytes();
    auto r = gguf::File::from_memory(bytes.data(), bytes.size(), "getters.gguf");
    ASSERT_TRUE(r.ok()) << r.message();
    const gguf::File& f = **r;
    EXPECT_EQ(*f.get_string("missing", "fb"), "fb");
    EXPECT_EQ(*f.get_int("missing", 42), 42);
    EXPECT_EQ(*f.get_float("missing", 2.5), 2.5);
    EXPECT_EQ(*f.get_bool("missing", true), true);
    EXPECT_FALSE(f.get_string_array("missing").ok());
    EXPECT_FALSE(f.get_float_array("missing").ok());
    EXPECT_FALSE(f.get_int_array("missing").ok());
    auto bad = f.get_string("n");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("getters.gguf: metadata 'n' is a u32, expected a string"), std::string::npos) << bad.message();
    EXPECT_FALSE(f.get_int("s", 0).ok());
    EXPECT_FALSE(f.get_int("x", 0).ok()) << "a float is not an integer";
    EXPECT_EQ(*f.get_float("n", 0), 7.0) << "an integer is a number";
    EXPECT_FALSE(f.get_bool("s", false).ok());
    EXPECT_EQ(*f.get_bool("b", true), false);
    EXPECT_FALSE(f.get_string_array("ints").ok());
    EXPECT_EQ(*f.get_float_array("ints"), (std::vector<double>{1, 2}));
    EXPECT_FALSE(f.get_int_array("s").ok());
}

// ---- corrupted files ---------------------------------------------------------------------------

// Builds GGUF bytes field by field and remembers where each named field starts, so a test can
// patch or cut the file exactly there.
struct Image {
    std::vector<uint8_t> b;
    std::map<std::string, size_t> at;

    void mark(const std::string& name) { at[name] = b.size(); }
    template <class T>
    void pod(T v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        b.insert(b.end(), p, p + sizeof(T));
    }
    void str(const std::string& s, const std::string& name) {
        mark(name + ".len");
        pod<uint64_t>(s.size());
        mark(name + ".bytes");
        b.insert(b.end(), s.begin(), s.end());
    }
    void pad(size_t al) {
        while (b.size() % al) b.push_back(0);
    }
    template <class T>
    void patch(const std::string& name, T v) {
        std::memcpy(b.data() + at.at(name), &v, sizeof(T));
    }
    void cut(const std::string& name, size_t plus) { b.resize(at.at(name) + plus); }
};

// A small valid file: 4 metadata entries (string, string array, nested array, u32) and two tensors
// (Q8_0 [32, 2] = 68 bytes at offset 0; F32 [8] = 32 bytes at offset 96). It ends exactly at the
// end of the last tensor, so every shorter prefix is truncated.
Image base_image() {
    Image im;
    im.mark("magic");
    im.pod<uint32_t>(0x46554747);
    im.mark("version");
    im.pod<uint32_t>(3);
    im.mark("n_tensors");
    im.pod<uint64_t>(2);
    im.mark("n_kv");
    im.pod<uint64_t>(4);

    im.str("general.architecture", "kv0.key");
    im.mark("kv0.type");
    im.pod<uint32_t>(uint32_t(ValueType::STRING));
    im.str("llama", "kv0.val");

    im.str("tokenizer.ggml.tokens", "kv1.key");
    im.mark("kv1.type");
    im.pod<uint32_t>(uint32_t(ValueType::ARRAY));
    im.mark("kv1.elem_type");
    im.pod<uint32_t>(uint32_t(ValueType::STRING));
    im.mark("kv1.count");
    im.pod<uint64_t>(3);
    im.str("a", "kv1.e0");
    im.str("bc", "kv1.e1");
    im.str("def", "kv1.e2");

    im.str("general.archITECTURE", "kv2.key");
    im.mark("kv2.type");
    im.pod<uint32_t>(uint32_t(ValueType::ARRAY));
    im.pod<uint32_t>(uint32_t(ValueType::ARRAY));
    im.pod<uint64_t>(2);
    im.mark("kv2.inner0");
    im.pod<uint32_t>(uint32_t(ValueType::I32));
    im.mark("kv2.inner0.count");
    im.pod<uint64_t>(2);
    im.pod<int32_t>(1);
    im.mark("kv2.inner0.e1");
    im.pod<int32_t>(2);
    im.pod<uint32_t>(uint32_t(ValueType::U8));
    im.pod<uint64_t>(1);
    im.pod<uint8_t>(9);

    im.str("general.alignment", "kv3.key");
    im.mark("kv3.type");
    im.pod<uint32_t>(uint32_t(ValueType::U32));
    im.mark("kv3.val");
    im.pod<uint32_t>(32);

    im.str("blk.0.attn_q.weight", "ti0.name");
    im.mark("ti0.n_dims");
    im.pod<uint32_t>(2);
    im.mark("ti0.dim0");
    im.pod<uint64_t>(32);
    im.mark("ti0.dim1");
    im.pod<uint64_t>(2);
    im.mark("ti0.type");
    im.pod<uint32_t>(uint32_t(GgmlType::Q8_0));
    im.mark("ti0.offset");
    im.pod<uint64_t>(0);

    im.str("blk.0.attn_k.weight", "ti1.name");
    im.mark("ti1.n_dims");
    im.pod<uint32_t>(1);
    im.mark("ti1.dim0");
    im.pod<uint64_t>(8);
    im.mark("ti1.type");
    im.pod<uint32_t>(uint32_t(GgmlType::F32));
    im.mark("ti1.offset");
    im.pod<uint64_t>(96);

    im.mark("infos_end");
    im.pad(32);
    im.mark("data");
    for (int k = 0; k < 96; ++k) im.b.push_back(uint8_t(k));
    im.mark("data1");
    for (int k = 0; k < 8; ++k) im.pod<float>(float(k));
    return im;
}

Result<std::unique_ptr<gguf::File>> parse(const Image& im) {
    return gguf::File::from_memory(im.b.data(), im.b.size(), "bad.gguf");
}

TEST(GgufCorrupt, BaseImageIsValid) {
    Image im = base_image();
    auto r = parse(im);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ((*r)->tensors().size(), 2u);
    EXPECT_NE(im.at["infos_end"] % 32, 0u);  // so the "cut in alignment padding" variant cuts padding
    EXPECT_EQ((*r)->tensor("blk.0.attn_k.weight")->data, im.b.data() + im.at["data1"]);
    EXPECT_EQ(*(*r)->get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "bc", "def"}));
}

struct Variant {
    const char* name;
    std::function<void(Image&)> mutate;
    const char* expect;  // a substring the error message must contain
};

TEST(GgufCorrupt, EveryVariantIsAnError) {
    const uint64_t huge = uint64_t(1) << 62;
    const std::vector<Variant> variants = {
        // truncation inside each section
        {"empty", [](Image& im) { im.b.clear(); }, "truncated in header: magic"},
        {"cut in magic", [](Image& im) { im.cut("magic", 3); }, "truncated in header: magic"},
        {"cut in version", [](Image& im) { im.cut("version", 2); }, "truncated in header: version"},
        {"cut in tensor count", [](Image& im) { im.cut("n_tensors", 5); }, "truncated in header: tensor count"},
        {"cut in metadata count", [](Image& im) { im.cut("n_kv", 7); }, "truncated in header"},
        {"cut in key length", [](Image& im) { im.cut("kv3.key.len", 4); }, "truncated in metadata 3: key needs 8 bytes"},
        {"cut before counts fit", [](Image& im) { im.cut("kv0.key.len", 4); }, "truncated in header: metadata count 4 cannot fit"},
        {"cut in key bytes", [](Image& im) { im.cut("kv2.key.bytes", 4); }, "truncated in "},
        {"cut in value type", [](Image& im) { im.cut("kv3.type", 2); }, "truncated in metadata 3 ('general.alignment'): value type"},
        {"cut in string value", [](Image& im) { im.patch<uint64_t>("n_kv", 1); im.patch<uint64_t>("n_tensors", 0); im.cut("kv0.val.bytes", 2); }, "truncated in metadata 0 ('general.architecture'): string of 5 bytes"},
        {"cut in array element type", [](Image& im) { im.cut("kv1.elem_type", 1); }, "truncated in "},
        {"cut in array length", [](Image& im) { im.cut("kv1.count", 6); }, "truncated in "},
        {"cut in string array element", [](Image& im) { im.cut("kv1.e2.bytes", 1); }, "truncated in "},
        {"cut in nested array", [](Image& im) { im.cut("kv2.inner0.e1", 2); }, "truncated in "},
        {"cut in tensor name", [](Image& im) { im.cut("ti0.name.bytes", 5); }, "truncated in "},
        {"cut in n_dims", [](Image& im) { im.cut("ti0.n_dims", 3); }, "truncated in "},
        {"cut in dims", [](Image& im) { im.cut("ti0.dim1", 3); }, "truncated in "},
        {"cut in tensor type", [](Image& im) { im.cut("ti1.type", 1); }, "truncated in "},
        {"cut in tensor offset", [](Image& im) { im.cut("ti1.offset", 7); }, "truncated in tensor info 1 ('blk.0.attn_k.weight'): data offset"},
        {"cut in alignment padding", [](Image& im) { im.b.resize(im.at["infos_end"] + 1); }, "truncated in tensor data"},
        {"cut in tensor data", [](Image& im) { im.b.resize(im.b.size() - 1); }, "truncated in tensor 1 ('blk.0.attn_k.weight')"},
        {"cut in first tensor's data", [](Image& im) { im.b.resize(im.at["data"] + 10); }, "truncated in tensor 0 ('blk.0.attn_q.weight')"},
        // huge counts and lengths
        {"huge metadata count", [&](Image& im) { im.patch<uint64_t>("n_kv", huge); }, "metadata count"},
        {"huge tensor count", [&](Image& im) { im.patch<uint64_t>("n_tensors", huge); }, "tensor count"},
        {"max tensor count", [](Image& im) { im.patch<uint64_t>("n_tensors", ~uint64_t(0)); }, "tensor count"},
        {"huge key length", [](Image& im) { im.patch<uint64_t>("kv1.key.len", ~uint64_t(0)); }, "truncated in metadata 1: key of"},
        {"huge string length", [&](Image& im) { im.patch<uint64_t>("kv0.val.len", huge); }, "truncated in metadata 0 ('general.architecture')"},
        {"huge array length", [&](Image& im) { im.patch<uint64_t>("kv1.count", huge); }, "array of 4611686018427387904 string elements needs more than 2^64 bytes"},
        {"max array length", [](Image& im) { im.patch<uint64_t>("kv1.count", ~uint64_t(0)); }, "array of"},
        {"huge string in array", [&](Image& im) { im.patch<uint64_t>("kv1.e1.len", huge); }, "array element 1"},
        {"huge inner array", [&](Image& im) { im.patch<uint64_t>("kv2.inner0.count", huge); }, "array element 0"},
        {"huge tensor name", [&](Image& im) { im.patch<uint64_t>("ti1.name.len", huge); }, "truncated in tensor info 1: name"},
        // unknown types
        {"unknown value type", [](Image& im) { im.patch<uint32_t>("kv3.type", 13); }, "unknown value type 13"},
        {"unknown array element type", [](Image& im) { im.patch<uint32_t>("kv1.elem_type", 99); }, "unknown array element type 99"},
        {"unknown tensor type", [](Image& im) { im.patch<uint32_t>("ti1.type", 99); }, "tensor type with unknown type id 99 is not supported"},
        {"unsupported tensor type", [](Image& im) { im.patch<uint32_t>("ti1.type", 16); }, "IQ2_XXS (type id 16) is not supported"},
        {"removed tensor type", [](Image& im) { im.patch<uint32_t>("ti1.type", 4); }, "not supported"},
        // offsets and sizes
        {"offset past the end", [](Image& im) { im.patch<uint64_t>("ti1.offset", 4096); }, "ends past the end of the file"},
        {"offset near 2^64", [](Image& im) { im.patch<uint64_t>("ti1.offset", ~uint64_t(31)); }, "ends past the end of the file"},
        {"misaligned offset", [](Image& im) { im.patch<uint64_t>("ti1.offset", 100); }, "not a multiple of the alignment 32"},
        {"overlapping tensors", [](Image& im) { im.patch<uint64_t>("ti1.offset", 64); }, "overlaps tensor 'blk.0.attn_q.weight'"},
        {"tensor larger than file", [](Image& im) { im.patch<uint64_t>("ti0.dim1", uint64_t(1) << 40); }, "more than the whole file"},
        // names
        {"duplicate key", [](Image& im) { std::memcpy(im.b.data() + im.at["kv2.key.bytes"], "general.architecture", 20); }, "bad metadata 2 ('general.architecture'): duplicate key 'general.architecture'"},
        {"duplicate tensor", [](Image& im) { std::memcpy(im.b.data() + im.at["ti1.name.bytes"], "blk.0.attn_q.weight", 19); }, "bad tensor info 1 ('blk.0.attn_q.weight'): duplicate tensor name"},
        // alignment
        {"alignment zero", [](Image& im) { im.patch<uint32_t>("kv3.val", 0); }, "general.alignment is 0"},
        {"alignment not a power of two", [](Image& im) { im.patch<uint32_t>("kv3.val", 48); }, "general.alignment is 48"},
        {"alignment wrong type", [](Image& im) { im.patch<uint32_t>("kv3.type", uint32_t(ValueType::F32)); }, "general.alignment must be an integer"},
        // dimensions
        {"n_dims 5", [](Image& im) { im.patch<uint32_t>("ti0.n_dims", 5); }, "has 5 dimensions, at most 4"},
        {"n_dims huge", [](Image& im) { im.patch<uint32_t>("ti0.n_dims", 0xffffffffu); }, "dimensions, at most 4"},
        {"dimension product overflow", [](Image& im) { im.patch<uint64_t>("ti0.dim0", uint64_t(1) << 40); im.patch<uint64_t>("ti0.dim1", uint64_t(1) << 40); }, "overflows 64 bits"},
        // One row's bytes overflow: 2^62 + 8 F32 values are 2^64 + 32 bytes, which wrapped to 32 (the
        // 8 bytes the tensor has) and let a reader of n_elements() run past the file (found by fuzz_imatrix).
        {"row byte size overflow", [](Image& im) { im.patch<uint64_t>("ti1.dim0", (uint64_t(1) << 62) + 8); }, "overflows 64 bits"},
        {"negative dimension", [](Image& im) { im.patch<uint64_t>("ti0.dim1", ~uint64_t(0)); }, "too large"},
        {"row not a block multiple", [](Image& im) { im.patch<uint64_t>("ti0.dim0", 31); }, "row length 31 is not a multiple of the Q8_0 block size 32"},
        // header
        {"bad magic", [](Image& im) { im.patch<uint32_t>("magic", 0x46554746); }, "not a GGUF file"},
        {"version 1", [](Image& im) { im.patch<uint32_t>("version", 1); }, "version 1 is not supported"},
        {"version 4", [](Image& im) { im.patch<uint32_t>("version", 4); }, "unsupported GGUF version 4"},
        {"big-endian", [](Image& im) { im.patch<uint32_t>("version", 0x03000000); }, "big-endian"},
        // values
        {"bool value 2", [](Image& im) { im.patch<uint32_t>("kv3.type", uint32_t(ValueType::BOOL)); im.b[im.at["kv3.val"]] = 2; }, "not 0 or 1"},
    };
    ASSERT_GE(variants.size(), 30u);
    for (const Variant& v : variants) {
        SCOPED_TRACE(v.name);
        Image im = base_image();
        v.mutate(im);
        auto r = parse(im);
        ASSERT_FALSE(r.ok()) << v.name << " was accepted";
        std::printf("  %-30s -> %s\n", v.name, r.message().c_str());  // the messages a user would see
        EXPECT_EQ(r.message().rfind("bad.gguf: ", 0), 0u) << r.message();
        EXPECT_NE(r.message().find(v.expect), std::string::npos) << "message: " << r.message();
    }
}

TEST(GgufCorrupt, EveryPrefixIsAnError) {
    const Image im = base_image();
    for (size_t n = 0; n < im.b.size(); ++n) {
        auto r = gguf::File::from_memory(im.b.data(), n, "prefix.gguf");
        ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
        ASSERT_NE(r.message().find("truncated"), std::string::npos) << n << ": " << r.message();
    }
}

TEST(GgufCorrupt, DeepNestingIsBounded) {
    Image im;
    im.pod<uint32_t>(0x46554747);
    im.pod<uint32_t>(3);
    im.pod<uint64_t>(0);
    im.pod<uint64_t>(1);
    im.str("deep", "k");
    im.pod<uint32_t>(uint32_t(ValueType::ARRAY));
    for (int d = 0; d < 100; ++d) {  // 100 levels of [ [ [ ... ] ] ]
        im.pod<uint32_t>(uint32_t(ValueType::ARRAY));
        im.pod<uint64_t>(1);
    }
    im.pod<uint32_t>(uint32_t(ValueType::U8));
    im.pod<uint64_t>(0);
    auto r = parse(im);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("nested deeper than"), std::string::npos) << r.message();
}

TEST(GgufCorrupt, RandomMutationsNeverCrash) {
    // Not a fuzzer, but cheap insurance: flipped bytes and patched words anywhere in the file must
    // give either a valid File or an error (ASan/UBSan catch anything worse).
    const Image base = base_image();
    std::mt19937 rng(1234);
    int errors = 0;
    for (int it = 0; it < 3000; ++it) {
        std::vector<uint8_t> b = base.b;
        const int n_mut = 1 + int(rng() % 3);
        for (int m = 0; m < n_mut; ++m) {
            const size_t pos = rng() % b.size();
            switch (rng() % 3) {
                case 0: b[pos] ^= uint8_t(1u << (rng() % 8)); break;
                case 1: b[pos] = uint8_t(rng()); break;
                default:
                    for (size_t k = pos; k < b.size() && k < pos + 8; ++k) b[k] = (rng() % 2) ? 0xff : uint8_t(rng());
            }
        }
        if (rng() % 4 == 0) b.resize(rng() % b.size());
        auto r = gguf::File::from_memory(b.data(), b.size(), "mut.gguf");
        if (!r.ok()) {
            ++errors;
            EXPECT_FALSE(r.message().empty());
            continue;
        }
        for (const auto& t : (*r)->tensors()) {  // whatever was accepted lies inside the buffer
            ASSERT_GE(t.data, b.data());
            ASSERT_LE(t.data + t.n_bytes, b.data() + b.size());
        }
    }
    EXPECT_GT(errors, 1000);
}

TEST(GgufValid, NoTensorsMayEndRightAfterMetadata) {
    Image im;
    im.pod<uint32_t>(0x46554747);
    im.pod<uint32_t>(2);  // version 2 is accepted too
    im.pod<uint64_t>(0);
    im.pod<uint64_t>(1);
    im.str("general.name", "k");
    im.pod<uint32_t>(uint32_t(ValueType::STRING));
    im.str("x", "v");  // total 24 + 8+12 + 4 + 8+1 = 57 bytes: not a multiple of 32
    ASSERT_NE(im.b.size() % 32, 0u);
    auto r = parse(im);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ((*r)->version(), 2u);
    EXPECT_EQ(*(*r)->get_string("general.name"), "x");
}

TEST(GgufValid, OpenErrorsNameThePath) {
    auto r = gguf::File::open("/nonexistent/model.gguf");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("/nonexistent/model.gguf: cannot open"), std::string::npos) << r.message();
    auto d = gguf::File::open(::testing::TempDir());
    EXPECT_FALSE(d.ok());
    const std::string empty = ::testing::TempDir() + "hearth_empty.gguf";
    { FILE* f = std::fopen(empty.c_str(), "wb"); ASSERT_NE(f, nullptr); std::fclose(f); }
    auto e = gguf::File::open(empty);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.message().find("empty"), std::string::npos) << e.message();
    std::filesystem::remove(empty);
}

}  // namespace
