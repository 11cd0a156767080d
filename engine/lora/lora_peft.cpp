// LoraAdapter::open_peft: a PEFT LoRA folder as the peft library saves it (save_pretrained):
// adapter_config.json and adapter_model.safetensors with tensors
//   base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight   [r, n_in]
//   base_model.model.model.layers.N.self_attn.q_proj.lora_B.weight   [n_out, r]
// (an adapter-name segment, "lora_A.default.weight", is accepted too: state dicts saved by hand
// keep it). Modules map to the base GGUF tensors llama.cpp's converter names. Anything in the
// config that changes what the adapter computes and that we do not apply is refused by name, so an
// adapter never runs silently different from what it was trained as.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "engine/lora/lora_adapter.h"
#include "engine/model/qk_permute.h"
#include "engine/safetensors/safetensors.h"
#include "engine/util/json.h"

namespace hearth {

namespace {

// A Hugging Face module of one layer and the base GGUF tensor it adapts.
struct ModuleName {
    const char* group;  // "self_attn" or "mlp"
    const char* hf;     // "q_proj"
    const char* gguf;   // "attn_q"
};

constexpr ModuleName kSeparate[] = {
    {"self_attn", "q_proj", "attn_q"},  {"self_attn", "k_proj", "attn_k"}, {"self_attn", "v_proj", "attn_v"},
    {"self_attn", "o_proj", "attn_output"}, {"mlp", "gate_proj", "ffn_gate"}, {"mlp", "up_proj", "ffn_up"},
    {"mlp", "down_proj", "ffn_down"},
};
// Phi-3 keeps q/k/v in one matrix and gate/up in another (the GGUF keeps them fused too: attn_qkv,
// and ffn_up of 2·n_ff rows).
constexpr ModuleName kPhi3[] = {
    {"self_attn", "qkv_proj", "attn_qkv"}, {"self_attn", "o_proj", "attn_output"},
    {"mlp", "gate_up_proj", "ffn_up"}, {"mlp", "down_proj", "ffn_down"},
};

const ModuleName* find_module(const std::string& arch, const std::string& group, const std::string& hf) {
    auto search = [&](const auto& table) -> const ModuleName* {
        for (const ModuleName& m : table)
            if (group == m.group && hf == m.hf) return &m;
        return nullptr;
    };
    return arch == "phi3" ? search(kPhi3) : search(kSeparate);
}

bool known_module_name(const std::string& arch, const std::string& hf) {
    for (const char* g : {"self_attn", "mlp"})
        if (find_module(arch, g, hf)) return true;
    return false;
}

// Whether a config value asks for something: true, any number (layers_to_transform = 0 means
// layer 0 only), a non-empty list/object/string. null, false, [], {} and "" are PEFT's "not used".
bool is_set(const json::Value& v) {
    switch (v.type()) {
        case json::Value::Type::Null: return false;
        case json::Value::Type::Bool: return v.as_bool();
        case json::Value::Type::Int: case json::Value::Type::Float: return true;
        default: return v.size() > 0;
    }
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<std::unique_ptr<LoraAdapter>> LoraAdapter::open_peft(const std::string& dir, const std::string& arch, int head_dim) {
    namespace fs = std::filesystem;
    auto fail = [&](const std::string& why) { return make_error(dir + ": " + why); };
    if (arch != "llama" && arch != "qwen2" && arch != "qwen3" && arch != "gemma3" && arch != "phi3")
        return fail("PEFT adapters for architecture '" + arch + "' are not supported");
    std::error_code ec;
    const fs::path config_path = fs::path(dir) / "adapter_config.json";
    if (!fs::exists(config_path, ec)) return fail("no adapter_config.json: not a PEFT adapter folder");
    auto cfg = json::parse_file(config_path.string());
    if (!cfg.ok()) return fail("adapter_config.json: " + cfg.message());
    if (!cfg->is_object()) return fail("adapter_config.json is not a JSON object");
    const json::Value& c = *cfg;

    // What kind of adapter, and the settings we do not apply (each named).
    const json::Value& type = c["peft_type"];
    if (!type.is_string()) return fail("adapter_config.json has no peft_type");
    if (type.as_string() != "LORA") return fail("PEFT method '" + type.as_string() + "' is not supported (only LORA)");
    struct Refused { const char* key; const char* what; };
    static constexpr Refused kRefused[] = {
        {"use_dora", "DoRA (use_dora) adapters are not supported"},
        {"modules_to_save", "modules_to_save (fully trained copies of base modules) is not supported"},
        {"rank_pattern", "per-module ranks (rank_pattern) are not supported"},
        {"alpha_pattern", "per-module alphas (alpha_pattern) are not supported"},
        {"lora_bias", "LoRA bias terms (lora_bias) are not supported"},
        {"layers_to_transform", "adapters on some layers only (layers_to_transform) are not supported"},
        {"layer_replication", "layer replication (layer_replication) is not supported"},
        {"trainable_token_indices", "trained token embeddings (trainable_token_indices) are not supported"},
        {"target_parameters", "adapters on parameters (target_parameters) are not supported"},
        {"alora_invocation_tokens", "activated LoRA (alora_invocation_tokens) is not supported"},
        {"use_qalora", "QA-LoRA (use_qalora) is not supported"},
        // LoRA variants of newer peft versions that compute something else at inference (routing
        // among adapters, an SVD-truncated base weight, sampling, block-diagonal factors).
        {"arrow_config", "Arrow routing (arrow_config) is not supported"},
        {"kasa_config", "KaSA (kasa_config) is not supported"},
        {"monteclora_config", "MonteCLoRA (monteclora_config) is not supported"},
        {"use_bdlora", "BD-LoRA (use_bdlora) is not supported"},
    };
    for (const Refused& r : kRefused)
        if (is_set(c[r.key])) return fail(std::string(r.what) + " (adapter_config.json: " + r.key + " = " + c[r.key].dump() + ")");
    if (const json::Value* bias = c.find("bias"); bias && !bias->is_null() && !(bias->is_string() && bias->as_string() == "none"))
        return fail("trained biases (bias = " + bias->dump() + ") are not supported, only \"none\"");

    // target_modules: a list of module names (PEFT matches a name or a dotted suffix of one).
    const json::Value& targets_v = c["target_modules"];
    if (targets_v.is_string())
        return fail("target_modules is a regular expression ('" + targets_v.as_string() +
                    "'), which is not supported: a list of module names is");
    if (!targets_v.is_array() || targets_v.size() == 0) return fail("adapter_config.json: target_modules is not a list of module names");
    std::vector<std::string> targets;
    for (const json::Value& t : targets_v.as_array()) {
        if (!t.is_string() || t.as_string().empty()) return fail("adapter_config.json: target_modules holds " + t.dump() + ", not a module name");
        const std::string& name = t.as_string();
        const std::string last = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
        if (!known_module_name(arch, last))
            return fail("target module '" + name + "' is not a projection an adapter can target on " + arch +
                        (last == "lm_head" || last == "embed_tokens" ? " (adapters on embeddings and lm_head are not supported)" : ""));
        targets.push_back(name);
    }

    // r and lora_alpha: PEFT's defaults (8 and 8) when absent.
    const json::Value* r_v = c.find("r");
    if (r_v && (!r_v->is_int() || r_v->as_int() <= 0 || r_v->as_int() > 65536))
        return fail("adapter_config.json: r = " + r_v->dump() + " is not a positive rank");
    const int64_t r = r_v ? r_v->as_int() : 8;
    const json::Value* alpha_v = c.find("lora_alpha");
    if (alpha_v && (!alpha_v->is_number() || !std::isfinite(alpha_v->as_double()) || alpha_v->as_double() <= 0))
        return fail("adapter_config.json: lora_alpha = " + alpha_v->dump() + " is not a positive number");
    const double lora_alpha = alpha_v ? alpha_v->as_double() : 8.0;
    const json::Value& rslora = c["use_rslora"];
    if (!rslora.is_null() && !rslora.is_bool()) return fail("adapter_config.json: use_rslora is not true or false");
    // fan_in_fan_out only says how the *base* weight is stored (GPT-2's Conv1D); lora_A and lora_B
    // are nn.Linear weights, [r, n_in] and [n_out, r], either way, and PEFT turns the flag off for
    // nn.Linear targets (every module above). So it changes nothing here; the shapes are checked.
    const json::Value& fifo = c["fan_in_fan_out"];
    if (!fifo.is_null() && !fifo.is_bool()) return fail("adapter_config.json: fan_in_fan_out is not true or false");

    // The weights.
    const fs::path st_path = fs::path(dir) / "adapter_model.safetensors";
    if (!fs::exists(st_path, ec)) {
        if (fs::exists(fs::path(dir) / "adapter_model.bin", ec))
            return fail("adapter_model.bin is a Python pickle, which is not read (it can run code): save the adapter "
                        "with safetensors (save_pretrained(..., safe_serialization=True))");
        return fail("no adapter_model.safetensors");
    }
    auto st = safetensors::File::open(st_path.string());
    if (!st.ok()) return st.status();

    struct Found { const safetensors::TensorInfo *a = nullptr, *b = nullptr; std::string module; };
    std::map<std::string, Found> by_target;  // GGUF base tensor name → its A and B
    for (const safetensors::TensorInfo& t : (*st)->tensors()) {
        auto bad = [&](const std::string& why) { return fail("tensor '" + t.name + "': " + why); };
        if (t.name.find("lora_embedding_A") != std::string::npos || t.name.find("lora_embedding_B") != std::string::npos)
            return bad("adapters on embeddings (lora_embedding_A/B) are not supported");
        if (t.name.find("lora_magnitude_vector") != std::string::npos) return bad("DoRA magnitudes are not supported");
        size_t at = t.name.find(".lora_A");
        bool is_a = true;
        if (at == std::string::npos) {
            at = t.name.find(".lora_B");
            is_a = false;
        }
        if (at == std::string::npos)
            return bad("not a LoRA A or B matrix (modules_to_save or another method's weights are not supported)");
        const std::string rest = t.name.substr(at + 7);  // after ".lora_A"
        if (ends_with(rest, ".bias")) return bad("LoRA bias terms (lora_bias) are not supported");
        const bool plain = rest == ".weight";
        const bool named = rest.size() > 8 && rest[0] == '.' && ends_with(rest, ".weight") &&
                           rest.find('.', 1) == rest.size() - 7;  // ".<adapter name>.weight"
        if (!plain && !named) return bad("not a LoRA A or B weight");
        // The module path: PEFT's wrapper prefix off, then "...layers.N.<group>.<module>".
        std::string module = t.name.substr(0, at);
        if (module.rfind("base_model.model.", 0) == 0) module = module.substr(17);
        // The text model's layers: "model.layers.N" (causal LMs), "model.language_model.layers.N"
        // (Gemma 3's multimodal checkpoints). Other "layers.N" (a vision tower's) are not ours.
        const size_t lp = module.rfind("layers.");
        const std::string prefix = lp == std::string::npos ? std::string() : module.substr(0, lp);
        if (lp == std::string::npos || (prefix != "model." && prefix != "model.language_model." && prefix != "language_model.model." &&
                                         !prefix.empty()))
            return bad("module '" + module + "' is not in a layer of the language model (adapters on embeddings, lm_head or a "
                       "vision tower are not supported)");
        size_t pos = lp + 7;
        int64_t layer = 0;
        size_t digits = 0;
        while (pos < module.size() && module[pos] >= '0' && module[pos] <= '9' && digits < 7) {
            layer = layer * 10 + (module[pos++] - '0');
            ++digits;
        }
        if (digits == 0 || digits == 7 || pos >= module.size() || module[pos] != '.')
            return bad("module '" + module + "' has no layer number");
        const std::string tail = module.substr(pos + 1);  // "self_attn.q_proj"
        const size_t dot = tail.find('.');
        const ModuleName* m = dot == std::string::npos ? nullptr : find_module(arch, tail.substr(0, dot), tail.substr(dot + 1));
        if (!m) return bad("module '" + module + "' is not a projection an adapter can target on " + arch);
        bool listed = false;
        for (const std::string& tgt : targets) listed = listed || module == tgt || ends_with(module, "." + tgt);
        if (!listed) return bad("module '" + module + "' is not in target_modules");
        Found& f = by_target["blk." + std::to_string(layer) + "." + m->gguf + ".weight"];
        if (is_a ? f.a : f.b) return bad("a second lora_" + std::string(is_a ? "A" : "B") + " for module '" + module + "'");
        (is_a ? f.a : f.b) = &t;
        f.module = tail.substr(dot + 1);
    }
    if (by_target.empty()) return fail("adapter_model.safetensors has no LoRA tensors");

    std::unique_ptr<LoraAdapter> ad(new LoraAdapter());
    ad->path_ = dir;
    ad->arch_ = arch;
    // rsLoRA scales by alpha/√r instead of alpha/r: fold √r into alpha so pair_scale stays alpha/r.
    ad->alpha_ = float(rslora.is_bool() && rslora.as_bool() ? lora_alpha * std::sqrt(double(r)) : lora_alpha);
    auto take = [&](const safetensors::TensorInfo& t, std::vector<float> values) {
        ad->owned_.emplace_back(values.size() * sizeof(float));
        std::memcpy(ad->owned_.back().data(), values.data(), values.size() * sizeof(float));
        return LoraMatrix{t.name, GgmlType::F32, t.dim(0), t.dim(1), ad->owned_.back().data(), ad->owned_.back().size()};
    };
    for (auto& [target, f] : by_target) {
        if (!f.a || !f.b)
            return fail("'" + target + "' has lora_" + (f.a ? "A" : "B") + " but no lora_" + (f.a ? "B" : "A"));
        for (const safetensors::TensorInfo* t : {f.a, f.b})
            if (t->shape.size() != 2 || t->dim(0) <= 0 || t->dim(1) <= 0)
                return fail("tensor '" + t->name + "' is not a 2-D matrix");
        if (f.a->dim(0) != r || f.b->dim(1) != r)
            return fail("'" + target + "': the ranks of A (" + std::to_string(f.a->dim(0)) + ") and B (" +
                        std::to_string(f.b->dim(1)) + ") disagree with r = " + std::to_string(r));
        auto a = (*st)->to_f32(*f.a);
        if (!a.ok()) return a.status();
        auto b = (*st)->to_f32(*f.b);
        if (!b.ok()) return b.status();
        if (arch == "llama" && (f.module == "q_proj" || f.module == "k_proj")) {
            if (head_dim <= 0 || head_dim % 2 != 0 || f.b->dim(0) % head_dim != 0)
                return fail("'" + target + "': llama's q/k adapters are permuted by head, which needs the base model's head size (" +
                            std::to_string(head_dim) + " given for " + std::to_string(f.b->dim(0)) + " rows)");
            permute_qk_rows(*b, f.b->dim(0), f.b->dim(1), head_dim);  // B's rows are the projection's outputs
        }
        LoraMatrix ma = take(*f.a, std::move(*a));
        LoraMatrix mb = take(*f.b, std::move(*b));
        ad->pairs_.push_back(LoraPair{target, std::move(ma), std::move(mb)});
    }
    return ad;
}

}  // namespace hearth
