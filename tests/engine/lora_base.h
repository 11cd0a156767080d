// The shared hf-models fixtures as LoRA tests use them (test_lora.cpp, test_lora_peft.cpp,
// test_session_lora.cpp, test_lora_merge.cpp, test_lora_cli.cpp): a tiny base model
// (base-f32.gguf) loaded on one backend with a context, or only its paths and expectations (tests
// that go through Session or hearth-cli), its prompt, and the logits of the prompt's last 8
// positions (the layout of expected.json's logits files).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/reference/reference_backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/util/json.h"
#include "tests/engine/testdata.h"
#include "tests/engine/vulkan_test_util.h"

namespace hearth::test {
using json::Value;

struct Base {
    Value expected;
    std::vector<int32_t> prompt;
    std::unique_ptr<gguf::File> file;
    std::unique_ptr<Backend> owned;
    Backend* be = nullptr;
    std::unique_ptr<Model> model;
    std::unique_ptr<ModelContext> ctx;
};

// backend: "reference", "cpu" or "vulkan" (lavapipe here; null be when there is none).
// A fixture folder's expected.json and prompt ids, what every LoRA test reads first.
inline bool read_fixture(const std::string& dir, Value* expected, std::vector<int32_t>* prompt) {
    auto e = json::parse_file(dir + "/expected.json");
    EXPECT_TRUE(e.ok()) << e.message();
    if (!e.ok()) return false;
    *expected = *e;
    prompt->clear();
    for (const Value& v : expected->operator[]("prompt_ids").as_array()) prompt->push_back(int32_t(v.as_int()));
    return !prompt->empty();
}

// "reference" or "cpu" (made into *owned), or "vulkan" (lavapipe here; null when there is none).
inline Backend* host_test_backend(const std::string& backend, std::unique_ptr<Backend>* owned) {
    if (backend == "vulkan") {
        std::string why;
        return vktest::backend("", &why);
    }
    *owned = backend == "reference" ? create_reference_backend() : create_cpu_backend(BackendOptions{});
    return owned->get();
}

inline Base open_base(const std::string& dir, const std::string& backend) {
    Base b;
    if (!read_fixture(dir, &b.expected, &b.prompt)) return b;
    auto f = gguf::File::open(dir + "/base-f32.gguf");
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return b;
    b.file = std::move(*f);
    b.be = host_test_backend(backend, &b.owned);
    if (!b.be) return b;
    auto m = Model::load(*b.file, *b.be);
    EXPECT_TRUE(m.ok()) << m.message();
    if (!m.ok()) return b;
    b.model = std::move(*m);
    auto c = ModelContext::create(*b.model, 128, GgmlType::F32, 32);
    EXPECT_TRUE(c.ok()) << c.message();
    if (c.ok()) b.ctx = std::move(*c);
    return b;
}

inline std::vector<float> last8(Base& b) {
    std::vector<float> out;
    EXPECT_TRUE(b.ctx->eval(b.prompt.data(), int(b.prompt.size()), 0, 8, &out).ok());
    return out;
}

inline double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    double m = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

inline double rms_diff(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    if (a.size() != b.size() || a.empty()) return INFINITY;
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += double(a[i] - b[i]) * double(a[i] - b[i]);
    return std::sqrt(s / double(a.size()));
}

// A fixture by its files, for tests that open the model themselves (through Session or hearth-cli).
struct FixtureFiles {
    std::string dir;  // .../hf-models/NAME
    Value expected;
    std::vector<int32_t> prompt;
    std::string base() const { return dir + "/base-f32.gguf"; }
    std::string adapter(const std::string& name) const { return dir + "/lora/" + name + ".gguf"; }
    // PEFT's logits of the last 8 prompt positions: adapter NAME at scale "1" or "0.5".
    std::vector<float> peft(const std::string& name, const std::string& scale) const {
        return read_f32(dir + "/" + expected["adapters"][name]["logits_scale" + scale].as_string());
    }
};

inline bool load_fixture_files(const std::string& testdata, const std::string& name, FixtureFiles* out) {
    out->dir = testdata + "/hf-models/" + name;
    return read_fixture(out->dir, &out->expected, &out->prompt);
}

}  // namespace hearth::test
