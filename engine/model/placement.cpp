#include "engine/model/placement.h"

#include <algorithm>
#include <cstdio>

#include "engine/model/arch/arch.h"
#include "engine/model/manifest.h"

namespace hearth {

namespace {

std::string gib(uint64_t b) {
    char s[32];
    if (b >= (uint64_t(1) << 30)) std::snprintf(s, sizeof s, "%.1f GiB", double(b) / double(uint64_t(1) << 30));
    else std::snprintf(s, sizeof s, "%.0f MiB", double(b) / double(1 << 20));
    return s;
}

uint64_t tensor_bytes(const gguf::File& f, const std::string& name) {
    const gguf::TensorInfo* t = f.tensor(name);
    return t ? t->n_bytes : 0;
}

bool is_host_backend(const Backend& be) { return be.device().backend == "cpu" || be.device().backend == "reference"; }

// What a model may use of the device's free memory: a reserve for the driver (5% + 32 MiB) kept back.
uint64_t usable_bytes(uint64_t free_bytes) {
    const uint64_t reserve = free_bytes / 20 + (uint64_t(32) << 20);
    return free_bytes > reserve ? free_bytes - reserve : 0;
}

}  // namespace

ModelFootprint model_footprint(const gguf::File& f, const ModelHParams& h, int n_ctx, GgmlType kv_type, int n_batch) {
    ModelFootprint fp;
    const uint64_t cells = uint64_t((n_ctx + kKvBlockTokens - 1) / kKvBlockTokens) * kKvBlockTokens;
    const uint64_t kv_layer = 2 * cells * uint64_t(h.kv_dim()) * (kv_type == GgmlType::F32 ? 4 : 2);
    fp.layers.assign(size_t(std::max(h.n_layer, 0)), kv_layer);
    fp.experts.assign(fp.layers.size(), 0);
    for (const gguf::TensorInfo& t : f.tensors()) {
        if (t.name.rfind("blk.", 0) != 0) continue;
        const int l = std::atoi(t.name.c_str() + 4);
        if (l < 0 || l >= h.n_layer) continue;
        fp.layers[size_t(l)] += t.n_bytes;
        // the tensors Model::load puts beside the experts: the router and the stacked experts
        if (t.name.find(".ffn_gate_inp.") != std::string::npos || t.name.find("_exps.") != std::string::npos)
            fp.experts[size_t(l)] += t.n_bytes;
    }
    fp.input = tensor_bytes(f, "token_embd.weight");
    fp.output = tensor_bytes(f, "output_norm.weight") +
                (f.tensor("output.weight") ? tensor_bytes(f, "output.weight") : tensor_bytes(f, "token_embd.weight"));
    const uint64_t B = uint64_t(std::max(n_batch, 1));
    const int64_t n_vocab = f.tensor("token_embd.weight") && f.tensor("token_embd.weight")->dims.size() > 1
                                ? f.tensor("token_embd.weight")->dims[1] : 0;
    fp.scratch = 4 * B * (uint64_t(2 * h.n_embd + 2 * h.q_dim() + 2 * h.kv_dim()) + 2 * uint64_t(h.ffn_scratch_width())) +
                 4 * uint64_t(n_vocab) * 2;
    return fp;
}

int fit_gpu_layers(const ModelFootprint& fp, uint64_t free_bytes, std::string* why) {
    const int n = int(fp.layers.size());
    const uint64_t avail = usable_bytes(free_bytes);
    uint64_t all = fp.input + fp.output + fp.scratch;
    for (uint64_t b : fp.layers) all += b;
    if (all <= avail) {
        if (why) *why = "auto: all " + std::to_string(n) + " layers fit (" + gib(all) + " of " + gib(free_bytes) + " free)";
        return n;
    }
    uint64_t used = fp.input + fp.scratch;
    int k = 0;
    while (k < n && used + fp.layers[size_t(k)] <= avail) used += fp.layers[size_t(k++)];
    if (why) {
        const uint64_t layer = n ? *std::max_element(fp.layers.begin(), fp.layers.end()) : 0;
        *why = "auto: " + std::to_string(k) + "/" + std::to_string(n) + " layers fit in " + gib(free_bytes) +
               " free (the model needs " + gib(all) + ", a layer about " + gib(layer) + "); " + std::to_string(n - k) +
               " run on the CPU";
    }
    return k;
}

int fit_expert_layers(const ModelFootprint& fp, uint64_t free_bytes, std::string* why) {
    const int n = int(fp.layers.size());
    const uint64_t avail = usable_bytes(free_bytes);
    uint64_t need = fp.input + fp.output + fp.scratch, experts = 0;
    for (uint64_t b : fp.layers) need += b;
    for (uint64_t b : fp.experts) experts += b;
    if (need <= avail || experts == 0) return 0;
    int k = 0;
    uint64_t moved = 0;
    for (; k < int(fp.experts.size()) && need > avail; ++k) {
        need -= fp.experts[size_t(k)];
        moved += fp.experts[size_t(k)];
    }
    if (why)
        *why = "auto: the experts of " + std::to_string(k) + "/" + std::to_string(n) + " layers stay in system memory (" + gib(moved) +
               "), the rest on the device (" + gib(need) + " of " + gib(free_bytes) + " free)" +
               (need > avail ? "; not enough even so" : "");
    return k;
}

std::string layer_unsupported(const Backend& be, const gguf::File& f, const ModelHParams& h, int l) {
    const std::string who = be.device().backend;
    for (Op op : arch_def(h.arch_id).ops) {
        if (op == Op::SlidingWindow && h.window_of(l) == 0) continue;  // a global layer of that architecture
        if (!be.supports_op(op)) return who + " has no " + op_name(op) + " (" + h.arch + " needs it)";
    }
    auto type_of = [&](const std::string& name) { const gguf::TensorInfo* t = f.tensor(name); return t ? t->type : GgmlType::F32; };
    if (l == 0 && !be.supports_op(Op::GetRows, type_of("token_embd.weight")))
        return who + " cannot look up " + std::string(type_name(type_of("token_embd.weight"))) + " embeddings";
    if (l == h.n_layer - 1) {
        const std::string out = f.tensor("output.weight") ? "output.weight" : "token_embd.weight";
        if (!be.supports_op(Op::Matmul, type_of(out))) return who + " has no " + std::string(type_name(type_of(out))) + " matmul";
    }
    const std::string prefix = "blk." + std::to_string(l) + ".";
    for (const gguf::TensorInfo& t : f.tensors())
        if (t.name.compare(0, prefix.size(), prefix) == 0 && t.dims.size() >= 2 && !be.supports_op(Op::Matmul, t.type))
            return who + " has no " + std::string(type_name(t.type)) + " matmul";
    return "";
}

Result<Placement> place_model(const gguf::File& f, const PlacementOptions& opt) {
    auto hp = read_hparams(f);
    if (!hp.ok()) return make_error(f.path() + ": " + hp.message());
    BackendOptions bo;
    bo.n_threads = opt.n_threads;
    auto be = create_backend(opt.backend, opt.device, bo);
    if (!be.ok()) return be.status();
    Placement p;
    p.main = std::move(*be);
    p.n_layer = hp->n_layer;
    p.n_gpu_layers = hp->n_layer;
    if (is_host_backend(*p.main)) {
        for (int l = 0; l < p.n_layer; ++l)
            if (std::string why = layer_unsupported(*p.main, f, *hp, l); !why.empty())
                return make_error(f.path() + ": layer " + std::to_string(l) + ": " + why);
        p.summary = "all " + std::to_string(p.n_layer) + " layers on the CPU";
        return p;
    }
    // Which layers the device can run at all.
    std::vector<bool> can(size_t(p.n_layer), true);
    std::string lacking;
    int n_can = 0;
    for (int l = 0; l < p.n_layer; ++l) {
        const std::string why = layer_unsupported(*p.main, f, *hp, l);
        can[size_t(l)] = why.empty();
        n_can += can[size_t(l)];
        if (!why.empty() && lacking.empty()) lacking = why;
    }
    auto cpu = [&]() -> Result<std::unique_ptr<Backend>> {
        auto host = create_backend("cpu", 0, bo);
        if (!host.ok()) return make_error("layer split: the CPU backend: " + host.message());
        return std::move(*host);
    };
    if (n_can == 0) {  // nothing for the device: run on the CPU alone
        auto host = cpu();
        if (!host.ok()) return host.status();
        p.main = std::move(*host);
        p.summary = "all " + std::to_string(p.n_layer) + " layers on the CPU: " + lacking;
        return p;
    }
    std::string why, experts_why;
    int budget = p.n_layer;  // layers the device may take, in order among those it can run
    // A mixture of experts keeps the experts of its first k layers in system memory before any layer
    // leaves the device: attention and the KV cache stay on the device, and a token reads only the
    // experts it chose on the CPU (llama.cpp's --n-cpu-moe), where a layer split would also move
    // those layers' attention.
    int k_experts = 0;
    const uint64_t free_bytes = opt.gpu_layers < 0 ? p.main->memory_free() : 0;  // a driver query: once
    ModelFootprint fp = model_footprint(f, *hp, opt.n_ctx, opt.kv_type, opt.n_batch);
    for (int l = 0; l < p.n_layer; ++l)
        if (!can[size_t(l)]) fp.layers[size_t(l)] = fp.experts[size_t(l)] = 0;  // on the CPU anyway: costs the device nothing
    if (hp->has_experts()) {
        if (opt.cpu_moe_layers >= 0) {
            k_experts = std::min(opt.cpu_moe_layers, p.n_layer);
            if (k_experts > 0) experts_why = "the experts of " + std::to_string(k_experts) + "/" + std::to_string(p.n_layer) +
                                             " layers in system memory as asked";
        } else if (opt.gpu_layers < 0) {
            k_experts = fit_expert_layers(fp, free_bytes, &experts_why);
        }
        for (int l = 0; l < k_experts; ++l) {
            fp.layers[size_t(l)] -= fp.experts[size_t(l)];
            fp.experts[size_t(l)] = 0;
        }
    }
    if (opt.gpu_layers >= 0) {
        budget = std::min(opt.gpu_layers, p.n_layer);
        why = std::to_string(std::min(budget, n_can)) + "/" + std::to_string(p.n_layer) + " layers on the device as asked";
    } else {
        budget = fit_gpu_layers(fp, free_bytes, &why);
    }
    p.on_main.assign(size_t(p.n_layer), false);
    p.n_gpu_layers = 0;
    for (int l = 0; l < p.n_layer && l < budget; ++l)
        if (can[size_t(l)]) p.on_main[size_t(l)] = true, ++p.n_gpu_layers;
    // Experts move only off layers that stay on the device (a layer on the CPU has them there anyway).
    p.experts_on_host.assign(size_t(p.n_layer), false);
    for (int l = 0; l < k_experts; ++l)
        if (p.on_main[size_t(l)]) p.experts_on_host[size_t(l)] = true, ++p.n_expert_host_layers;
    if (p.n_expert_host_layers == 0) p.experts_on_host.clear();
    if (p.n_gpu_layers < p.n_layer || p.n_expert_host_layers > 0) {
        auto host = cpu();
        if (!host.ok()) return host.status();
        p.host = std::move(*host);
    }
    if (p.n_gpu_layers < p.n_layer) {
        if (opt.gpu_layers >= 0) why += ", " + std::to_string(p.n_layer - p.n_gpu_layers) + " on the CPU";
        // Every layer the device can run fits: say that, not "all N layers fit".
        if (opt.gpu_layers < 0 && n_can < p.n_layer && p.n_gpu_layers == n_can)
            why = "auto: the " + std::to_string(n_can) + " layers the device can run fit";
        if (n_can < p.n_layer) why += "; " + std::to_string(p.n_layer - n_can) + " on the CPU because " + lacking;
    } else {
        p.on_main.clear();
    }
    // With experts in system memory and every layer on the device, the experts' sentence says it all.
    if (p.n_expert_host_layers > 0 && !experts_why.empty())
        why = p.n_gpu_layers == p.n_layer ? experts_why : experts_why + "; " + why;
    p.summary = why;
    return p;
}

}  // namespace hearth
