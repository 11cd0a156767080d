#include "engine/model/placement.h"

#include <algorithm>
#include <cstdio>

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

}  // namespace

ModelFootprint model_footprint(const gguf::File& f, const ModelHParams& h, int n_ctx, GgmlType kv_type, int n_batch) {
    ModelFootprint fp;
    const uint64_t cells = uint64_t((n_ctx + kKvBlockTokens - 1) / kKvBlockTokens) * kKvBlockTokens;
    const uint64_t kv_layer = 2 * cells * uint64_t(h.kv_dim()) * (kv_type == GgmlType::F32 ? 4 : 2);
    fp.layers.assign(size_t(std::max(h.n_layer, 0)), kv_layer);
    for (const gguf::TensorInfo& t : f.tensors()) {
        if (t.name.rfind("blk.", 0) != 0) continue;
        const int l = std::atoi(t.name.c_str() + 4);
        if (l >= 0 && l < h.n_layer) fp.layers[size_t(l)] += t.n_bytes;
    }
    fp.input = tensor_bytes(f, "token_embd.weight");
    fp.output = tensor_bytes(f, "output_norm.weight") +
                (f.tensor("output.weight") ? tensor_bytes(f, "output.weight") : tensor_bytes(f, "token_embd.weight"));
    const uint64_t B = uint64_t(std::max(n_batch, 1));
    const int64_t n_vocab = f.tensor("token_embd.weight") && f.tensor("token_embd.weight")->dims.size() > 1
                                ? f.tensor("token_embd.weight")->dims[1] : 0;
    fp.scratch = 4 * B * uint64_t(2 * h.n_embd + 2 * h.q_dim() + 2 * h.kv_dim() + 2 * h.n_ff) + 4 * uint64_t(n_vocab) * 2;
    return fp;
}

int fit_gpu_layers(const ModelFootprint& fp, uint64_t free_bytes, std::string* why) {
    const int n = int(fp.layers.size());
    const uint64_t reserve = free_bytes / 20 + (uint64_t(32) << 20);
    const uint64_t avail = free_bytes > reserve ? free_bytes - reserve : 0;
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
        p.summary = "all " + std::to_string(p.n_layer) + " layers on the CPU";
        return p;
    }
    std::string why;
    if (opt.gpu_layers >= 0) {
        p.n_gpu_layers = std::min(opt.gpu_layers, p.n_layer);
        why = std::to_string(p.n_gpu_layers) + "/" + std::to_string(p.n_layer) + " layers on the device as asked";
    } else {
        const ModelFootprint fp = model_footprint(f, *hp, opt.n_ctx, opt.kv_type, opt.n_batch);
        p.n_gpu_layers = fit_gpu_layers(fp, p.main->memory_free(), &why);
    }
    if (p.n_gpu_layers < p.n_layer) {
        auto host = create_backend("cpu", 0, bo);
        if (!host.ok()) return make_error("layer split: the CPU backend: " + host.message());
        p.host = std::move(*host);
        if (opt.gpu_layers >= 0) why += ", " + std::to_string(p.n_layer - p.n_gpu_layers) + " on the CPU";
    }
    p.summary = why;
    return p;
}

}  // namespace hearth
