// Layer split (engine/model/placement.h, Model::load's host, ModelContext stages): the first N
// layers on one backend and the rest on another, the hidden state handed over through host memory.
// - Two reference backends: the split changes nothing in the arithmetic (F32 hand-off), so logits
//   are bit-identical to the unsplit model for every N, llama and qwen2 (tied output, biases).
// - Vulkan (lavapipe) + CPU and CUDA (a GPU, or the CUDA simulator under ctest -L cuda-sim) + CPU:
//   logits within the 8-bit-activation bounds of the CPU path, greedy continuation, context shift
//   across both stages, device sampling on the last stage.
// - Auto: the number of layers is chosen from the device's free memory (capped with
//   HEARTH_VULKAN_MAX_MEMORY / HEARTH_CUDA_MAX_MEMORY), and the arithmetic of fit_gpu_layers is
//   checked directly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "engine/gguf/gguf.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/model/placement.h"
#include "engine/testmodels/random_model.h"
#include "engine/session/session.h"
#include "tests/engine/tiny_model.h"
#include "tests/engine/vulkan_test_util.h"

using namespace hearth;

namespace {

struct TestModel {
    std::string path;
    RandomModelShape shape;
};

TestModel make_model(const std::string& tag, const std::string& arch, bool tied, GgmlType type) {
    TestModel m;
    m.path = test::temp_file("split_" + tag + ".gguf");
    m.shape.arch = arch;
    m.shape.n_layer = 4;
    m.shape.n_embd = 64;
    m.shape.n_ff = 128;
    m.shape.tied_output = tied;
    Status st = write_random_llama_model(m.path, m.shape, type, 42);
    EXPECT_TRUE(st.ok()) << st.message();
    return m;
}

std::vector<int32_t> prompt_tokens(int n) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back(int32_t(5 + (i * 37) % 400));
    return t;
}

// A mixture of experts (qwen3moe: 8 experts, 2 per token, each 48 wide) of 4 layers.
TestModel make_moe_model(const std::string& tag, GgmlType type) {
    TestModel m;
    m.path = test::temp_file("split_moe_" + tag + ".gguf");
    m.shape.arch = "qwen3moe";
    m.shape.n_layer = 4;
    m.shape.n_embd = 64;
    m.shape.n_ff = 128;
    m.shape.head_dim = 32;
    m.shape.n_expert = 8;
    m.shape.n_expert_used = 2;
    m.shape.n_ff_exp = 48;
    Status st = write_random_llama_model(m.path, m.shape, type, 42);
    EXPECT_TRUE(st.ok()) << st.message();
    return m;
}

// Logits of every prompt position, evaluated in batches of 16 (so both stages see several batches),
// then of six single tokens. With `experts_on_host`, those layers' experts live on `host`.
std::vector<float> logits_of(const gguf::File& f, Backend& main, Backend* host, int n_gpu, int* placed = nullptr,
                             const std::vector<bool>& experts_on_host = {}, int* expert_host_layers = nullptr) {
    std::vector<bool> on_main;
    if (host && n_gpu >= 0)
        for (int l = 0; l < int(read_hparams(f)->n_layer); ++l) on_main.push_back(l < n_gpu);
    auto m = Model::load(f, main, {}, host, on_main, experts_on_host);
    EXPECT_TRUE(m.ok()) << m.message();
    if (!m.ok()) return {};
    if (placed) *placed = (*m)->n_gpu_layers();
    if (expert_host_layers) *expert_host_layers = (*m)->n_expert_host_layers();
    auto ctx = ModelContext::create(**m, 96, GgmlType::F32, 16);
    EXPECT_TRUE(ctx.ok()) << ctx.message();
    if (!ctx.ok()) return {};
    const auto p = prompt_tokens(40);
    std::vector<float> out, step;
    Status st = (*ctx)->eval(p.data(), int(p.size()), 0, int(p.size()), &out);
    EXPECT_TRUE(st.ok()) << st.message();
    // Then single tokens (the matrix-vector path of a device backend), as generation runs.
    for (int i = 0; i < 6 && st.ok(); ++i) {
        const int32_t tok = int32_t(11 + 29 * i);
        st = (*ctx)->eval(&tok, 1, int(p.size()) + i, 1, &step);
        EXPECT_TRUE(st.ok()) << st.message();
        out.insert(out.end(), step.begin(), step.end());
    }
    return out;
}

