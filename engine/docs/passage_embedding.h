// A document as searchable passages: its text cut to the embedding model's measure (chunker.h) and
// each passage embedded. What the chat's Documents and `hearth-cli search-docs` index.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/docs/chunker.h"
#include "engine/docs/document_text.h"
#include "engine/embed/text_embedder.h"
#include "engine/util/status.h"

namespace hearth::docs {

struct Passage {
    Chunk chunk;
    std::vector<float> vector;  // unit length, the embedder's width
};

// Told passages embedded so far of all; returning false cancels (the call then fails with "cancelled").
using PassageProgress = std::function<bool(size_t done, size_t total)>;

// Passages of ≤ 200 tokens (fewer when the model takes fewer), 30 of them overlapping, so a passage
// is a paragraph or two: long enough to hold an answer, short enough that its vector is about one
// thing and that five of them fit in a prompt.
ChunkOptions passage_options(const embed::TextEmbedder& em, const std::string& kind);

Result<std::vector<Passage>> embed_document(embed::TextEmbedder& em, const DocumentText& doc,
                                            const PassageProgress& progress = {});

}  // namespace hearth::docs
