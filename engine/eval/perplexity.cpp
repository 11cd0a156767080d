// Perplexity and KL divergence over a text, chunked as llama-perplexity does (see perplexity.h).
#include "engine/eval/perplexity.h"

#include <algorithm>
#include <cmath>

namespace hearth::eval {
namespace {

// log p of every token of a row, in double: max-subtracted log-sum-exp.
void log_softmax(const float* logits, int n_vocab, std::vector<double>& out) {
    float max = logits[0];
    for (int i = 1; i < n_vocab; ++i) max = std::max(max, logits[i]);
    double sum = 0;
    for (int i = 0; i < n_vocab; ++i) sum += std::exp(double(logits[i]) - max);
    const double log_sum = std::log(sum);
    out.resize(size_t(n_vocab));
    for (int i = 0; i < n_vocab; ++i) out[size_t(i)] = double(logits[i]) - max - log_sum;
}

int argmax(const float* row, int n) { return int(std::max_element(row, row + n) - row); }

// exp(mean) and its standard error carried through exp, from sums of x and x^2 over n samples.
void mean_and_error(double sum, double sum2, int64_t n, double* mean, double* err) {
    *mean = sum / double(n);
    const double var = sum2 / double(n) - *mean * *mean;
    *err = var > 0 && n > 1 ? std::sqrt(var / double(n - 1)) : 0.0;
}

}  // namespace

ChunkScore score_rows(const float* logits, const float* base_logits, int n_vocab, const int32_t* next, int n_rows) {
    ChunkScore s;
    std::vector<double> lp, lb;
    for (int r = 0; r < n_rows; ++r) {
        const float* row = logits + size_t(r) * size_t(n_vocab);
        log_softmax(row, n_vocab, lp);
        const double v = -lp[size_t(next[r])];
        s.nll += v;
        s.nll2 += v * v;
        if (base_logits) {
            const float* brow = base_logits + size_t(r) * size_t(n_vocab);
            log_softmax(brow, n_vocab, lb);
            double kl = 0;
            for (int i = 0; i < n_vocab; ++i) kl += std::exp(lb[size_t(i)]) * (lb[size_t(i)] - lp[size_t(i)]);
            s.kl += kl;
            s.kl2 += kl * kl;
            s.same_top += argmax(row, n_vocab) == argmax(brow, n_vocab);
        }
        ++s.n;
    }
    return s;
}

Result<PerplexityResult> perplexity(Session& model, const std::string& text, const PerplexityOptions& opts, Session* base) {
    const int n_ctx = opts.n_ctx;
    if (n_ctx < 4) return make_error("perplexity: the context size must be at least 4 tokens");
    if (model.n_ctx() < n_ctx)
        return make_error("perplexity: the model was opened with a context of " + std::to_string(model.n_ctx()) +
                          " tokens, fewer than the chunk size " + std::to_string(n_ctx) + " (its training context is " +
                          std::to_string(model.info().n_ctx_train) + ")");
    const int n_vocab = model.info().n_vocab;
    if (base) {
        if (base->info().n_vocab != n_vocab)
            return make_error("perplexity: the base model has " + std::to_string(base->info().n_vocab) + " tokens in its vocabulary, this model " +
                              std::to_string(n_vocab) + ": KL divergence needs the same vocabulary");
        if (base->n_ctx() < n_ctx) return make_error("perplexity: the base model's context is smaller than the chunk size");
    }

    // BOS as the vocabulary adds it: tokenizing nothing with add_bos gives [BOS] or [].
    auto bos = model.tokenize("", true, false);
    if (!bos.ok()) return bos.status();
    const bool add_bos = !bos->empty();
    auto toks = model.tokenize(text, true, false);
    if (!toks.ok()) return toks.status();
    std::vector<int32_t>& tokens = *toks;
    if (int64_t(tokens.size()) < 2 * int64_t(n_ctx))
        return make_error("perplexity: the text is " + std::to_string(tokens.size()) + " tokens; a context of " + std::to_string(n_ctx) +
                          " needs at least " + std::to_string(2 * n_ctx) + " (two chunks): use a longer text or a smaller -c");
    int n_chunks = int(tokens.size() / size_t(n_ctx));
    if (opts.max_chunks > 0) n_chunks = std::min(n_chunks, opts.max_chunks);

    const int first = n_ctx / 2;
    const int n_rows = n_ctx - first;  // logits of positions first .. n_ctx-1 (the last one is not scored)
    ChunkScore total;
    for (int c = 0; c < n_chunks; ++c) {
        if (opts.cancel && opts.cancel->load()) return make_error("cancelled");
        std::vector<int32_t> chunk(tokens.begin() + int64_t(c) * n_ctx, tokens.begin() + int64_t(c + 1) * n_ctx);
        if (add_bos) chunk[0] = (*bos)[0];
        auto logits = model.eval_logits(chunk, n_rows);
        if (!logits.ok()) return logits.status();
        std::vector<float> base_logits;
        if (base) {
            auto b = base->eval_logits(chunk, n_rows);
            if (!b.ok()) return make_error("base model: " + b.message());
            base_logits = std::move(*b);
        }
        // Row r is position first + r and predicts the chunk's original token at first + r + 1.
        const int32_t* next = tokens.data() + int64_t(c) * n_ctx + first + 1;
        const ChunkScore s = score_rows(logits->data(), base ? base_logits.data() : nullptr, n_vocab, next, n_rows - 1);
        total.nll += s.nll;
        total.nll2 += s.nll2;
        total.kl += s.kl;
        total.kl2 += s.kl2;
        total.same_top += s.same_top;
        total.n += s.n;
        if (opts.progress) opts.progress(c + 1, n_chunks, std::exp(total.nll / double(total.n)));
    }

    PerplexityResult r;
    r.n_ctx = n_ctx;
    r.n_chunks = n_chunks;
    r.n_text_tokens = int64_t(tokens.size());
    r.n_scored = total.n;
    double nll_err = 0;
    mean_and_error(total.nll, total.nll2, total.n, &r.mean_nll, &nll_err);
    r.ppl = std::exp(r.mean_nll);
    r.ppl_err = r.ppl * nll_err;
    if (base) {
        r.has_kl = true;
        mean_and_error(total.kl, total.kl2, total.n, &r.mean_kl, &r.kl_err);
        r.top1_agree = double(total.same_top) / double(total.n);
    }
    return r;
}

}  // namespace hearth::eval