double rms(const std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += double(x) * x;
    return std::sqrt(s / double(std::max<size_t>(v.size(), 1)));
}

TEST(LayerSplit, TwoReferenceBackendsAreBitIdenticalForEveryN) {
    for (const auto& [arch, tied] : {std::pair{"llama", false}, std::pair{"qwen2", true}}) {
        TestModel tm = make_model(std::string(arch) + "_ref", arch, tied, GgmlType::Q8_0);
        auto f = gguf::File::open(tm.path);
        ASSERT_TRUE(f.ok()) << f.message();
        auto a = create_backend("reference", 0, {});
        auto b = create_backend("reference", 0, {});
        ASSERT_TRUE(a.ok() && b.ok());
        const std::vector<float> whole = logits_of(**f, **a, nullptr, -1);
        ASSERT_FALSE(whole.empty());
        for (int n_gpu = 0; n_gpu <= tm.shape.n_layer; ++n_gpu) {
            int placed = -1;
            const std::vector<float> split = logits_of(**f, **a, b->get(), n_gpu, &placed);
            EXPECT_EQ(placed, n_gpu);
            ASSERT_EQ(split.size(), whole.size());
            size_t diff = 0;
            for (size_t i = 0; i < whole.size(); ++i) diff += split[i] != whole[i];
            EXPECT_EQ(diff, 0u) << arch << ": " << n_gpu << " layers on the first backend";
        }
        std::remove(tm.path.c_str());
    }
}

// Experts in system memory: the experts of some layers on a second backend, the rest of those layers
// on the first, with or without a layer split. Reference arithmetic and F32 hand-offs: the logits
// are the unsplit model's bit for bit, prompt batches (the gathers and add_rows_scaled of several
// tokens) and single tokens alike.
TEST(LayerSplit, ExpertsOnTheHostAreBitIdentical) {
    TestModel tm = make_moe_model("ref", GgmlType::Q8_0);
    auto f = gguf::File::open(tm.path);
    ASSERT_TRUE(f.ok()) << f.message();
    auto a = create_backend("reference", 0, {});
    auto b = create_backend("reference", 0, {});
    ASSERT_TRUE(a.ok() && b.ok());
    const std::vector<float> whole = logits_of(**f, **a, nullptr, -1);
    ASSERT_FALSE(whole.empty());
    struct Case { int n_gpu; std::vector<bool> experts; int moved; };
    for (const Case& c : {Case{-1, {true, true, true, true}, 4}, Case{-1, {true, false, true, false}, 2},
                          Case{3, {true, true, true, true}, 3},  // layer 3 is on b anyway: its experts are not "moved"
                          Case{-1, {}, 0}}) {
        int placed = -1, moved = -1;
        const std::vector<float> got = logits_of(**f, **a, b->get(), c.n_gpu, &placed, c.experts, &moved);
        EXPECT_EQ(moved, c.moved);
        ASSERT_EQ(got.size(), whole.size());
        size_t diff = 0;
        for (size_t i = 0; i < whole.size(); ++i) diff += got[i] != whole[i];
        EXPECT_EQ(diff, 0u) << "layers on the first backend " << c.n_gpu << ", experts moved " << c.moved;
    }
    std::remove(tm.path.c_str());
}

// fit_expert_layers: experts leave the device layer by layer from the first until the rest fits.
TEST(LayerSplit, ExpertFitArithmetic) {
    ModelFootprint fp;
    fp.layers.assign(10, 100u << 20);   // 10 layers of 100 MiB,
    fp.experts.assign(10, 90u << 20);   // 90 of them experts
    fp.input = 50u << 20;
    fp.output = 60u << 20;
    fp.scratch = 10u << 20;
    std::string why;
    // Everything (1120 MiB) fits in 1.3 GiB: nothing moves, nothing said.
    EXPECT_EQ(fit_expert_layers(fp, uint64_t(1300) << 20, &why), 0);
    // 700 MiB free: 633 available after the reserve; 1120 - 90k <= 633 from k = 6.
    why.clear();
    EXPECT_EQ(fit_expert_layers(fp, uint64_t(700) << 20, &why), 6) << why;
    EXPECT_NE(why.find("experts of 6/10 layers stay in system memory"), std::string::npos) << why;
    // 150 MiB free: even without any expert (220 MiB) it does not fit: all 10, and it says so.
    EXPECT_EQ(fit_expert_layers(fp, uint64_t(150) << 20, &why), 10) << why;
    EXPECT_NE(why.find("not enough even so"), std::string::npos) << why;
    // A dense model has no experts to move.
    fp.experts.assign(10, 0);
    EXPECT_EQ(fit_expert_layers(fp, uint64_t(700) << 20, &why), 0);
}

