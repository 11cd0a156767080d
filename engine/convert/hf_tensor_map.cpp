#include "engine/convert/hf_tensor_map.h"

#include <set>

namespace hearth::convert {

namespace {

struct Expected {
    std::string hf, gguf;
    std::vector<int64_t> shape;
    bool required = true;
    int64_t permute_head_dim = 0;
    std::vector<std::string> stack = {};  // the experts' tensors stacked into this one (hf: their pattern)
};

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// BERT (transformers' BertModel, as sentence-transformers saves it) under llama.cpp's names.
std::vector<Expected> bert_tensors(const HfConfig& c) {
    const int64_t H = c.n_embd, F = c.n_ff;
    std::vector<Expected> e;
    e.push_back({"embeddings.word_embeddings.weight", "token_embd.weight", {c.n_vocab, H}});
    e.push_back({"embeddings.token_type_embeddings.weight", "token_types.weight", {c.n_token_types, H}, false});
    e.push_back({"embeddings.position_embeddings.weight", "position_embd.weight", {c.n_ctx, H}});
    e.push_back({"embeddings.LayerNorm.weight", "token_embd_norm.weight", {H}});
    e.push_back({"embeddings.LayerNorm.bias", "token_embd_norm.bias", {H}});
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string hf = "encoder.layer." + std::to_string(i) + ".";
        const std::string gg = "blk." + std::to_string(i) + ".";
        auto linear = [&](const std::string& from, const std::string& to, int64_t rows, int64_t cols) {
            e.push_back({hf + from + ".weight", gg + to + ".weight", {rows, cols}});
            e.push_back({hf + from + ".bias", gg + to + ".bias", {rows}});
        };
        linear("attention.self.query", "attn_q", H, H);
        linear("attention.self.key", "attn_k", H, H);
        linear("attention.self.value", "attn_v", H, H);
        linear("attention.output.dense", "attn_output", H, H);
        e.push_back({hf + "attention.output.LayerNorm.weight", gg + "attn_output_norm.weight", {H}});
        e.push_back({hf + "attention.output.LayerNorm.bias", gg + "attn_output_norm.bias", {H}});
        linear("intermediate.dense", "ffn_up", F, H);
        linear("output.dense", "ffn_down", H, F);
        e.push_back({hf + "output.LayerNorm.weight", gg + "layer_output_norm.weight", {H}});
        e.push_back({hf + "output.LayerNorm.bias", gg + "layer_output_norm.bias", {H}});
    }
    return e;
}

// Tensors a checkpoint may carry that the GGUF architecture does not use.
bool ignored_tensor(const HfConfig& c, const std::string& name) {
    // Precomputed RoPE frequencies some checkpoints carry; the GGUF architectures compute them.
    if (ends_with(name, ".rotary_emb.inv_freq")) return true;
    // BERT's position-id buffer and its pooler (a sentence embedding pools the last hidden state).
    return c.arch == "bert" && (name == "embeddings.position_ids" || name.rfind("pooler.", 0) == 0);
}

// A layer's mixture of experts: the router, then each of gate/up/down stacked over the experts in
// expert order (llama.cpp's Qwen2MoeModel / Mixtral conversion). Qwen3-MoE names the experts'
// projections as a dense FFN's; Mixtral's checkpoints call them w1 (gate), w3 (up), w2 (down).
void expert_tensors(const HfConfig& c, const std::string& hf, const std::string& gg, std::vector<Expected>& e) {
    const bool mixtral = c.hf_arch == "MixtralForCausalLM";
    const std::string moe = hf + (mixtral ? "block_sparse_moe." : "mlp.");
    e.push_back({moe + "gate.weight", gg + "ffn_gate_inp.weight", {c.n_expert, c.n_embd}});
    struct Part { const char* name; const char* gguf; int64_t rows, cols; };
    const Part parts[] = {{mixtral ? "w1" : "gate_proj", "ffn_gate_exps", c.n_ff_exp, c.n_embd},
                          {mixtral ? "w3" : "up_proj", "ffn_up_exps", c.n_ff_exp, c.n_embd},
                          {mixtral ? "w2" : "down_proj", "ffn_down_exps", c.n_embd, c.n_ff_exp}};
    for (const Part& p : parts) {
        Expected x{moe + "experts.*." + p.name + ".weight", gg + p.gguf + ".weight", {c.n_expert, p.rows, p.cols}};
        for (int64_t k = 0; k < c.n_expert; ++k) x.stack.push_back(moe + "experts." + std::to_string(k) + "." + p.name + ".weight");
        e.push_back(std::move(x));
    }
}

std::vector<Expected> expected_tensors(const HfConfig& c) {
    if (c.arch == "bert") return bert_tensors(c);
    const int64_t q_out = c.n_head * c.head_dim, kv_out = c.n_head_kv * c.head_dim;
    // llama.cpp permutes llama's q/k weights and biases; qwen2's are stored as Hugging Face has them
    // (its GGUF architecture uses NeoX-style RoPE, which rotates the halves directly).
    const int64_t perm = c.arch == "llama" ? c.head_dim : 0;
    std::vector<Expected> e;
    e.push_back({"model.embed_tokens.weight", "token_embd.weight", {c.n_vocab, c.n_embd}});
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string hf = "model.layers." + std::to_string(i) + ".";
        const std::string gg = "blk." + std::to_string(i) + ".";
        e.push_back({hf + "input_layernorm.weight", gg + "attn_norm.weight", {c.n_embd}});
        e.push_back({hf + "self_attn.q_proj.weight", gg + "attn_q.weight", {q_out, c.n_embd}, true, perm});
        e.push_back({hf + "self_attn.q_proj.bias", gg + "attn_q.bias", {q_out}, false, perm});
        e.push_back({hf + "self_attn.k_proj.weight", gg + "attn_k.weight", {kv_out, c.n_embd}, true, perm});
        e.push_back({hf + "self_attn.k_proj.bias", gg + "attn_k.bias", {kv_out}, false, perm});
        e.push_back({hf + "self_attn.v_proj.weight", gg + "attn_v.weight", {kv_out, c.n_embd}});
        e.push_back({hf + "self_attn.v_proj.bias", gg + "attn_v.bias", {kv_out}, false});
        e.push_back({hf + "self_attn.o_proj.weight", gg + "attn_output.weight", {c.n_embd, q_out}});
        e.push_back({hf + "self_attn.o_proj.bias", gg + "attn_output.bias", {c.n_embd}, false});
        if (c.arch == "qwen3" || c.arch == "qwen3moe") {  // QK-norm: one weight per head dimension
            e.push_back({hf + "self_attn.q_norm.weight", gg + "attn_q_norm.weight", {c.head_dim}});
            e.push_back({hf + "self_attn.k_norm.weight", gg + "attn_k_norm.weight", {c.head_dim}});
        }
        e.push_back({hf + "post_attention_layernorm.weight", gg + "ffn_norm.weight", {c.n_embd}});
        if (c.n_expert > 0) {
            expert_tensors(c, hf, gg, e);
            continue;
        }
        e.push_back({hf + "mlp.gate_proj.weight", gg + "ffn_gate.weight", {c.n_ff, c.n_embd}});
        e.push_back({hf + "mlp.gate_proj.bias", gg + "ffn_gate.bias", {c.n_ff}, false});
        e.push_back({hf + "mlp.up_proj.weight", gg + "ffn_up.weight", {c.n_ff, c.n_embd}});
        e.push_back({hf + "mlp.up_proj.bias", gg + "ffn_up.bias", {c.n_ff}, false});
        e.push_back({hf + "mlp.down_proj.weight", gg + "ffn_down.weight", {c.n_embd, c.n_ff}});
        e.push_back({hf + "mlp.down_proj.bias", gg + "ffn_down.bias", {c.n_embd}, false});
    }
    e.push_back({"model.norm.weight", "output_norm.weight", {c.n_embd}});
    // Tied embeddings: the checkpoint normally has no lm_head; one that is there anyway is written,
    // as llama.cpp's converter maps every tensor it finds.
    e.push_back({"lm_head.weight", "output.weight", {c.n_vocab, c.n_embd}, !c.tied_embeddings});
    return e;
}

}  // namespace

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

