// Perplexity of a model on a text, computed as llama.cpp's llama-perplexity does, so the two give the
// same figure on the same file, text and context size:
//  - the text is tokenized once (with BOS when the vocabulary adds one, no special-token parsing);
//  - it is cut into non-overlapping chunks of n_ctx tokens (a partial last chunk is dropped), each
//    evaluated from an empty context; when the vocabulary adds BOS, each chunk's first token is
//    replaced by BOS;
//  - only the second half of each chunk is scored (positions n_ctx/2 .. n_ctx-2 predicting the next
//    token), so every scored token has at least n_ctx/2 tokens of context;
//  - PPL = exp(mean negative log-likelihood) over all scored tokens, its error the standard error
//    of the mean carried through exp.
// With a base model (the unquantized source), it also gives the mean KL divergence
// KL(base || model) of the next-token distributions and how often both pick the same top token,
// over the same positions (llama-perplexity's --kl-divergence figures).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/session/session.h"
#include "engine/util/status.h"

namespace hearth::eval {

struct PerplexityOptions {
    int n_ctx = 512;       // tokens per chunk
    int max_chunks = -1;   // -1: every whole chunk of the text
    const std::atomic<bool>* cancel = nullptr;
    // After each chunk: chunks done, chunks in all, the running perplexity.
    std::function<void(int done, int total, double ppl)> progress;
};

struct PerplexityResult {
    double ppl = 0, ppl_err = 0;
    double mean_nll = 0;
    int n_ctx = 0, n_chunks = 0;
    int64_t n_text_tokens = 0, n_scored = 0;
    bool has_kl = false;
    double mean_kl = 0, kl_err = 0;  // nats per token
    double top1_agree = 0;           // fraction of scored positions with the same argmax
};

// Negative log-likelihood sums over scored positions, per chunk (shared by the CLI and the tests).
struct ChunkScore {
    double nll = 0, nll2 = 0;        // sums of -log p(token) and of its square
    double kl = 0, kl2 = 0;          // sums of KL(base || model) and its square (with a base)
    int64_t same_top = 0, n = 0;
};

// Scores rows of logits: row r (n_vocab floats) predicts next[r]. With base_logits (same layout),
// adds the KL divergence and top-1 agreement. Log-softmax in double, as llama-perplexity does.
ChunkScore score_rows(const float* logits, const float* base_logits, int n_vocab, const int32_t* next, int n_rows);

// `model` (and `base`, when not null) must have been opened with a context of at least n_ctx.
Result<PerplexityResult> perplexity(Session& model, const std::string& text, const PerplexityOptions& opts,
                                    Session* base = nullptr);

}  // namespace hearth::eval
