// Tokenizer files of Hugging Face folders (engine/tokenizer): tokenizer.json (byte-level BPE or
// WordPiece) with tokenizer_config.json, CLIP's vocab.json with merges.txt, and SentencePiece's tokenizer.model
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
    // BERT's WordPiece (hf_wordpiece.cpp, tokenizer_wpm.cpp), small.
    const std::string wordpiece =
        R"({"added_tokens":[{"id":0,"content":"[PAD]","special":true},{"id":1,"content":"[UNK]","special":true},)"
        R"({"id":2,"content":"[CLS]","special":true},{"id":3,"content":"[SEP]","special":true}],)"
        R"("normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},)"
        R"("pre_tokenizer":{"type":"BertPreTokenizer"},)"
        R"("post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},)"
        R"({"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}]},)"
        R"("decoder":{"type":"WordPiece","prefix":"##","cleanup":true},)"
        R"("model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,)"
        R"("vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"hello":4,"##s":5,",":6,"world":7,"你":8,"##lo":9,"hel":10}}})";
    return {
        join_parts({read_file(src + "qwen2-f32-tied/tokenizer.json"), read_file(src + "qwen2-f32-tied/tokenizer_config.json"), "", "", ""}),
        join_parts({read_file(src + "mistral-bf16/tokenizer.json"), read_file(src + "mistral-bf16/tokenizer_config.json"), "", "", ""}),
        join_parts({"", R"({"tokenizer_class": "CLIPTokenizer", "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                    "pad_token": "<|endoftext|>", "do_lower_case": true})", vocab, merges, ""}),
        join_parts({"", "", "", "", read_file(src + "llama-spm-bf16/tokenizer.model")}),
        join_parts({wordpiece, "", "", "", ""}),
    };
}
