#include "engine/docs/pdf_text.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/docs/inflate.h"
#include "engine/util/utf8.h"

namespace hearth::docs {

namespace {

// Bounds that keep a hostile file from costing more than a large honest one.
constexpr size_t kMaxStreamBytes = size_t(64) << 20;   // one unpacked stream
constexpr size_t kMaxTotalBytes = size_t(256) << 20;   // all unpacked streams together
constexpr int kMaxDepth = 32;                          // nested arrays/dicts, page tree, forms
constexpr size_t kMaxPages = 20000;
constexpr size_t kMaxOps = size_t(20) << 20;           // content operators interpreted in all

// ---- objects -------------------------------------------------------------------------------

struct Obj {
    enum Type { Null, Bool, Num, Str, Name, Arr, Dict, Ref, Op };
    Type t = Null;
    double num = 0;
    std::string s;                                   // string bytes, name, or operator
    std::vector<Obj> arr;
    std::vector<std::string> keys;                   // a dictionary's keys and values, in order
    std::vector<Obj> vals;                           // (a pair would need Obj complete here)
    int ref = 0;
    std::string_view stream;                         // raw stream bytes (in the file or an unpacked buffer)
    bool has_stream = false;

    const Obj* get(std::string_view key) const {
        for (size_t i = 0; i < keys.size(); ++i)
            if (keys[i] == key) return &vals[i];
        return nullptr;
    }
    bool is_name(std::string_view n) const { return t == Name && s == n; }
};

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0'; }
bool is_delim(char c) { return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' || c == '{' || c == '}' || c == '/' || c == '%'; }
int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class Lexer {
public:
    explicit Lexer(std::string_view b, size_t pos = 0) : b_(b), p_(pos) {}
    size_t pos() const { return p_; }
    bool at_end() { skip_ws(); return p_ >= b_.size(); }

    void skip_ws() {
        while (p_ < b_.size()) {
            if (is_ws(b_[p_])) ++p_;
            else if (b_[p_] == '%') { while (p_ < b_.size() && b_[p_] != '\n' && b_[p_] != '\r') ++p_; }
            else break;
        }
    }

    // One object; `ops`: bare words are operators (content streams) instead of errors. false at the end.
    bool parse(Obj& o, int depth, bool ops) {
        skip_ws();
        if (p_ >= b_.size() || depth > kMaxDepth) return false;
        const char c = b_[p_];
        if (c == '/') {
            ++p_;
            o.t = Obj::Name;
            while (p_ < b_.size() && !is_ws(b_[p_]) && !is_delim(b_[p_])) {
                if (b_[p_] == '#' && p_ + 2 < b_.size() && hexval(b_[p_ + 1]) >= 0 && hexval(b_[p_ + 2]) >= 0) {
                    o.s += char(hexval(b_[p_ + 1]) * 16 + hexval(b_[p_ + 2]));
                    p_ += 3;
                } else {
                    o.s += b_[p_++];
                }
            }
            return true;
        }
        if (c == '(') return literal(o);
        if (c == '<' && p_ + 1 < b_.size() && b_[p_ + 1] == '<') {
            p_ += 2;
            o.t = Obj::Dict;
            for (;;) {
                skip_ws();
                if (p_ + 1 < b_.size() && b_[p_] == '>' && b_[p_ + 1] == '>') { p_ += 2; break; }
                Obj key;
                if (!parse(key, depth + 1, false)) return false;
                if (key.t != Obj::Name) continue;  // junk inside a dictionary: skipped
                Obj val;
                if (!parse(val, depth + 1, false)) return false;
                o.keys.push_back(std::move(key.s));
                o.vals.push_back(std::move(val));
            }
            return true;
        }
        if (c == '<') {
            ++p_;
            o.t = Obj::Str;
            int hi = -1;
            while (p_ < b_.size() && b_[p_] != '>') {
                const int v = hexval(b_[p_++]);
                if (v < 0) continue;
                if (hi < 0) hi = v;
                else { o.s += char(hi * 16 + v); hi = -1; }
            }
            if (hi >= 0) o.s += char(hi * 16);
            if (p_ < b_.size()) ++p_;
            return true;
        }
        if (c == '[') {
            ++p_;
            o.t = Obj::Arr;
            for (;;) {
                skip_ws();
                if (p_ >= b_.size()) return false;
                if (b_[p_] == ']') { ++p_; break; }
                Obj e;
                if (!parse(e, depth + 1, ops)) return false;
                o.arr.push_back(std::move(e));
            }
            return true;
        }
        if (c == ']' || c == ')' || c == '>' || c == '{' || c == '}') {  // stray delimiter
            ++p_;
            o.t = ops ? Obj::Op : Obj::Null;
            o.s = std::string(1, c);
            return true;
        }
        if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') return number(o);
        const size_t start = p_;
        while (p_ < b_.size() && !is_ws(b_[p_]) && !is_delim(b_[p_])) ++p_;
        const std::string_view w = b_.substr(start, p_ - start);
        if (w == "true" || w == "false") { o.t = Obj::Bool; o.num = w == "true"; return true; }
        if (w == "null") { o.t = Obj::Null; return true; }
        o.t = ops ? Obj::Op : Obj::Null;
        o.s = std::string(w);
        return true;
    }

    std::string_view rest() const { return b_.substr(std::min(p_, b_.size())); }
    void seek(size_t p) { p_ = std::min(p, b_.size()); }

private:
    bool literal(Obj& o) {
        ++p_;
        o.t = Obj::Str;
        int nest = 1;
        while (p_ < b_.size()) {
            char c = b_[p_++];
            if (c == '(') ++nest;
            else if (c == ')' && --nest == 0) return true;
            else if (c == '\\' && p_ < b_.size()) {
                c = b_[p_++];
                switch (c) {
                    case 'n': o.s += '\n'; continue;
                    case 'r': o.s += '\r'; continue;
                    case 't': o.s += '\t'; continue;
                    case 'b': o.s += '\b'; continue;
                    case 'f': o.s += '\f'; continue;
                    case '\r': if (p_ < b_.size() && b_[p_] == '\n') ++p_; continue;  // a line continuation
                    case '\n': continue;
                    default: break;
                }
                if (c >= '0' && c <= '7') {
                    int v = c - '0';
                    for (int k = 0; k < 2 && p_ < b_.size() && b_[p_] >= '0' && b_[p_] <= '7'; ++k) v = v * 8 + (b_[p_++] - '0');
                    o.s += char(v & 0xFF);
                    continue;
                }
                o.s += c;
                continue;
            }
            o.s += c;
        }
        return true;  // unterminated: what there was
    }

    bool number(Obj& o) {
        const size_t start = p_;
        ++p_;
        while (p_ < b_.size() && ((b_[p_] >= '0' && b_[p_] <= '9') || b_[p_] == '.')) ++p_;
        const std::string w(b_.substr(start, p_ - start));
        o.t = Obj::Num;
        o.num = std::strtod(w.c_str(), nullptr);
        if (!std::isfinite(o.num)) o.num = 0;
        // "N G R": an indirect reference.
        const size_t save = p_;
        if (w.find_first_not_of("0123456789") == std::string::npos) {
            skip_ws();
            const size_t g = p_;
            while (p_ < b_.size() && b_[p_] >= '0' && b_[p_] <= '9') ++p_;
            if (p_ > g && p_ - g < 10) {
                skip_ws();
                if (p_ < b_.size() && b_[p_] == 'R' && (p_ + 1 >= b_.size() || is_ws(b_[p_ + 1]) || is_delim(b_[p_ + 1]))) {
                    ++p_;
                    o.t = Obj::Ref;
                    o.ref = w.size() < 10 ? std::atoi(w.c_str()) : 0;
                    return true;
                }
            }
        }
        p_ = save;
        return true;
    }

    std::string_view b_;
    size_t p_;
};

// ---- stream filters -------------------------------------------------------------------------

std::string ascii_hex(std::string_view in) {
    std::string out;
    int hi = -1;
    for (char c : in) {
        if (c == '>') break;
        const int v = hexval(c);
        if (v < 0) continue;
        if (hi < 0) hi = v;
        else { out += char(hi * 16 + v); hi = -1; }
    }
    if (hi >= 0) out += char(hi * 16);
    return out;
}

std::string ascii85(std::string_view in) {
    std::string out;
    uint32_t tuple = 0;
    int n = 0;
    for (size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '~') break;
        if (c == 'z' && n == 0) { out.append(4, '\0'); continue; }
        if (c < '!' || c > 'u') continue;
        tuple = tuple * 85 + uint32_t(c - '!');
        if (++n == 5) {
            for (int k = 3; k >= 0; --k) out += char((tuple >> (8 * k)) & 0xFF);
            tuple = 0;
            n = 0;
        }
    }
    if (n > 1) {
        for (int k = n; k < 5; ++k) tuple = tuple * 85 + 84;
        for (int k = 3; k > 3 - (n - 1); --k) out += char((tuple >> (8 * k)) & 0xFF);
    }
    return out;
}

// ---- the document ---------------------------------------------------------------------------

class Pdf {
public:
    Pdf(std::string_view bytes) : b_(bytes) {}

