// The Phi-3 LongRoPE fixture (tests/engine/data/archs/phi3-longrope, made by
// tools/fixtures/make_arch_fixtures.py) run on any backend, for the GPU backends' model tests:
// both cases (short factors with n_ctx 64, long factors with n_ctx 128: the n_ctx makes Hearth pick
// the factors transformers used), the last 8 prompt positions' logits against transformers'.
// test_arch.cpp checks the same fixture on the reference and CPU backends, with greedy decoding.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/util/json.h"
#include "tests/engine/testdata.h"

namespace hearth::test {

struct LongRopeCase {
    std::string name;
    int n_ctx = 0;
    double max_abs = 0;  // largest |logit - transformers'| over the 8 x 1000 logits
};

// One entry per case; a load or evaluation failure is a test failure and an empty result.
inline std::vector<LongRopeCase> run_longrope_fixture(Backend& be) {
    const std::string dir = std::string(HEARTH_SOURCE_DIR) + "/tests/engine/data/archs/phi3-longrope";
    auto e = json::parse_file(dir + "/expected.json");
    EXPECT_TRUE(e.ok()) << e.message();
    if (!e.ok()) return {};
    auto f = gguf::File::open(dir + "/" + (*e)["gguf_file"].as_string());
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return {};
    auto m = Model::load(**f, be);
    EXPECT_TRUE(m.ok()) << m.message();
    if (!m.ok()) return {};
    std::vector<LongRopeCase> out;
    for (const json::Value& c : (*e)["cases"].as_array()) {
        LongRopeCase r;
        r.name = c["name"].as_string();
        r.n_ctx = int(c["n_ctx"].as_int());
        std::vector<int32_t> prompt;
        for (const json::Value& v : c["prompt_ids"].as_array()) prompt.push_back(int32_t(v.as_int()));
        const std::vector<float> want = read_f32(dir + "/" + c["logits_file"].as_string());
        auto ctx = ModelContext::create(**m, r.n_ctx, GgmlType::F32);
        EXPECT_TRUE(ctx.ok()) << ctx.message();
        if (!ctx.ok()) return {};
        std::vector<float> got;
        const Status st = (*ctx)->eval(prompt.data(), int(prompt.size()), 0, 8, &got);
        EXPECT_TRUE(st.ok()) << st.message();
        EXPECT_EQ(got.size(), want.size());
        if (!st.ok() || got.size() != want.size()) return {};
        for (size_t i = 0; i < got.size(); ++i) r.max_abs = std::max(r.max_abs, std::fabs(double(got[i]) - want[i]));
        out.push_back(r);
    }
    return out;
}

}  // namespace hearth::test
