// Vocabulary <-> GGUF metadata (the tokenizer.ggml.* keys llama.cpp's converter writes).
#include <filesystem>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth::tokenizer {

namespace {

using gguf::Value;
using gguf::ValueType;

const char* const kModel = "tokenizer.ggml.model";
const char* const kPre = "tokenizer.ggml.pre";
const char* const kTokens = "tokenizer.ggml.tokens";
const char* const kScores = "tokenizer.ggml.scores";
const char* const kTypes = "tokenizer.ggml.token_type";
const char* const kMerges = "tokenizer.ggml.merges";
const char* const kBos = "tokenizer.ggml.bos_token_id";
const char* const kEos = "tokenizer.ggml.eos_token_id";
const char* const kEot = "tokenizer.ggml.eot_token_id";
const char* const kEom = "tokenizer.ggml.eom_token_id";
const char* const kUnk = "tokenizer.ggml.unknown_token_id";
const char* const kPad = "tokenizer.ggml.padding_token_id";
// BERT's [CLS] and [SEP], as llama.cpp's converter writes them ("seperator" is its spelling).
const char* const kCls = "tokenizer.ggml.cls_token_id";
const char* const kSep = "tokenizer.ggml.seperator_token_id";
const char* const kAddBos = "tokenizer.ggml.add_bos_token";
const char* const kAddEos = "tokenizer.ggml.add_eos_token";
const char* const kAddPrefix = "tokenizer.ggml.add_space_prefix";
const char* const kTemplate = "tokenizer.chat_template";

Status read_strings(const gguf::File& f, const char* key, std::vector<std::string>& out) {
    const Value* v = f.find(key);
    if (!v) return make_error(f.path() + ": missing " + key);
    if (v->type != ValueType::ARRAY || v->elem_type != ValueType::STRING)
        return make_error(f.path() + ": " + key + " is not an array of strings");
    out.clear();
    out.reserve(v->arr.size());
    for (const Value& e : v->arr) out.push_back(e.str);
    return Status();
}

template <class T>
Status read_numbers(const gguf::File& f, const char* key, std::vector<T>& out) {
    const Value* v = f.find(key);
    if (!v) return Status();  // optional
    if (v->type != ValueType::ARRAY || v->elem_type == ValueType::STRING || v->elem_type == ValueType::ARRAY ||
        v->elem_type == ValueType::BOOL)
        return make_error(f.path() + ": " + key + " is not an array of numbers");
    out.clear();
    out.reserve(v->arr.size());
    for (const Value& e : v->arr) out.push_back(e.is_float() ? T(e.as_double()) : T(e.as_int()));
    return Status();
}

Status read_id(const gguf::File& f, const char* key, int32_t& out) {
    const Value* v = f.find(key);
    if (!v) return Status();
    if (!v->is_int() || v->type == ValueType::BOOL) return make_error(f.path() + ": " + key + " is not an integer");
    const int64_t id = v->as_int();
    out = id < 0 || id > INT32_MAX ? INT32_MAX : int32_t(id);  // out of range: dropped by build() with a warning
    return Status();
}

Status read_flag(const gguf::File& f, const char* key, std::optional<bool>& out) {
    if (!f.find(key)) return Status();
    auto b = f.get_bool(key, false);
    if (!b.ok()) return b.status();
    out = *b;
    return Status();
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const gguf::File& f) {
    VocabSpec s;
    if (!f.find(kModel)) return make_error(f.path() + ": no vocabulary (tokenizer.ggml.model is missing)");
    auto model = f.get_string(kModel);
    if (!model.ok()) return model.status();
    s.model = *model;
    auto pre = f.get_string(kPre, "");
    if (!pre.ok()) return pre.status();
    s.pre = *pre;
    HEARTH_RETURN_IF_ERROR(read_strings(f, kTokens, s.tokens));
    HEARTH_RETURN_IF_ERROR(read_numbers(f, kScores, s.scores));
    HEARTH_RETURN_IF_ERROR(read_numbers(f, kTypes, s.types));
    if (f.find(kMerges)) HEARTH_RETURN_IF_ERROR(read_strings(f, kMerges, s.merges));
    // Arrays longer than the vocabulary (llama.cpp accepts them) are cut to it.
    if (s.scores.size() > s.tokens.size()) s.scores.resize(s.tokens.size());
    if (s.types.size() > s.tokens.size()) s.types.resize(s.tokens.size());
    HEARTH_RETURN_IF_ERROR(read_id(f, kBos, s.bos));
    HEARTH_RETURN_IF_ERROR(read_id(f, kEos, s.eos));
    HEARTH_RETURN_IF_ERROR(read_id(f, kEot, s.eot));
    HEARTH_RETURN_IF_ERROR(read_id(f, kEom, s.eom));
    HEARTH_RETURN_IF_ERROR(read_id(f, kUnk, s.unk));
    HEARTH_RETURN_IF_ERROR(read_id(f, kPad, s.pad));
    // [CLS]/[SEP] stand first and last like BOS/EOS; older BERT GGUFs have only bos/eos.
    int32_t cls = -1, sep = -1;
    HEARTH_RETURN_IF_ERROR(read_id(f, kCls, cls));
    HEARTH_RETURN_IF_ERROR(read_id(f, kSep, sep));
    if (s.model == "bert" && cls != -1) s.bos = cls;
    if (s.model == "bert" && sep != -1) s.eos = sep;
    HEARTH_RETURN_IF_ERROR(read_flag(f, kAddBos, s.add_bos));
    HEARTH_RETURN_IF_ERROR(read_flag(f, kAddEos, s.add_eos));
    HEARTH_RETURN_IF_ERROR(read_flag(f, kAddPrefix, s.add_space_prefix));
    auto name = f.get_string("general.name", "");
    if (name.ok()) s.name = *name;
    auto tmpl = f.get_string(kTemplate, "");
    if (tmpl.ok()) s.chat_template = *tmpl;
    auto t = from_spec(std::move(s));
    if (!t.ok()) return make_error(f.path() + ": " + t.message());
    return t;
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_path(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return from_hf_dir(path);
    auto file = gguf::File::open(path);
    if (!file.ok()) return file.status();
    return from_gguf(**file);
}

Status Tokenizer::write_gguf_metadata(gguf::Writer& w) const {
    const bool spm = type_ == VocabType::Spm, bpe = type_ == VocabType::Bpe, wpm = type_ == VocabType::Wpm;
    w.set_string(kModel, spec_.model);
    if (bpe) w.set_string(kPre, spec_.pre.empty() ? pre_kind_name(pre_) : spec_.pre);
    if (wpm) w.set_string(kPre, spec_.pre.empty() ? "default" : spec_.pre);  // not read for bert; llama.cpp writes one
    w.set_string_array(kTokens, spec_.tokens);
    if (spm || !spec_.scores.empty()) w.set_f32_array(kScores, score_);
    w.set_i32_array(kTypes, spec_.types.empty() ? std::vector<int32_t>(spec_.tokens.size(), int32_t(TokenType::Normal)) : spec_.types);
    if (bpe) w.set_string_array(kMerges, spec_.merges);
    auto put_id = [&](const char* key, int32_t id) { if (id >= 0) w.set_u32(key, uint32_t(id)); };
    put_id(kBos, bos_);
    put_id(kEos, eos_);
    put_id(kUnk, unk_);
    put_id(kPad, pad_);
    if (wpm) {
        put_id(kCls, bos_);
        put_id(kSep, eos_);
    }
    put_id(kEot, spec_.eot >= 0 ? eot_ : -1);  // only what the source stated; the rest is found by name again
    put_id(kEom, spec_.eom >= 0 ? eom_ : -1);
    w.set_bool(kAddBos, add_bos_);
    w.set_bool(kAddEos, add_eos_);
    if (spm || spec_.add_space_prefix) w.set_bool(kAddPrefix, add_space_prefix_);
    if (!spec_.chat_template.empty()) w.set_string(kTemplate, spec_.chat_template);
    return Status();
}

}  // namespace hearth::tokenizer