    void scan() {
        // "N G obj" anywhere in the file; a later definition (an incremental update) wins.
        for (size_t at = b_.find("obj"); at != std::string_view::npos; at = b_.find("obj", at + 3)) {
            const size_t after = at + 3;
            if (after < b_.size() && !is_ws(b_[after]) && !is_delim(b_[after])) continue;
            size_t i = at;
            auto back_ws = [&] { size_t n = 0; while (i > 0 && is_ws(b_[i - 1])) { --i; ++n; } return n; };
            auto back_digits = [&] { size_t n = 0; while (i > 0 && b_[i - 1] >= '0' && b_[i - 1] <= '9' && n < 10) { --i; ++n; } return n; };
            if (!back_ws() || !back_digits() || !back_ws()) continue;
            const size_t num_end = i;
            if (!back_digits()) continue;
            if (i > 0 && !is_ws(b_[i - 1]) && !is_delim(b_[i - 1])) continue;
            const int num = std::atoi(std::string(b_.substr(i, num_end - i)).c_str());
            if (num <= 0) continue;
            offsets_[num] = after;
        }
        // Objects packed in object streams, where no plain definition exists.
        std::vector<int> nums;
        for (const auto& [num, off] : offsets_) nums.push_back(num);
        for (int num : nums) {
            const Obj* o = object(num);
            if (!o || !o->has_stream) continue;
            const Obj* type = o->get("Type");
            if (type && type->is_name("ObjStm")) unpack_object_stream(*o);
        }
    }

    // The object numbered `num` (null when there is none).
    const Obj* object(int num) {
        if (auto it = parsed_.find(num); it != parsed_.end()) return it->second.get();
        auto off = offsets_.find(num);
        if (off == offsets_.end()) return nullptr;
        if (!resolving_.insert(num).second) return nullptr;  // a Length that refers to itself
        auto o = std::make_unique<Obj>();
        Lexer lx(b_, off->second);
        if (lx.parse(*o, 0, false)) attach_stream(*o, lx);
        resolving_.erase(num);
        return (parsed_[num] = std::move(o)).get();
    }