TEST(LayerSplit, FitArithmetic) {
    ModelFootprint fp;
    fp.layers.assign(10, 100u << 20);  // 10 layers of 100 MiB
    fp.input = 50u << 20;
    fp.output = 60u << 20;
    fp.scratch = 10u << 20;
    std::string why;
    // Everything: 1120 MiB; with the reserve (5% + 32 MiB) 1.3 GiB free is enough.
    EXPECT_EQ(fit_gpu_layers(fp, uint64_t(1300) << 20, &why), 10) << why;
    // 700 MiB free: reserve 67 MiB -> 633 available; input + scratch 60 -> 5 layers (560).
    EXPECT_EQ(fit_gpu_layers(fp, uint64_t(700) << 20, &why), 5) << why;
    EXPECT_NE(why.find("5/10 layers"), std::string::npos) << why;
    EXPECT_NE(why.find("5 run on the CPU"), std::string::npos) << why;
    // Too little for even one layer.
    EXPECT_EQ(fit_gpu_layers(fp, uint64_t(100) << 20, &why), 0) << why;
    EXPECT_EQ(fit_gpu_layers(fp, 0, &why), 0) << why;
}

TEST(LayerSplit, FootprintCountsEveryTensorOnce) {
    TestModel tm = make_model("fp", "llama", false, GgmlType::F16);
    auto f = gguf::File::open(tm.path);
    ASSERT_TRUE(f.ok());
    auto hp = read_hparams(**f);
    ASSERT_TRUE(hp.ok());
    const ModelFootprint fp = model_footprint(**f, *hp, 64, GgmlType::F16, 8);
    uint64_t weights = 0;
    for (const auto& t : (*f)->tensors()) weights += t.n_bytes;
    const uint64_t kv = 2ull * 64 * hp->kv_dim() * 2;  // per layer: K and V, 64 cells, F16
    uint64_t sum = fp.input + fp.output;
    for (uint64_t l : fp.layers) sum += l - kv;
    EXPECT_EQ(sum, weights);
    std::remove(tm.path.c_str());
}

// A device backend (Vulkan on lavapipe, CUDA on a GPU or the CUDA simulator) paired with the CPU.
struct DeviceCase {
    const char* backend;
    const char* cap_env;  // the variable that caps the backend's device memory
};
void PrintTo(const DeviceCase& c, std::ostream* os) { *os << c.backend; }

// One backend per kind for the whole program, or null with the reason. Never destroyed, as
// vktest's: a backend torn down at exit may outlive the driver's own statics.
Backend* device_backend(const std::string& name, std::string* why) {
    if (name == "vulkan") return vktest::backend("", why);
    static auto& cuda = *new Result<std::unique_ptr<Backend>>(create_backend("cuda", 0, {}));
    if (!cuda.ok()) {
        *why = "no usable CUDA device: " + cuda.message();
        return nullptr;
    }
    return cuda->get();
}

class LayerSplitDevice : public ::testing::TestWithParam<DeviceCase> {};

