// The shared hf-models fixtures as LoRA tests use them (test_lora.cpp, test_lora_peft.cpp): a
// tiny base model (base-f32.gguf) loaded on one backend with a context, its prompt, and the logits
// of the prompt's last 8 positions (the layout of expected.json's logits files).
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
inline Base open_base(const std::string& dir, const std::string& backend) {
    Base b;
    auto e = json::parse_file(dir + "/expected.json");
    EXPECT_TRUE(e.ok()) << e.message();
    if (!e.ok()) return b;
    b.expected = *e;
    for (const Value& v : b.expected["prompt_ids"].as_array()) b.prompt.push_back(int32_t(v.as_int()));
    auto f = gguf::File::open(dir + "/base-f32.gguf");
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return b;
    b.file = std::move(*f);
    std::string why;
    if (backend == "vulkan") {
        b.be = vktest::backend("", &why);
        if (!b.be) return b;
    } else {
        b.owned = backend == "reference" ? create_reference_backend() : create_cpu_backend(BackendOptions{});
        b.be = b.owned.get();
    }
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


}  // namespace hearth::test
