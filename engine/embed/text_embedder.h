// A text embedding model: its vocabulary, its encoder and its pooling, from one GGUF file. What the
// local API's /v1/embeddings serves when it is given an embedding model (hearth-cli serve
// --embedding-model, or a BERT file as the only model).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/embed/bert_encoder.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/status.h"

namespace hearth::embed {

class TextEmbedder {
public:
    // Opens `path` (general.architecture "bert"); its weights go to `be`, which must outlive this.
    // Files that pool nothing (one vector per token) or rank pairs (rerankers) are refused by name.
    static Result<std::unique_ptr<TextEmbedder>> open(const std::string& path, Backend& be);
    // The same on a backend of its own, `backend` as create_backend takes it ("auto", "cpu", …). A
    // GPU that cannot run the encoder (an op or weight type it lacks, too little memory) gives way
    // to the CPU, and `note` (when given) says so; a bad file fails on every backend alike.
    static Result<std::unique_ptr<TextEmbedder>> open(const std::string& path, const std::string& backend, int device, int n_threads,
                                                      std::string* note = nullptr);
    ~TextEmbedder();

    // The model's ids for a text: [CLS] text [SEP] (the vocabulary's own flags).
    std::vector<int32_t> tokenize(std::string_view text) const;
    // The pooled embedding of ids (1 .. max_tokens()), L2-normalized. One call at a time runs; others wait.
    Result<std::vector<float>> embed(const std::vector<int32_t>& ids);
    // Several at once, one pass of the encoder per group of up to kBatchTokens tokens (the weights
    // read once per group): what a retrieval tool's bulk request wants. One vector per input.
    Result<std::vector<std::vector<float>>> embed_batch(const std::vector<std::vector<int32_t>>& inputs);
    static constexpr int kBatchTokens = 2048;

    int dim() const { return encoder_->hparams().n_embd; }
    int max_tokens() const { return encoder_->hparams().n_ctx; }
    Pooling pooling() const { return encoder_->hparams().pooling; }
    const BertHParams& hparams() const { return encoder_->hparams(); }
    const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }
    const std::string& path() const { return path_; }
    Backend& backend() const { return encoder_->backend(); }
    uint64_t n_params() const { return n_params_; }

private:
    TextEmbedder() = default;

    std::string path_;
    std::unique_ptr<Backend> own_backend_;  // open(path, backend name, …); destroyed after the encoder
    std::unique_ptr<gguf::File> file_;  // CPU backends read the weights from its mapping
    std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
    std::unique_ptr<BertEncoder> encoder_;
    uint64_t n_params_ = 0;
    std::mutex mu_;
};

// Pools rows (n × dim, row-major) as `p` says and L2-normalizes the result (a zero vector stays zero).
std::vector<float> pool_rows(const std::vector<float>& rows, int n, int dim, Pooling p);

}  // namespace hearth::embed