    const Obj* resolve(const Obj* o, int depth = 0) {
        while (o && o->t == Obj::Ref && depth++ < 8) o = object(o->ref);
        return o;
    }

    // The unpacked bytes of a stream object ("" for filters that hold no text, or on damage).
    std::string decode(const Obj& o) {
        std::string data(o.stream);
        const Obj* f = resolve(o.get("Filter"));
        std::vector<std::string> filters;
        if (f && f->t == Obj::Name) filters.push_back(f->s);
        if (f && f->t == Obj::Arr)
            for (const Obj& e : f->arr)
                if (e.t == Obj::Name) filters.push_back(e.s);
        for (const std::string& name : filters) {
            std::string next;
            if (name == "FlateDecode" || name == "Fl") {
                const size_t room = std::min(kMaxStreamBytes, kMaxTotalBytes - std::min(kMaxTotalBytes, unpacked_));
                // A stream cut short or damaged part-way gives the text before the damage.
                const Inflated end = inflate_into(data, false, room, &next);
                if (end == Inflated::TooLarge || (end == Inflated::Damaged && next.empty())) return {};
            } else if (name == "ASCIIHexDecode" || name == "AHx") {
                next = ascii_hex(data);
            } else if (name == "ASCII85Decode" || name == "A85") {
                next = ascii85(data);
            } else {
                return {};  // images (DCT, JBIG2, CCITT) or LZW: no text here
            }
            data = std::move(next);
        }
        unpacked_ += data.size();
        return data;
    }

    bool over_budget() const { return unpacked_ >= kMaxTotalBytes; }

    // The trailer's (or the cross-reference stream's) dictionary entries: /Root, /Encrypt.
    const Obj* trailer_entry(const char* key) {
        for (size_t at = b_.rfind("trailer"); at != std::string_view::npos; at = at ? b_.rfind("trailer", at - 1) : std::string_view::npos) {
            Lexer lx(b_, at + 7);
            auto t = std::make_unique<Obj>();
            if (lx.parse(*t, 0, false) && t->t == Obj::Dict && t->get(key)) {
                trailers_.push_back(std::move(t));
                return trailers_.back()->get(key);
            }
            if (at == 0) break;
        }
        for (const auto& [num, off] : offsets_) {
            const Obj* o = object(num);
            const Obj* type = o ? o->get("Type") : nullptr;
            if (type && type->is_name("XRef") && o->get(key)) return o->get(key);
        }
        return nullptr;
    }

    const Obj* catalog() {
        if (const Obj* root = resolve(trailer_entry("Root")); root && root->t == Obj::Dict) return root;
        for (const auto& [num, off] : offsets_) {
            const Obj* o = object(num);
            const Obj* type = o ? o->get("Type") : nullptr;
            if (type && type->is_name("Catalog")) return o;
        }
        return nullptr;
    }

    std::map<int, size_t>& offsets() { return offsets_; }

private:
    void attach_stream(Obj& o, Lexer& lx) {
        if (o.t != Obj::Dict) return;
        lx.skip_ws();
        std::string_view rest = lx.rest();
        if (rest.substr(0, 6) != "stream") return;
        size_t start = lx.pos() + 6;
        if (start < b_.size() && b_[start] == '\r') ++start;
        if (start < b_.size() && b_[start] == '\n') ++start;
        size_t len = std::string_view::npos;
        if (const Obj* l = resolve(o.get("Length")); l && l->t == Obj::Num && l->num >= 0 && l->num <= double(b_.size())) {
            len = size_t(l->num);
            if (start + len > b_.size()) len = std::string_view::npos;
            else {
                size_t e = start + len;
                while (e < b_.size() && is_ws(b_[e])) ++e;
                if (b_.substr(e, 9) != "endstream") len = std::string_view::npos;  // a wrong Length
            }
        }
        if (len == std::string_view::npos) {
            const size_t end = b_.find("endstream", start);
            len = (end == std::string_view::npos ? b_.size() : end) - start;
            while (len > 0 && (b_[start + len - 1] == '\n' || b_[start + len - 1] == '\r')) --len;
        }
        o.stream = b_.substr(start, len);
        o.has_stream = true;
    }

    void unpack_object_stream(const Obj& stm) {
        const Obj* n = resolve(stm.get("N"));
        const Obj* first = resolve(stm.get("First"));
        if (!n || !first || n->t != Obj::Num || first->t != Obj::Num || n->num < 0 || first->num < 0) return;
        buffers_.push_back(std::make_unique<std::string>(decode(stm)));
        const std::string_view data = *buffers_.back();
        if (first->num > double(data.size())) return;
        Lexer header(data);
        const size_t count = size_t(std::min(n->num, 1e6));
        for (size_t k = 0; k < count; ++k) {
            Obj num, off;
            if (!header.parse(num, 0, false) || !header.parse(off, 0, false) || num.t != Obj::Num || off.t != Obj::Num) break;
            if (!(num.num >= 1 && num.num < 1e9)) continue;  // an object number; a float cast past int is undefined
            const int id = int(num.num);
            if (offsets_.count(id) || parsed_.count(id) || off.num < 0) continue;
            const double at = first->num + off.num;
            if (at >= double(data.size())) continue;
            auto o = std::make_unique<Obj>();
            Lexer lx(data, size_t(at));
            if (lx.parse(*o, 0, false)) parsed_[id] = std::move(o);
        }
    }

