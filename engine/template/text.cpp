#include "engine/template/text.h"

#include "engine/util/utf8.h"

namespace hearth::jinja::text {

uint32_t decode(std::string_view s, size_t& i) {
    const unsigned char c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) { ++i; return c; }
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k < len; ++k) {
        const unsigned char cc = s[i + k];
        if ((cc & 0xc0) != 0x80) { ++i; return c; }
        cp = (cp << 6) | (cc & 0x3f);
    }
    i += len;
    return cp;
}

void append_utf8(std::string& out, uint32_t cp) { utf8_append(out, cp); }

std::vector<size_t> code_point_offsets(std::string_view s) {
    std::vector<size_t> offsets;
    offsets.reserve(s.size() + 1);
    for (size_t i = 0; i < s.size();) {
        offsets.push_back(i);
        decode(s, i);
    }
    offsets.push_back(s.size());
    return offsets;
}

size_t code_point_count(std::string_view s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size(); ++n) decode(s, i);
    return n;
}

std::vector<std::string> code_points(std::string_view s) {
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
        const size_t start = i;
        decode(s, i);
        out.emplace_back(s.substr(start, i - start));
    }
    return out;
}

bool is_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

namespace {

// Strips code points matching `pred` from the chosen ends.
template <class Pred>
std::string strip_if(std::string_view s, bool left, bool right, Pred pred) {
    size_t begin = 0, end = s.size();
    if (left) {
        while (begin < end) {
            size_t i = begin;
            if (!pred(decode(s, i))) break;
            begin = i;
        }
    }
    if (right) {
        while (end > begin) {
            size_t start = end - 1;
            while (start > begin && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) --start;
            size_t i = start;
            const uint32_t cp = decode(s, i);
            if (i != end) start = end - 1, i = start, decode(s, i);  // invalid sequence: one byte
            if (!pred(cp)) break;
            end = start;
        }
    }
    return std::string(s.substr(begin, end - begin));
}

}  // namespace

std::string strip(std::string_view s, bool left, bool right) {
    return strip_if(s, left, right, [](uint32_t cp) { return is_space(cp); });
}

std::string strip_chars(std::string_view s, std::string_view chars, bool left, bool right) {
    std::vector<uint32_t> set;
    for (size_t i = 0; i < chars.size();) set.push_back(decode(chars, i));
    return strip_if(s, left, right, [&](uint32_t cp) {
        for (uint32_t c : set) if (c == cp) return true;
        return false;
    });
}

static bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) if (c >= 'a' && c <= 'z') c = char(c - 32);
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) if (c >= 'A' && c <= 'Z') c = char(c + 32);
    return out;
}

std::string capitalize(std::string_view s) {
    std::string out = lower(s);
    if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = char(out[0] - 32);
    return out;
}

std::string title(std::string_view s) {
    std::string out(s);
    bool prev_cased = false;
    for (char& c : out) {
        // Non-ASCII bytes are treated as cased letters (they are mostly letters) and left as is.
        const bool letter = is_ascii_alpha(c) || (static_cast<unsigned char>(c) >= 0x80);
        if (is_ascii_alpha(c)) {
            if (prev_cased) { if (c >= 'A' && c <= 'Z') c = char(c + 32); }
            else if (c >= 'a' && c <= 'z') c = char(c - 32);
        }
        prev_cased = letter;
    }
    return out;
}

std::vector<std::string> split(std::string_view s, std::string_view sep, int64_t maxsplit) {
    std::vector<std::string> out;
    if (sep.empty()) {  // whitespace runs, no empty strings
        size_t i = 0;
        while (true) {
            while (i < s.size()) {
                size_t j = i;
                if (!is_space(decode(s, j))) break;
                i = j;
            }
            if (i >= s.size()) break;
            if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {
                out.emplace_back(s.substr(i));  // the rest keeps its trailing whitespace
                break;
            }
            size_t j = i;
            while (j < s.size()) {
                size_t k = j;
                if (is_space(decode(s, k))) break;
                j = k;
            }
            out.emplace_back(s.substr(i, j - i));
            i = j;
        }
        return out;
    }
    size_t start = 0;
    while (true) {
        if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) break;
        const size_t p = s.find(sep, start);
        if (p == std::string_view::npos) break;
        out.emplace_back(s.substr(start, p - start));
        start = p + sep.size();
    }
    out.emplace_back(s.substr(start));
    return out;
}

std::vector<std::string> rsplit(std::string_view s, std::string_view sep, int64_t maxsplit) {
    if (maxsplit < 0) return split(s, sep, maxsplit);
    std::vector<std::string> out;
    if (sep.empty()) {
        std::string rest = strip(s, false, true);
        while (int64_t(out.size()) < maxsplit) {
            std::vector<std::string> words = split(rest, "", -1);
            if (words.size() <= 1) break;
            const size_t p = rest.rfind(words.back());
            out.insert(out.begin(), words.back());
            rest = strip(std::string_view(rest).substr(0, p), false, true);
        }
        if (!rest.empty()) out.insert(out.begin(), rest);
        return out;
    }
    size_t end = s.size();
    while (int64_t(out.size()) < maxsplit) {
        if (end < sep.size()) break;
        const size_t p = s.rfind(sep, end - sep.size());
        if (p == std::string_view::npos) break;
        out.insert(out.begin(), std::string(s.substr(p + sep.size(), end - p - sep.size())));
        end = p;
    }
    out.insert(out.begin(), std::string(s.substr(0, end)));
    return out;
}

std::string replace(std::string_view s, std::string_view old, std::string_view with, int64_t count) {
    std::string out;
    if (old.empty()) {  // Python inserts `with` between code points and at both ends
        std::vector<std::string> cps = code_points(s);
        int64_t done = 0;
        for (const std::string& cp : cps) {
            if (count < 0 || done < count) { out += with; ++done; }
            out += cp;
        }
        if (count < 0 || done < count) out += with;
        return out;
    }
    size_t start = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const size_t p = s.find(old, start);
        if (p == std::string_view::npos) break;
        out.append(s.substr(start, p - start));
        out.append(with);
        start = p + old.size();
        ++done;
    }
    out.append(s.substr(start));
    return out;
}

int64_t count(std::string_view s, std::string_view sub) {
    if (sub.empty()) return int64_t(code_point_count(s)) + 1;
    int64_t n = 0;
    for (size_t p = s.find(sub); p != std::string_view::npos; p = s.find(sub, p + sub.size())) ++n;
    return n;
}

int64_t find(std::string_view s, std::string_view sub, bool from_right) {
    const size_t p = from_right ? s.rfind(sub) : s.find(sub);
    if (p == std::string_view::npos) return -1;
    return int64_t(code_point_count(s.substr(0, p)));
}

}  // namespace hearth::jinja::text
