#include "engine/embed/text_embedder.h"

#include <cmath>

namespace hearth::embed {

std::vector<float> pool_rows(const std::vector<float>& rows, int n, int dim, Pooling p) {
    std::vector<double> acc(static_cast<size_t>(dim), 0.0);
    if (p == Pooling::Mean) {
        for (int t = 0; t < n; ++t)
            for (int c = 0; c < dim; ++c) acc[size_t(c)] += rows[size_t(t) * size_t(dim) + size_t(c)];
        for (double& v : acc) v /= n;
    } else {
        const int t = p == Pooling::Last ? n - 1 : 0;  // Cls: the first row
        for (int c = 0; c < dim; ++c) acc[size_t(c)] = rows[size_t(t) * size_t(dim) + size_t(c)];
    }
    double norm = 0;
    for (double v : acc) norm += v * v;
    norm = std::sqrt(norm);
    std::vector<float> out(static_cast<size_t>(dim));
    for (int c = 0; c < dim; ++c) out[size_t(c)] = float(norm > 0 ? acc[size_t(c)] / norm : 0.0);
    return out;
}

TextEmbedder::~TextEmbedder() = default;

Result<std::unique_ptr<TextEmbedder>> TextEmbedder::open(const std::string& path, Backend& be) {
    std::unique_ptr<TextEmbedder> m(new TextEmbedder());
    m->path_ = path;
    auto file = gguf::File::open(path);
    if (!file.ok()) return file.status();
    m->file_ = std::move(*file);
    auto hp = read_bert_hparams(*m->file_);
    if (!hp.ok()) return hp.status();
    if (hp->pooling == Pooling::None)
        return make_error(path + ": this model gives one vector per token (pooling_type none); Hearth serves pooled embeddings only");
    if (hp->pooling == Pooling::Rank)
        return make_error(path + ": this is a reranker (pooling_type rank), not an embedding model");
    auto tok = tokenizer::Tokenizer::from_gguf(*m->file_);
    if (!tok.ok()) return make_error(path + ": " + tok.message());
    if ((*tok)->n_vocab() != hp->n_vocab)
        return make_error(path + ": the vocabulary has " + std::to_string((*tok)->n_vocab()) + " tokens but token_embd.weight has " +
                          std::to_string(hp->n_vocab) + " rows");
    m->tokenizer_ = std::move(*tok);
    auto enc = BertEncoder::load(*m->file_, be);
    if (!enc.ok()) return enc.status();
    m->encoder_ = std::move(*enc);
    for (const gguf::TensorInfo& t : m->file_->tensors()) m->n_params_ += uint64_t(t.n_elements());
    return m;
}

Result<std::unique_ptr<TextEmbedder>> TextEmbedder::open(const std::string& path, const std::string& backend, int device, int n_threads,
                                                         std::string* note) {
    BackendOptions bo;
    bo.n_threads = n_threads;
    auto be = create_backend(backend, device, bo);
    if (!be.ok()) return make_error("embedding model: " + be.message());
    const bool host = (*be)->device().type == "cpu";
    auto m = open(path, **be);
    if (!m.ok() && !host && backend == "auto") {
        // The file may be fine and the GPU the problem: try the CPU before giving up.
        const std::string why = m.message();
        auto cpu = create_backend("cpu", 0, bo);
        if (!cpu.ok()) return m.status();
        auto again = open(path, **cpu);
        if (!again.ok()) return again.status();
        if (note) *note = "the embedding model runs on the CPU: " + why;
        (*again)->own_backend_ = std::move(*cpu);
        return again;
    }
    if (!m.ok()) return m.status();
    (*m)->own_backend_ = std::move(*be);
    return m;
}

// Special tokens written in the text are parsed, as sentence-transformers (Hugging Face tokenizers)
// does: the vectors must be the ones a user's Python pipeline made for the same text.
std::vector<int32_t> TextEmbedder::tokenize(std::string_view text) const { return tokenizer_->encode(text, true, true); }

Result<std::vector<float>> TextEmbedder::embed(const std::vector<int32_t>& ids) {
    auto v = embed_batch({ids});
    if (!v.ok()) return v.status();
    return std::move(v->front());
}

Result<std::vector<std::vector<float>>> TextEmbedder::embed_batch(const std::vector<std::vector<int32_t>>& inputs) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::vector<float>> out;
    out.reserve(inputs.size());
    const size_t d = size_t(dim());
    for (size_t first = 0; first < inputs.size();) {
        // A group: inputs while their tokens fit kBatchTokens (at least one).
        size_t last = first, tokens = 0;
        while (last < inputs.size() && (last == first || tokens + inputs[last].size() <= size_t(kBatchTokens))) tokens += inputs[last++].size();
        const std::vector<std::vector<int32_t>> group(inputs.begin() + std::ptrdiff_t(first), inputs.begin() + std::ptrdiff_t(last));
        auto rows = encoder_->encode_batch(group);
        if (!rows.ok()) return rows.status();
        size_t row = 0;
        for (const std::vector<int32_t>& ids : group) {
            const std::vector<float> seq(rows->begin() + std::ptrdiff_t(row * d), rows->begin() + std::ptrdiff_t((row + ids.size()) * d));
            out.push_back(pool_rows(seq, int(ids.size()), dim(), pooling()));
            row += ids.size();
        }
        first = last;
    }
    return out;
}

}  // namespace hearth::embed