    std::string_view b_;
    std::map<int, size_t> offsets_;
    std::unordered_map<int, std::unique_ptr<Obj>> parsed_;
    std::unordered_set<int> resolving_;
    std::vector<std::unique_ptr<std::string>> buffers_;  // unpacked object streams the objects point into
    std::vector<std::unique_ptr<Obj>> trailers_;
    size_t unpacked_ = 0;
};

// ---- fonts ----------------------------------------------------------------------------------

// A code point a font maps a glyph to, when it is one text can hold.
void put_utf8(std::string& out, uint32_t cp) {
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return;
    utf8_append(out, cp);
}

// UTF-16BE bytes (a ToUnicode destination, or a UCS-2 CMap's code) to UTF-8.
std::string utf16be(std::string_view b) {
    std::string out;
    for (size_t i = 0; i + 1 < b.size(); i += 2) {
        uint32_t u = uint32_t(uint8_t(b[i])) << 8 | uint8_t(b[i + 1]);
        if (u >= 0xD800 && u <= 0xDBFF && i + 3 < b.size()) {
            const uint32_t v = uint32_t(uint8_t(b[i + 2])) << 8 | uint8_t(b[i + 3]);
            if (v >= 0xDC00 && v <= 0xDFFF) { u = 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00); i += 2; }
        }
        put_utf8(out, u);
    }
    return out;
}

// WinAnsiEncoding's 0x80-0x9F (the rest is Latin-1).
constexpr uint16_t kWinAnsi80[32] = {0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
                                     0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
                                     0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};

// Glyph names of /Differences that text uses (Adobe's glyph list, the part Latin text needs).
uint32_t glyph_unicode(const std::string& g) {
    if (g.size() == 1 && std::isalnum(static_cast<unsigned char>(g[0]))) return uint8_t(g[0]);
    if (g.size() == 7 && g.rfind("uni", 0) == 0) {
        uint32_t v = 0;
        for (size_t i = 3; i < 7; ++i) { const int h = hexval(g[i]); if (h < 0) return 0; v = v * 16 + uint32_t(h); }
        return v;
    }
    static const std::unordered_map<std::string, uint32_t> kNames = {
        {"space", ' '}, {"exclam", '!'}, {"quotedbl", '"'}, {"numbersign", '#'}, {"dollar", '$'}, {"percent", '%'},
        {"ampersand", '&'}, {"quotesingle", '\''}, {"parenleft", '('}, {"parenright", ')'}, {"asterisk", '*'}, {"plus", '+'},
        {"comma", ','}, {"hyphen", '-'}, {"period", '.'}, {"slash", '/'}, {"colon", ':'}, {"semicolon", ';'}, {"less", '<'},
        {"equal", '='}, {"greater", '>'}, {"question", '?'}, {"at", '@'}, {"bracketleft", '['}, {"backslash", '\\'},
        {"bracketright", ']'}, {"asciicircum", '^'}, {"underscore", '_'}, {"grave", '`'}, {"braceleft", '{'}, {"bar", '|'},
        {"braceright", '}'}, {"asciitilde", '~'}, {"zero", '0'}, {"one", '1'}, {"two", '2'}, {"three", '3'}, {"four", '4'},
        {"five", '5'}, {"six", '6'}, {"seven", '7'}, {"eight", '8'}, {"nine", '9'}, {"quoteleft", 0x2018}, {"quoteright", 0x2019},
        {"quotedblleft", 0x201C}, {"quotedblright", 0x201D}, {"endash", 0x2013}, {"emdash", 0x2014}, {"bullet", 0x2022},
        {"ellipsis", 0x2026}, {"fi", 0xFB01}, {"fl", 0xFB02}, {"ff", 0xFB00}, {"ffi", 0xFB03}, {"ffl", 0xFB04},
        {"dagger", 0x2020}, {"daggerdbl", 0x2021}, {"trademark", 0x2122}, {"copyright", 0xA9}, {"registered", 0xAE},
        {"degree", 0xB0}, {"section", 0xA7}, {"paragraph", 0xB6}, {"Euro", 0x20AC}, {"minus", 0x2212}, {"germandbls", 0xDF},
        {"AE", 0xC6}, {"ae", 0xE6}, {"OE", 0x152}, {"oe", 0x153}, {"Oslash", 0xD8}, {"oslash", 0xF8}, {"dotlessi", 0x131},
        {"quotesinglbase", 0x201A}, {"quotedblbase", 0x201E}, {"guillemotleft", 0xAB}, {"guillemotright", 0xBB},
        {"nbspace", 0xA0}, {"periodcentered", 0xB7}, {"multiply", 0xD7}, {"divide", 0xF7}, {"plusminus", 0xB1}};
    if (auto it = kNames.find(g); it != kNames.end()) return it->second;
    // Latin-1's letters, U+00C0..U+00FF, by their glyph names.
    static const char* const kLatin1[64] = {
        "Agrave", "Aacute", "Acircumflex", "Atilde", "Adieresis", "Aring", "AE", "Ccedilla", "Egrave", "Eacute",
        "Ecircumflex", "Edieresis", "Igrave", "Iacute", "Icircumflex", "Idieresis", "Eth", "Ntilde", "Ograve", "Oacute",
        "Ocircumflex", "Otilde", "Odieresis", "multiply", "Oslash", "Ugrave", "Uacute", "Ucircumflex", "Udieresis",
        "Yacute", "Thorn", "germandbls", "agrave", "aacute", "acircumflex", "atilde", "adieresis", "aring", "ae",
        "ccedilla", "egrave", "eacute", "ecircumflex", "edieresis", "igrave", "iacute", "icircumflex", "idieresis", "eth",
        "ntilde", "ograve", "oacute", "ocircumflex", "otilde", "odieresis", "divide", "oslash", "ugrave", "uacute",
        "ucircumflex", "udieresis", "yacute", "thorn", "ydieresis"};
    for (int i = 0; i < 64; ++i)
        if (g == kLatin1[i]) return uint32_t(0xC0 + i);
    return 0;
}

struct Font {
    int code_bytes = 1;
    bool ucs2 = false;                              // a predefined UCS-2 / UTF-16 CMap: codes are Unicode
    std::unordered_map<uint32_t, std::string> map;  // ToUnicode: code → UTF-8
    std::array<uint32_t, 256> simple{};             // a simple font's code → code point
    // Glyph widths in thousandths of the font size, to tell a word gap from kerning: a simple
    // font's /Widths, a CID font's /W (codes are CIDs under Identity-H), else `default_width`.
    std::unordered_map<uint32_t, double> widths;
    double default_width = 500;