TEST_P(LayerSplitDevice, PlusCpuMatchesTheCpuPath) {
    // Tolerance: the device kernels may quantize activations to 8 bits for quantized weights (the
    // 8-bit matvec) or compute in fp16, so against the SIMD CPU path (which also quantizes
    // activations to 8 bits) the testdata README's bounds for 8-bit activations apply:
    // max |d| <= 0.15 rms(logits) and rms(d) <= 0.03 rms(logits). A split must stay within them at
    // every N, as the unsplit device run (N = 4) must.
    const DeviceCase dc = GetParam();
    std::string why;
    Backend* dev = device_backend(dc.backend, &why);
    if (!dev) GTEST_SKIP() << why;
    auto cpu = create_backend("cpu", 0, {});
    ASSERT_TRUE(cpu.ok());
    for (GgmlType type : {GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0}) {
        TestModel tm = make_model(std::string(dc.backend) + "_" + std::string(traits(type).name), "qwen2", true, type);
        auto f = gguf::File::open(tm.path);
        ASSERT_TRUE(f.ok());
        const std::vector<float> host = logits_of(**f, **cpu, nullptr, -1);
        const double r = rms(host);
        for (int n_gpu : {0, 1, 3, 4}) {
            const std::vector<float> split = logits_of(**f, *dev, cpu->get(), n_gpu);
            ASSERT_EQ(split.size(), host.size());
            double m = 0, s2 = 0;
            for (size_t i = 0; i < host.size(); ++i) {
                const double d = double(split[i]) - host[i];
                m = std::max(m, std::fabs(d));
                s2 += d * d;
            }
            const double rd = std::sqrt(s2 / double(host.size()));
            EXPECT_LE(m, 0.15 * r) << traits(type).name << ", " << n_gpu << " layers on " << dc.backend;
            EXPECT_LE(rd, 0.03 * r) << traits(type).name << ", " << n_gpu << " layers on " << dc.backend;
            std::printf("%s, %d/4 layers on %s: max|d| %.4f rms(d) %.4f (rms %.3f)\n", traits(type).name.data(), n_gpu,
                        dc.backend, m, rd, r);
        }
        std::remove(tm.path.c_str());
    }
}

// Experts in system memory beside a device: every layer's experts, or the first two layers', on the
// CPU; attention on the device. Same bounds as above against the CPU path.
TEST_P(LayerSplitDevice, ExpertsInSystemMemoryMatchTheCpuPath) {
    const DeviceCase dc = GetParam();
    std::string why;
    Backend* dev = device_backend(dc.backend, &why);
    if (!dev) GTEST_SKIP() << why;
    auto cpu = create_backend("cpu", 0, {});
    ASSERT_TRUE(cpu.ok());
    TestModel tm = make_moe_model(std::string(dc.backend) + "_q8", GgmlType::Q8_0);
    auto f = gguf::File::open(tm.path);
    ASSERT_TRUE(f.ok());
    const std::vector<float> host = logits_of(**f, **cpu, nullptr, -1);
    const double r = rms(host);
    for (const std::vector<bool>& experts : {std::vector<bool>{true, true, true, true}, std::vector<bool>{true, true, false, false}}) {
        int moved = -1;
        const std::vector<float> got = logits_of(**f, *dev, cpu->get(), -1, nullptr, experts, &moved);
        ASSERT_EQ(got.size(), host.size());
        double m = 0, s2 = 0;
        for (size_t i = 0; i < host.size(); ++i) {
            const double d = double(got[i]) - host[i];
            m = std::max(m, std::fabs(d));
            s2 += d * d;
        }
        const double rd = std::sqrt(s2 / double(host.size()));
        EXPECT_LE(m, 0.15 * r) << moved << " layers' experts on the CPU beside " << dc.backend;
        EXPECT_LE(rd, 0.03 * r) << moved << " layers' experts on the CPU beside " << dc.backend;
        std::printf("experts of %d/4 layers on the CPU, the rest on %s: max|d| %.4f rms(d) %.4f (rms %.3f)\n", moved, dc.backend, m,
                    rd, r);
    }
    std::remove(tm.path.c_str());
}

// A CPU session of the model at `path` (the reference) and one on the device whose free memory is
// capped at `cap` bytes (the auto placement reads it); null sessions fail the test.
struct CappedPair {
    ModelOptions opt;  // the device's options (no cap: the variable is unset again)
    std::unique_ptr<Session> ref, dev;
};
CappedPair open_capped(const DeviceCase& dc, const std::string& path, uint64_t cap) {
    CappedPair p;
    p.opt.path = path;
    p.opt.n_ctx = 128;
    p.opt.backend = "cpu";
    auto ref = Session::open(p.opt);
    EXPECT_TRUE(ref.ok()) << ref.message();
    if (ref.ok()) p.ref = std::move(*ref);
    setenv(dc.cap_env, std::to_string(cap).c_str(), 1);
    p.opt.backend = dc.backend;
    auto dev = Session::open(p.opt);
    unsetenv(dc.cap_env);
    EXPECT_TRUE(dev.ok()) << dev.message();
    if (dev.ok()) p.dev = std::move(*dev);
    return p;
}

