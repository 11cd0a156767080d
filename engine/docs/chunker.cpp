#include "engine/docs/chunker.h"

#include <algorithm>

#include "engine/util/utf8.h"

namespace hearth::docs {

namespace {

struct Span {
    size_t b, e;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

// Where a piece of the given level ends: after a blank line (0), a line end (1), a sentence end (2),
// a space (3). Level 4 cuts between any two characters.
bool ends_piece(std::string_view t, size_t i, int level) {
    // i: the byte just past a candidate end.
    switch (level) {
        case 0: return i >= 2 && t[i - 1] == '\n' && t[i - 2] == '\n';
        case 1: return t[i - 1] == '\n';
        case 2: {
            const char c = t[i - 1];
            if ((c == '.' || c == '!' || c == '?' || c == ';') && i < t.size() && is_space(t[i])) return true;
            // 。！？；… (UTF-8, 3 bytes each) end a sentence without a space after them.
            if (i >= 3) {
                const std::string_view last = t.substr(i - 3, 3);
                return last == "。" || last == "！" || last == "？" || last == "；" || last == "…";
            }
            return false;
        }
        case 3: return is_space(t[i - 1]) && i < t.size() && !is_space(t[i]);
        default: return true;
    }
}

class Splitter {
public:
    Splitter(std::string_view t, const TokenCounter& count, size_t max, bool markdown)
        : t_(t), count_(count), max_(max), markdown_(markdown) {}

    // Markdown: [b, e) is heading lines only (and blank lines), which belong with what follows them.
    bool only_headings(size_t b, size_t e) const {
        if (!markdown_) return false;
        bool any = false;
        for (size_t ls = b; ls < e;) {
            size_t le = t_.find('\n', ls);
            if (le == std::string_view::npos || le > e) le = e;
            if (le > ls) {
                if (t_[ls] != '#') return false;
                any = true;
            }
            ls = le + 1;
        }
        return any;
    }

    size_t tokens(size_t b, size_t e) const { return count_(t_.substr(b, e - b)); }

    // Appends pieces of [b, e) that each fit (or are one character), cut at `level`'s ends, and
    // finer where a piece is still too long.
    void split(Span s, int level, std::vector<Span>& out) const {
        if (s.b >= s.e) return;
        if (level > 4 || tokens(s.b, s.e) <= max_) {
            out.push_back(s);
            return;
        }
        if (level == 4) {  // between characters
            size_t i = s.b;
            while (i < s.e) {
                uint32_t cp;
                size_t n = utf8_decode_at(t_, i, &cp);
                if (n == 0) n = 1;  // not UTF-8: a byte at a time (the caller's text should be)
                out.push_back({i, std::min(i + n, s.e)});
                i += n;
            }
            return;
        }
        size_t start = s.b;
        for (size_t i = s.b + 1; i <= s.e; ++i) {
            if (i == s.e || ends_piece(t_, i, level)) {
                // A blank-line cut takes the whole run of line ends with it.
                while (level <= 1 && i < s.e && t_[i] == '\n') ++i;
                if (i < s.e && only_headings(start, i)) continue;
                split_or_keep({start, i}, level, out);
                start = i;
            }
        }
    }

private:
    void split_or_keep(Span s, int level, std::vector<Span>& out) const {
        if (tokens(s.b, s.e) <= max_) out.push_back(s);
        else split(s, level + 1, out);
    }

    std::string_view t_;
    const TokenCounter& count_;
    size_t max_;
    bool markdown_;
};

}  // namespace

std::vector<Chunk> chunk_text(std::string_view text, const TokenCounter& count, const ChunkOptions& opt) {
    const size_t max = std::max<size_t>(opt.max_tokens, 1);
    Splitter sp(text, count, max, opt.markdown);
    std::vector<Span> pieces;
    sp.split({0, text.size()}, 0, pieces);

    std::vector<size_t> line_starts{0};
    for (size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n') line_starts.push_back(i + 1);
    // Markdown headings (outside ``` fences): their line start and their text.
    std::vector<std::pair<size_t, std::string>> headings;
    if (opt.markdown) {
        bool fence = false;
        for (size_t ls : line_starts) {
            const size_t le = std::min(text.find('\n', ls), text.size());
            const std::string_view line = text.substr(ls, le - ls);
            if (line.substr(0, 3) == "```" || line.substr(0, 3) == "~~~") fence = !fence;
            if (fence) continue;
            size_t h = 0;
            while (h < line.size() && h < 7 && line[h] == '#') ++h;
            if (h >= 1 && h <= 6 && h < line.size() && line[h] == ' ') {
                std::string_view title = line.substr(h + 1);
                while (!title.empty() && (is_space(title.back()) || title.back() == '#')) title.remove_suffix(1);
                while (!title.empty() && is_space(title.front())) title.remove_prefix(1);
                if (!title.empty()) headings.emplace_back(ls, std::string(title));
            }
        }
    }

    std::vector<Chunk> chunks;
    auto emit = [&](size_t b, size_t e) {
        while (b < e && is_space(text[b])) ++b;
        while (e > b && is_space(text[e - 1])) --e;
        if (b >= e) return;
        Chunk c;
        c.text = std::string(text.substr(b, e - b));
        c.begin = b;
        c.end = e;
        c.line = int(std::upper_bound(line_starts.begin(), line_starts.end(), b) - line_starts.begin());
        auto h = std::upper_bound(headings.begin(), headings.end(), b,
                                  [](size_t pos, const auto& hd) { return pos < hd.first; });
        if (h != headings.begin()) c.heading = std::prev(h)->second;
        chunks.push_back(std::move(c));
    };
    auto blank = [&](const Span& s) {
        for (size_t i = s.b; i < s.e; ++i)
            if (!is_space(text[i])) return false;
        return true;
    };

    // Greedy packing: consecutive pieces while the passage still fits; a new passage starts with the
    // last pieces of the one before that fit in the overlap (and leave room for the next piece).
    size_t first = 0;  // pieces [first, i) are the passage being packed
    bool open = false;
    for (size_t i = 0; i < pieces.size(); ++i) {
        if (!open) {
            if (blank(pieces[i])) continue;
            first = i;
            open = true;
            continue;
        }
        // A heading starts a passage when the one being packed is already half full.
        const bool heading_next = opt.markdown && text[pieces[i].b] == '#' &&
                                  (pieces[i].b == 0 || text[pieces[i].b - 1] == '\n') &&
                                  sp.tokens(pieces[first].b, pieces[i - 1].e) * 2 >= max;
        if (!heading_next && sp.tokens(pieces[first].b, pieces[i].e) <= max) continue;
        emit(pieces[first].b, pieces[i - 1].e);
        size_t next = i;
        if (opt.overlap_tokens > 0) {
            for (size_t k = i; k > first + 1; --k) {  // never the whole previous passage
                const size_t cand = k - 1;
                if (sp.tokens(pieces[cand].b, pieces[i - 1].e) > opt.overlap_tokens) break;
                if (sp.tokens(pieces[cand].b, pieces[i].e) > max) break;
                next = cand;
            }
        }
        while (next < i && blank(pieces[next])) ++next;
        first = next;
    }
    if (open) emit(pieces[first].b, pieces.back().e);
    return chunks;
}

}  // namespace hearth::docs