    // The text of string `s` and its advance in thousandths of the font size (spaces counted in `spaces`).
    std::string decode(std::string_view s, double* advance = nullptr, int* spaces = nullptr) const {
        std::string out;
        double adv = 0;
        int sp = 0;
        const int step = ucs2 ? 2 : code_bytes;
        for (size_t i = 0; i + size_t(step) <= s.size(); i += size_t(step)) {
            uint32_t code = 0;
            for (int k = 0; k < step; ++k) code = code << 8 | uint8_t(s[i + size_t(k)]);
            auto w = widths.find(code);
            adv += w != widths.end() ? w->second : default_width;
            if (step == 1 && code == 32) ++sp;
            if (ucs2) out += utf16be(s.substr(i, 2));
            else if (auto it = map.find(code); it != map.end()) out += it->second;
            else if (code_bytes == 1) put_utf8(out, simple[code]);
        }
        if (ucs2 && s.size() >= 4) out = utf16be(s);  // surrogate pairs span two codes
        if (advance) *advance = adv;
        if (spaces) *spaces = sp;
        return out;
    }
};

void parse_to_unicode(std::string_view cmap, Font& f) {
    Lexer lx(cmap);
    std::vector<Obj> operands;
    size_t guard = 0;
    Obj o;
    int code_len = 0;
    while (guard++ < 2000000) {
        o = Obj();
        if (!lx.parse(o, 0, true)) break;
        if (o.t != Obj::Op) { operands.push_back(std::move(o)); continue; }
        if (o.s == "endcodespacerange") {
            for (const Obj& r : operands)
                if (r.t == Obj::Str && !r.s.empty()) code_len = std::max(code_len, int(std::min<size_t>(r.s.size(), 4)));
        } else if (o.s == "endbfchar") {
            for (size_t i = 0; i + 1 < operands.size(); i += 2) {
                const Obj& src = operands[i];
                const Obj& dst = operands[i + 1];
                if (src.t != Obj::Str || dst.t != Obj::Str || src.s.empty() || src.s.size() > 4) continue;
                uint32_t code = 0;
                for (char c : src.s) code = code << 8 | uint8_t(c);
                f.map[code] = utf16be(dst.s);
                code_len = std::max(code_len, int(src.s.size()));
            }
        } else if (o.s == "endbfrange") {
            for (size_t i = 0; i + 2 < operands.size(); i += 3) {
                const Obj& lo = operands[i];
                const Obj& hi = operands[i + 1];
                const Obj& dst = operands[i + 2];
                if (lo.t != Obj::Str || hi.t != Obj::Str || lo.s.empty() || lo.s.size() > 4 || hi.s.size() != lo.s.size()) continue;
                uint32_t a = 0, b = 0;
                for (char c : lo.s) a = a << 8 | uint8_t(c);
                for (char c : hi.s) b = b << 8 | uint8_t(c);
                if (b < a || b - a > 65535) continue;
                code_len = std::max(code_len, int(lo.s.size()));
                for (uint32_t c = a; c <= b; ++c) {
                    if (dst.t == Obj::Arr) {
                        if (c - a < dst.arr.size() && dst.arr[c - a].t == Obj::Str) f.map[c] = utf16be(dst.arr[c - a].s);
                    } else if (dst.t == Obj::Str && dst.s.size() >= 2) {
                        std::string d = dst.s;  // the last byte counts up across the range
                        uint32_t last = uint32_t(uint8_t(d[d.size() - 2])) << 8 | uint8_t(d.back());
                        last += c - a;
                        d[d.size() - 2] = char((last >> 8) & 0xFF);
                        d.back() = char(last & 0xFF);
                        f.map[c] = utf16be(d);
                    }
                }
            }
        }
        operands.clear();  // every section's operands end at its operator
    }
    if (code_len > 0) f.code_bytes = code_len;
}

Font make_font(Pdf& pdf, const Obj* dict) {
    Font f;
    for (int c = 32; c < 256; ++c) f.simple[size_t(c)] = uint32_t(c);  // WinAnsi by default
    for (int c = 0; c < 32; ++c) f.simple[size_t(0x80 + c)] = kWinAnsi80[c];
    f.simple[9] = '\t';
    if (!dict || dict->t != Obj::Dict) return f;
    const Obj* subtype = pdf.resolve(dict->get("Subtype"));
    const Obj* enc = pdf.resolve(dict->get("Encoding"));
    auto number = [&](const Obj* o) { o = pdf.resolve(o); return o && o->t == Obj::Num ? o->num : -1.0; };
    // A character code or CID as a number in the file: -1 when it is none (negative, fractional
    // junk or too large to be one; casting such a double to an integer would be undefined).
    auto code_of = [&](const Obj* o) -> int64_t {
        const double v = number(o);
        return v >= 0 && v < 16777216.0 ? int64_t(v) : -1;
    };
    if (const Obj* ws = pdf.resolve(dict->get("Widths")); ws && ws->t == Obj::Arr) {
        const int64_t first = std::max<int64_t>(0, code_of(dict->get("FirstChar")));
        for (size_t i = 0; i < ws->arr.size() && i < 256; ++i)
            if (const double w = number(&ws->arr[i]); w >= 0) f.widths[uint32_t(first + int64_t(i))] = w;
    }
    if (const Obj* desc = pdf.resolve(dict->get("FontDescriptor")); desc && desc->t == Obj::Dict)
        if (const double mw = number(desc->get("MissingWidth")); mw > 0) f.default_width = mw;
    if (subtype && subtype->is_name("Type0")) {
        f.code_bytes = 2;
        f.default_width = 1000;
        const Obj* desc = pdf.resolve(dict->get("DescendantFonts"));
        const Obj* cid = desc && desc->t == Obj::Arr && !desc->arr.empty() ? pdf.resolve(&desc->arr[0]) : nullptr;
        if (cid && cid->t == Obj::Dict) {
            if (const double dw = number(cid->get("DW")); dw >= 0) f.default_width = dw;
            if (const Obj* w = pdf.resolve(cid->get("W")); w && w->t == Obj::Arr) {
                // c [w1 w2 …] or c_first c_last w
                for (size_t i = 0; i + 1 < w->arr.size() && f.widths.size() < 200000;) {
                    const int64_t c = code_of(&w->arr[i]);
                    const Obj* next = pdf.resolve(&w->arr[i + 1]);
                    if (c < 0) break;
                    if (next && next->t == Obj::Arr) {
                        for (size_t k = 0; k < next->arr.size() && k < 65536; ++k)
                            f.widths[uint32_t(c + int64_t(k))] = number(&next->arr[k]);
                        i += 2;
                    } else if (i + 2 < w->arr.size()) {
                        const int64_t last = std::min(code_of(next), c + 65535);
                        const double width = number(&w->arr[i + 2]);
                        for (int64_t k = c; k <= last; ++k) f.widths[uint32_t(k)] = width;
                        i += 3;
                    } else {
                        break;
                    }
                }
            }
        }
        if (enc && enc->t == Obj::Name && (enc->s.find("UCS2") != std::string::npos || enc->s.find("UTF16") != std::string::npos))
            f.ucs2 = true;
    } else if (enc && enc->t == Obj::Name && enc->s == "MacRomanEncoding") {
        static const uint16_t kMac80[128] = {
            0xC4, 0xC5, 0xC7, 0xC9, 0xD1, 0xD6, 0xDC, 0xE1, 0xE0, 0xE2, 0xE4, 0xE3, 0xE5, 0xE7, 0xE9, 0xE8, 0xEA, 0xEB, 0xED, 0xEC,
            0xEE, 0xEF, 0xF1, 0xF3, 0xF2, 0xF4, 0xF6, 0xF5, 0xFA, 0xF9, 0xFB, 0xFC, 0x2020, 0xB0, 0xA2, 0xA3, 0xA7, 0x2022, 0xB6,
            0xDF, 0xAE, 0xA9, 0x2122, 0xB4, 0xA8, 0x2260, 0xC6, 0xD8, 0x221E, 0xB1, 0x2264, 0x2265, 0xA5, 0xB5, 0x2202, 0x2211,
            0x220F, 0x3C0, 0x222B, 0xAA, 0xBA, 0x3A9, 0xE6, 0xF8, 0xBF, 0xA1, 0xAC, 0x221A, 0x192, 0x2248, 0x2206, 0xAB, 0xBB,
            0x2026, 0xA0, 0xC0, 0xC3, 0xD5, 0x152, 0x153, 0x2013, 0x2014, 0x201C, 0x201D, 0x2018, 0x2019, 0xF7, 0x25CA, 0xFF,
            0x178, 0x2044, 0x20AC, 0x2039, 0x203A, 0xFB01, 0xFB02, 0x2021, 0xB7, 0x201A, 0x201E, 0x2030, 0xC2, 0xCA, 0xC1, 0xCB,
            0xC8, 0xCD, 0xCE, 0xCF, 0xCC, 0xD3, 0xD4, 0xF8FF, 0xD2, 0xDA, 0xDB, 0xD9, 0x131, 0x2C6, 0x2DC, 0xAF, 0x2D8, 0x2D9,
            0x2DA, 0xB8, 0x2DD, 0x2DB, 0x2C7};
        for (int c = 0; c < 128; ++c) f.simple[size_t(0x80 + c)] = kMac80[c];
    } else if (!enc || (enc->t == Obj::Dict && !enc->get("BaseEncoding"))) {
        // No encoding named: the embedded Type 1 program's own ("dup 58 /period put" in its clear
        // text), as TeX's fonts have, then the dictionary's /Differences over it below.
        const Obj* desc = pdf.resolve(dict->get("FontDescriptor"));
        const Obj* file = desc && desc->t == Obj::Dict ? pdf.resolve(desc->get("FontFile")) : nullptr;
        if (file && file->has_stream) {
            const std::string program = pdf.decode(*file);
            const size_t clear_end = std::min(program.find("eexec"), program.size());
            const std::string_view clear(program.data(), clear_end);
            for (size_t at = clear.find("dup "); at != std::string_view::npos; at = clear.find("dup ", at + 4)) {
                Lexer lx(clear, at + 4);
                Obj code, glyph;
                if (!lx.parse(code, 0, false) || !lx.parse(glyph, 0, false) || code.t != Obj::Num || glyph.t != Obj::Name) continue;
                if (code.num >= 0 && code.num < 256)
                    if (const uint32_t u = glyph_unicode(glyph.s)) f.simple[size_t(code.num)] = u;
            }
        }
    }
    if (enc && enc->t == Obj::Dict) {
        if (const Obj* diffs = pdf.resolve(enc->get("Differences")); diffs && diffs->t == Obj::Arr) {
            int code = 0;
            for (const Obj& d : diffs->arr) {
                if (d.t == Obj::Num) code = d.num >= 0 && d.num < 256 ? int(d.num) : -1;
                else if (d.t == Obj::Name && code >= 0 && code < 256) {
                    if (const uint32_t u = glyph_unicode(d.s)) f.simple[size_t(code)] = u;
                    ++code;
                }
            }
        }
    }
    if (const Obj* tu = pdf.resolve(dict->get("ToUnicode")); tu && tu->has_stream) {
        const int declared = f.code_bytes;
        parse_to_unicode(pdf.decode(*tu), f);
        if (subtype && subtype->is_name("Type0") && f.code_bytes == 1) f.code_bytes = declared == 2 ? 2 : f.code_bytes;
    }
    return f;
}

// ---- content streams ------------------------------------------------------------------------

class TextWriter {
public:
    void text(const std::string& s) {
        if (s.empty()) return;
        if (pending_space_ && !out_.empty() && out_.back() != ' ' && out_.back() != '\n' && s[0] != ' ') out_ += ' ';
        pending_space_ = false;
        out_ += s;
    }
    void space() { pending_space_ = true; }
    void newline() {
        pending_space_ = false;
        while (!out_.empty() && out_.back() == ' ') out_.pop_back();
        if (!out_.empty() && out_.back() != '\n') out_ += '\n';
    }
    void page_break() {
        newline();
        if (!out_.empty() && (out_.size() < 2 || out_[out_.size() - 2] != '\n')) out_ += '\n';
    }
    std::string& str() { return out_; }

private:
    std::string out_;
    bool pending_space_ = false;
};

class Interpreter {
public:
    Interpreter(Pdf& pdf, TextWriter& w) : pdf_(pdf), w_(w) {}

