// Building a Tokenizer from a VocabSpec, the special-token split, encode/decode. The merge loops are
// in tokenizer_spm.cpp and tokenizer_bpe.cpp, WordPiece in tokenizer_wpm.cpp, the loaders in tokenizer_gguf.cpp and tokenizer_hf.cpp.
#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "engine/tokenizer/token_attr.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/unicode_nfc.h"

namespace hearth::tokenizer {

namespace {

uint32_t attr_from_type(int32_t type) {
    switch (TokenType(type)) {
        case TokenType::Normal: return kAttrNormal;
        case TokenType::Unknown: return kAttrUnknown;
        case TokenType::Control: return kAttrControl;
        case TokenType::UserDefined: return kAttrUserDefined;
        case TokenType::Unused: return kAttrUnused;
        case TokenType::Byte: return kAttrByte;
        default: return 0;  // undefined: never produced, printed as nothing
    }
}

// Texts that end a turn or a generation in the model families we know (llama.cpp's list).
constexpr const char* kEotNames[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>",  // <｜end▁of▁sentence｜>
};
constexpr const char* kEogNames[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "</s>",
    "<|eom_id|>", "<EOT>", "_<EOT>", "<end_of_utterance>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>",
};

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// "<0xAB>" -> 0xAB, or -1.
int parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
    const int hi = hex_digit(t[3]), lo = hex_digit(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty()) return;
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    for (size_t m; (m = s.find(from, pos)) != std::string::npos; pos = m + from.size()) {
        out.append(s, pos, m - pos);
        out.append(to);
    }
    out.append(s, pos, std::string::npos);
    s.swap(out);
}

bool ascii_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string lower_ascii(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

const std::string kSpmSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's visible space

// CLIP's normalizer after NFC: every run of white space becomes one space, then lower case.
std::string clip_normalize(std::string_view text) {
    std::string spaced;
    spaced.reserve(text.size());
    bool in_space = false;
    for (const CodePoint& c : decode_utf8(text)) {
        if (is_whitespace(c.cp)) {
            if (!in_space) spaced += ' ';
            in_space = true;
        } else {
            spaced.append(text.substr(c.offset, c.len));
            in_space = false;
        }
    }
    return lower_case(spaced);
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_spec(VocabSpec spec) {
    std::unique_ptr<Tokenizer> t(new Tokenizer());
    t->spec_ = std::move(spec);
    HEARTH_RETURN_IF_ERROR(t->build());
    return t;
}

Status Tokenizer::build() {
    VocabSpec& s = spec_;
    if (s.model == "llama") type_ = VocabType::Spm;
    else if (s.model == "gpt2") type_ = VocabType::Bpe;
    else if (s.model == "bert") type_ = VocabType::Wpm;
    else return make_error("unsupported tokenizer model '" + s.model + "' (supported: llama, gpt2, bert)");

    const size_t n = s.tokens.size();
    if (n == 0) return make_error("the vocabulary has no tokens");
    if (n > size_t(INT32_MAX)) return make_error("the vocabulary has too many tokens");
    if (!s.scores.empty() && s.scores.size() != n)
        return make_error("tokenizer.ggml.scores has " + std::to_string(s.scores.size()) + " entries for " + std::to_string(n) + " tokens");
    if (!s.types.empty() && s.types.size() != n)
        return make_error("tokenizer.ggml.token_type has " + std::to_string(s.types.size()) + " entries for " + std::to_string(n) + " tokens");
    if ((!s.lstrip.empty() && s.lstrip.size() != n) || (!s.rstrip.empty() && s.rstrip.size() != n))
        return make_error("lstrip/rstrip flags do not cover the vocabulary");

    PreSpec pre_spec;
    if (type_ == VocabType::Bpe) {
        auto pre = pre_spec_from_name(s.pre);
        if (!pre.ok()) return pre.status();
        pre_spec = *pre;
        pre_ = pre_spec.kind;
        if (s.merges.empty()) return make_error("a byte-level BPE vocabulary needs tokenizer.ggml.merges");
    }
    if (s.max_word_chars < 0) return make_error("WordPiece max_input_chars_per_word is negative");

    // Token table and attributes.
    score_.assign(n, 0.0f);
    if (!s.scores.empty()) score_ = s.scores;
    attr_.assign(n, kAttrNormal);
    to_id_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        if (!s.types.empty()) attr_[i] = attr_from_type(s.types[i]);
        if (s.tokens[i].empty()) s.tokens[i] = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp does
        if (!s.lstrip.empty() && s.lstrip[i]) attr_[i] |= kAttrLStrip;
        if (!s.rstrip.empty() && s.rstrip[i]) attr_[i] |= kAttrRStrip;
        if (!to_id_.insert(s.tokens, int32_t(i)) && warnings_.size() < 20)
            warnings_.push_back("duplicate token text '" + s.tokens[i] + "' at ids " + std::to_string(lookup(s.tokens[i])) + " and " + std::to_string(i) + "; the first is used");
    }

    // Flags: llama.cpp's defaults per model and pre-tokenizer, then what the vocabulary says.
    // BERT adds [CLS] … [SEP] (sentence-transformers' inputs) and cleans spaces when decoding.
    const bool spm = type_ == VocabType::Spm, bpe = type_ == VocabType::Bpe, wpm = type_ == VocabType::Wpm;
    add_space_prefix_ = s.add_space_prefix.value_or(spm);
    add_bos_ = s.add_bos.value_or(spm || wpm || pre_spec.add_bos);
    add_eos_ = s.add_eos.value_or(wpm);
    ignore_merges_ = s.ignore_merges.value_or(bpe && pre_spec.ignore_merges);
    // Qwen's tokenizer.json normalizes to NFC (llama.cpp skips it; Hugging Face does not).
    clip_text_ = bpe && pre_ == PreKind::Clip;
    nfc_ = s.nfc.value_or(bpe && (pre_ == PreKind::Qwen2 || clip_text_));
    clean_spaces_ = s.clean_spaces.value_or(wpm || (bpe && pre_spec.clean_spaces));

    // Special ids: SPM vocabularies default to <unk>=0, <s>=1, </s>=2. Out-of-range ids are dropped.
    auto check_id = [&](int32_t id, int32_t fallback, const char* what) -> int32_t {
        if (id < 0) id = fallback;
        if (id >= int32_t(n)) {
            warnings_.push_back(std::string(what) + " id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(n) + "; ignored");
            return wpm ? fallback : -1;  // WordPiece: the token found by its text, as when no id is given
        }
        return id;
    };
    // WordPiece vocabularies (older GGUFs, hand-made specs) default to BERT's texts.
    bos_ = check_id(s.bos, spm ? 1 : wpm ? lookup("[CLS]") : -1, "bos");
    eos_ = check_id(s.eos, spm ? 2 : wpm ? lookup("[SEP]") : -1, "eos");
    unk_ = check_id(s.unk, spm ? 0 : wpm ? lookup("[UNK]") : -1, "unk");
    eot_ = check_id(s.eot, -1, "eot");
    eom_ = check_id(s.eom, -1, "eom");
    pad_ = check_id(s.pad, wpm ? lookup("[PAD]") : -1, "pad");
    if (wpm) {
        // Hugging Face's WordPiece cannot encode an unmatched word without [UNK]; BERT models need
        // [CLS] and [SEP] around every input.
        if (unk_ < 0) return make_error("a WordPiece (bert) vocabulary needs an unknown token: no [UNK] and no tokenizer.ggml.unknown_token_id");
        if (add_bos_ && bos_ < 0) return make_error("a WordPiece (bert) vocabulary needs [CLS]: none found and no tokenizer.ggml.cls_token_id");
        if (add_eos_ && eos_ < 0) return make_error("a WordPiece (bert) vocabulary needs [SEP]: none found and no tokenizer.ggml.seperator_token_id");
    }
    if (add_bos_ && bos_ < 0) return make_error("tokenizer.ggml.add_bos_token is true but the vocabulary has no BOS token id");
    if (add_eos_ && eos_ < 0) return make_error("tokenizer.ggml.add_eos_token is true but the vocabulary has no EOS token id");

    // End-of-turn / end-of-generation tokens recognised by their text (converters do not always
    // record them); they are control tokens whatever the file says, as in llama.cpp.
    if (eot_ < 0) {
        for (const char* name : kEotNames) {
            if (int32_t id = lookup(name); id >= 0) { eot_ = id; break; }
        }
    }
    is_eog_.assign(n, 0);
    auto add_eog = [&](int32_t id) {
        if (id < 0 || is_eog_[id]) return;
        is_eog_[id] = 1;
        eog_.push_back(id);
    };
    for (const char* name : kEogNames) {
        if (int32_t id = lookup(name); id >= 0) {
            add_eog(id);
            attr_[id] = (attr_[id] & ~kAttrUserDefined) | kAttrControl;
        }
    }
    add_eog(eos_);
    add_eog(eot_);
    add_eog(eom_);
    std::sort(eog_.begin(), eog_.end());

    // Phi-3 GGUFs carry no strip flags; llama.cpp right-strips after its special tokens.
    const std::string lname = lower_ascii(s.name);
    const bool phi3 = lname.find("phi-3") != std::string::npos || lname.find("phi3") != std::string::npos;

    // Special tokens to look for in text, longest first (ties by id, for determinism).
    for (size_t i = 0; i < n; ++i) {
        if (attr_[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) special_.push_back(int32_t(i));
    }
    if (phi3) {
        for (int32_t id : special_) attr_[id] |= kAttrRStrip;
        if (int32_t id = lookup("</s>"); id >= 0) attr_[id] |= kAttrRStrip;
        for (const char* t : {"<unk>", "<s>", "<|endoftext|>"}) {
            if (int32_t id = lookup(t); id >= 0) attr_[id] &= ~kAttrRStrip;
        }
    }
    std::sort(special_.begin(), special_.end(), [&](int32_t a, int32_t b) {
        const size_t la = s.tokens[a].size(), lb = s.tokens[b].size();
        return la != lb ? la > lb : a < b;
    });
    // SentencePiece text is escaped, spaces become U+2581, so Hugging Face cannot tell a literal
    // U+2581 from a space; Gemma's whitespace-run tokens ("  ", "   ", ...) then take it in. Read it
    // as a space unless some special token holds one (it must stay matchable as written).
    spm_space_alias_ = spm && std::none_of(special_.begin(), special_.end(), [&](int32_t id) {
        return s.tokens[id].find(kSpmSpace) != std::string::npos;
    });

    // Byte tokens: what a byte that no merge covers becomes (WordPiece has none: [UNK] instead).
    for (int b = 0; b < 256; ++b) {
        byte_token_[b] = -1;
        if (wpm) continue;
        if (spm) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "<0x%02X>", b);
            byte_token_[b] = lookup(buf);
            if (byte_token_[b] < 0) byte_token_[b] = lookup(std::string(1, char(b)));
        } else {
            std::string ch;
            append_utf8(ch, byte_to_cp(uint8_t(b)));
            byte_token_[b] = lookup(ch);
        }
    }

    // Merges: (left id, right id) -> (rank, merged id). llama.cpp splits at the first space after the
    // first byte (so a merge may start with a space). Merges whose parts or result are not tokens
    // can never apply to token symbols and are skipped.
    if (bpe) {
        merges_.reserve(s.merges.size());
        size_t skipped = 0;
        std::string joined;
        for (size_t r = 0; r < s.merges.size(); ++r) {
            const std::string& m = s.merges[r];
            const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
            if (sp == std::string::npos) return make_error("tokenizer.ggml.merges[" + std::to_string(r) + "] '" + m + "' is not 'left right'");
            const std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
            joined.assign(left);
            joined.append(right);
            const int32_t a = lookup(left), b = lookup(right), c = lookup(joined);
            if (a < 0 || b < 0 || c < 0) { ++skipped; continue; }
            merges_.insert(a, b, {int32_t(r), c});
        }
        if (skipped) warnings_.push_back(std::to_string(skipped) + " merges refer to texts outside the vocabulary; skipped");
    }

    // Pieces (special = true), computed once: detokenizing is then a table lookup.
    piece_.resize(n);
    for (size_t i = 0; i < n; ++i) {
        const uint32_t a = attr_[i];
        const std::string& text = s.tokens[i];
        std::string& p = piece_[i];
        if (a & (kAttrUnknown | kAttrControl | kAttrUserDefined)) {
            p = text;
            if (wpm && (a & kAttrUserDefined)) replace_all(p, kSpmSpace, " ");  // phantom-spelled like a word
        } else if (a & kAttrNormal) {
            // WordPiece: "\u2581abc" starts a word (" abc"), a continuation "abc" joins the previous piece.
            if (spm || wpm) { p = text; replace_all(p, kSpmSpace, " "); }
            else p = byte_level_decode(text);
            // A word end reads as the space that separated words (Hugging Face's BPEDecoder).
            if (!s.end_of_word_suffix.empty() && p.size() >= s.end_of_word_suffix.size() &&
                p.compare(p.size() - s.end_of_word_suffix.size(), std::string::npos, s.end_of_word_suffix) == 0)
                p.replace(p.size() - s.end_of_word_suffix.size(), std::string::npos, " ");
        } else if (a & kAttrByte) {
            const int b = parse_byte_token(text);
            p = b >= 0 ? std::string(1, char(b)) : text;
        }
    }
    if (wpm) {
        for (const std::string& t : s.tokens) wpm_max_token_bytes_ = std::max(wpm_max_token_bytes_, t.size());
    }
    return Status();
}

int32_t Tokenizer::lookup(std::string_view text) const { return to_id_.find(spec_.tokens, text); }

int32_t Tokenizer::find_token(std::string_view text) const { return lookup(text); }

const std::string& Tokenizer::token_text(int32_t id) const {
    static const std::string empty;
    return id >= 0 && id < n_vocab() ? spec_.tokens[id] : empty;
}

TokenType Tokenizer::token_type(int32_t id) const {
    if (id < 0 || id >= n_vocab()) return TokenType::Undefined;
    const uint32_t a = attr_[id];
    if (a & kAttrControl) return TokenType::Control;
    if (a & kAttrUserDefined) return TokenType::UserDefined;
    if (a & kAttrUnknown) return TokenType::Unknown;
    if (a & kAttrByte) return TokenType::Byte;
    if (a & kAttrUnused) return TokenType::Unused;
    if (a & kAttrNormal) return TokenType::Normal;
    return TokenType::Undefined;
}

bool Tokenizer::is_eog(int32_t id) const { return id >= 0 && id < n_vocab() && is_eog_[id]; }

bool Tokenizer::is_control(int32_t id) const {
    return id >= 0 && id < n_vocab() && (attr_[id] & (kAttrControl | kAttrUnknown));
}

std::vector<Tokenizer::Fragment> Tokenizer::split_special(std::string_view text, bool parse_special) const {
    std::vector<Fragment> frags;
    if (text.empty()) return frags;
    frags.push_back({-1, 0, text.size()});
    std::vector<Fragment> next;
    // Like llama.cpp: each special token in turn (longest first) cuts every remaining text fragment
    // at all its occurrences.
    for (int32_t id : special_) {
        const uint32_t a = attr_[id];
        if (!parse_special && (a & (kAttrControl | kAttrUnknown))) continue;
        const std::string& tok = spec_.tokens[id];
        if (text.find(tok) == std::string_view::npos) continue;
        next.clear();
        for (const Fragment& f : frags) {
            if (f.token >= 0) { next.push_back(f); continue; }
            const size_t end = f.off + f.len;
            const std::string_view window = text.substr(0, end);
            size_t pos = f.off;
            for (size_t m; pos < end && (m = window.find(tok, pos)) != std::string_view::npos;) {
                size_t left_end = m;
                if (a & kAttrLStrip) while (left_end > pos && ascii_space(text[left_end - 1])) --left_end;
                if (left_end > pos) next.push_back({-1, pos, left_end - pos});
                next.push_back({id, 0, 0});
                pos = m + tok.size();
                if (a & kAttrRStrip) while (pos < end && ascii_space(text[pos])) ++pos;
            }
            if (pos < end) next.push_back({-1, pos, end - pos});
        }
        frags.swap(next);
    }
    return frags;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    if (add_special && add_bos_) out.push_back(bos_);
    std::string unescaped;
    if (spm_space_alias_ && text.find(kSpmSpace) != std::string_view::npos) {
        unescaped.assign(text);
        replace_all(unescaped, kSpmSpace, " ");
        text = unescaped;
    }
    const std::vector<Fragment> frags = split_special(text, parse_special);
    if (type_ == VocabType::Wpm) {
        for (const Fragment& f : frags) {
            if (f.token >= 0) out.push_back(f.token);
            else encode_wpm(text.substr(f.off, f.len), out);
        }
    } else if (type_ == VocabType::Spm) {
        bool prev_special = true;  // the text start counts as following a special token
        std::string buf;
        for (const Fragment& f : frags) {
            if (f.token >= 0) { out.push_back(f.token); prev_special = true; continue; }
            buf.clear();
            if (add_space_prefix_ && prev_special) buf += ' ';
            buf.append(text.substr(f.off, f.len));
            replace_all(buf, " ", kSpmSpace);
            encode_spm(buf, out);
            prev_special = false;
        }
    } else {
        std::string word, normalized;
        for (const Fragment& f : frags) {
            if (f.token >= 0) { out.push_back(f.token); continue; }
            std::string_view frag = text.substr(f.off, f.len);
            if (nfc_ && !nfc_quick_check(frag)) {
                normalized = nfc(frag);
                frag = normalized;
            }
            if (clip_text_) {
                normalized = clip_normalize(frag);
                frag = normalized;
            }
            for (std::string_view piece : pre_tokenize(pre_, frag)) {
                if (clip_text_ && piece == " ") continue;  // CLIP keeps only the regex's matches
                word = byte_level_encode(piece);
                encode_bpe_word(word, out);
            }
        }
    }
    if (add_special && add_eos_) out.push_back(eos_);
    return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool special) const {
    if (id < 0 || id >= n_vocab()) return {};
    if (!special && (attr_[id] & (kAttrControl | kAttrUnknown))) return {};
    return piece_[id];
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool special) const {
    std::string out;
    const bool wpm = type_ == VocabType::Wpm;
    bool strip = add_space_prefix_ || wpm;  // the space SPM put before the first word; WordPiece's phantom space
    for (int32_t id : ids) {
        std::string p = token_to_piece(id, special);
        // Hugging Face's WordPiece decoder puts a space before every piece that does not continue a
        // word, [CLS] and [SEP] included.
        if (wpm && !p.empty() && (attr_[id] & (kAttrControl | kAttrUnknown))) p.insert(0, 1, ' ');
        if (strip && !p.empty()) {
            if (p[0] == ' ') p.erase(0, 1);
            strip = false;
        }
        out += p;
    }
    if (clean_spaces_) {
        // Hugging Face's clean_up_tokenization, replacement by replacement.
        static const std::pair<const char*, const char*> kRules[] = {
            {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
            {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
        };
        for (const auto& [from, to] : kRules) replace_all(out, from, to);
    }
    return out;
}

}  // namespace hearth::tokenizer
