// WordPiece (BERT) encoding, as Hugging Face tokenizers' WordPiece model does it after BertNormalizer
// and BertPreTokenizer (bert_text.h): each word is matched greedily, longest piece first, from the
// left. Tokens are in llama.cpp's phantom spelling: a word's first piece is looked up as
// "\u2581" + piece, every later piece bare (Hugging Face's "##" + piece). A word longer than
// max_word_chars characters, or one with a position no piece matches, becomes a single [UNK].
#include <algorithm>
#include <string>
#include <vector>

#include "engine/tokenizer/bert_text.h"
#include "engine/tokenizer/token_attr.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace hearth::tokenizer {

namespace {
const std::string kPhantom = "\xe2\x96\x81";  // U+2581
}  // namespace

void Tokenizer::encode_wpm(std::string_view text, std::vector<int32_t>& out) const {
    const std::string normalized = bert_normalize(text);
    std::vector<std::string_view> words;
    bert_pre_tokenize(normalized, words);
    for (std::string_view w : words) encode_wpm_word(w, out);
}

void Tokenizer::encode_wpm_word(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    // Character boundaries (byte offsets), the word's end included. The text is valid UTF-8 here:
    // the normalizer dropped what did not decode.
    std::vector<size_t> bound;
    bound.reserve(word.size() + 1);
    for (size_t off = 0; off < word.size(); off += std::min(utf8_seq_len(static_cast<unsigned char>(word[off])), word.size() - off)) {
        bound.push_back(off);
        if (bound.size() > size_t(spec_.max_word_chars)) {  // Hugging Face counts characters, not bytes
            out.push_back(unk_);
            return;
        }
    }
    bound.push_back(word.size());

    const size_t first_out = out.size();
    std::string key;
    key.reserve(kPhantom.size() + std::min(word.size(), wpm_max_token_bytes_));
    for (size_t start = 0; start + 1 < bound.size();) {
        const bool first = start == 0;
        int32_t found = -1;
        size_t end = bound.size() - 1;
        // Skip ends that make a key longer than any token: a long word costs no hopeless lookups.
        const size_t prefix = first ? kPhantom.size() : 0;
        while (end > start && prefix + bound[end] - bound[start] > wpm_max_token_bytes_) --end;
        for (; end > start; --end) {
            // Control tokens are stored bare like continuations but are no pieces ("##[CLS]" is not a token).
            if (first) key.assign(kPhantom);
            else key.clear();
            key.append(word.substr(bound[start], bound[end] - bound[start]));
            if (int32_t id = lookup(key); id >= 0 && !(attr_[id] & (kAttrControl | kAttrUnknown))) {
                found = id;
                break;
            }
        }
        if (found < 0) {  // no piece here: the whole word is unknown
            out.resize(first_out);
            out.push_back(unk_);
            return;
        }
        out.push_back(found);
        start = end;
    }
}

}  // namespace hearth::tokenizer
