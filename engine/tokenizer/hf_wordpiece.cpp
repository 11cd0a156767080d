// tokenizer.json (WordPiece) -> VocabSpec. Token types follow llama.cpp's converter: special added
// tokens are control tokens, other added tokens user-defined, the rest normal; then every text is
// respelled (hf_wordpiece.h).
#include "engine/tokenizer/hf_wordpiece.h"

#include <string>
#include <vector>

namespace hearth::tokenizer {

namespace {

using json::Value;

// A boolean option of the normalizer: absent means Hugging Face's default.
bool option(const Value& node, const char* key, bool fallback) {
    const Value* v = node.find(key);
    return v && v->is_bool() ? v->as_bool() : fallback;
}

Status check_normalizer(const Value& norm) {
    if (norm.is_null()) return make_error("a WordPiece tokenizer without a normalizer is not supported (cased text; only BertNormalizer with lowercase is)");
    const std::string type = norm["type"].as_string();
    if (type != "BertNormalizer")
        return make_error("WordPiece normalizer '" + type + "' is not supported (only BertNormalizer)");
    const bool lowercase = option(norm, "lowercase", true);
    const Value* sa = norm.find("strip_accents");
    const bool strip = sa && sa->is_bool() ? sa->as_bool() : lowercase;  // null: as lowercase
    if (!lowercase) return make_error("a cased WordPiece vocabulary (BertNormalizer lowercase = false) is not supported");
    if (!strip) return make_error("BertNormalizer with strip_accents = false is not supported (only accent-stripping uncased vocabularies)");
    if (!option(norm, "clean_text", true)) return make_error("BertNormalizer with clean_text = false is not supported");
    if (!option(norm, "handle_chinese_chars", true)) return make_error("BertNormalizer with handle_chinese_chars = false is not supported");
    return Status();
}

// The texts of the special tokens the post-processor puts first and last: "" where it puts none.
Status read_post_processor(const Value& post, std::string& first, std::string& last) {
    if (post.is_null()) return Status();
    const std::string type = post["type"].as_string();
    if (type == "BertProcessing") {  // {"cls": ["[CLS]", 101], "sep": ["[SEP]", 102]}
        first = post["cls"].as_array().empty() ? std::string() : post["cls"].as_array()[0].as_string();
        last = post["sep"].as_array().empty() ? std::string() : post["sep"].as_array()[0].as_string();
        if (first.empty() || last.empty()) return make_error("BertProcessing post-processor without cls and sep");
        return Status();
    }
    if (type != "TemplateProcessing")
        return make_error("WordPiece post-processor '" + type + "' is not supported (TemplateProcessing or BertProcessing)");
    // Accepted: [special] $A [special], either special optional.
    const auto& single = post["single"].as_array();
    size_t seq = 0, n_seq = 0;
    for (size_t i = 0; i < single.size(); ++i) {
        if (single[i].find("Sequence")) { seq = i; ++n_seq; }
        else if (!single[i].find("SpecialToken")) return make_error("post_processor.single has an entry that is neither a special token nor a sequence");
    }
    if (n_seq != 1 || seq > 1 || single.size() - seq > 2)
        return make_error("post_processor.single is not of the form [CLS] $A [SEP] (not supported)");
    if (seq == 1) first = single[0]["SpecialToken"]["id"].as_string();
    if (seq + 1 < single.size()) last = single.back()["SpecialToken"]["id"].as_string();
    return Status();
}

}  // namespace

Result<size_t> tokenizer_json_id_count(const Value& vocab, const Value& added) {
    if (!vocab.is_object()) return make_error("model.vocab is not an object");
    int64_t max_id = -1;
    for (const auto& [text, id] : vocab.as_object()) {
        if (!id.is_int() || id.as_int() < 0) return make_error("model.vocab['" + text + "'] is not a non-negative integer id");
        max_id = std::max(max_id, id.as_int());
    }
    for (const Value& a : added.as_array()) {
        if (!a["id"].is_int() || a["id"].as_int() < 0 || !a["content"].is_string())
            return make_error("an added_tokens entry lacks a valid id or content");
        max_id = std::max(max_id, a["id"].as_int());
    }
    if (max_id < 0) return make_error("the vocabulary is empty");
    if (max_id >= (int64_t(1) << 24)) return make_error("token id " + std::to_string(max_id) + " is implausibly large");
    return size_t(max_id) + 1;
}

std::string wordpiece_phantom_spelling(const std::string& hf_text, bool control) {
    if (control) return hf_text;
    if (hf_text.size() >= 2 && hf_text.compare(0, 2, "##") == 0) return hf_text.substr(2);
    return "\xe2\x96\x81" + hf_text;
}

Result<VocabSpec> wordpiece_spec_from_json(const Value& tj) {
    const Value& model = tj["model"];
    if (const Value* p = model.find("continuing_subword_prefix"); p && !(p->is_string() && p->as_string() == "##"))
        return make_error("WordPiece continuing_subword_prefix other than \"##\" is not supported");
    HEARTH_RETURN_IF_ERROR(check_normalizer(tj["normalizer"]));
    const Value& pre = tj["pre_tokenizer"];
    if (pre["type"].as_string() != "BertPreTokenizer")
        return make_error("WordPiece pre-tokenizer '" + (pre.is_null() ? std::string("none") : pre["type"].as_string()) +
                          "' is not supported (only BertPreTokenizer)");
    std::string cls_text, sep_text;
    HEARTH_RETURN_IF_ERROR(read_post_processor(tj["post_processor"], cls_text, sep_text));

    VocabSpec s;
    s.model = "bert";
    if (const Value* m = model.find("max_input_chars_per_word"); m && !m->is_null()) {
        if (!m->is_int() || m->as_int() < 0 || m->as_int() > (int64_t(1) << 30))
            return make_error("model.max_input_chars_per_word is not a non-negative integer");
        s.max_word_chars = int32_t(m->as_int());
    }

    // Ids: model.vocab plus added_tokens; gaps become unused "[PADn]" tokens as converters write them.
    const Value& vocab = model["vocab"];
    const Value& added = tj["added_tokens"];
    auto count = tokenizer_json_id_count(vocab, added);
    if (!count.ok()) return count.status();
    const size_t n = *count;
    std::vector<std::string> hf(n);
    std::vector<uint8_t> have(n, 0);
    s.types.assign(n, int32_t(TokenType::Unused));
    s.lstrip.assign(n, 0);
    s.rstrip.assign(n, 0);
    for (const auto& [text, id] : vocab.as_object()) {
        const size_t i = size_t(id.as_int());
        if (have[i]) return make_error("id " + std::to_string(i) + " is used by both '" + hf[i] + "' and '" + text + "'");
        have[i] = 1;
        hf[i] = text;
        s.types[i] = int32_t(TokenType::Normal);
    }
    for (const Value& a : added.as_array()) {
        const size_t i = size_t(a["id"].as_int());
        hf[i] = a["content"].as_string();
        have[i] = 1;
        s.types[i] = int32_t(a["special"].as_bool() ? TokenType::Control : TokenType::UserDefined);
        s.lstrip[i] = a["lstrip"].as_bool();
        s.rstrip[i] = a["rstrip"].as_bool();
    }
    s.tokens.resize(n);
    for (size_t i = 0; i < n; ++i) {
        if (!have[i]) s.tokens[i] = "[PAD" + std::to_string(i) + "]";  // unused: spelled as converters do, never matched
        else s.tokens[i] = wordpiece_phantom_spelling(hf[i], s.types[i] == int32_t(TokenType::Control));
    }

    // Special ids by their Hugging Face text (added tokens win over the vocabulary, as in Hugging Face).
    auto id_of = [&](const std::string& text) -> int32_t {
        if (text.empty()) return -1;
        for (const Value& a : added.as_array()) {
            if (a["content"].as_string() == text) return int32_t(a["id"].as_int());
        }
        if (const Value* v = vocab.find(text)) return int32_t(v->as_int());
        return -1;
    };
    const std::string unk_text = model["unk_token"].is_string() ? model["unk_token"].as_string() : "[UNK]";
    s.unk = id_of(unk_text);
    if (s.unk < 0) return make_error("the WordPiece unk_token '" + unk_text + "' is not in the vocabulary");
    if (!cls_text.empty() && (s.bos = id_of(cls_text)) < 0) return make_error("the post-processor's '" + cls_text + "' is not in the vocabulary");
    if (!sep_text.empty() && (s.eos = id_of(sep_text)) < 0) return make_error("the post-processor's '" + sep_text + "' is not in the vocabulary");
    s.add_bos = !cls_text.empty();
    s.add_eos = !sep_text.empty();
    s.pad = id_of("[PAD]");
    if (const Value& pad = tj["padding"]; pad.is_object() && pad["pad_token"].is_string()) {
        if (int32_t id = id_of(pad["pad_token"].as_string()); id >= 0) s.pad = id;
    }
    if (const Value& dec = tj["decoder"]; dec["type"].as_string() == "WordPiece") s.clean_spaces = option(dec, "cleanup", true);
    return s;
}

}  // namespace hearth::tokenizer
