#include "engine/sampling/json_grammar.h"

namespace hearth {
namespace {

// Object states: after '{', after a key, after ':', after a value, after ','.
enum : uint8_t { kObjOpen, kObjKey, kObjColon, kObjValue, kObjComma };
// Array states: after '[', after a value, after ','.
enum : uint8_t { kArrOpen, kArrValue, kArrComma };
// String states: plain bytes, after '\', inside \uXXXX (hex digits read: 0..3).
enum : uint8_t { kStrPlain, kStrEscape, kStrHex0, kStrHex1, kStrHex2, kStrHex3 };
// Number states: after '-', after a leading 0, in the integer digits, after '.', in the fraction,
// after 'e', after the exponent's sign, in the exponent.
enum : uint8_t { kNumMinus, kNumZero, kNumInt, kNumDot, kNumFrac, kNumE, kNumESign, kNumExp };

const std::vector<std::string> kBoolTexts = {"false", "true"};
const std::vector<std::string> kNullText = {"null"};

bool is_ws(unsigned char b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }
bool is_digit(unsigned char b) { return b >= '0' && b <= '9'; }
bool is_hex(unsigned char b) { return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); }

uint64_t all_below(size_t n) { return n >= 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1; }

}  // namespace

JsonMatcher::JsonMatcher(const JsonSchema& schema) {
    Frame f;
    f.node = schema.root;
    frames_.push_back(f);
}

bool JsonMatcher::take_whitespace() { return ++ws_run_ <= kMaxJsonWhitespace; }

int JsonMatcher::depth() const {
    int d = 0;
    for (const Frame& f : frames_) d += f.kind == Kind::Object || f.kind == Kind::Array;
    return d;
}

bool JsonMatcher::more_keys(const Frame& o) const {
    return o.node->additional || (all_below(o.node->keys.size()) & ~o.mask) != 0;
}

bool JsonMatcher::start_key(Frame& o) {
    if (!more_keys(o)) return false;
    Frame k;
    if (o.node->additional) {
        k.kind = Kind::String;  // any key: read as a string, then looked up among the declared ones
        k.is_key = true;
        key_.clear();
    } else {
        k.kind = Kind::Key;     // only the declared keys not yet used
        k.literals = &o.node->keys;
        k.mask = all_below(o.node->keys.size()) & ~o.mask;
    }
    frames_.push_back(k);
    return true;
}

void JsonMatcher::end_key(int declared) {
    frames_.pop_back();
    Frame& o = frames_.back();
    o.cur = declared;
    if (declared >= 0) o.mask |= uint64_t(1) << declared;
    o.state = kObjKey;
}

bool JsonMatcher::start_value(Frame& f, unsigned char b) {
    const SchemaNode& n = *f.node;
    if (!n.literals.empty()) {
        uint64_t m = 0;
        for (size_t i = 0; i < n.literals.size(); ++i)
            if (static_cast<unsigned char>(n.literals[i][0]) == b) m |= uint64_t(1) << i;
        if (m) {
            f.kind = Kind::Literal, f.literals = &n.literals, f.mask = m, f.n = 1;
            if (literal_complete(f) && !literal_extends(f)) frames_.pop_back();
            return true;
        }
    }
    const bool nested = b == '{' || b == '[';
    if (nested && depth() >= kMaxJsonDepth) return false;
    if (b == '{' && (n.kinds & kJsonObject)) {
        f.kind = Kind::Object, f.state = kObjOpen, f.mask = 0;
        return true;
    }
    if (b == '[' && (n.kinds & kJsonArray)) {
        f.kind = Kind::Array, f.state = kArrOpen, f.n = 0;
        return true;
    }
    if (b == '"' && (n.kinds & kJsonString)) {
        f.kind = Kind::String, f.state = kStrPlain, f.n = 0, f.need = 0;
        return true;
    }
    if ((b == '-' || is_digit(b)) && (n.kinds & (kJsonNumber | kJsonInteger))) {
        f.kind = Kind::Number, f.integer = !(n.kinds & kJsonNumber), f.n = 1;
        f.state = b == '-' ? kNumMinus : b == '0' ? kNumZero : kNumInt;
        return true;
    }
    const std::vector<std::string>* words = (b == 't' || b == 'f') && (n.kinds & kJsonBool) ? &kBoolTexts
                                            : b == 'n' && (n.kinds & kJsonNull)              ? &kNullText
                                                                                            : nullptr;
    if (!words) return false;
    f.kind = Kind::Literal, f.literals = words, f.n = 1, f.mask = 0;
    for (size_t i = 0; i < words->size(); ++i)
        if (static_cast<unsigned char>((*words)[i][0]) == b) f.mask |= uint64_t(1) << i;
    return true;
}

