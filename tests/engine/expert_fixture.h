// The mixture-of-experts fixtures (tests/engine/data/archs/qwen3moe and mixtral, made by
// tools/fixtures/make_arch_fixtures.py) run on any backend, for the GPU backends' model tests: the
// 24-token prompt as one batch (each expert gathers the tokens that chose it) against
// transformers' logits of the last 8 positions, then 16 greedy tokens one at a time (each token
// reads its own two experts) against transformers' greedy continuation. test_arch.cpp checks the
// same fixtures on the reference and CPU backends.
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

struct ExpertFixtureRun {
    double max_abs = -1;             // largest |logit - transformers'| over the 8 x 1000 prompt logits (-1: failed)
    std::vector<int32_t> greedy, want_greedy;
};

inline ExpertFixtureRun run_expert_fixture(Backend& be, const std::string& name) {
    ExpertFixtureRun r;
    const std::string dir = std::string(HEARTH_SOURCE_DIR) + "/tests/engine/data/archs/" + name;
    auto e = json::parse_file(dir + "/expected.json");
    EXPECT_TRUE(e.ok()) << e.message();
    if (!e.ok()) return r;
    auto f = gguf::File::open(dir + "/" + (*e)["gguf_file"].as_string());
    EXPECT_TRUE(f.ok()) << f.message();
    if (!f.ok()) return r;
    auto m = Model::load(**f, be);
    EXPECT_TRUE(m.ok()) << m.message();
    if (!m.ok()) return r;
    std::vector<int32_t> prompt;
    for (const json::Value& v : (*e)["prompt_ids"].as_array()) prompt.push_back(int32_t(v.as_int()));
    for (const json::Value& v : (*e)["greedy_16"].as_array()) r.want_greedy.push_back(int32_t(v.as_int()));
    const std::vector<float> want = read_f32(dir + "/" + (*e)["logits_file"].as_string());
    auto ctx = ModelContext::create(**m, 64, GgmlType::F32);
    EXPECT_TRUE(ctx.ok()) << ctx.message();
    if (!ctx.ok()) return r;
    std::vector<float> got;
    Status st = (*ctx)->eval(prompt.data(), int(prompt.size()), 0, 8, &got);
    EXPECT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(got.size(), want.size());
    if (!st.ok() || got.size() != want.size()) return r;
    r.max_abs = 0;
    for (size_t i = 0; i < got.size(); ++i) r.max_abs = std::max(r.max_abs, std::fabs(double(got[i]) - want[i]));
    const size_t V = got.size() / 8;
    std::vector<float> last(got.end() - std::ptrdiff_t(V), got.end());
    int pos = int(prompt.size());
    for (size_t i = 0; i < r.want_greedy.size(); ++i) {
        const int32_t tok = int32_t(std::max_element(last.begin(), last.end()) - last.begin());
        r.greedy.push_back(tok);
        st = (*ctx)->eval(&tok, 1, pos++, 1, &last);
        EXPECT_TRUE(st.ok()) << st.message();
        if (!st.ok()) break;
    }
    return r;
}

}  // namespace hearth::test