    void run(std::string_view content, const Obj* resources, int depth) {
        if (depth > 8) return;
        Lexer lx(content);
        std::vector<Obj> args;
        std::unordered_map<std::string, Font> fonts;
        const Font* font = nullptr;
        Font fallback = make_font(pdf_, nullptr);
        for (;;) {
            if (++ops_ > kMaxOps) return;
            Obj o;
            if (!lx.parse(o, 0, true)) break;
            if (o.t != Obj::Op) {
                if (args.size() < 64) args.push_back(std::move(o));
                continue;
            }
            const std::string& op = o.s;
            auto num = [&](size_t i) { return i < args.size() && args[i].t == Obj::Num ? args[i].num : 0.0; };
            const Font& f = font ? *font : fallback;
            if (op == "Tf" && !args.empty() && args[0].t == Obj::Name) {
                size_ = std::fabs(num(1)) > 1e-6 ? std::fabs(num(1)) : 1;
                const std::string& name = args[0].s;
                auto it = fonts.find(name);
                if (it == fonts.end()) it = fonts.emplace(name, make_font(pdf_, lookup(resources, "Font", name))).first;
                font = &it->second;
            } else if (op == "Tj" && !args.empty() && args[0].t == Obj::Str) {
                show(f, args[0].s);
            } else if ((op == "'" || op == "\"") && !args.empty() && args.back().t == Obj::Str) {
                if (op == "\"" && args.size() >= 3) { word_spacing_ = num(0); char_spacing_ = num(1); }
                next_line(0, -leading_);
                show(f, args.back().s);
            } else if (op == "TJ" && !args.empty() && args[0].t == Obj::Arr) {
                for (const Obj& e : args[0].arr) {
                    if (e.t == Obj::Str) show(f, e.s);
                    else if (e.t == Obj::Num) x_ -= e.num / 1000 * size_ * sx_;
                }
            } else if (op == "Td" || op == "TD") {
                if (op == "TD") leading_ = -num(1);
                next_line(num(0), num(1));
            } else if (op == "TL") {
                leading_ = num(0);
            } else if (op == "Tc") {
                char_spacing_ = num(0);
            } else if (op == "Tw") {
                word_spacing_ = num(0);
            } else if (op == "T*") {
                next_line(0, -leading_);
            } else if (op == "Tm" && args.size() >= 6) {
                sx_ = std::hypot(num(0), num(1));
                sy_ = std::hypot(num(2), num(3));
                if (sx_ < 1e-6) sx_ = 1;
                if (sy_ < 1e-6) sy_ = 1;
                line_x_ = x_ = num(4);
                line_y_ = num(5);
            } else if (op == "BT") {
                line_x_ = x_ = line_y_ = 0;  // the text matrix starts again at the identity
                sx_ = sy_ = 1;
            } else if (op == "ET") {
            } else if (op == "Do" && !args.empty() && args[0].t == Obj::Name) {
                const Obj* x = pdf_.resolve(lookup(resources, "XObject", args[0].s));
                const Obj* sub = x ? pdf_.resolve(x->get("Subtype")) : nullptr;
                if (x && x->has_stream && sub && sub->is_name("Form") && forms_++ < 1000) {
                    const Obj* res = pdf_.resolve(x->get("Resources"));
                    run(pdf_.decode(*x), res ? res : resources, depth + 1);
                }
            } else if (op == "BI") {
                // An inline image: its data (after ID) is binary, up to "EI" after white space.
                const std::string_view rest = lx.rest();
                const size_t id = rest.find("ID");
                size_t ei = id == std::string_view::npos ? std::string_view::npos : rest.find("EI", id + 2);
                while (ei != std::string_view::npos && !(ei > 0 && is_ws(rest[ei - 1]) && (ei + 2 >= rest.size() || is_ws(rest[ei + 2]))))
                    ei = rest.find("EI", ei + 2);
                lx.seek(lx.pos() + (ei == std::string_view::npos ? rest.size() : ei + 2));
            }
            args.clear();
        }
    }

