#include "engine/tokenizer/sentencepiece_model.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace hearth::tokenizer {

namespace {

// Protobuf wire format: each field is a varint key (field number << 3 | wire type) and a value.
struct Reader {
    const uint8_t* p;
    const uint8_t* end;
    bool ok = true;

    bool more() const { return ok && p < end; }
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p >= end) { ok = false; return 0; }
            const uint8_t b = *p++;
            v |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        ok = false;
        return 0;
    }
    // A length-delimited value's bytes.
    Reader sub() {
        const uint64_t n = varint();
        if (!ok || n > uint64_t(end - p)) { ok = false; return {end, end, false}; }
        Reader r{p, p + n};
        p += n;
        return r;
    }
    uint32_t fixed32() {
        if (end - p < 4) { ok = false; return 0; }
        uint32_t v;
        std::memcpy(&v, p, 4);  // little-endian on every platform we build for
        p += 4;
        return v;
    }
    void skip(uint32_t wire) {
        switch (wire) {
            case 0: varint(); break;
            case 1: if (end - p < 8) ok = false; else p += 8; break;
            case 2: sub(); break;
            case 5: fixed32(); break;
            default: ok = false;
        }
    }
};

// sentencepiece_model.proto SentencePiece.Type
enum : uint64_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

}  // namespace

Result<VocabSpec> read_sentencepiece_model(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return make_error(path + ": cannot open");
    std::ostringstream ss;
    ss << f.rdbuf();
    const std::string bytes = ss.str();
    auto fail = [&](const std::string& why) { return make_error(path + ": " + why); };
    Reader model{reinterpret_cast<const uint8_t*>(bytes.data()), reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size()};
    VocabSpec s;
    s.model = "llama";
    while (model.more()) {
        const uint64_t key = model.varint();
        if (key == ((1 << 3) | 2)) {  // ModelProto.pieces
            Reader piece = model.sub();
            std::string text;
            float score = 0;
            uint64_t type = kNormal;
            while (piece.more()) {
                const uint64_t k = piece.varint();
                if (k == ((1 << 3) | 2)) {
                    Reader t = piece.sub();
                    text.assign(reinterpret_cast<const char*>(t.p), size_t(t.end - t.p));
                } else if (k == ((2 << 3) | 5)) {
                    const uint32_t bits = piece.fixed32();
                    std::memcpy(&score, &bits, 4);
                } else if (k == ((3 << 3) | 0)) {
                    type = piece.varint();
                } else {
                    piece.skip(uint32_t(k & 7));
                }
            }
            if (!piece.ok) return fail("piece " + std::to_string(s.tokens.size()) + " is truncated");
            // llama.cpp's converter keeps these four types and calls everything else Normal.
            TokenType t = TokenType::Normal;
            if (type == kUnknown) t = TokenType::Unknown;
            else if (type == kControl) t = TokenType::Control;
            else if (type == kUnused) t = TokenType::Unused;
            else if (type == kByte) t = TokenType::Byte;
            s.tokens.push_back(std::move(text));
            s.scores.push_back(score);
            s.types.push_back(int32_t(t));
        } else {
            model.skip(uint32_t(key & 7));
        }
    }
    if (!model.ok) return fail("not a SentencePiece model (malformed or truncated protobuf)");
    if (s.tokens.empty()) return fail("not a SentencePiece model (no pieces)");
    return s;
}

}  // namespace hearth::tokenizer
