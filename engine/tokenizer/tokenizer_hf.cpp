// A vocabulary from a Hugging Face tokenizer folder: tokenizer.json (model.vocab, model.merges,
// added_tokens, pre_tokenizer) and tokenizer_config.json (bos/eos/pad/unk, add_bos_token, chat
// template). Token ids, types and flags come out as llama.cpp's converter would write them to GGUF,
// so from_hf_dir(...) and from_gguf(written from it) tokenize identically.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "engine/tokenizer/hf_wordpiece.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/json.h"

namespace hearth::tokenizer {

namespace {

using json::Value;

// Pre-tokenizer regexes of the families we support, as written in their tokenizer.json (with real
// CR/LF characters written as \r \n, see normalize_regex).
const char* const kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Mistral's Tekken and GPT-4o / Llama 4 (words split before capitals).
const char* const kTekkenRegex =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kGpt4oRegex =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kDeepseekV3Regex[] = {
    R"(\p{N}{1,3})",
    "[\xe4\xb8\x80-\xe9\xbe\xa5\xe3\x81\x80-\xe3\x82\x9f\xe3\x82\xa0-\xe3\x83\xbf]+",  // [一-龥぀-ゟ゠-ヿ]+
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};

std::string normalize_regex(const std::string& r) {
    std::string out;
    out.reserve(r.size());
    for (char c : r) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

// Collects the Split regexes and ByteLevel settings of a pre_tokenizer tree.
struct PreInfo {
    std::vector<std::string> regexes;
    bool byte_level = false;
    bool byte_level_regex = false;
    bool digits = false;  // Digits(individual_digits=true) before ByteLevel (SmolLM, StarCoder)
    std::string unsupported;
};

void visit_pre(const Value& node, PreInfo& info) {
    const std::string type = node["type"].as_string();
    if (type == "Sequence") {
        for (const Value& p : node["pretokenizers"].as_array()) visit_pre(p, info);
    } else if (type == "Split") {
        const Value& pat = node["pattern"];
        if (const Value* r = pat.find("Regex")) info.regexes.push_back(normalize_regex(r->as_string()));
        else info.unsupported = "Split on a literal string";
    } else if (type == "Digits" && node["individual_digits"].as_bool()) {
        info.digits = true;
    } else if (type == "ByteLevel") {
        info.byte_level = true;
        const Value* use_regex = node.find("use_regex");
        if (!use_regex || use_regex->as_bool()) info.byte_level_regex = true;  // HF's default is true
    } else {
        info.unsupported = type.empty() ? "an untyped pre-tokenizer" : type;
    }
}

Result<std::string> detect_pre(const Value& tj) {
    PreInfo info;
    if (!tj["pre_tokenizer"].is_null()) visit_pre(tj["pre_tokenizer"], info);
    if (!info.byte_level && tj["decoder"]["type"].as_string() == "ByteLevel") info.byte_level = true;
    if (!info.byte_level)
        return make_error("only byte-level BPE tokenizer.json files are supported (no ByteLevel pre-tokenizer or decoder)");
    if (!info.unsupported.empty()) return make_error("unsupported pre-tokenizer part: " + info.unsupported);
    const auto& rx = info.regexes;
    // Single digits, then GPT-2's regex (ByteLevel's, whose final \s+ splits the same): llama.cpp's
    // converter calls SmolLM's tokenizer "smollm" and StarCoder's "starcoder", one regex set.
    if (rx.empty() && info.digits && info.byte_level_regex) return std::string("smollm");
    if (info.digits) return make_error("a Digits pre-tokenizer is supported only directly before ByteLevel with use_regex");
    if (rx.empty() && info.byte_level_regex) return std::string("gpt-2");
    if (info.byte_level_regex) return make_error("a Split pre-tokenizer followed by ByteLevel with use_regex is not supported");
    if (rx.size() == 1 && rx[0] == normalize_regex(kLlama3Regex)) return std::string("llama-bpe");
    if (rx.size() == 1 && rx[0] == normalize_regex(kQwen2Regex)) return std::string("qwen2");
    if (rx.size() == 1 && rx[0] == normalize_regex(kTekkenRegex)) return std::string("tekken");
    if (rx.size() == 1 && rx[0] == normalize_regex(kGpt4oRegex)) return std::string("gpt-4o");
    if (rx.size() == 3 && rx[0] == kDeepseekV3Regex[0] && rx[1] == kDeepseekV3Regex[1] && rx[2] == normalize_regex(kDeepseekV3Regex[2]))
        return std::string("deepseek-v3");
    // DeepSeek LLM / Coder: [\r\n] first, then letters as an explicit class or as \p{L}.
    if (rx.size() >= 4 && rx[0] == "[\\r\\n]") {
        if (rx[1] == R"(\s?\p{L}+)") return std::string("deepseek-coder");
        if (rx[1].rfind(R"(\s?[A-Za-z)", 0) == 0) return std::string("deepseek-llm");
    }
    std::string all;
    for (const auto& r : rx) all += (all.empty() ? "" : " ; ") + r;
    return make_error("unrecognised pre-tokenizer regex(es): " + all);
}

// Converters mark some added tokens that are not flagged special as control tokens by their look.
bool looks_special(const std::string& t) {
    auto starts = [&](std::string_view p) { return t.size() >= p.size() && t.compare(0, p.size(), p) == 0; };
    auto ends = [&](std::string_view p) { return t.size() >= p.size() && t.compare(t.size() - p.size(), p.size(), p) == 0; };
    if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
    if (t.size() >= 4 && starts("<|") && ends("|>")) return true;
    if (starts("<\xef\xbd\x9c") && ends("\xef\xbd\x9c>") && t.size() >= 8) return true;  // <｜…｜>
    return starts("<unused") && ends(">");
}

// bos_token etc.: a string, or an AddedToken object with "content".
std::string token_content(const Value& v) {
    if (v.is_string()) return v.as_string();
    if (v.is_object()) return v["content"].as_string();
    return {};
}

// The normalizer: none, NFC, or an empty sequence are what byte-level tokenizers use.
Result<bool> detect_nfc(const Value& norm) {
    if (norm.is_null()) return false;
    const std::string type = norm["type"].as_string();
    if (type == "NFC") return true;
    if (type == "Sequence") {
        bool nfc = false;
        for (const Value& n : norm["normalizers"].as_array()) {
            auto r = detect_nfc(n);
            if (!r.ok()) return r;
            nfc |= *r;
        }
        return nfc;
    }
    return make_error("unsupported normalizer '" + type + "' (supported: none, NFC)");
}

Result<std::string> read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return make_error(path + ": cannot open");
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// CLIP's folder as Stable Diffusion pipelines ship it (no tokenizer.json): vocab.json (text -> id,
// byte-level text with "</w>" word ends), merges.txt ("#version" line, then "left right" by rank),
// and the special tokens in tokenizer_config.json / special_tokens_map.json. CLIPTokenizer's rules:
// NFC, white space collapsed, lower case, its regex ("clip"), BPE with the "</w>" suffix, start
// and end tokens added; its special tokens (SD 2.x pads with "!") are matched in the text first.
Result<std::unique_ptr<Tokenizer>> from_clip_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    const std::string vocab_path = (fs::path(dir) / "vocab.json").string();
    const std::string merges_path = (fs::path(dir) / "merges.txt").string();
    auto vocab_r = json::parse_file(vocab_path);
    if (!vocab_r.ok()) return vocab_r.status();
    const Value& vocab = *vocab_r;
    if (!vocab.is_object() || vocab.size() == 0) return make_error(vocab_path + ": not an object of token -> id");
    VocabSpec s;
    s.model = "gpt2";
    s.pre = "clip";
    s.end_of_word_suffix = "</w>";
    s.tokens.assign(vocab.size(), {});
    std::vector<uint8_t> have(vocab.size(), 0);
    for (const auto& [text, id] : vocab.as_object()) {
        if (!id.is_int() || id.as_int() < 0 || size_t(id.as_int()) >= vocab.size())
            return make_error(vocab_path + ": '" + text + "' has id " + id.dump() + ", outside 0.." + std::to_string(vocab.size() - 1));
        const size_t i = size_t(id.as_int());
        if (have[i]) return make_error(vocab_path + ": id " + std::to_string(i) + " is used twice");
        have[i] = 1;
        s.tokens[i] = text;
    }
    auto merges_text = read_text(merges_path);
    if (!merges_text.ok()) return merges_text.status();
    std::istringstream lines(*merges_text);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line.rfind("#version", 0) == 0) continue;
        const size_t sp = line.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string::npos)
            return make_error(merges_path + ": line " + std::to_string(s.merges.size() + 2) + " is not \"left right\"");
        s.merges.push_back(std::move(line));
    }
    if (s.merges.empty()) return make_error(merges_path + ": no merges");

    // Special tokens: tokenizer_config.json first, special_tokens_map.json for what it lacks.
    std::string bos, eos, pad, unk, cls;
    for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
        const std::string path = (fs::path(dir) / name).string();
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) continue;
        auto cfg = json::parse_file(path);
        if (!cfg.ok()) return cfg.status();
        if (bos.empty()) bos = token_content((*cfg)["bos_token"]);
        if (eos.empty()) eos = token_content((*cfg)["eos_token"]);
        if (pad.empty()) pad = token_content((*cfg)["pad_token"]);
        if (unk.empty()) unk = token_content((*cfg)["unk_token"]);
        if (cls.empty()) cls = (*cfg)["tokenizer_class"].as_string();
    }
    // GPT-2's slow folders look the same but tokenize differently: only CLIP's are read this way.
    if (cls != "CLIPTokenizer" && cls != "CLIPTokenizerFast")
        return make_error(dir + ": vocab.json and merges.txt without tokenizer.json are read only for CLIPTokenizer (tokenizer_config.json says '" +
                          cls + "')");
    s.types.assign(s.tokens.size(), int32_t(TokenType::Normal));
    auto special = [&](const std::string& text, const char* what, int32_t* id) -> Status {
        if (text.empty()) return make_error(dir + ": no " + std::string(what) + " in tokenizer_config.json or special_tokens_map.json");
        const Value* v = vocab.find(text);
        if (!v) return make_error(dir + ": the " + std::string(what) + " '" + text + "' is not in vocab.json");
        *id = int32_t(v->as_int());
        s.types[size_t(*id)] = int32_t(TokenType::Control);
        return Status();
    };
    // CLIPTokenizer's defaults: <|startoftext|>, and <|endoftext|> for the end, padding and unknown.
    if (bos.empty()) bos = "<|startoftext|>";
    if (eos.empty()) eos = "<|endoftext|>";
    HEARTH_RETURN_IF_ERROR(special(bos, "bos_token", &s.bos));
    HEARTH_RETURN_IF_ERROR(special(eos, "eos_token", &s.eos));
    HEARTH_RETURN_IF_ERROR(special(pad.empty() ? eos : pad, "pad_token", &s.pad));
    HEARTH_RETURN_IF_ERROR(special(unk.empty() ? eos : unk, "unk_token", &s.unk));
    s.add_bos = true;
    s.add_eos = true;
    s.clean_spaces = false;
    auto t = Tokenizer::from_spec(std::move(s));
    if (!t.ok()) return make_error(dir + ": " + t.message());
    return t;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_hf_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    const std::string tj_path = (fs::path(dir) / "tokenizer.json").string();
    std::error_code ec;
    if (!fs::is_regular_file(tj_path, ec)) {
        if (fs::is_regular_file(fs::path(dir) / "vocab.json", ec) && fs::is_regular_file(fs::path(dir) / "merges.txt", ec))
            return from_clip_dir(dir);
        return make_error(dir + ": no tokenizer.json (nor CLIP's vocab.json and merges.txt) in this folder");
    }
    auto tj_r = json::parse_file(tj_path);
    if (!tj_r.ok()) return tj_r.status();
    const Value& tj = *tj_r;
    auto fail = [&](const std::string& msg) -> Status { return make_error(tj_path + ": " + msg); };

    const Value& model = tj["model"];
    if (model["type"].as_string() == "WordPiece") {  // BERT (hf_wordpiece.cpp)
        auto spec = wordpiece_spec_from_json(tj);
        if (!spec.ok()) return fail(spec.message());
        auto t = from_spec(std::move(*spec));
        if (!t.ok()) return make_error(dir + ": " + t.message());
        return t;
    }
    if (model["type"].as_string() != "BPE")
        return fail("model type '" + model["type"].as_string() + "' is not supported (byte-level BPE and WordPiece are)");
    auto pre = detect_pre(tj);
    if (!pre.ok()) return fail(pre.message());

    VocabSpec s;
    s.model = "gpt2";
    s.pre = *pre;
    auto nfc = detect_nfc(tj["normalizer"]);
    if (!nfc.ok()) return fail(nfc.message());
    s.nfc = *nfc;

    // Ids: model.vocab plus added_tokens; gaps become unused "[PADn]" tokens as converters write them.
    const Value& vocab = model["vocab"];
    const Value& added = tj["added_tokens"];
    auto count = tokenizer_json_id_count(vocab, added);
    if (!count.ok()) return fail(count.message());
    const size_t n = *count;
    s.tokens.assign(n, {});
    s.types.assign(n, int32_t(TokenType::Unused));
    s.lstrip.assign(n, 0);
    s.rstrip.assign(n, 0);
    std::vector<uint8_t> have(n, 0);
    for (const auto& [text, id] : vocab.as_object()) {
        const size_t i = size_t(id.as_int());
        if (have[i]) return fail("id " + std::to_string(i) + " is used by both '" + s.tokens[i] + "' and '" + text + "'");
        have[i] = 1;
        s.tokens[i] = text;
        s.types[i] = int32_t(TokenType::Normal);
    }
    std::unordered_map<std::string, int32_t> added_ids;
    for (const Value& a : added.as_array()) {
        const size_t i = size_t(a["id"].as_int());
        const std::string& text = a["content"].as_string();
        s.tokens[i] = text;
        have[i] = 1;
        s.types[i] = int32_t(a["special"].as_bool() || looks_special(text) ? TokenType::Control : TokenType::UserDefined);
        s.lstrip[i] = a["lstrip"].as_bool();
        s.rstrip[i] = a["rstrip"].as_bool();
        added_ids[text] = int32_t(i);
    }
    for (size_t i = 0; i < n; ++i) {
        if (!have[i]) s.tokens[i] = "[PAD" + std::to_string(i) + "]";
    }

    // Merges: "left right" strings or ["left", "right"] pairs.
    const Value& merges = model["merges"];
    s.merges.reserve(merges.size());
    for (const Value& m : merges.as_array()) {
        if (m.is_string()) {
            s.merges.push_back(m.as_string());
        } else if (m.is_array() && m.size() == 2 && m.as_array()[0].is_string() && m.as_array()[1].is_string()) {
            s.merges.push_back(m.as_array()[0].as_string() + " " + m.as_array()[1].as_string());
        } else {
            return fail("model.merges[" + std::to_string(s.merges.size()) + "] is neither \"a b\" nor [\"a\", \"b\"]");
        }
    }
    if (const Value* im = model.find("ignore_merges"); im && im->is_bool()) s.ignore_merges = im->as_bool();

    auto id_of = [&](const std::string& text) -> int32_t {
        if (text.empty()) return -1;
        if (auto it = added_ids.find(text); it != added_ids.end()) return it->second;
        if (const Value* v = vocab.find(text)) return int32_t(v->as_int());
        return -1;
    };

    // tokenizer_config.json (optional): special tokens, flags, chat template.
    const std::string cfg_path = (fs::path(dir) / "tokenizer_config.json").string();
    std::string bos_text, eos_text;
    if (fs::is_regular_file(cfg_path, ec)) {
        auto cfg_r = json::parse_file(cfg_path);
        if (!cfg_r.ok()) return cfg_r.status();
        const Value& cfg = *cfg_r;
        bos_text = token_content(cfg["bos_token"]);
        eos_text = token_content(cfg["eos_token"]);
        s.bos = id_of(bos_text);
        s.eos = id_of(eos_text);
        s.pad = id_of(token_content(cfg["pad_token"]));
        s.unk = id_of(token_content(cfg["unk_token"]));
        if (const Value* v = cfg.find("add_bos_token"); v && v->is_bool()) s.add_bos = v->as_bool();
        if (const Value* v = cfg.find("add_eos_token"); v && v->is_bool()) s.add_eos = v->as_bool();
        if (const Value* v = cfg.find("clean_up_tokenization_spaces"); v && v->is_bool()) s.clean_spaces = v->as_bool();
        const Value& tmpl = cfg["chat_template"];
        if (tmpl.is_string()) {
            s.chat_template = tmpl.as_string();
        } else if (tmpl.is_array()) {  // named templates: take "default", else the first
            for (const Value& t : tmpl.as_array()) {
                if (s.chat_template.empty() || t["name"].as_string() == "default") s.chat_template = t["template"].as_string();
            }
        }
    }
    if (s.unk < 0) s.unk = id_of(model["unk_token"].as_string());
    if (s.chat_template.empty()) {
        const std::string jinja = (fs::path(dir) / "chat_template.jinja").string();
        if (fs::is_regular_file(jinja, ec)) {
            auto text = read_text(jinja);
            if (text.ok()) s.chat_template = *text;
        }
    }

    // Without add_bos_token/add_eos_token, a TemplateProcessing post-processor says what is added.
    if (!s.add_bos.has_value() || !s.add_eos.has_value()) {
        const Value* tp = nullptr;
        const Value& post = tj["post_processor"];
        if (post["type"].as_string() == "TemplateProcessing") tp = &post;
        for (const Value& p : post["processors"].as_array()) {
            if (p["type"].as_string() == "TemplateProcessing") tp = &p;
        }
        if (tp) {
            const auto& single = (*tp)["single"].as_array();
            auto special_at = [&](size_t i) { return i < single.size() ? single[i]["SpecialToken"]["id"].as_string() : std::string(); };
            if (!s.add_bos.has_value()) s.add_bos = !single.empty() && !bos_text.empty() && special_at(0) == bos_text;
            if (!s.add_eos.has_value()) s.add_eos = !single.empty() && !eos_text.empty() && special_at(single.size() - 1) == eos_text;
        }
    }
    if (s.bos < 0) s.add_bos = false;  // nothing to add (also over a pre-tokenizer name's default)
    if (s.add_eos.value_or(false) && s.eos < 0) s.add_eos = false;

    auto t = from_spec(std::move(s));
    if (!t.ok()) return make_error(dir + ": " + t.message());
    return t;
}

}  // namespace hearth::tokenizer
