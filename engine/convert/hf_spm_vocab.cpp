#include "engine/convert/hf_spm_vocab.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/tokenizer/sentencepiece_model.h"
#include "engine/util/json.h"

namespace hearth::convert {

namespace fs = std::filesystem;
using tokenizer::TokenType;

namespace {

std::string token_content(const json::Value& v) {  // "text" or an AddedToken {"content": "text"}
    if (v.is_string()) return v.as_string();
    return v["content"].as_string();
}

}  // namespace

Result<tokenizer::VocabSpec> spm_vocab(const std::string& hf_dir, const HfConfig& cfg) {
    const fs::path dir(hf_dir);
    auto sp = tokenizer::read_sentencepiece_model((dir / "tokenizer.model").string());
    if (!sp.ok()) return sp.status();
    tokenizer::VocabSpec s = std::move(*sp);
    const size_t n = size_t(cfg.n_vocab);
    // Pieces past vocab_size are dropped (llama.cpp warns and ignores them); missing ones are padding.
    s.tokens.resize(std::min(s.tokens.size(), n));
    s.scores.resize(s.tokens.size());
    s.types.resize(s.tokens.size());
    for (size_t i = s.tokens.size(); i < n; ++i) {
        s.tokens.push_back("[PAD" + std::to_string(i) + "]");
        s.scores.push_back(-10000.0f);
        s.types.push_back(int32_t(TokenType::Unused));
    }
    std::error_code ec;
    if (const fs::path added = dir / "added_tokens.json"; fs::is_regular_file(added, ec)) {
        auto a = json::parse_file(added.string());
        if (!a.ok()) return make_error(added.string() + ": " + a.message());
        for (const auto& [text, id] : a->as_object()) {
            if (!id.is_int() || id.as_int() < 0 || size_t(id.as_int()) >= n) continue;  // out of range: ignored, as llama.cpp
            s.tokens[size_t(id.as_int())] = text;
            s.scores[size_t(id.as_int())] = -1000.0f;
            s.types[size_t(id.as_int())] = int32_t(TokenType::UserDefined);
        }
    }
    const fs::path cfg_path = dir / "tokenizer_config.json";
    json::Value tc;
    if (fs::is_regular_file(cfg_path, ec)) {
        auto c = json::parse_file(cfg_path.string());
        if (!c.ok()) return make_error(cfg_path.string() + ": " + c.message());
        tc = *c;
    }
    for (const auto& [key, data] : tc["added_tokens_decoder"].as_object()) {
        char* endp = nullptr;
        const long long id = std::strtoll(key.c_str(), &endp, 10);
        if (endp == key.c_str() || *endp || id < 0 || size_t(id) >= n) continue;
        std::string text = data["content"].as_string();
        if (data["special"].as_bool()) {
            s.types[size_t(id)] = int32_t(TokenType::Control);
        } else {
            // A user-defined token's U+2581 stands for a space, as the converter pre-normalises it.
            for (size_t at; (at = text.find("\xe2\x96\x81")) != std::string::npos;) text.replace(at, 3, " ");
            s.types[size_t(id)] = int32_t(TokenType::UserDefined);
        }
        s.tokens[size_t(id)] = text;
        s.scores[size_t(id)] = -1000.0f;
    }
    auto id_of = [&](const std::string& text) -> int32_t {
        if (text.empty()) return -1;
        for (size_t i = 0; i < s.tokens.size(); ++i)
            if (s.tokens[i] == text) return int32_t(i);
        return -1;
    };
    s.bos = id_of(token_content(tc["bos_token"]));
    s.eos = id_of(token_content(tc["eos_token"]));
    s.unk = id_of(token_content(tc["unk_token"]));
    s.pad = id_of(token_content(tc["pad_token"]));
    auto from_config = [&](const char* key, int32_t* id) {
        const json::Value& v = cfg.raw[key];
        if (*id < 0 && v.is_int() && v.as_int() >= 0 && size_t(v.as_int()) < n) *id = int32_t(v.as_int());
    };
    from_config("bos_token_id", &s.bos);
    from_config("eos_token_id", &s.eos);
    from_config("unk_token_id", &s.unk);
    from_config("pad_token_id", &s.pad);
    if (tc["add_bos_token"].is_bool()) s.add_bos = tc["add_bos_token"].as_bool();
    if (tc["add_eos_token"].is_bool()) s.add_eos = tc["add_eos_token"].as_bool();
    if (tc["add_prefix_space"].is_bool()) s.add_space_prefix = tc["add_prefix_space"].as_bool();
    if (tc["chat_template"].is_string()) {
        s.chat_template = tc["chat_template"].as_string();
    } else if (const fs::path j = dir / "chat_template.jinja"; fs::is_regular_file(j, ec)) {
        std::ifstream in(j, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        s.chat_template = ss.str();
    }
    return s;
}

}  // namespace hearth::convert
