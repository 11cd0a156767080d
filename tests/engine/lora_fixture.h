// The shared LoRA fixtures (../shared/testdata/hf-models/NAME/: base-f32.gguf, lora/*.gguf, PEFT's
// logits in expected.json), as the Session-, merge- and CLI-level adapter tests read them.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "engine/util/json.h"
#include "tests/engine/testdata.h"

namespace hearth::test {

struct LoraFixtureData {
    std::string dir;                 // .../hf-models/NAME
    json::Value expected;
    std::vector<int32_t> prompt;
    std::string base() const { return dir + "/base-f32.gguf"; }
    std::string adapter(const std::string& name) const { return dir + "/lora/" + name + ".gguf"; }
    // PEFT's logits of the last 8 prompt positions: adapter NAME at scale "1" or "0.5".
    std::vector<float> peft(const std::string& name, const std::string& scale) const {
        return read_f32(dir + "/" + expected["adapters"][name]["logits_scale" + scale].as_string());
    }
};

inline bool load_lora_fixture(const std::string& testdata, const std::string& name, LoraFixtureData* out) {
    out->dir = testdata + "/hf-models/" + name;
    auto e = json::parse_file(out->dir + "/expected.json");
    if (!e.ok()) return false;
    out->expected = *e;
    out->prompt.clear();
    for (const json::Value& v : out->expected["prompt_ids"].as_array()) out->prompt.push_back(int32_t(v.as_int()));
    return !out->prompt.empty();
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return INFINITY;
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

inline double rms_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size() || a.empty()) return INFINITY;
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += double(a[i] - b[i]) * double(a[i] - b[i]);
    return std::sqrt(s / double(a.size()));
}

}  // namespace hearth::test
