// Hugging Face folders that Hearth converts or attaches (engine/convert, engine/lora): a checkpoint
// (one safetensors file or shards with their index; tokenizer.json or SentencePiece's
// tokenizer.model; a sentence-transformers BERT with its pooling; Mixtral's experts, Qwen3) converted to GGUF and the result opened again; a PEFT adapter opened for llama.
// Parts: the files of kNames in order; an empty part is a file that is not there.
#include <filesystem>

#include "engine/convert/convert.h"
#include "engine/convert/hf_metadata.h"
#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

namespace {
const std::vector<const char*> kNames = {
    "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "adapter_config.json",
    "adapter_model.safetensors", "model.safetensors.index.json", "model-00001-of-00003.safetensors",
    "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "tokenizer.model", "generation_config.json",
    "modules.json", "1_Pooling/config.json",  // a sentence-transformers folder's pooling (BERT)
    "README.md"};                             // the model card (its title names a "model/" folder)
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto parts = fuzz::split_parts(data, size, kNames.size());
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
    if (!parts.back().empty() && !convert::model_card_title(dir.dir()).empty()) accepted = true;
    return accepted ? 0 : -1;
}

std::vector<std::string> hearth::fuzz::seeds() {
    const std::string src = HEARTH_SOURCE_DIR "/tests/engine/data/";
    auto folder = [&](const std::string& dir, const std::vector<const char*>& names) {
        std::vector<std::string> parts(kNames.size());
        for (const char* n : names)
            for (size_t i = 0; i < kNames.size(); ++i)
                if (std::string(kNames[i]) == n) parts[i] = read_file(src + dir + n);
        return join_parts(parts);
    };
    // a model card alone: front matter, then the title (the rest of the folder absent)
    std::vector<std::string> card(kNames.size());
    card.back() = "---\nlanguage: en\ntags:\n- sentence-transformers\n---\n\n# all-MiniLM-L6-v2\nText.\n";
    return {
        join_parts(card),
        folder("convert/mistral-bf16/", {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}),
        folder("convert/qwen2-f32-tied/", {"config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json",
                                           "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                           "model-00003-of-00003.safetensors", "generation_config.json"}),
        folder("convert/llama-spm-bf16/", {"config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json",
                                           "generation_config.json"}),
        // experts stacked from one tensor per expert (Mixtral), and Qwen3's QK-norm
        folder("convert/mixtral-f16-untied/", {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}),
        folder("convert/qwen3-bf16-tied/", {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}),
        folder("lora/tiny-llama-k-r8/", {"adapter_config.json", "adapter_model.safetensors"}),
        folder("tiny-bert/", {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
                              "1_Pooling/config.json"}),
    };
}