    void new_page() { has_last_ = false; }

private:
    void next_line(double tx, double ty) {
        line_x_ += tx * sx_;
        line_y_ += ty * sy_;
        x_ = line_x_;
    }

    // Text drawn on another line than the text before starts a new line of output; on the same line,
    // a gap of more than 0.2 em after where the text before ended is a space (moves by kerning are less).
    void show(const Font& f, std::string_view bytes) {
        double advance = 0;
        int spaces = 0;
        const std::string s = f.decode(bytes, &advance, &spaces);
        const double em = size_ * sy_;
        if (has_last_ && std::fabs(line_y_ - last_y_) > std::max(0.5, 0.3 * em)) w_.newline();
        else if (has_last_ && x_ - last_end_ > 0.2 * size_ * sx_) w_.space();
        w_.text(s);
        const size_t codes = bytes.size() / size_t(f.ucs2 ? 2 : f.code_bytes);
        x_ += (advance / 1000 * size_ + char_spacing_ * double(codes) + word_spacing_ * spaces) * sx_;
        last_end_ = x_;
        last_y_ = line_y_;
        has_last_ = true;
    }

    const Obj* lookup(const Obj* resources, const char* category, const std::string& name) {
        resources = pdf_.resolve(resources);
        if (!resources || resources->t != Obj::Dict) return nullptr;
        const Obj* cat = pdf_.resolve(resources->get(category));
        if (!cat || cat->t != Obj::Dict) return nullptr;
        return pdf_.resolve(cat->get(name));
    }

