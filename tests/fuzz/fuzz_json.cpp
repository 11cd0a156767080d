// JSON (engine/util/json): tokenizer.json, config.json, adapter configs, hub listings and API
// request bodies all go through it. What it parses it must print back, and read again the same;
// what it prints is UTF-8 (and ASCII when asked).
#include <cstdlib>

#include "engine/util/json.h"
#include "engine/util/utf8.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto v = json::parse(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.ok()) return -1;
    const std::string once = v->dump();
    auto again = json::parse(once);
    if (!again.ok() || again->dump() != once) std::abort();  // a round trip that changes the value
    const std::string ascii = v->dump(2, true);
    for (const bool ascii_only : {false, true}) {  // what Hearth writes is UTF-8 (ASCII with ensure_ascii)
        const std::string& out = ascii_only ? ascii : once;
        for (size_t i = 0; i < out.size();) {
            uint32_t cp = 0;
            const size_t len = utf8_decode_at(out, i, &cp);
            if (len == 0 || (ascii_only && cp >= 0x80)) std::abort();
            i += len;
        }
    }
    return 0;
}

std::vector<std::string> hearth::fuzz::seeds() {
    std::vector<std::string> s = {
        R"({"a": [1, -2.5e3, true, false, null, "x\u00e9\ud83d\ude00\n"], "b": {"c": {}}, "d": []})",
        R"([{"type": "file", "path": "model.gguf", "size": 12, "oid": "0123456789abcdef0123456789abcdef01234567"}])",
        "[[[[[[[[[[1]]]]]]]]]]", R"("\"\\\/\b\f\n\r\t")", "-0.0", "1e300", "9223372036854775807",
    };
    const std::string src = HEARTH_SOURCE_DIR "/tests/engine/data/";
    for (const char* f : {"convert/qwen2-f32-tied/config.json", "convert/qwen2-f32-tied/tokenizer_config.json",
                          "lora/tiny-llama-k-r8/adapter_config.json", "convert/llama-f16-mha-shards/model.safetensors.index.json"})
        s.push_back(read_file(src + f));
    return s;
}
