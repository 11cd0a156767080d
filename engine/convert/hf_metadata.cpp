#include "engine/convert/hf_metadata.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/convert/hf_spm_vocab.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/json.h"

namespace hearth::convert {

namespace fs = std::filesystem;

std::string size_label(int64_t n) {
    double scaled;
    const char* suffix;
    if (n > 1e12) { scaled = double(n) * 1e-12; suffix = "T"; }
    else if (n > 1e9) { scaled = double(n) * 1e-9; suffix = "B"; }
    else if (n > 1e6) { scaled = double(n) * 1e-6; suffix = "M"; }
    else { scaled = double(n) * 1e-3; suffix = "K"; }
    // As many decimals as it takes to show two significant digits (none for 135M).
    const std::string whole = std::to_string(int64_t(std::nearbyint(scaled)));
    const size_t digits = whole == "0" ? 0 : whole.size();
    const int decimals = digits >= 2 ? 0 : int(2 - digits);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f%s", decimals, scaled, suffix);
    return buf;
}

namespace {

// Words capitalised: "smollm2-135m" -> "Smollm2 135m" (llama.cpp's heuristics also read a model
// card, which a plain folder lacks).
std::string words_of(const std::string& base) {
    std::string out;
    bool start = true;
    for (char ch : base) {
        if (ch == '-' || ch == '_') { out += ' '; start = true; continue; }
        out += start ? char(std::toupper(static_cast<unsigned char>(ch))) : ch;
        start = false;
    }
    return out;
}

bool role_only_name(const std::string& base) {
    std::string b;
    for (char ch : base) b += char(std::tolower(static_cast<unsigned char>(ch)));
    if (b == "model" || b == "models" || b == "checkpoint" || b == "main" || b == "snapshots") return true;
    if (b.size() != 40) return false;
    for (char ch : b)
        if (!std::isxdigit(static_cast<unsigned char>(ch))) return false;
    return true;  // a hub cache's snapshot (the commit hash)
}

}  // namespace

std::string model_card_title(const std::string& dir_path) {
    const fs::path dir(dir_path);
    std::FILE* f = std::fopen((dir / "README.md").string().c_str(), "rb");
    if (!f) return "";
    std::string text(64 * 1024, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), f));
    std::fclose(f);
    size_t pos = 0;
    bool front = text.rfind("---", 0) == 0, first = true;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (front) {
            if (line == "---" && !first) front = false;
            first = false;
            continue;
        }
        if (line.rfind("# ", 0) != 0) continue;
        std::string t = line.substr(2);
        while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
        while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.erase(t.begin());
        if (t.empty() || t.size() > 80) return "";
        for (char ch : t)
            if (static_cast<unsigned char>(ch) < 0x20) return "";
        return t;
    }
    return "";
}

std::string model_name_for_folder(const std::string& hf_dir) {
    fs::path dir = fs::path(hf_dir).lexically_normal();
    if (dir.filename().empty() || dir.filename() == ".") dir = fs::absolute(dir).lexically_normal().parent_path();
    const std::string base = dir.filename().string();
    if (!role_only_name(base)) return words_of(base);
    if (std::string t = model_card_title(dir.string()); !t.empty()) return t;
    // hub cache: models--Org--Name/snapshots/<hash>
    for (fs::path p = dir.parent_path(); !p.empty() && p != p.parent_path(); p = p.parent_path()) {
        const std::string n = p.filename().string();
        if (n.rfind("models--", 0) == 0) {
            const size_t cut = n.rfind("--");
            return cut + 2 < n.size() ? n.substr(cut + 2) : words_of(base);
        }
        if (!role_only_name(n)) return words_of(n);
    }
    return words_of(base);
}

void write_model_metadata(gguf::Writer& w, const HfConfig& c, const std::string& hf_dir, uint32_t file_type, int64_t n_params) {
    const std::string a = c.arch + ".";
    w.set_string("general.architecture", c.arch);
    w.set_string("general.type", "model");
    w.set_string("general.name", model_name_for_folder(hf_dir));
    w.set_string("general.size_label", size_label(n_params));
    w.set_u32(a + "block_count", uint32_t(c.n_layer));
    if (c.n_ctx > 0) w.set_u32(a + "context_length", uint32_t(c.n_ctx));
    w.set_u32(a + "embedding_length", uint32_t(c.n_embd));
    w.set_u32(a + "feed_forward_length", uint32_t(c.n_ff));
    w.set_u32(a + "attention.head_count", uint32_t(c.n_head));
    if (c.arch == "bert") {  // an encoder: no RoPE, layer norms, attention both ways
        w.set_f32(a + "attention.layer_norm_epsilon", float(c.layer_norm_eps));
        w.set_bool(a + "attention.causal", false);
        if (c.pooling >= 0) w.set_u32(a + "pooling_type", uint32_t(c.pooling));
        w.set_u32("tokenizer.ggml.token_type_count", uint32_t(c.n_token_types));
        w.set_u32("general.file_type", file_type);
        w.set_u32("general.quantization_version", 2);
        return;
    }
    w.set_u32(a + "attention.head_count_kv", uint32_t(c.n_head_kv));
    if (c.rope.type == "linear" || c.rope.type == "yarn") {
        w.set_string(a + "rope.scaling.type", c.rope.type);
        w.set_f32(a + "rope.scaling.factor", float(c.rope.factor));
        if (c.rope.type == "yarn") {
            w.set_u32(a + "rope.scaling.original_context_length", uint32_t(c.rope.original_context));
            if (c.rope.has_yarn_ext) w.set_f32(a + "rope.scaling.yarn_ext_factor", float(c.rope.yarn_ext_factor));
            if (c.rope.has_yarn_attn) w.set_f32(a + "rope.scaling.yarn_attn_factor", float(c.rope.yarn_attn_factor));
            if (c.rope.has_yarn_beta_fast) w.set_f32(a + "rope.scaling.yarn_beta_fast", float(c.rope.yarn_beta_fast));
            if (c.rope.has_yarn_beta_slow) w.set_f32(a + "rope.scaling.yarn_beta_slow", float(c.rope.yarn_beta_slow));
        }
    }
    if (c.rope_theta > 0) w.set_f32(a + "rope.freq_base", float(c.rope_theta));
    if (c.rms_eps > 0) w.set_f32(a + "attention.layer_norm_rms_epsilon", float(c.rms_eps));
    if (c.explicit_head_dim) {
        w.set_u32(a + "attention.key_length", uint32_t(c.head_dim));
        w.set_u32(a + "attention.value_length", uint32_t(c.head_dim));
    }
    w.set_u32("general.file_type", file_type);
    if (c.arch == "llama") {  // LlamaModel.set_gguf_parameters adds these two
        w.set_u32(a + "vocab_size", uint32_t(c.n_vocab));
        w.set_u32(a + "rope.dimension_count", uint32_t(c.head_dim));
    }
    if (c.n_expert > 0) {  // TextModel's expert keys; Qwen2MoeModel's expert width
        w.set_u32(a + "expert_count", uint32_t(c.n_expert));
        w.set_u32(a + "expert_used_count", uint32_t(c.n_expert_used));
        if (c.arch == "qwen3moe") {
            w.set_u32(a + "expert_feed_forward_length", uint32_t(c.n_ff_exp));
            // llama.cpp assumes renormalized weights for qwen3moe; said only when they are not
            if (!c.expert_weights_norm) w.set_bool(a + "expert_weights_norm", false);
        }
    }
    w.set_u32("general.quantization_version", 2);
}

