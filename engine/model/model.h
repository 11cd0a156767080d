// A loaded llama-family model: hyperparameters and weights as backend Tensors. The weights are
// imported from the mmapped GGUF (Backend::import_host: CPU backends wrap the mapping, device
// backends copy), each in its own stored type. Every tensor's presence and shape is checked
// against the hyperparameters before use, with an error naming the tensor.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/hparams.h"

namespace hearth {

struct LayerWeights {
    Tensor attn_norm, wq, wk, wv, wo;
    Tensor bq, bk, bv;  // valid when has_qkv_bias
    bool has_qkv_bias = false;
    Tensor ffn_norm, w_gate, w_up, w_down;
    // Extension point for layer split: the backend this layer's ops run on (today always the
    // model's backend; a split would give some layers another backend and copy the hidden state).
    Backend* backend = nullptr;
};

class Model {
public:
    // Loads the weights of `file` (which must outlive the model) into `backend` (which must too).
    // `progress(fraction)` returning false cancels loading with an error.
    static Result<std::unique_ptr<Model>> load(const gguf::File& file, Backend& backend,
                                               const std::function<bool(float)>& progress = {});

    const ModelHParams& hparams() const { return hp_; }
    Backend& backend() const { return *backend_; }
    const gguf::File& file() const { return *file_; }

    const Tensor& tok_embd() const { return tok_embd_; }
    const Tensor& output_norm() const { return output_norm_; }
    const Tensor& output() const { return output_; }  // token_embd when the output is tied
    bool tied_output() const { return tied_; }
    const Tensor* rope_freqs() const { return has_rope_freqs_ ? &rope_freqs_ : nullptr; }
    const std::vector<LayerWeights>& layers() const { return layers_; }

    // RoPE parameters with freq_factors pointing at rope_freqs.weight when the model has it.
    RopeParams rope_params() const;
    uint64_t n_params() const { return n_params_; }
    uint64_t weight_bytes() const { return weight_bytes_; }

private:
    Model() = default;
    Result<Tensor> import(const std::string& name, std::vector<int64_t> shape, bool matrix, bool required = true);

    const gguf::File* file_ = nullptr;
    Backend* backend_ = nullptr;
    ModelHParams hp_;
    Tensor tok_embd_, output_norm_, output_, rope_freqs_;
    bool tied_ = false, has_rope_freqs_ = false;
    std::vector<LayerWeights> layers_;
    std::vector<BufferPtr> buffers_;
    uint64_t n_params_ = 0, weight_bytes_ = 0, loaded_bytes_ = 0, total_bytes_ = 0;
    std::function<bool(float)> progress_;
};

}  // namespace hearth