// Greedy continuations of the same 20-token prompt: random weights meet near-ties, so only the
// first n_same tokens must agree. Returns the device's run.
GenerateStats expect_same_greedy(Session& ref, Session& dev, int max_new, size_t n_same) {
    SamplingParams sp;
    sp.temperature = 0;
    sp.repeat_penalty = 1.0f;
    sp.max_new_tokens = max_new;
    const auto prompt = prompt_tokens(20);
    auto a = ref.generate(prompt, sp, {});
    auto b = dev.generate(prompt, sp, {});
    EXPECT_TRUE(a.ok() && b.ok()) << a.message() << b.message();
    if (!a.ok() || !b.ok()) return {};
    EXPECT_GE(a->tokens.size(), n_same);
    EXPECT_GE(b->tokens.size(), n_same);
    for (size_t i = 0; i < n_same && i < a->tokens.size() && i < b->tokens.size(); ++i)
        EXPECT_EQ(a->tokens[i], b->tokens[i]) << "token " << i;
    return *b;
}

// Auto placement of a mixture of experts under a memory cap: the experts leave the device first, every
// layer stays on it, and the session says so; an explicit --n-cpu-moe is taken as asked.
TEST_P(LayerSplitDevice, SessionAutoMovesExpertsBeforeLayers) {
    const DeviceCase dc = GetParam();
    std::string why;
    if (!device_backend(dc.backend, &why)) GTEST_SKIP() << why;
    // 8 layers, F32, n_embd 256 with 16 experts of 512: about 25 MiB of experts per layer and
    // 1 MiB of attention; a 96 MiB cap (less its reserve) holds the attention and only some experts.
    const std::string path = test::temp_file("split_moe_auto.gguf");
    RandomModelShape shape;
    shape.arch = "qwen3moe";
    shape.n_layer = 8;
    shape.n_embd = 256;
    shape.n_ff = 512;
    shape.n_head = 4;
    shape.n_kv_head = 4;
    shape.head_dim = 64;
    shape.n_expert = 16;
    shape.n_expert_used = 2;
    shape.n_ff_exp = 512;
    ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::F32, 7).ok());
    CappedPair p = open_capped(dc, path, 96u << 20);
    ASSERT_TRUE(p.ref && p.dev);
    const ModelInfo& info = p.dev->info();
    EXPECT_EQ(info.n_gpu_layers, shape.n_layer) << info.backend_description;
    EXPECT_NE(info.backend_description.find("stay in system memory"), std::string::npos) << info.backend_description;
    EXPECT_EQ(info.backend_description.find("run on the CPU"), std::string::npos) << info.backend_description;
    std::printf("auto placement: %s\n", info.backend_description.c_str());
    expect_same_greedy(*p.ref, *p.dev, 16, 8);

    ModelOptions opt = p.opt;
    opt.cpu_moe_layers = 3;  // as asked, with no cap
    auto three = Session::open(opt);
    ASSERT_TRUE(three.ok()) << three.message();
    EXPECT_NE((*three)->info().backend_description.find("the experts of 3/8 layers in system memory as asked"), std::string::npos)
        << (*three)->info().backend_description;
    std::remove(path.c_str());
}

TEST_P(LayerSplitDevice, SessionAutoSplitFromCappedMemory) {
    const DeviceCase dc = GetParam();
    std::string why;
    if (!device_backend(dc.backend, &why)) GTEST_SKIP() << why;
    // A model with layers of 3.4 MiB each (F32, n_embd 256): under a 48 MiB cap (less the reserve
    // of 5% + 32 MiB) only some of the 8 fit.
    const std::string path = test::temp_file("split_auto.gguf");
    RandomModelShape shape;
    shape.n_layer = 8;
    shape.n_embd = 256;
    shape.n_ff = 768;
    shape.n_head = 4;
    shape.n_kv_head = 4;
    ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::F32, 7).ok());
    CappedPair p = open_capped(dc, path, 48u << 20);
    ASSERT_TRUE(p.ref && p.dev);
    const ModelInfo& info = p.dev->info();
    EXPECT_GT(info.n_gpu_layers, 0) << info.backend_description;
    EXPECT_LT(info.n_gpu_layers, shape.n_layer) << info.backend_description;
    EXPECT_NE(info.backend_description.find("run on the CPU"), std::string::npos) << info.backend_description;
    std::printf("auto split: %s\n", info.backend_description.c_str());

    // Greedy generation (device sampling on the CPU stage) equals the reference backend's, and a
    // context shift (n_ctx 128, 20 + 120 tokens) moves both stages' caches.
    const GenerateStats b = expect_same_greedy(*p.ref, *p.dev, 120, 16);
    EXPECT_GT(b.n_shifted_out, 0) << "stop: " << b.stop_reason << " after " << b.n_generated;

    // Explicit layer counts are taken as asked.
    ModelOptions opt = p.opt;
    opt.gpu_layers = 2;
    auto two = Session::open(opt);
    ASSERT_TRUE(two.ok()) << two.message();
    EXPECT_EQ((*two)->info().n_gpu_layers, 2);
    std::remove(path.c_str());
}

