#include "engine/docs/passage_embedding.h"

#include <algorithm>

namespace hearth::docs {

ChunkOptions passage_options(const embed::TextEmbedder& em, const std::string& kind) {
    ChunkOptions o;
    const size_t room = size_t(std::max(em.max_tokens() - 2, 8));  // [CLS] and [SEP]
    o.max_tokens = std::min<size_t>(200, room);
    o.overlap_tokens = std::min<size_t>(30, o.max_tokens / 4);
    o.markdown = kind == "markdown";
    return o;
}

Result<std::vector<Passage>> embed_document(embed::TextEmbedder& em, const DocumentText& doc, const PassageProgress& progress) {
    const TokenCounter count = [&em](std::string_view s) {
        const size_t n = em.tokenize(s).size();
        return n >= 2 ? n - 2 : 0;
    };
    std::vector<Chunk> chunks = chunk_text(doc.text, count, passage_options(em, doc.kind));
    std::vector<Passage> out;
    out.reserve(chunks.size());
    // Groups of about one encoder batch, so progress moves and a cancel is heard within a batch.
    const size_t per_group = 16;
    for (size_t g = 0; g < chunks.size(); g += per_group) {
        if (progress && !progress(g, chunks.size())) return make_error("cancelled");
        std::vector<std::vector<int32_t>> ids;
        const size_t end = std::min(chunks.size(), g + per_group);
        for (size_t i = g; i < end; ++i) {
            ids.push_back(em.tokenize(chunks[i].text));
            if (int(ids.back().size()) > em.max_tokens()) ids.back().resize(size_t(em.max_tokens()));  // one character past the limit
        }
        auto vecs = em.embed_batch(ids);
        HEARTH_RETURN_IF_ERROR(vecs);
        for (size_t i = g; i < end; ++i) out.push_back({std::move(chunks[i]), std::move((*vecs)[i - g])});
    }
    if (progress) progress(chunks.size(), chunks.size());
    return out;
}

}  // namespace hearth::docs
