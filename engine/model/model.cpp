#include "engine/model/model.h"

#include <algorithm>
#include <cmath>

#include "engine/model/arch/arch.h"
#include "engine/model/gguf_tensor.h"

namespace hearth {

Result<Tensor> Model::import(Backend& be, const std::string& name, std::vector<int64_t> shape, bool matrix, bool count) {
    auto imported = import_gguf_tensor(*file_, be, name, std::move(shape), matrix);
    if (!imported.ok()) return imported.status();
    const gguf::TensorInfo* ti = imported->info;
    buffers_.push_back(imported->buf);
    if (count) {  // a second copy for the other side of a layer split is not another parameter
        n_params_ += uint64_t(ti->n_elements());
        weight_bytes_ += ti->n_bytes;
    }
    loaded_bytes_ += ti->n_bytes;
    if (progress_ && total_bytes_ && !progress_(float(double(loaded_bytes_) / double(total_bytes_))))
        return make_error("loading cancelled");
    return imported->t;
}

RopeParams Model::rope_params(const Backend& be, int l, int n_ctx) const {
    RopeParams p = hp_.rope_of(l);
    const auto& factors = !rope_freqs_.empty() ? rope_freqs_ : n_ctx > p.n_ctx_orig ? rope_long_ : rope_short_;
    for (const auto& [owner, t] : factors)
        if (owner == &be) p.freq_factors = &t;
    return p;
}

Status Model::bind_layer_tensor(LayerWeights& L, Role role, const Tensor& t) {
    const int64_t Q = hp_.q_dim(), KV = hp_.kv_dim(), F = hp_.n_ff;
    switch (role) {
        case Role::AttnNorm: L.attn_norm = t; break;
        case Role::Q: L.wq.w = t; break;
        case Role::K: L.wk.w = t; break;
        case Role::V: L.wv.w = t; break;
        case Role::QKV:  // fused: rows [q | k | v]
            L.wq.w = t.row_range(0, Q);
            L.wk.w = t.row_range(Q, KV);
            L.wv.w = t.row_range(Q + KV, KV);
            break;
        case Role::QBias: L.wq.b = t; break;
        case Role::KBias: L.wk.b = t; break;
        case Role::VBias: L.wv.b = t; break;
        case Role::QNorm: L.q_norm = t; break;
        case Role::KNorm: L.k_norm = t; break;
        case Role::AttnOut: L.wo.w = t; break;
        case Role::AttnPostNorm: L.attn_post_norm = t; break;
        case Role::FfnNorm: L.ffn_norm = t; break;
        case Role::Gate: L.gate.w = t; break;
        case Role::Up: L.up.w = t; break;
        case Role::GateUp:  // fused: rows [gate | up]
            L.gate.w = t.row_range(0, F);
            L.up.w = t.row_range(F, F);
            break;
        case Role::Down: L.down.w = t; break;
        case Role::FfnPostNorm: L.ffn_post_norm = t; break;
        case Role::Router: L.experts.router = t; L.experts.n = hp_.n_expert; break;
        case Role::GateExps: L.experts.gate = t; break;
        case Role::UpExps: L.experts.up = t; break;
        case Role::DownExps: L.experts.down = t; break;
        default: return make_error("internal: a model-wide tensor listed as a layer tensor");
    }
    return {};
}

Result<std::unique_ptr<Model>> Model::load(const gguf::File& file, Backend& backend, const std::function<bool(float)>& progress,
                                           Backend* host, int n_gpu_layers) {
    const bool split = host && host != &backend && n_gpu_layers >= 0;
    return load_impl(file, backend, progress, split ? host : nullptr, [n_gpu_layers](int l) { return l < n_gpu_layers; });
}

Result<std::unique_ptr<Model>> Model::load(const gguf::File& file, Backend& backend, const std::function<bool(float)>& progress,
                                           Backend* host, const std::vector<bool>& on_main, const std::vector<bool>& experts_on_host) {
    const bool other = host && host != &backend;
    const bool split = other && !on_main.empty();
    const bool offload = other && std::find(experts_on_host.begin(), experts_on_host.end(), true) != experts_on_host.end();
    std::function<bool(int)> experts_host;
    if (offload) experts_host = [&experts_on_host](int l) { return size_t(l) < experts_on_host.size() && experts_on_host[size_t(l)]; };
    return load_impl(file, backend, progress, split || offload ? host : nullptr, [&on_main](int l) {
        return size_t(l) >= on_main.size() || on_main[size_t(l)];
    }, split ? int(on_main.size()) : -1, experts_host);
}

Result<std::unique_ptr<Model>> Model::load_impl(const gguf::File& file, Backend& backend,
                                                const std::function<bool(float)>& progress, Backend* host,
                                                const std::function<bool(int)>& on_main, int plan_layers,
                                                const std::function<bool(int)>& experts_on_host) {
    std::unique_ptr<Model> m(new Model());
    m->file_ = &file;
    m->backend_ = &backend;
    m->progress_ = progress;
    auto hp = read_hparams(file);
    if (!hp.ok()) return make_error(file.path() + ": " + hp.message());
    m->hp_ = *hp;
    m->arch_ = &arch_def(hp->arch_id);
    ModelHParams& h = m->hp_;
    if (plan_layers >= 0 && plan_layers != h.n_layer)
        return make_error(file.path() + ": internal: a layer plan for " + std::to_string(plan_layers) + " layers, the model has " +
                          std::to_string(h.n_layer));
    auto layer_backend = [&](int l) -> Backend& { return !host || on_main(l) ? backend : *host; };
    m->n_main_layers_ = 0;
    for (int l = 0; l < h.n_layer; ++l) m->n_main_layers_ += &layer_backend(l) == &backend;
    Backend& in_be = layer_backend(0);
    Backend& out_be = layer_backend(h.n_layer - 1);
    m->input_be_ = &in_be;
    m->output_be_ = &out_be;

    // Mixtral files converted before llama.cpp stacked the experts (early 2024) hold one tensor per
    // expert; llama.cpp no longer reads them either, and a newer conversion is a download away.
    if (h.has_experts() && !file.tensor("blk.0.ffn_gate_exps.weight") && file.tensor("blk.0.ffn_gate.0.weight"))
        return make_error(file.path() + ": an old mixture-of-experts file with one tensor per expert (blk.0.ffn_gate.0.weight); "
                                        "Hearth, like llama.cpp today, reads the experts stacked (ffn_gate_exps): download a newer "
                                        "conversion of this model");
    const gguf::TensorInfo* emb = file.tensor("token_embd.weight");
    if (!emb) return make_error(file.path() + ": model is missing tensor 'token_embd.weight'");
    if (emb->dims.size() != 2 || emb->dims[1] <= 0 || emb->dims[1] > (int64_t(1) << 24))
        return make_error(file.path() + ": tensor 'token_embd.weight' has shape " + dims_str(emb->dims) + ", expected [n_embd, n_vocab]");
    h.n_vocab = int(emb->dims[1]);
    if (auto* toks = file.find("tokenizer.ggml.tokens"); toks && toks->arr.size() > size_t(h.n_vocab))
        return make_error(file.path() + ": the vocabulary has " + std::to_string(toks->arr.size()) +
                          " tokens but token_embd.weight has only " + std::to_string(h.n_vocab) + " rows");

    // Backends that run layers (rope_freqs goes to each), in layer order.
    std::vector<Backend*> layer_bes;
    for (int l = 0; l < h.n_layer; ++l)
        if (std::find(layer_bes.begin(), layer_bes.end(), &layer_backend(l)) == layer_bes.end()) layer_bes.push_back(&layer_backend(l));
    const std::vector<TensorSpec> manifest = model_manifest(*m->arch_, h);
    const bool tied = !file.tensor("output.weight");
    // What will be read, for progress: every tensor once, plus the extra copies.
    for (const auto& t : file.tensors()) m->total_bytes_ += t.n_bytes;
    if (tied && &in_be != &out_be) m->total_bytes_ += emb->n_bytes;
    for (const char* name : {"rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight"})
        if (auto* rf = file.tensor(name)) m->total_bytes_ += rf->n_bytes * (layer_bes.size() - 1);
    // LongRoPE needs both factor sets, and they replace rope_freqs: anything else is a broken file.
    const bool has_long = file.tensor("rope_factors_long.weight"), has_short = file.tensor("rope_factors_short.weight");
    if (has_long != has_short)
        return make_error(file.path() + ": the model has " + (has_long ? "rope_factors_long" : "rope_factors_short") + " but not " +
                          (has_long ? "rope_factors_short" : "rope_factors_long") + " (LongRoPE needs both)");
    if (has_long && file.tensor("rope_freqs.weight"))
        return make_error(file.path() + ": the model has both rope_freqs and LongRoPE's rope_factors_long/short");
    // The factors divide RoPE frequencies: zero, negative or NaN ones would give meaningless angles.
    for (const char* name : {"rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight"}) {
        const gguf::TensorInfo* ti = file.tensor(name);
        if (!ti || ti->type != GgmlType::F32) continue;  // a wrong type is reported when it is imported
        const float* v = reinterpret_cast<const float*>(ti->data);
        for (int64_t i = 0; i < ti->n_elements(); ++i)
            if (!(v[i] > 0.0f) || !std::isfinite(v[i]))
                return make_error(file.path() + ": tensor '" + name + "' holds " + std::to_string(v[i]) + " at " + std::to_string(i) +
                                  "; RoPE factors must be positive numbers");
    }

    // The experts of a layer on the device may stay on the host (experts_on_host); elsewhere they
    // live with their layer.
    auto experts_backend = [&](int l) -> Backend& {
        return host && experts_on_host && experts_on_host(l) && &layer_backend(l) != host ? *host : layer_backend(l);
    };
    m->layers_.resize(size_t(h.n_layer));
    for (int l = 0; l < h.n_layer; ++l) {
        m->layers_[size_t(l)].backend = &layer_backend(l);
        m->layers_[size_t(l)].experts.backend = &experts_backend(l);
        m->n_expert_host_layers_ += h.has_experts() && &experts_backend(l) != &layer_backend(l);
    }
    auto is_expert_role = [](Role r) { return r == Role::Router || r == Role::GateExps || r == Role::UpExps || r == Role::DownExps; };
    auto fail = [&](const Status& s) { return make_error(file.path() + ": " + s.message()); };
    for (const TensorSpec& spec : manifest) {
        if (spec.optional && !file.tensor(spec.name)) continue;
        const bool matrix = role_is_matrix(spec.role);
        if (spec.role == Role::RopeFreqs || spec.role == Role::RopeFactorsLong || spec.role == Role::RopeFactorsShort) {
            auto& copies = spec.role == Role::RopeFreqs ? m->rope_freqs_ : spec.role == Role::RopeFactorsLong ? m->rope_long_ : m->rope_short_;
            for (size_t i = 0; i < layer_bes.size(); ++i) {
                auto t = m->import(*layer_bes[i], spec.name, spec.shape, matrix, i == 0);
                if (!t.ok()) return fail(t.status());
                copies.push_back({layer_bes[i], *t});
            }
            continue;
        }
        Backend& be = spec.layer >= 0 ? (is_expert_role(spec.role) ? experts_backend(spec.layer) : layer_backend(spec.layer))
                      : spec.role == Role::TokEmbd ? in_be : out_be;
        auto t = m->import(be, spec.name, spec.shape, matrix);
        if (!t.ok()) return fail(t.status());
        switch (spec.role) {
            case Role::TokEmbd: m->tok_embd_ = *t; break;
            case Role::OutputNorm: m->output_norm_ = *t; break;
            case Role::Output: m->output_ = *t; break;
            default: HEARTH_RETURN_IF_ERROR(m->bind_layer_tensor(m->layers_[size_t(spec.layer)], spec.role, *t));
        }
    }
    if (tied) {  // tied embedding: the output matrix is token_embd, on the output side too
        m->tied_ = true;
        if (&in_be != &out_be) {
            auto t = m->import(out_be, "token_embd.weight", {h.n_embd, h.n_vocab}, true, false);
            if (!t.ok()) return fail(t.status());
            m->output_ = *t;
        } else {
            m->output_ = m->tok_embd_;
        }
    }
    // Optional biases come as a set: some without the others is a broken file.
    for (int l = 0; l < h.n_layer; ++l) {
        const LayerWeights& L = m->layers_[size_t(l)];
        const int n_bias = int(L.wq.has_bias()) + int(L.wk.has_bias()) + int(L.wv.has_bias());
        if (n_bias != 0 && n_bias != 3)
            return make_error(file.path() + ": layer " + std::to_string(l) + " has biases for only some of q, k and v");
    }
    if (progress && !progress(1.0f)) return make_error("loading cancelled");
    return m;
}

}  // namespace hearth