bool JsonMatcher::literal_complete(const Frame& f) const {
    for (size_t i = 0; i < f.literals->size(); ++i)
        if ((f.mask >> i & 1) && int64_t((*f.literals)[i].size()) == f.n) return true;
    return false;
}

bool JsonMatcher::literal_extends(const Frame& f) const {
    for (size_t i = 0; i < f.literals->size(); ++i)
        if ((f.mask >> i & 1) && int64_t((*f.literals)[i].size()) > f.n) return true;
    return false;
}

int JsonMatcher::literal_byte(Frame& f, unsigned char b) {
    uint64_t m = 0;
    for (size_t i = 0; i < f.literals->size(); ++i) {
        const std::string& l = (*f.literals)[i];
        if ((f.mask >> i & 1) && int64_t(l.size()) > f.n && static_cast<unsigned char>(l[size_t(f.n)]) == b) m |= uint64_t(1) << i;
    }
    if (m) {
        f.mask = m;
        ++f.n;
        if (f.kind == Kind::Literal && literal_complete(f) && !literal_extends(f)) frames_.pop_back();
        return 1;
    }
    return literal_complete(f) ? 2 : 0;
}

int JsonMatcher::number_byte(Frame& f, unsigned char b) {
    const bool ends_here = f.state == kNumZero || f.state == kNumInt || f.state == kNumFrac || f.state == kNumExp;
    uint8_t next = 255;
    switch (f.state) {
    case kNumMinus: if (is_digit(b)) next = b == '0' ? kNumZero : kNumInt; break;
    case kNumZero:
    case kNumInt:
        if (f.state == kNumInt && is_digit(b)) next = kNumInt;
        else if (!f.integer && b == '.') next = kNumDot;
        else if (!f.integer && (b == 'e' || b == 'E')) next = kNumE;
        break;
    case kNumDot: if (is_digit(b)) next = kNumFrac; break;
    case kNumFrac:
        if (is_digit(b)) next = kNumFrac;
        else if (b == 'e' || b == 'E') next = kNumE;
        break;
    case kNumE: if (is_digit(b)) next = kNumExp; else if (b == '+' || b == '-') next = kNumESign; break;
    case kNumESign: if (is_digit(b)) next = kNumExp; break;
    // At most kMaxJsonExponent digits: every number admitted is then a finite double, not 0 by underflow.
    case kNumExp: if (is_digit(b) && f.cur < kMaxJsonExponent) next = kNumExp; break;
    }
    if (next == kNumExp) f.cur = f.state == kNumExp ? f.cur + 1 : 1;
    // Within the length bound, leaving room for the digit a state that cannot end still needs.
    const bool next_ends = next == kNumZero || next == kNumInt || next == kNumFrac || next == kNumExp;
    if (next != 255 && f.n + (next_ends ? 1 : 2) <= kMaxJsonNumber) {
        f.state = next;
        ++f.n;
        return 1;
    }
    return ends_here ? 2 : 0;
}

int JsonMatcher::string_byte(Frame& f, unsigned char b) {
    const SchemaNode* n = f.is_key ? nullptr : f.node;
    const bool full = n && n->max_length >= 0 && f.n >= n->max_length;
    auto keep = [&] { if (f.is_key) key_ += char(b); };
    switch (f.state) {
    case kStrPlain:
        if (f.need) {
            if (b < f.lo || b > f.hi) return 0;
            --f.need, f.lo = 0x80, f.hi = 0xBF;
            keep();
            return 1;
        }
        if (b == '"') {
            if (n && f.n < n->min_length) return 0;
            if (!f.is_key) {
                frames_.pop_back();
                return 1;
            }
            const Frame& o = frames_[frames_.size() - 2];
            int declared = -1;
            for (size_t i = 0; i < o.node->keys.size(); ++i)
                if (o.node->keys[i] == key_) declared = int(i);
            end_key(declared);
            return 1;
        }
        if (b < 0x20 || full) return 0;
        if (b == '\\') f.state = kStrEscape;
        else if (b < 0x80) {}
        else if (b >= 0xC2 && b <= 0xDF) f.need = 1;
        else if (b >= 0xE0 && b <= 0xEF) f.need = 2, f.lo = b == 0xE0 ? 0xA0 : 0x80, f.hi = b == 0xED ? 0x9F : 0xBF;
        else if (b >= 0xF0 && b <= 0xF4) f.need = 3, f.lo = b == 0xF0 ? 0x90 : 0x80, f.hi = b == 0xF4 ? 0x8F : 0xBF;
        else return 0;
        ++f.n;
        keep();
        return 1;
    case kStrEscape:
        if (b == 'u') f.state = kStrHex0;
        else if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' || b == 'r' || b == 't') f.state = kStrPlain;
        else return 0;
        keep();
        return 1;
    default:  // \uXXXX: no surrogate (D800-DFFF), so each escape is a whole code point
        if (!is_hex(b)) return 0;
        if (f.state == kStrHex0) f.lo = b;
        // D followed by 8..F begins a surrogate.
        if (f.state == kStrHex1 && (f.lo == 'd' || f.lo == 'D') && !(b >= '0' && b <= '7')) return 0;
        f.state = f.state == kStrHex3 ? uint8_t(kStrPlain) : uint8_t(f.state + 1);
        if (f.state == kStrPlain) f.lo = 0x80;
        keep();
        return 1;
    }
}

