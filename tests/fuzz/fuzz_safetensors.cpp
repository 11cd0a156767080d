// safetensors (engine/safetensors): Hugging Face checkpoints, PEFT adapters and Stable Diffusion
// files. A file that opens must give every tensor's values without reading outside it.
#include <filesystem>

#include "engine/diffusion/single_file.h"
#include "engine/safetensors/safetensors.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto f = safetensors::File::from_memory(data, size);
    if (!f.ok()) return -1;
    for (const auto& t : (*f)->tensors()) {
        auto v = (*f)->to_f32(t);
        if (v.ok() && int64_t(v->size()) != t.n_elements()) std::abort();
    }
    (void)(*f)->metadata_value("format");
    (void)diffusion::has_open_clip_text_encoder(**f);
    return 0;
}

std::vector<std::string> hearth::fuzz::seeds() {
    std::vector<std::string> s;
    const std::string src = HEARTH_SOURCE_DIR "/tests/engine/data/";
    for (const char* f : {"convert/llama-f16-mha-shards/model-00007-of-00007.safetensors",
                          "convert/llama-f16-mha-shards/model-00002-of-00007.safetensors",
                          "lora/tiny-llama-k-r8/adapter_model.safetensors"})
        s.push_back(read_file(src + f));
    // A header and nothing else; a scalar; every dtype name.
    auto with_header = [](const std::string& h, size_t data_bytes) {
        std::string out(8, '\0');
        const uint64_t n = h.size();
        for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
        return out + h + std::string(data_bytes, '\x3c');
    };
    s.push_back(with_header(R"({"__metadata__": {"format": "pt"}})", 0));
    s.push_back(with_header(R"({"a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}})", 4));
    s.push_back(with_header(R"({"a": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]},
        "b": {"dtype": "F16", "shape": [4], "data_offsets": [12, 20]}, "c": {"dtype": "F64", "shape": [1], "data_offsets": [20, 28]},
        "d": {"dtype": "I64", "shape": [1], "data_offsets": [28, 36]}, "e": {"dtype": "U8", "shape": [3], "data_offsets": [36, 39]}})", 39));
    return s;
}