// supports_op: weights of a type the device cannot multiply put their layer on the CPU (the other
// layers stay on the device, in three stages here), and a model whose every layer needs such a
// type runs on the CPU alone. The logits then agree with the CPU path's within the same
// 8-bit-activation bounds as above (greedy tokens are not compared: random weights meet near-ties).
TEST_P(LayerSplitDevice, UnsupportedWeightTypesRunOnTheCpu) {
    const DeviceCase dc = GetParam();
    std::string why;
    Backend* dev = device_backend(dc.backend, &why);
    if (!dev) GTEST_SKIP() << why;
    if (dev->supports_op(Op::Matmul, GgmlType::Q3_K)) GTEST_SKIP() << dc.backend << " multiplies Q3_K itself";
    for (bool all_q3 : {false, true}) {
        const std::string path = test::temp_file(std::string("split_q3k_") + (all_q3 ? "all" : "mid") + ".gguf");
        RandomModelShape shape;
        shape.n_layer = 3;
        shape.n_embd = 256;  // Q3_K rows are whole 256-value blocks
        shape.n_ff = 512;
        shape.tensor_type = [all_q3](const std::string& name, GgmlType t) {
            const bool mid = name.rfind("blk.1.", 0) == 0;
            return (all_q3 && name.rfind("blk.", 0) == 0) || mid ? GgmlType::Q3_K : t;
        };
        ASSERT_TRUE(write_random_llama_model(path, shape, GgmlType::Q4_0, 9).ok());
        ModelOptions opt;
        opt.path = path;
        opt.n_ctx = 64;
        opt.backend = "cpu";
        auto cpu = Session::open(opt);
        ASSERT_TRUE(cpu.ok()) << cpu.message();
        opt.backend = dc.backend;
        auto s = Session::open(opt);
        ASSERT_TRUE(s.ok()) << s.message();
        const ModelInfo& info = (*s)->info();
        std::printf("%s, Q3_K in %s: %s (%d/3 layers on the device)\n", dc.backend, all_q3 ? "every layer" : "layer 1",
                    info.backend_description.c_str(), info.n_gpu_layers);
        EXPECT_EQ(info.n_gpu_layers, all_q3 ? 3 : 2) << info.backend_description;  // all_q3: the CPU is the main backend
        EXPECT_NE(info.backend_description.find("Q3_K matmul"), std::string::npos) << info.backend_description;
        if (all_q3) EXPECT_EQ(info.backend_description.rfind("CPU", 0), 0u) << info.backend_description;
        const auto prompt = prompt_tokens(40);
        auto a = (*cpu)->eval_logits(prompt, 40);
        auto b = (*s)->eval_logits(prompt, 40);
        ASSERT_TRUE(a.ok() && b.ok()) << a.message() << b.message();
        ASSERT_EQ(a->size(), b->size());
        const double r = rms(*a);
        double m = 0, s2 = 0;
        for (size_t i = 0; i < a->size(); ++i) {
            const double d = double((*b)[i]) - (*a)[i];
            m = std::max(m, std::fabs(d));
            s2 += d * d;
        }
        EXPECT_LE(m, 0.15 * r);
        EXPECT_LE(std::sqrt(s2 / double(a->size())), 0.03 * r);
        std::printf("  logits against the CPU path: max|d| %.4f rms(d) %.4f (rms %.3f)\n", m, std::sqrt(s2 / double(a->size())), r);
        std::remove(path.c_str());
    }
}

INSTANTIATE_TEST_SUITE_P(Devices, LayerSplitDevice,
                         ::testing::Values(DeviceCase{"vulkan", "HEARTH_VULKAN_MAX_MEMORY"},
                                           DeviceCase{"cuda", "HEARTH_CUDA_MAX_MEMORY"}),
                         [](const ::testing::TestParamInfo<DeviceCase>& i) { return std::string(i.param.backend); });

}  // namespace
