// How far quantizing moved an embedding model's vectors: the quality figure of the model wizard for
// embedding models, where perplexity means nothing. Each passage of a text (a non-empty line, cut
// to the model's positions as sentence-transformers truncates: [CLS] … [SEP]) is embedded by both
// models; the figure is the cosine of the two vectors, averaged and at its lowest.
#pragma once

#include <atomic>
#include <functional>
#include <string_view>

#include "engine/embed/text_embedder.h"
#include "engine/util/status.h"

namespace hearth::embed {

struct EmbeddingAgreement {
    double mean_cosine = 0, min_cosine = 1;
    int passages = 0;
    int64_t tokens = 0;
    double before_s = 0, after_s = 0;  // time each model took over all passages
};

struct AgreementOptions {
    const std::atomic<bool>* cancel = nullptr;           // checked between passages; cancelled is an error
    std::function<void(int done, int total)> progress;   // after each passage of the pair
};

// `before` and `after` must share a vocabulary (a model and its quantized copy).
Result<EmbeddingAgreement> embedding_agreement(TextEmbedder& before, TextEmbedder& after, std::string_view text,
                                               const AgreementOptions& opt = {});

}  // namespace hearth::embed