Status write_vocab_metadata(gguf::Writer& w, const HfConfig& cfg, const std::string& hf_dir) {
    // A SentencePiece model comes first, as in llama.cpp's converter (Llama 2 and Mistral 7B ship
    // one beside a Metaspace tokenizer.json); else tokenizer.json's byte-level BPE.
    std::error_code ec;
    if (fs::is_regular_file(fs::path(hf_dir) / "tokenizer.model", ec)) {
        auto spec = spm_vocab(hf_dir, cfg);
        if (!spec.ok()) return spec.status();
        auto tok = tokenizer::Tokenizer::from_spec(std::move(*spec));
        if (!tok.ok()) return make_error(hf_dir + "/tokenizer.model: " + tok.message());
        return (*tok)->write_gguf_metadata(w);
    }
    auto tok = tokenizer::Tokenizer::from_hf_dir(hf_dir);
    if (!tok.ok()) return tok.status();
    tokenizer::VocabSpec spec = (*tok)->spec();
    const int64_t n_tok = int64_t(spec.tokens.size());
    if (n_tok > cfg.n_vocab)
        return make_error(hf_dir + ": tokenizer.json has " + std::to_string(n_tok) + " tokens, more than config.json's vocab_size " +
                          std::to_string(cfg.n_vocab));
    // Embedding rows beyond the tokenizer (vocabularies padded to a round size) get unused
    // "[PADn]" tokens, as llama.cpp's converter names them.
    for (int64_t i = n_tok; i < cfg.n_vocab; ++i) {
        spec.tokens.push_back("[PAD" + std::to_string(i) + "]");
        if (!spec.types.empty()) spec.types.push_back(int32_t(tokenizer::TokenType::Unused));
        if (!spec.lstrip.empty()) spec.lstrip.push_back(0);
        if (!spec.rstrip.empty()) spec.rstrip.push_back(0);
    }
    // Special ids the tokenizer files leave out come from config.json, as llama.cpp's SpecialVocab
    // falls back to it.
    auto from_config = [&](const char* key, int32_t* id) {
        const json::Value& v = cfg.raw[key];
        if (*id < 0 && v.is_int() && v.as_int() >= 0 && v.as_int() < cfg.n_vocab) *id = int32_t(v.as_int());
    };
    from_config("bos_token_id", &spec.bos);
    from_config("eos_token_id", &spec.eos);
    from_config("unk_token_id", &spec.unk);
    from_config("pad_token_id", &spec.pad);
    auto full = tokenizer::Tokenizer::from_spec(std::move(spec));
    if (!full.ok()) return make_error(hf_dir + ": " + full.message());
    return (*full)->write_gguf_metadata(w);
}

Status write_sampling_metadata(gguf::Writer& w, const std::string& hf_dir) {
    const std::string path = (fs::path(hf_dir) / "generation_config.json").string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return {};
    auto g = json::parse_file(path);
    // llama.cpp ignores an unreadable generation_config.json ("not all models have a valid one").
    if (!g.ok() || !g->is_object()) return {};
    const json::Value& j = *g;
    if (j["top_k"].is_int()) w.set_i32("general.sampling.top_k", int32_t(j["top_k"].as_int()));
    auto f32 = [&](const char* key, const char* gguf_key) {
        if (j[key].is_number()) w.set_f32(gguf_key, float(j[key].as_double()));
    };
    f32("top_p", "general.sampling.top_p");
    f32("min_p", "general.sampling.min_p");
    f32("temperature", "general.sampling.temp");
    if (j["penalty_repeat"].is_number()) f32("penalty_repeat", "general.sampling.penalty_repeat");
    else f32("repetition_penalty", "general.sampling.penalty_repeat");
    return {};
}

}  // namespace hearth::convert
