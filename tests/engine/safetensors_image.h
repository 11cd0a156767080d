// Builds safetensors images in memory for tests (valid ones to read back, the raw material of
// the hostile ones): tensors in the order given, packed back to back, header as the format says.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/util/json.h"

namespace hearth::test {

struct StTensor {
    std::string name, dtype;      // dtype as the file spells it ("F32", "BF16", ...)
    std::vector<int64_t> shape;
    std::string bytes;            // exactly the tensor's data
};

inline std::string safetensors_image(const std::vector<StTensor>& tensors,
                                     const std::vector<std::pair<std::string, std::string>>& metadata = {{"format", "pt"}}) {
    json::Value header = json::Value::object();
    if (!metadata.empty()) {
        json::Value m = json::Value::object();
        for (const auto& [k, v] : metadata) m.set(k, v);
        header.set("__metadata__", m);
    }
    std::string data;
    for (const StTensor& t : tensors) {
        json::Value e = json::Value::object();
        e.set("dtype", t.dtype);
        json::Value shape = json::Value::array();
        for (int64_t d : t.shape) shape.push_back(d);
        e.set("shape", shape);
        json::Value offs = json::Value::array();
        offs.push_back(int64_t(data.size()));
        offs.push_back(int64_t(data.size() + t.bytes.size()));
        e.set("data_offsets", offs);
        header.set(t.name, e);
        data += t.bytes;
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';  // the reference writer pads the header with spaces to 8 bytes
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(h.size()) >> (8 * i)) & 0xff);
    return out + h + data;
}

inline std::string f32_bytes(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

}  // namespace hearth::test
