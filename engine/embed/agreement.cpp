#include "engine/embed/agreement.h"

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

namespace hearth::embed {

Result<EmbeddingAgreement> embedding_agreement(TextEmbedder& before, TextEmbedder& after, std::string_view text,
                                               const AgreementOptions& opt) {
    if (before.tokenizer().n_vocab() != after.tokenizer().n_vocab() || before.dim() != after.dim())
        return make_error("the two embedding models differ in vocabulary or width: not a model and its quantized copy");
    std::vector<std::vector<int32_t>> passages;
    for (size_t at = 0; at < text.size();) {
        const size_t end = std::min(text.find('\n', at), text.size());
        const std::string_view line = text.substr(at, end - at);
        at = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        std::vector<int32_t> ids = before.tokenize(line);
        const size_t cap = size_t(std::min(before.max_tokens(), after.max_tokens()));
        if (ids.size() > cap) {  // keep the start, end with the vocabulary's closing token
            const int32_t last = ids.back();
            ids.resize(cap);
            if (before.tokenizer().add_eos()) ids.back() = last;
        }
        passages.push_back(std::move(ids));
    }
    if (passages.empty()) return make_error("the text has no passage to embed");
    EmbeddingAgreement r;
    double sum = 0;
    using Clock = std::chrono::steady_clock;
    for (size_t i = 0; i < passages.size(); ++i) {
        if (opt.cancel && opt.cancel->load()) return make_error("cancelled");
        const auto t0 = Clock::now();
        auto a = before.embed(passages[i]);
        const auto t1 = Clock::now();
        auto b = after.embed(passages[i]);
        const auto t2 = Clock::now();
        if (!a.ok()) return a.status();
        if (!b.ok()) return b.status();
        r.before_s += std::chrono::duration<double>(t1 - t0).count();
        r.after_s += std::chrono::duration<double>(t2 - t1).count();
        double dot = 0;
        for (size_t j = 0; j < a->size(); ++j) dot += double((*a)[j]) * (*b)[j];  // both unit vectors
        sum += dot;
        r.min_cosine = std::min(r.min_cosine, dot);
        r.tokens += int64_t(passages[i].size());
        ++r.passages;
        if (opt.progress) opt.progress(int(i + 1), int(passages.size()));
    }
    r.mean_cosine = sum / double(r.passages);
    return r;
}

}  // namespace hearth::embed
