// BERT-family text encoders from GGUF (general.architecture "bert", as llama.cpp's converter writes
// sentence-transformers models such as all-MiniLM-L6-v2, bge-small/base/large-en-v1.5 and
// bge-small-zh-v1.5): word + position + token-type embeddings and their layer norm, then layers of
// bidirectional self-attention and a GELU MLP, each followed by its residual add and layer norm
// (the post-norm variant of engine/model/encoder_layer). Runs on any backend with the encoder
// layer's ops; weights stay in their stored type.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/encoder_layer.h"
#include "engine/util/status.h"

namespace hearth::embed {

// How token rows become one vector ({arch}.pooling_type, llama.cpp's numbering).
enum class Pooling { None = 0, Mean = 1, Cls = 2, Last = 3, Rank = 4 };
const char* pooling_name(Pooling p);

struct BertHParams {
    std::string arch;  // general.architecture
    int n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_ff = 0, n_ctx = 0, n_token_types = 0;
    float eps = 1e-12f;
    Pooling pooling = Pooling::Mean;
};

// Whether the file is an encoder this module runs (checks the architecture name only).
bool is_encoder_architecture(const std::string& arch);
// The same for a .gguf on disk (its header only); false for a file that does not open, whose
// loader then says what is wrong with it.
bool is_encoder_file(const std::string& path);
// The hyperparameters, every size checked; the error names the key.
Result<BertHParams> read_bert_hparams(const gguf::File& f);

class BertEncoder {
public:
    // `file` may be closed after loading on device backends; CPU backends keep pointing into its
    // mapping, so the caller keeps it open for the encoder's lifetime. `be` must outlive it too.
    static Result<std::unique_ptr<BertEncoder>> load(const gguf::File& file, Backend& be);
    ~BertEncoder();

    // The last layer's output for ids (1 .. n_ctx ids, each below n_vocab), all in segment 0:
    // ids.size() rows of n_embd floats.
    Result<std::vector<float>> encode(const std::vector<int32_t>& ids);
    // Several inputs in one pass (their rows one after another, each attending only to itself):
    // the weights are read once for all of them. The rows of all inputs, in order.
    Result<std::vector<float>> encode_batch(const std::vector<std::vector<int32_t>>& inputs);

    const BertHParams& hparams() const { return hp_; }
    Backend& backend() const { return be_; }
    uint64_t weight_bytes() const { return weight_bytes_; }

private:
    explicit BertEncoder(Backend& be) : be_(be) {}

    Backend& be_;
    BertHParams hp_;
    std::vector<BufferPtr> weights_;
    uint64_t weight_bytes_ = 0;
    Tensor tok_embd_, pos_embd_, type_embd_;
    LayerNormWeights embd_norm_;
    std::vector<EncoderLayerWeights> layers_;
    EncoderActivations act_;
};

}  // namespace hearth::embed
