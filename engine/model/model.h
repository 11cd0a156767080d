// A loaded model: hyperparameters and weights as backend Tensors, for any architecture of
// engine/model/arch/. The weights are imported from the mmapped GGUF (Backend::import_host: CPU
// backends wrap the mapping, device backends copy), each in its own stored type, as the
// architecture's manifest lists them: every tensor's presence and shape is checked against the
// hyperparameters before use, with an error naming the tensor.
//
// Layer split: with a `host` backend, each layer runs on the main (device) backend or on `host`
// (layers that do not fit, or whose weight types the device lacks); the embedding lookup runs
// where layer 0 runs and the output norm + vocabulary matrix where the last layer runs
// (llama.cpp's placement). A tensor needed on several backends (a tied embedding, rope_freqs) is
// imported on each.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/hparams.h"
#include "engine/model/manifest.h"
#include "engine/model/projection.h"

namespace hearth {

struct ArchDef;

// One layer's weights. Norm tensors an architecture does not have keep buf == nullptr.
struct LayerWeights {
    Tensor attn_norm;
    Projection wq, wk, wv, wo;
    Tensor q_norm, k_norm;   // per-head QK-norm weights [head_dim] (qwen3, gemma3)
    Tensor attn_post_norm;   // gemma3
    Tensor ffn_norm;
    Projection gate, up, down;
    Tensor ffn_post_norm;    // gemma3
    // A mixture-of-experts FFN (Qwen3-MoE, Mixtral) in place of gate/up/down: the router and the
    // stacked experts, expert e's matrix being rows [e·r, (e+1)·r) of its stacked tensor (of()).
    struct Experts {
        Tensor router;            // n_expert × n_embd
        Tensor gate, up, down;    // n_expert·n_ff_exp × n_embd (down: n_expert·n_embd × n_ff_exp)
        int n = 0;                // experts
        // Where the router and the experts live and run: the layer's backend, or the CPU side of
        // a device model (experts in system memory, llama.cpp's --n-cpu-moe): attention, the KV
        // cache and the norms stay on the device, and the hidden state crosses over for the FFN.
        Backend* backend = nullptr;
        bool present() const { return router.buf != nullptr; }
        Tensor of(const Tensor& stacked, int e) const {
            const int64_t r = stacked.rows / n;
            return stacked.row_range(int64_t(e) * r, r);
        }
    } experts;
    Backend* backend = nullptr;  // where this layer's weights live and its ops run (layer split)

    // The layer's matrices in a fixed order (q, k, v, o, gate, up, down): byte counts, adapters.
    std::vector<const Projection*> projections() const { return {&wq, &wk, &wv, &wo, &gate, &up, &down}; }
};

class Model {
public:
    // Loads the weights of `file` (which must outlive the model) into `backend` (which must too).
    // `progress(fraction)` returning false cancels loading with an error.
    // With `host` and 0 <= n_gpu_layers < n_layer, layers from n_gpu_layers on run on `host`.
    static Result<std::unique_ptr<Model>> load(const gguf::File& file, Backend& backend,
                                               const std::function<bool(float)>& progress = {},
                                               Backend* host = nullptr, int n_gpu_layers = -1);
    // With `host`, the layers l with on_main[l] == false run on `host` (a Placement's per-layer choice),
    // and the experts of the layers l with experts_on_host[l] live and run on `host` (a mixture of
    // experts whose experts do not fit the device; layers without experts ignore it).
    static Result<std::unique_ptr<Model>> load(const gguf::File& file, Backend& backend,
                                               const std::function<bool(float)>& progress, Backend* host,
                                               const std::vector<bool>& on_main,
                                               const std::vector<bool>& experts_on_host = {});

    const ModelHParams& hparams() const { return hp_; }
    const ArchDef& arch() const { return *arch_; }
    Backend& backend() const { return *backend_; }          // the main backend
    Backend& input_backend() const { return *input_be_; }   // runs the embedding lookup (layer 0's)
    Backend& output_backend() const { return *output_be_; } // runs the output norm and matrix (last layer's)
    int n_gpu_layers() const { return n_main_layers_; }     // layers on backend(); n_layer when not split
    bool is_split() const { return n_main_layers_ < hp_.n_layer; }
    int n_expert_host_layers() const { return n_expert_host_layers_; }  // layers whose experts run on the host
    const gguf::File& file() const { return *file_; }

    const Tensor& tok_embd() const { return tok_embd_; }         // on input_backend()
    const Tensor& output_norm() const { return output_norm_; }   // on output_backend()
    const Tensor& output() const { return output_; }  // token_embd when the output is tied; on output_backend()
    bool tied_output() const { return tied_; }
    const std::vector<LayerWeights>& layers() const { return layers_; }

    // RoPE parameters of layer `l` for ops on `be` in a context of `n_ctx` tokens, with freq_factors
    // pointing at that backend's copy of rope_freqs.weight when the model has it, or of LongRoPE's
    // rope_factors_long when n_ctx exceeds the original context (rope.scaling.original_context_length)
    // and rope_factors_short otherwise (llama.cpp's choice: by the context size, not the prompt's;
    // n_ctx 0, unknown, takes the short ones).
    RopeParams rope_params(const Backend& be, int l = -1, int n_ctx = 0) const;
    RopeParams rope_params() const { return rope_params(*backend_); }
    bool has_long_rope() const { return !rope_long_.empty(); }
    uint64_t n_params() const { return n_params_; }
    uint64_t weight_bytes() const { return weight_bytes_; }

private:
    Model() = default;
    Result<Tensor> import(Backend& be, const std::string& name, std::vector<int64_t> shape, bool matrix,
                          bool count = true);
    Status bind_layer_tensor(LayerWeights& L, Role role, const Tensor& t);
    // host null: every layer on `backend`; else layer l on `backend` when on_main(l). plan_layers:
    // the length of a caller's per-layer plan, checked against the model (-1: none).
    static Result<std::unique_ptr<Model>> load_impl(const gguf::File& file, Backend& backend,
                                                    const std::function<bool(float)>& progress, Backend* host,
                                                    const std::function<bool(int)>& on_main, int plan_layers = -1,
                                                    const std::function<bool(int)>& experts_on_host = {});

    const gguf::File* file_ = nullptr;
    const ArchDef* arch_ = nullptr;
    Backend* backend_ = nullptr;
    Backend *input_be_ = nullptr, *output_be_ = nullptr;
    int n_main_layers_ = 0, n_expert_host_layers_ = 0;
    ModelHParams hp_;
    Tensor tok_embd_, output_norm_, output_;
    std::vector<std::pair<const Backend*, Tensor>> rope_freqs_;  // one copy per backend that runs layers
    std::vector<std::pair<const Backend*, Tensor>> rope_long_, rope_short_;  // LongRoPE factors, likewise
    bool tied_ = false;
    std::vector<LayerWeights> layers_;
    std::vector<BufferPtr> buffers_;
    uint64_t n_params_ = 0, weight_bytes_ = 0, loaded_bytes_ = 0, total_bytes_ = 0;
    std::function<bool(float)> progress_;
};

}  // namespace hearth