bool JsonMatcher::feed(unsigned char b) {
    for (;;) {
        if (frames_.empty()) return false;  // the value is closed: nothing may follow
        Frame& f = frames_.back();
        const bool ws = is_ws(b);
        switch (f.kind) {
        case Kind::Value:
            if (ws) return take_whitespace();
            ws_run_ = 0;
            return start_value(f, b);
        case Kind::Object: {
            if (ws) return take_whitespace();
            ws_run_ = 0;
            const bool may_close = (f.mask & f.node->required) == f.node->required;
            switch (f.state) {
            case kObjOpen:
                if (b == '}' && may_close) return frames_.pop_back(), true;
                return b == '"' && start_key(f);
            case kObjKey:
                if (b != ':') return false;
                f.state = kObjColon;
                return true;
            case kObjColon: {
                f.state = kObjValue;
                Frame v;
                v.node = f.cur >= 0 ? f.node->props[size_t(f.cur)] : f.node->additional;
                frames_.push_back(v);
                continue;  // the byte begins the value
            }
            case kObjValue:
                if (b == '}' && may_close) return frames_.pop_back(), true;
                if (b != ',' || !more_keys(f)) return false;
                f.state = kObjComma;
                return true;
            default:  // kObjComma
                return b == '"' && start_key(f);
            }
        }
        case Kind::Array: {
            if (ws) return take_whitespace();
            ws_run_ = 0;
            const SchemaNode& n = *f.node;
            if (f.state == kArrValue) {
                if (b == ']' && f.n >= n.min_items) return frames_.pop_back(), true;
                if (b != ',' || (n.max_items >= 0 && f.n >= n.max_items)) return false;
                f.state = kArrComma;
                return true;
            }
            if (f.state == kArrOpen && b == ']') {
                if (n.min_items > 0) return false;
                frames_.pop_back();
                return true;
            }
            if (n.max_items >= 0 && f.n >= n.max_items) return false;
            ++f.n;
            f.state = kArrValue;
            Frame v;
            v.node = n.items;
            frames_.push_back(v);
            continue;
        }
        case Kind::String:
            return string_byte(f, b) == 1;
        case Kind::Key: {
            // A declared key, matched against the unused ones' escaped texts; '"' ends it where one
            // is whole (a '"' inside a key's text is escaped, so continuing takes precedence).
            const int r = literal_byte(f, b);
            if (r == 1) return true;
            if (r == 2 && b == '"') {
                int declared = -1;
                for (size_t i = 0; i < f.literals->size(); ++i)
                    if ((f.mask >> i & 1) && int64_t((*f.literals)[i].size()) == f.n) declared = int(i);
                end_key(declared);
                return true;
            }
            return false;
        }
        case Kind::Number:
        case Kind::Literal: {
            const int r = f.kind == Kind::Number ? number_byte(f, b) : literal_byte(f, b);
            if (r != 2) return r == 1;
            frames_.pop_back();  // the value ended before this byte: its container takes it
            continue;
        }
        }
    }
}

bool JsonMatcher::feed(std::string_view bytes) {
    for (char c : bytes)
        if (!feed(static_cast<unsigned char>(c))) return false;
    return true;
}

bool JsonMatcher::finished() const { return frames_.empty(); }

bool JsonMatcher::can_end() const {
    if (frames_.empty()) return true;
    if (frames_.size() != 1) return false;
    const Frame& f = frames_.back();
    if (f.kind == Kind::Number) return f.state == kNumZero || f.state == kNumInt || f.state == kNumFrac || f.state == kNumExp;
    return f.kind == Kind::Literal && literal_complete(f);
}

}  // namespace hearth
