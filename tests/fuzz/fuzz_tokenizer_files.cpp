// Tokenizer files of Hugging Face folders (engine/tokenizer): tokenizer.json with
// tokenizer_config.json, CLIP's vocab.json with merges.txt, and SentencePiece's tokenizer.model
// (a protobuf). Parts: tokenizer.json, tokenizer_config.json, vocab.json, merges.txt,
// tokenizer.model; an empty part is a file that is not there. A vocabulary that builds must encode
// and decode any text.
#include <filesystem>

#include "engine/tokenizer/sentencepiece_model.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

namespace {
void exercise(const tokenizer::Tokenizer& tok) {
    const auto ids = tok.encode("Hello, world! 你好 <|endoftext|>\xe2\x82 a  b\n\n12345", true, true);
    (void)tok.decode(ids, false);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::vector<const char*> kNames = {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "tokenizer.model"};
    const auto parts = fuzz::split_parts(data, size, 5);
    fuzz::Scratch& dir = fuzz::Scratch::get();
    dir.write_parts(kNames, parts);
    bool built = false;
    if (!parts[0].empty() || !parts[2].empty())
        if (auto tok = tokenizer::Tokenizer::from_hf_dir(dir.dir()); tok.ok()) {
            exercise(**tok);
            built = true;
        } else {
            fuzz::refused(tok.message());
        }
    if (!parts[4].empty())
        if (auto spec = tokenizer::read_sentencepiece_model(dir.dir() + "/tokenizer.model"); spec.ok())
            if (auto tok = tokenizer::Tokenizer::from_spec(std::move(*spec)); tok.ok()) {
                exercise(**tok);
                built = true;
            }
    return built ? 0 : -1;
}

std::vector<std::string> hearth::fuzz::seeds() {
    const std::string src = HEARTH_SOURCE_DIR "/tests/engine/data/convert/";
    // CLIP's form, small: byte tokens, a few merges, the start and end tokens.
    std::string vocab = "{";
    int id = 0;
    for (const char* t : {"a", "b", "c", "h", "e", "l", "o", "a</w>", "b</w>", "he", "ll", "hell", "hello</w>", "!</w>",
                          "<|startoftext|>", "<|endoftext|>"}) {
        if (id) vocab += ", ";
        vocab += "\"" + std::string(t) + "\": " + std::to_string(id);
        ++id;
    }
    vocab += "}";
    const std::string merges = "#version: 0.2\nh e\nl l\nhe ll\nhell o</w>\n";
    return {
        join_parts({read_file(src + "qwen2-f32-tied/tokenizer.json"), read_file(src + "qwen2-f32-tied/tokenizer_config.json"), "", "", ""}),
        join_parts({read_file(src + "mistral-bf16/tokenizer.json"), read_file(src + "mistral-bf16/tokenizer_config.json"), "", "", ""}),
        join_parts({"", R"({"tokenizer_class": "CLIPTokenizer", "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                    "pad_token": "<|endoftext|>", "do_lower_case": true})", vocab, merges, ""}),
        join_parts({"", "", "", "", read_file(src + "llama-spm-bf16/tokenizer.model")}),
    };
}
