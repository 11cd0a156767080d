// Hugging Face folders that Hearth converts or attaches (engine/convert, engine/lora): a checkpoint
// (config.json, model.safetensors, tokenizer.json, tokenizer_config.json) converted to GGUF and the
// result opened again; a PEFT adapter (adapter_config.json, adapter_model.safetensors) opened for
// llama. Parts: config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
// adapter_config.json, adapter_model.safetensors; an empty part is a file that is not there.
#include <filesystem>

#include "engine/convert/convert.h"
#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::vector<const char*> kNames = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                                         "adapter_config.json", "adapter_model.safetensors"};
    const auto parts = fuzz::split_parts(data, size, 6);
    fuzz::Scratch& dir = fuzz::Scratch::get();
    dir.write_parts(kNames, parts);
    bool accepted = false;
    if (!parts[0].empty()) {
        const std::string out = dir.dir() + "/converted.gguf";
        convert::ConvertOptions o;
        o.hf_dir = dir.dir();
        o.out_path = out;
        o.type = size % 3 == 0 ? "Q8_0" : "";
        if (convert::convert_hf_to_gguf(o).ok()) {
            if (!gguf::File::open(out).ok()) std::abort();  // what we write, we read
            std::filesystem::remove(out);
            accepted = true;
        }
    }
    if (!parts[4].empty() && LoraAdapter::open_peft(dir.dir(), "llama", 16).ok()) accepted = true;
    return accepted ? 0 : -1;
}

std::vector<std::string> hearth::fuzz::seeds() {
    const std::string src = HEARTH_SOURCE_DIR "/tests/engine/data/";
    const std::string m = src + "convert/mistral-bf16/", l = src + "lora/tiny-llama-k-r8/";
    return {
        join_parts({read_file(m + "config.json"), read_file(m + "model.safetensors"), read_file(m + "tokenizer.json"),
                    read_file(m + "tokenizer_config.json"), "", ""}),
        join_parts({"", "", "", "", read_file(l + "adapter_config.json"), read_file(l + "adapter_model.safetensors")}),
    };
}
