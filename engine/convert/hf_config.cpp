#include "engine/convert/hf_config.h"

#include <cmath>
#include <filesystem>

namespace hearth::convert {

namespace {

using json::Value;

// Architectures and the GGUF architecture each converts to. Mistral's HF layout is llama's, and
// Mixtral is llama with experts, as llama.cpp converts them.
struct ArchName { const char* hf; const char* gguf; };
constexpr ArchName kArchs[] = {
    {"LlamaForCausalLM", "llama"},
    {"MistralForCausalLM", "llama"},
    {"MixtralForCausalLM", "llama"},
    {"Qwen2ForCausalLM", "qwen2"},
    {"Qwen3ForCausalLM", "qwen3"},
    {"Qwen3MoeForCausalLM", "qwen3moe"},
    {"BertModel", "bert"},
};

// A sentence-transformers folder says how it pools in its Pooling module's config.json; the
// encoder's GGUF carries that as pooling_type (1 mean, 2 cls), as llama.cpp's converter writes it.
Result<int> read_st_pooling(const std::string& dir) {
    namespace fs = std::filesystem;
    const std::string modules = (fs::path(dir) / "modules.json").string();
    std::error_code ec;
    if (!fs::is_regular_file(modules, ec)) return -1;
    auto m = json::parse_file(modules);
    if (!m.ok()) return make_error(modules + ": " + m.message());
    for (const Value& mod : m->as_array()) {
        // "sentence_transformers.models.Pooling", or since version 6 the module's full path.
        const std::string type = mod["type"].as_string();
        if (type.size() < 8 || type.compare(type.size() - 8, 8, ".Pooling") != 0) continue;
        const std::string path = (fs::path(dir) / mod["path"].as_string() / "config.json").string();
        auto p = json::parse_file(path);
        if (!p.ok()) return make_error(path + ": " + p.message());
        // Flags (pooling_mode_mean_tokens, …), or since version 6 one "pooling_mode" name.
        const std::string mode = (*p)["pooling_mode"].as_string();
        if ((*p)["pooling_mode_mean_tokens"].as_bool() || mode == "mean") return 1;
        if ((*p)["pooling_mode_cls_token"].as_bool() || mode == "cls") return 2;
        return make_error(path + ": only mean and CLS pooling are supported");
    }
    return -1;
}

// A mixture of experts: Mixtral (experts intermediate_size wide) or Qwen3-MoE (moe_intermediate_size
// wide). The count is num_local_experts in Mixtral's configs and in what transformers 5 saves for
// either, num_experts in Qwen's published ones. Layouts llama.cpp's architectures cannot express —
// dense layers among the sparse ones, unnormalized expert weights under a name that assumes
// them normalized — are errors, not a file that runs differently from the original.
template <class Fail>
Status read_experts(const Value& j, HfConfig& c, const Fail& fail) {
    const bool mixtral = c.hf_arch == "MixtralForCausalLM", qwen3moe = c.arch == "qwen3moe";
    if (!mixtral && !qwen3moe) return {};
    const char* count_key = j["num_local_experts"].is_null() && !mixtral ? "num_experts" : "num_local_experts";
    if (!j[count_key].is_int() || j[count_key].as_int() <= 0) return fail(std::string("\"") + count_key + "\" is missing or not a positive integer");
    if (!j["num_experts_per_tok"].is_int() || j["num_experts_per_tok"].as_int() <= 0 ||
        j["num_experts_per_tok"].as_int() > j[count_key].as_int())
        return fail("\"num_experts_per_tok\" is missing or not between 1 and " + std::string(count_key));
    c.n_expert = j[count_key].as_int();
    c.n_expert_used = j["num_experts_per_tok"].as_int();
    c.n_ff_exp = c.n_ff;
    if (qwen3moe) {
        if (!j["moe_intermediate_size"].is_int() || j["moe_intermediate_size"].as_int() <= 0)
            return fail("\"moe_intermediate_size\" is missing or not a positive integer");
        c.n_ff_exp = j["moe_intermediate_size"].as_int();
        if (j["decoder_sparse_step"].is_int() && j["decoder_sparse_step"].as_int() != 1)
            return fail("decoder_sparse_step " + std::to_string(j["decoder_sparse_step"].as_int()) +
                        ": dense layers among the expert layers are not supported");
        if (j["mlp_only_layers"].is_array() && j["mlp_only_layers"].size() > 0)
            return fail("mlp_only_layers: dense layers among the expert layers are not supported");
        // Published Qwen3-MoE models renormalize; transformers' default is false, and llama.cpp
        // assumes true for the architecture: the key says which, so Hearth runs either exactly.
        c.expert_weights_norm = j["norm_topk_prob"].is_bool() && j["norm_topk_prob"].as_bool();
    }
    return {};
}

}  // namespace

Result<HfConfig> read_hf_config(const std::string& dir) {
    const std::string path = (std::filesystem::path(dir) / "config.json").string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return make_error(dir + ": no config.json (not a Hugging Face model folder)");
    auto parsed = json::parse_file(path);
    if (!parsed.ok()) return make_error(path + ": " + parsed.message());
    if (!parsed->is_object()) return make_error(path + ": not a JSON object");
    HfConfig c;
    c.raw = *parsed;
    const Value& j = c.raw;
    auto fail = [&](const std::string& why) { return make_error(path + ": " + why); };

    const Value& archs = j["architectures"];
    if (!archs.is_array() || archs.size() == 0 || !archs.as_array()[0].is_string())
        return fail("no \"architectures\" list naming the model class");
    c.hf_arch = archs.as_array()[0].as_string();
    for (const ArchName& a : kArchs)
        if (c.hf_arch == a.hf) c.arch = a.gguf;
    if (c.arch.empty()) {
        std::string known;
        for (const ArchName& a : kArchs) known += std::string(known.empty() ? "" : ", ") + a.hf;
        return fail("architecture '" + c.hf_arch + "' is not supported for conversion (supported: " + known + ")");
    }

    // Positive integers the model cannot be built without.
    auto need_int = [&](const char* key, int64_t* out) -> Status {
        const Value& v = j[key];
        if (!v.is_int() || v.as_int() <= 0) return fail(std::string("\"") + key + "\" is missing or not a positive integer");
        *out = v.as_int();
        return {};
    };
    HEARTH_RETURN_IF_ERROR(need_int("num_hidden_layers", &c.n_layer));
    HEARTH_RETURN_IF_ERROR(need_int("hidden_size", &c.n_embd));
    HEARTH_RETURN_IF_ERROR(need_int("intermediate_size", &c.n_ff));
    HEARTH_RETURN_IF_ERROR(need_int("num_attention_heads", &c.n_head));
    HEARTH_RETURN_IF_ERROR(need_int("vocab_size", &c.n_vocab));
    if (c.arch == "bert") {
        HEARTH_RETURN_IF_ERROR(need_int("max_position_embeddings", &c.n_ctx));
        if (c.n_embd % c.n_head != 0) return fail("hidden_size is not a multiple of num_attention_heads");
        c.n_head_kv = c.n_head;
        c.head_dim = c.n_embd / c.n_head;
        c.layer_norm_eps = j["layer_norm_eps"].is_number() ? j["layer_norm_eps"].as_double() : 1e-12;  // transformers' default
        c.n_token_types = j["type_vocab_size"].is_int() ? j["type_vocab_size"].as_int() : 2;
        if (const std::string act = j["hidden_act"].as_string(); !act.empty() && act != "gelu")
            return fail("hidden_act '" + act + "' is not supported for BERT (gelu)");
        if (const std::string pe = j["position_embedding_type"].as_string(); !pe.empty() && pe != "absolute")
            return fail("position_embedding_type '" + pe + "' is not supported (absolute)");
        if (j["is_decoder"].as_bool()) return fail("a decoder BERT is not an embedding model");
        auto pooling = read_st_pooling(dir);
        if (!pooling.ok()) return pooling.status();
        // Mean and CLS pooling give different vectors from the same encoder (all-MiniLM pools the
        // mean, bge the CLS row): without the folder's word the converter will not guess.
        if (*pooling < 0)
            return make_error(dir + ": a BERT model without sentence-transformers' pooling (modules.json and its Pooling "
                                    "folder's config.json, e.g. 1_Pooling/config.json): download those files too");
        c.pooling = *pooling;
        return c;
    }
    c.n_head_kv = c.n_head;  // MHA when the key is absent, as transformers defaults it
    if (!j["num_key_value_heads"].is_null()) HEARTH_RETURN_IF_ERROR(need_int("num_key_value_heads", &c.n_head_kv));
    if (c.n_head % c.n_head_kv != 0) return fail("num_attention_heads is not a multiple of num_key_value_heads");
    if (!j["head_dim"].is_null()) {
        HEARTH_RETURN_IF_ERROR(need_int("head_dim", &c.head_dim));
        c.explicit_head_dim = true;
    } else {
        if (c.n_embd % c.n_head != 0) return fail("hidden_size is not a multiple of num_attention_heads and no head_dim is given");
        c.head_dim = c.n_embd / c.n_head;
    }
    if (c.head_dim % 2 != 0) return fail("head_dim " + std::to_string(c.head_dim) + " is odd (RoPE rotates pairs)");
    if (j["max_position_embeddings"].is_int()) c.n_ctx = j["max_position_embeddings"].as_int();
    if (j["rms_norm_eps"].is_number()) c.rms_eps = j["rms_norm_eps"].as_double();
    // transformers' default for both classes is untied.
    if (j["tie_word_embeddings"].is_bool()) c.tied_embeddings = j["tie_word_embeddings"].as_bool();
    if (const std::string act = j["hidden_act"].as_string(); !act.empty() && act != "silu")
        return fail("hidden_act '" + act + "' is not supported (the GGUF architectures use SiLU)");
    HEARTH_RETURN_IF_ERROR(read_experts(j, c, fail));

    // RoPE: the newer layout nests everything under rope_parameters; the older has rope_theta and
    // rope_scaling at the top level. rope_parameters may also be keyed by attention type.
    const Value* rp = &j["rope_parameters"];
    if (const Value* full = rp->find("full_attention"); full && full->is_object()) rp = full;
    const Value& scaling = rp->is_object() ? *rp : j["rope_scaling"];
    const Value& theta = rp->is_object() && !(*rp)["rope_theta"].is_null() ? (*rp)["rope_theta"] : j["rope_theta"];
    if (!theta.is_null()) {
        if (!theta.is_number() || theta.as_double() <= 0) return fail("rope_theta is not a positive number");
        c.rope_theta = theta.as_double();
    }
    if (scaling.is_object()) {
        std::string type = scaling["rope_type"].as_string();
        if (type.empty()) type = scaling["type"].as_string();  // the older spelling
        const Value& factor = scaling["factor"];
        if (factor.is_number()) c.rope.factor = factor.as_double();
        if (type.empty() || type == "default") {
            // no scaling
        } else if (type == "linear" || type == "yarn") {
            if (!factor.is_number()) return fail("rope scaling '" + type + "' has no factor");
            c.rope.type = type;
            if (type == "yarn") {
                if (!scaling["original_max_position_embeddings"].is_int())
                    return fail("yarn rope scaling lacks original_max_position_embeddings");
                c.rope.original_context = scaling["original_max_position_embeddings"].as_int();
                auto opt = [&](const char* k, const char* alt, double* v, bool* has) {
                    const Value* x = scaling.find(k);
                    if ((!x || !x->is_number()) && alt) x = scaling.find(alt);
                    if (x && x->is_number()) { *v = x->as_double(); *has = true; }
                };
                opt("extrapolation_factor", nullptr, &c.rope.yarn_ext_factor, &c.rope.has_yarn_ext);
                opt("attention_factor", "attn_factor", &c.rope.yarn_attn_factor, &c.rope.has_yarn_attn);
                opt("beta_fast", nullptr, &c.rope.yarn_beta_fast, &c.rope.has_yarn_beta_fast);
                opt("beta_slow", nullptr, &c.rope.yarn_beta_slow, &c.rope.has_yarn_beta_slow);
            }
        } else if (type == "llama3") {
            if (c.arch != "llama") return fail("llama3 rope scaling is supported only for llama models");
            c.rope.type = type;
            c.rope.factor = factor.is_number() ? factor.as_double() : 8.0;  // llama.cpp's converter's defaults
            if (scaling["low_freq_factor"].is_number()) c.rope.low_freq_factor = scaling["low_freq_factor"].as_double();
            if (scaling["high_freq_factor"].is_number()) c.rope.high_freq_factor = scaling["high_freq_factor"].as_double();
            if (scaling["original_max_position_embeddings"].is_int())
                c.rope.original_context = scaling["original_max_position_embeddings"].as_int();
            if (c.rope.low_freq_factor == c.rope.high_freq_factor)
                return fail("llama3 rope scaling has low_freq_factor == high_freq_factor");
        } else {
            return fail("rope scaling type '" + type + "' is not supported for conversion");
        }
    }
    return c;
}

std::vector<float> llama3_rope_factors(const HfConfig& c) {
    // Each rotated pair's wavelength against the original context: short wavelengths keep their
    // frequency, long ones are divided by `factor`, and the band between blends the two. In float32
    // throughout, as the reference computes it with torch tensors, so the values agree to the last bit
    // or nearly (pow's rounding may differ by an ulp).
    const float base = float(c.rope_theta > 0 ? c.rope_theta : 10000.0);
    const RopeScaling& r = c.rope;
    const double low_wavelen = double(r.original_context) / r.low_freq_factor;
    const double high_wavelen = double(r.original_context) / r.high_freq_factor;
    const float factor = float(r.factor), low = float(r.low_freq_factor), high = float(r.high_freq_factor);
    std::vector<float> out;
    for (int64_t i = 0; i < c.head_dim; i += 2) {
        const float freq = 1.0f / std::pow(base, float(i) / float(c.head_dim));
        const float wavelen = float(2 * M_PI) / freq;
        if (double(wavelen) < high_wavelen) {
            out.push_back(1.0f);
        } else if (double(wavelen) > low_wavelen) {
            out.push_back(factor);
        } else {
            const float smooth = (float(r.original_context) / wavelen - low) / (high - low);
            out.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
        }
    }
    return out;
}

}  // namespace hearth::convert
