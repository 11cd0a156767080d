// Cutting a document's text into passages an embedding model can take whole: each at most
// `max_tokens` of that model's tokens (counted by its own tokenizer, so a passage is never cut
// short by the encoder's position limit), cut where the text breaks — a blank line, then a line
// end, then a sentence end (. ! ? 。！？ …), then a space, and only as a last resort between two
// characters — with the end of each passage repeated at the start of the next (`overlap_tokens`)
// so a sentence that straddles a cut is found from either side.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::docs {

struct Chunk {
    std::string text;      // the passage, without leading or trailing white space
    size_t begin = 0;      // its bytes in the document text: [begin, end)
    size_t end = 0;
    int line = 1;          // the line `begin` is on, from 1 (for "report.md, line 120")
    std::string heading;   // markdown: the nearest heading above `begin`, without its #s ("" none)
};

// The number of tokens of a text (without the model's [CLS]/[SEP]).
using TokenCounter = std::function<size_t(std::string_view)>;

struct ChunkOptions {
    size_t max_tokens = 200;
    size_t overlap_tokens = 30;
    bool markdown = false;  // record headings
};

// Passages in document order. Every passage is valid UTF-8 and counts ≤ max_tokens (a single
// character that alone counts more is a passage of its own); passages together cover every
// non-white-space byte of `text`; white-space-only text gives none.
std::vector<Chunk> chunk_text(std::string_view text, const TokenCounter& count, const ChunkOptions& opt = {});

}  // namespace hearth::docs