Result<std::vector<TensorPlan>> plan_tensors(const HfConfig& cfg, const HfCheckpoint& ck) {
    const std::vector<Expected> expected = expected_tensors(cfg);
    std::set<std::string> known;
    for (const Expected& e : expected) {
        known.insert(e.hf);
        known.insert(e.stack.begin(), e.stack.end());
    }
    for (const auto& [name, entry] : ck.tensors()) {
        if (known.count(name) || ignored_tensor(cfg, name)) continue;
        return make_error(entry.file->path() + ": tensor '" + name + "' is not part of a " + cfg.hf_arch + " with " +
                          std::to_string(cfg.n_layer) + " layers (config.json)");
    }
    std::vector<TensorPlan> plan;
    using safetensors::DType;
    auto check_dtype = [](const HfCheckpoint::Entry& src, const std::string& name) -> Status {
        const DType d = src.info->dtype;
        if (d != DType::F32 && d != DType::F16 && d != DType::BF16)
            return make_error(src.file->path() + ": tensor '" + name + "' is stored as " + safetensors::dtype_name(d) +
                              " (supported: F32, F16, BF16)");
        return {};
    };
    for (const Expected& e : expected) {
        if (!e.stack.empty()) {  // one source per expert, each one expert's [rows, cols]
            TensorPlan p{e.hf, e.gguf, e.shape, 0, nullptr, {}};
            const std::vector<int64_t> one(e.shape.begin() + 1, e.shape.end());
            for (const std::string& name : e.stack) {
                const HfCheckpoint::Entry* src = ck.find(name);
                if (!src) return make_error("the checkpoint has no tensor '" + name + "'");
                if (src->info->shape != one)
                    return make_error(src->file->path() + ": tensor '" + name + "' has shape " + shape_text(src->info->shape) +
                                      ", config.json implies " + shape_text(one));
                HEARTH_RETURN_IF_ERROR(check_dtype(*src, name));
                p.stack.push_back(src);
            }
            p.src = p.stack.front();
            plan.push_back(std::move(p));
            continue;
        }
        const HfCheckpoint::Entry* src = ck.find(e.hf);
        if (!src) {
            if (e.required) return make_error("the checkpoint has no tensor '" + e.hf + "'" +
                                              (e.hf == "lm_head.weight" ? " (config.json says the embeddings are not tied)" : ""));
            continue;
        }
        const auto& info = *src->info;
        if (info.shape != e.shape)
            return make_error(src->file->path() + ": tensor '" + e.hf + "' has shape " + shape_text(info.shape) +
                              ", config.json implies " + shape_text(e.shape));
        HEARTH_RETURN_IF_ERROR(check_dtype(*src, e.hf));
        plan.push_back({e.hf, e.gguf, e.shape, e.permute_head_dim, src, {}});
    }
    return plan;
}

}  // namespace hearth::convert