    Pdf& pdf_;
    TextWriter& w_;
    size_t ops_ = 0;
    int forms_ = 0;
    // The text state, in the page's units: where the line starts (Td, T*, Tm), where the next glyph
    // goes, the text matrix's scale, the font size and spacing; where the last text ended.
    double line_x_ = 0, line_y_ = 0, x_ = 0;
    double sx_ = 1, sy_ = 1;
    double size_ = 1, leading_ = 0, char_spacing_ = 0, word_spacing_ = 0;
    double last_end_ = 0, last_y_ = 0;
    bool has_last_ = false;
};

void collect_pages(Pdf& pdf, const Obj* node, const Obj* inherited, int depth, std::unordered_set<const Obj*>& seen,
                   std::vector<std::pair<const Obj*, const Obj*>>& pages) {
    node = pdf.resolve(node);
    if (!node || node->t != Obj::Dict || depth > kMaxDepth || pages.size() >= kMaxPages || !seen.insert(node).second) return;
    const Obj* res = node->get("Resources") ? node->get("Resources") : inherited;
    const Obj* kids = pdf.resolve(node->get("Kids"));
    if (kids && kids->t == Obj::Arr) {
        for (const Obj& k : kids->arr) collect_pages(pdf, &k, res, depth + 1, seen, pages);
    } else if (node->get("Contents")) {
        pages.emplace_back(node, res);
    }
}

}  // namespace

Result<std::string> pdf_text(std::string_view bytes, const std::string& name) {
    Pdf pdf(bytes);
    pdf.scan();
    if (pdf.offsets().empty()) return make_error(name + " is not a readable PDF (no objects found: it is damaged or cut short)");
    if (pdf.trailer_entry("Encrypt"))
        return make_error(name + " is an encrypted PDF (it has a password or copy restrictions), which Hearth cannot read: "
                                 "save or print it as a new PDF without them, or as text");
    const Obj* cat = pdf.catalog();
    if (!cat) return make_error(name + " is not a readable PDF (its page tree is missing: it is damaged or cut short)");
    std::vector<std::pair<const Obj*, const Obj*>> pages;
    std::unordered_set<const Obj*> seen;
    collect_pages(pdf, cat->get("Pages"), nullptr, 0, seen, pages);
    if (pages.empty()) return make_error(name + " is not a readable PDF (it has no pages)");
    TextWriter w;
    Interpreter in(pdf, w);
    for (const auto& [page, res] : pages) {
        const Obj* contents = pdf.resolve(page->get("Contents"));
        std::string content;
        if (contents && contents->has_stream) content = pdf.decode(*contents);
        else if (contents && contents->t == Obj::Arr)
            for (const Obj& part : contents->arr)
                if (const Obj* s = pdf.resolve(&part); s && s->has_stream) content += pdf.decode(*s) + "\n";
        in.new_page();
        in.run(content, res, 0);
        w.page_break();
        if (pdf.over_budget()) break;
    }
    std::string& text = w.str();
    // Tidy: no trailing spaces, at most one blank line in a row.
    std::string tidy;
    tidy.reserve(text.size());
    int newlines = 0;
    for (char c : text) {
        if (c == '\r' || c == '\f') c = '\n';
        if (c == '\n') {
            while (!tidy.empty() && tidy.back() == ' ') tidy.pop_back();
            if (++newlines <= 2 && !tidy.empty()) tidy += '\n';
        } else if ((uint8_t(c) < 0x20 && c != '\t') ) {
            continue;
        } else {
            newlines = 0;
            tidy += c;
        }
    }
    while (!tidy.empty() && (tidy.back() == '\n' || tidy.back() == ' ')) tidy.pop_back();
    if (tidy.find_first_not_of(" \t\n") == std::string::npos)
        return make_error(name + " has no text layer (a scanned document, or pictures only): Hearth does not read text "
                                 "in images");
    return tidy;
}

}  // namespace hearth::docs
