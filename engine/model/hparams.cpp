#include "engine/model/hparams.h"

#include <algorithm>
#include <cmath>

#include "engine/model/arch/arch.h"

namespace hearth {

bool is_supported_architecture(const std::string& arch) { return find_arch(arch) != nullptr; }

float ModelHParams::attention_scale() const { return attn_scale > 0 ? attn_scale : float(1.0 / std::sqrt(double(head_dim))); }

RopeParams ModelHParams::rope_of(int l) const {
    RopeParams r = rope;
    if (l >= 0 && size_t(l) < layers.size()) {
        if (layers[size_t(l)].rope_freq_base > 0) r.freq_base = layers[size_t(l)].rope_freq_base;
        if (layers[size_t(l)].rope_freq_scale > 0) r.freq_scale = layers[size_t(l)].rope_freq_scale;
    }
    return r;
}

namespace {

// A required positive integer key.
Result<int> required_int(const gguf::File& f, const std::string& key) {
    if (!f.find(key)) return make_error("missing metadata key '" + key + "'");
    auto v = f.get_int(key, 0);
    if (!v.ok()) return v.status();
    if (*v <= 0 || *v > (int64_t(1) << 30)) return make_error("metadata '" + key + "' = " + std::to_string(*v) + " is out of range");
    return int(*v);
}

// The mixture-of-experts keys, as llama.cpp writes them for every architecture that has experts.
// The bounds are far above published models (Qwen3-235B: 128 experts, 8 used; DeepSeek-V3: 256)
// and keep a hostile file from sizing buffers by them.
constexpr int kMaxExperts = 1024, kMaxExpertsUsed = 64;

Status read_experts(const gguf::File& f, const ArchDef& def, ModelHParams& h) {
    const std::string a = h.arch + ".";
    auto count = f.get_int(a + "expert_count", 0);
    if (!count.ok()) return count.status();
    if (*count == 0) return {};
    if (!def.experts)
        return make_error("'" + h.arch + "' with experts (" + a + "expert_count = " + std::to_string(*count) + ") is not supported");
    if (*count < 0 || *count > kMaxExperts)
        return make_error(a + "expert_count = " + std::to_string(*count) + " is out of range (1.." + std::to_string(kMaxExperts) + ")");
    h.n_expert = int(*count);
    auto used = required_int(f, a + "expert_used_count");
    if (!used.ok()) return used.status();
    if (*used > h.n_expert || *used > kMaxExpertsUsed)
        return make_error(a + "expert_used_count = " + std::to_string(*used) + " must be at most expert_count (" +
                          std::to_string(h.n_expert) + ") and " + std::to_string(kMaxExpertsUsed));
    h.n_expert_used = *used;
    h.n_ff_exp = h.n_ff;
    if (f.find(a + "expert_feed_forward_length")) {
        auto ff = required_int(f, a + "expert_feed_forward_length");
        if (!ff.ok()) return ff.status();
        h.n_ff_exp = *ff;
    }
    auto norm = f.get_bool(a + "expert_weights_norm", true);
    if (!norm.ok()) return norm.status();
    h.expert_weights_norm = *norm;
    return {};
}

}  // namespace

Result<ModelHParams> read_hparams(const gguf::File& f) {
    ModelHParams h;
    auto arch = f.get_string("general.architecture");
    if (!arch.ok()) return arch.status();
    h.arch = *arch;
    if (h.arch.empty()) return make_error("missing metadata key 'general.architecture'");
    const ArchDef* def = find_arch(h.arch);
    // An encoder (engine/embed) is a model Hearth runs, but not one that writes text.
    if (!def && h.arch == "bert")
        return make_error("'" + h.arch + "' is a text embedding model, not a chat model: the local API serves it for /v1/embeddings "
                          "(hearth-cli serve --embedding-model)");
    if (!def) return make_error("architecture '" + h.arch + "' is not supported (supported: " + supported_arch_names() + ")");
    h.arch_id = def->id;
    const std::string a = h.arch + ".";

#define HP_INT(field, key)                                  \
    {                                                       \
        auto v = required_int(f, a + key);                  \
        if (!v.ok()) return v.status();                     \
        h.field = *v;                                       \
    }
    HP_INT(n_ctx_train, "context_length")
    HP_INT(n_embd, "embedding_length")
    HP_INT(n_layer, "block_count")
    HP_INT(n_ff, "feed_forward_length")
    HP_INT(n_head, "attention.head_count")
#undef HP_INT
    auto kvh = f.get_int(a + "attention.head_count_kv", h.n_head);
    if (!kvh.ok()) return kvh.status();
    h.n_kv_head = int(*kvh);
    if (h.n_kv_head <= 0 || h.n_head % h.n_kv_head != 0)
        return make_error("attention.head_count_kv = " + std::to_string(h.n_kv_head) + " must divide head_count = " + std::to_string(h.n_head));
    auto key_len = f.get_int(a + "attention.key_length", h.n_embd / h.n_head);
    if (!key_len.ok()) return key_len.status();
    h.head_dim = int(*key_len);
    auto val_len = f.get_int(a + "attention.value_length", h.head_dim);
    if (!val_len.ok()) return val_len.status();
    if (*val_len != h.head_dim) return make_error("attention.value_length differs from key_length: not supported");
    if (h.head_dim <= 0 || h.head_dim % 2 != 0 || h.head_dim > 1024)
        return make_error("head size " + std::to_string(h.head_dim) + " must be even and at most 1024");
    if (h.n_layer > 4096) return make_error("block_count " + std::to_string(h.n_layer) + " is implausibly large");
    h.layers.assign(size_t(h.n_layer), LayerHParams{});

    auto pooling = f.get_int(a + "pooling_type", -1);
    if (!pooling.ok()) return pooling.status();
    h.pooling_type = int(std::clamp<int64_t>(*pooling, -1, 100));
    auto eps = f.get_float(a + "attention.layer_norm_rms_epsilon", 1e-5);
    if (!eps.ok()) return eps.status();
    h.rms_eps = float(*eps);
    if (!(h.rms_eps > 0 && h.rms_eps < 1)) return make_error("layer_norm_rms_epsilon out of range");

    RopeParams& r = h.rope;
    r.mode = def->rope_mode;
    r.head_dim = h.head_dim;
    auto n_rot = f.get_int(a + "rope.dimension_count", h.head_dim);
    if (!n_rot.ok()) return n_rot.status();
    if (*n_rot <= 0 || *n_rot > h.head_dim || *n_rot % 2 != 0)
        return make_error("rope.dimension_count = " + std::to_string(*n_rot) + " must be even and at most the head size");
    r.n_dims = int(*n_rot);
    auto base = f.get_float(a + "rope.freq_base", 10000.0);
    if (!base.ok()) return base.status();
    if (!(*base > 1)) return make_error("rope.freq_base must be greater than 1");
    r.freq_base = float(*base);

    // Scaling: rope.scaling.type/factor (or the older rope.scale_linear).
    auto stype = f.get_string(a + "rope.scaling.type", "");
    if (!stype.ok()) return stype.status();
    auto factor = f.get_float(a + "rope.scaling.factor", 0.0);
    if (!factor.ok()) return factor.status();
    auto linear = f.get_float(a + "rope.scale_linear", 0.0);
    if (!linear.ok()) return linear.status();
    double fac = *factor > 0 ? *factor : *linear;
    std::string type = *stype;
    if (type.empty()) type = fac > 0 && fac != 1 ? "linear" : "none";
    if (type != "none" && type != "linear" && type != "yarn")
        return make_error("rope scaling type '" + type + "' is not supported (none, linear, yarn)");
    h.rope_scaling = type;
    if (type != "none" && fac > 0) r.freq_scale = float(1.0 / fac);
    auto orig = f.get_int(a + "rope.scaling.original_context_length", h.n_ctx_train);
    if (!orig.ok()) return orig.status();
    r.n_ctx_orig = int(*orig);
    if (type == "yarn") {
        auto ext = f.get_float(a + "rope.scaling.yarn_ext_factor", 1.0);
        auto att = f.get_float(a + "rope.scaling.yarn_attn_factor", 1.0);
        auto bf = f.get_float(a + "rope.scaling.yarn_beta_fast", 32.0);
        auto bs = f.get_float(a + "rope.scaling.yarn_beta_slow", 1.0);
        for (auto* v : {&ext, &att, &bf, &bs})
            if (!v->ok()) return v->status();
        r.ext_factor = float(*ext);
        r.attn_factor = float(*att);
        r.beta_fast = float(*bf);
        r.beta_slow = float(*bs);
    }
    // rope.scaling.attn_factor (Phi-3 LongRoPE: sqrt(1 + ln(s) / ln(original context)), s the context
    // extension) scales the rotation's magnitude on top of YaRN's, as llama.cpp multiplies them.
    auto rope_att = f.get_float(a + "rope.scaling.attn_factor", 1.0);
    if (!rope_att.ok()) return rope_att.status();
    if (!(*rope_att > 0) || !std::isfinite(*rope_att))
        return make_error(a + "rope.scaling.attn_factor must be a positive number");
    r.attn_factor *= float(*rope_att);
    HEARTH_RETURN_IF_ERROR(read_experts(f, *def, h));
    if (def->read_hparams) HEARTH_RETURN_IF_ERROR(def->read_hparams(f, h));
    return h;
}

}  // namespace hearth
