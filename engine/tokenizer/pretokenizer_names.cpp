// tokenizer.ggml.pre names -> pre-tokenizer kind and the flags llama.cpp sets with each name.
//
// Transcribed from llama.cpp's src/llama-vocab.cpp (llama_vocab::impl::load, the BPE branch, and
// llm_tokenizer_bpe's constructor for the regex set of each LLAMA_VOCAB_PRE_TYPE_*), at the stored
// version 00ad355e (the closest to 3f545bec that could be read). Names whose regex text differs
// but whose matches are identical share a kind (bailingmoe's '(?i:[sdmt]|ll|ve|re)' with possessive
// quantifiers is Qwen2's regex; chatglm's and glm4's are Llama 3's).
#include <string>

#include "engine/tokenizer/pretokenizer.h"

namespace hearth::tokenizer {

namespace {

using K = PreKind;

// {name, {kind, add_bos, ignore_merges, clean_spaces}}; clean_spaces is llama.cpp's BPE default
// (true) unless the name turns it off.
const std::vector<PreName> kNames = {
    {"default", {K::Default, false, false, true}},
    {"llama3", {K::Llama3, true, true, true}},
    {"llama-v3", {K::Llama3, true, true, true}},
    {"llama-bpe", {K::Llama3, true, true, true}},
    {"falcon3", {K::Llama3, true, true, true}},
    {"falcon-h1", {K::Llama3, true, true, true}},
    {"pixtral", {K::Llama3, true, true, true}},
    {"midm-2.0", {K::Llama3, true, true, true}},
    {"lfm2", {K::Llama3, true, true, true}},
    {"jina-v5-nano", {K::Llama3, true, true, true}},
    {"deepseek-llm", {K::DeepseekLlm, false, false, false}},
    {"deepseek-coder", {K::DeepseekCoder, false, false, false}},
    {"deepseek-v3", {K::DeepseekV3, false, false, false}},
    {"falcon", {K::Falcon, false, false, true}},
    {"mpt", {K::Gpt2, false, false, true}},
    {"starcoder", {K::Starcoder, false, false, true}},
    {"gpt-2", {K::Gpt2, false, false, true}},
    {"phi-2", {K::Gpt2, false, false, true}},
    {"jina-es", {K::Gpt2, false, false, true}},
    {"jina-de", {K::Gpt2, false, false, true}},
    {"gigachat", {K::Gpt2, false, false, true}},
    {"jina-v2-es", {K::Gpt2, false, false, true}},
    {"jina-v2-de", {K::Gpt2, false, false, true}},
    {"a.x-4.0", {K::Gpt2, false, false, true}},
    {"mellum", {K::Gpt2, false, false, true}},
    {"modern-bert", {K::Gpt2, false, false, true}},
    {"jina-v1-en", {K::Gpt2, false, false, true}},   // llama.cpp also appends SEP (embedding models)
    {"jina-v2-code", {K::Gpt2, false, false, true}},
    {"roberta-bpe", {K::Gpt2, false, false, true}},
    {"refact", {K::Starcoder, false, false, true}},
    {"command-r", {K::Starcoder, false, false, false}},
    {"qwen2", {K::Qwen2, false, false, false}},
    {"deepseek-r1-qwen", {K::Qwen2, false, false, false}},
    {"kormo", {K::Qwen2, false, false, false}},
    {"f2llmv2", {K::Qwen2, false, false, false}},
    {"stablelm2", {K::Qwen2, false, false, true}},
    {"olmo", {K::Gpt2, false, false, true}},
    {"dbrx", {K::Llama3, false, false, true}},
    {"smaug-bpe", {K::Llama3, false, false, true}},
    {"poro-chat", {K::Bloom, false, false, false}},
    {"glm4", {K::Llama3, false, false, true}},
    {"chatglm-bpe", {K::Llama3, false, false, true}},
    {"viking", {K::Viking, false, false, false}},
    {"jais", {K::Gpt2, false, false, true}},
    {"tekken", {K::Tekken, true, true, false}},
    {"smollm", {K::Starcoder, false, false, false}},
    {"codeshell", {K::Starcoder, false, false, true}},
    {"bloom", {K::Bloom, false, false, true}},
    {"gpt3-finnish", {K::Bloom, false, false, true}},
    {"exaone", {K::Starcoder, false, false, true}},
    {"exaone4", {K::Gpt2, false, false, true}},
    {"chameleon", {K::Chameleon, true, false, false}},
    {"minerva-7b", {K::Starcoder, false, false, true}},
    {"megrez", {K::Qwen2, false, false, true}},
    {"gpt-4o", {K::Gpt4o, false, false, false}},
    {"llama4", {K::Gpt4o, false, false, false}},
    {"kanana2", {K::Gpt4o, false, false, false}},
    {"talkie", {K::Gpt4o, false, false, false}},
    {"superbpe", {K::Superbpe, false, false, false}},
    {"trillion", {K::Gpt2, false, false, false}},
    {"granite-docling", {K::Gpt2, false, false, false}},
    {"bailingmoe", {K::Qwen2, false, false, false}},
    {"bailingmoe2", {K::Qwen2, false, false, false}},
    {"llada-moe", {K::Qwen2, false, false, false}},
    {"seed-coder", {K::SeedCoder, false, false, false}},
    {"hunyuan", {K::Qwen2, false, false, false}},
    {"hunyuan-dense", {K::DeepseekV3, false, false, false}},
    {"hy_v4", {K::DeepseekV3, false, false, false}},
    {"joyai-llm", {K::DeepseekV3, false, false, false}},
    {"kimi-k2", {K::KimiK2, false, false, false}},
    {"grok-2", {K::Qwen2, false, false, false}},
    {"minimax-m2", {K::Gpt4o, false, false, false}},
    {"solar-open", {K::Qwen2, false, false, false}},
    {"mellum2", {K::Starcoder, false, false, true}},
    {"minicpm5", {K::Minicpm5, false, true, true}},
    {"spark2_5", {K::Spark2_5, false, false, false}},
    {"youtu", {K::Youtu, false, true, false}},
    {"jais-2", {K::Jais2, false, false, true}},
    {"qwen35", {K::Qwen35, false, false, false}},
    {"exaone-moe", {K::ExaoneMoe, false, false, true}},
    {"granite-embed-multi-97m", {K::GraniteMulti, false, true, false}},
    {"tiny_aya", {K::TinyAya, false, false, false}},
    {"cohere2moe", {K::TinyAya, false, false, false}},
    {"ufakzeka", {K::Ufakzeka, false, false, false}},
    {"laguna", {K::Laguna, false, false, false}},
};

// Names llama.cpp accepts whose tokenization is not (only) a regex split before byte-level BPE, or
// whose regex sets Hearth does not have yet: an error that says so rather than a wrong split.
const char* const kNotSupported[] = {
    "gemma4", "granite-embed-multi-311m", "sarvam-moe",  // SentencePiece-style BPE over raw UTF-8
    "whitespace",                                        // whitespace split, no byte-level encoding
    "afmoe",  // its digit grouping is custom code in llama.cpp (\p{AFMoE_digits}), not a regex
};

}  // namespace

const std::vector<PreName>& pre_names() { return kNames; }

Result<PreSpec> pre_spec_from_name(std::string_view name) {
    // A missing name is llama.cpp's default set (it warns that generation quality will suffer).
    if (name.empty()) return kNames.front().spec;
    for (const PreName& n : kNames) {
        if (name == n.name) return n.spec;
    }
    if (name == "clip") return PreSpec{K::Clip, false, false, true};
    for (const char* n : kNotSupported) {
        if (name == n) return make_error("pre-tokenizer '" + std::string(name) + "' is known to llama.cpp but not supported by Hearth yet");
    }
    return make_error("unknown pre-tokenizer '" + std::string(name) + "' (tokenizer.ggml.pre); see pre_names() for the " +
                      std::to_string(kNames.size()) + " supported names, e.g. llama-bpe, qwen2, gpt-2, smollm, tekken");
}

Result<PreKind> pre_kind_from_name(std::string_view name) {
    auto spec = pre_spec_from_name(name);
    if (!spec.ok()) return spec.status();
    return spec->kind;
}

const char* pre_kind_name(PreKind kind) {
    switch (kind) {
        case PreKind::Gpt2: return "gpt-2";
        case PreKind::Default: return "default";
        case PreKind::Llama3: return "llama-bpe";
        case PreKind::Qwen2: return "qwen2";
        case PreKind::SeedCoder: return "seed-coder";
        case PreKind::DeepseekLlm: return "deepseek-llm";
        case PreKind::DeepseekCoder: return "deepseek-coder";
        case PreKind::DeepseekV3: return "deepseek-v3";
        case PreKind::Falcon: return "falcon";
        case PreKind::Starcoder: return "starcoder";
        case PreKind::Bloom: return "bloom";
        case PreKind::Viking: return "viking";
        case PreKind::Tekken: return "tekken";
        case PreKind::Gpt4o: return "gpt-4o";
        case PreKind::KimiK2: return "kimi-k2";
        case PreKind::Chameleon: return "chameleon";
        case PreKind::Superbpe: return "superbpe";
        case PreKind::Qwen35: return "qwen35";
        case PreKind::Jais2: return "jais-2";
        case PreKind::Ufakzeka: return "ufakzeka";
        case PreKind::Laguna: return "laguna";
        case PreKind::Minicpm5: return "minicpm5";
        case PreKind::ExaoneMoe: return "exaone-moe";
        case PreKind::Spark2_5: return "spark2_5";
        case PreKind::Youtu: return "youtu";
        case PreKind::TinyAya: return "tiny_aya";
        case PreKind::GraniteMulti: return "granite-embed-multi-97m";
        case PreKind::Clip: return "clip";
    }
    return "gpt-2";
}

}  // namespace hearth::tokenizer
