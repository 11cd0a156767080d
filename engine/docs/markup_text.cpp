#include "engine/docs/markup_text.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

#include "engine/util/utf8.h"

namespace hearth::docs {

namespace {

bool iequals_at(std::string_view s, size_t i, std::string_view word) {
    if (i + word.size() > s.size()) return false;
    for (size_t k = 0; k < word.size(); ++k)
        if (std::tolower(static_cast<unsigned char>(s[i + k])) != word[k]) return false;
    return true;
}

// Decodes the entity at s[*i] ('&') into `out` and moves past it; a '&' that starts none stays.
void append_entity(std::string_view s, size_t* i, std::string& out) {
    static const std::pair<const char*, uint32_t> kNamed[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '},
        {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"copy", 0xA9}, {"laquo", 0xAB}, {"raquo", 0xBB}};
    const size_t semi = s.find(';', *i);
    if (semi != std::string_view::npos && semi - *i <= 10) {
        const std::string_view name = s.substr(*i + 1, semi - *i - 1);
        uint32_t cp = 0;
        bool found = false;
        if (name.size() > 1 && name[0] == '#') {
            const bool hex = name[1] == 'x' || name[1] == 'X';
            const std::string digits(name.substr(hex ? 2 : 1));
            if (!digits.empty() && digits.size() <= 7 &&
                digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") == std::string::npos) {
                cp = uint32_t(std::stoul(digits, nullptr, hex ? 16 : 10));
                found = cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
            }
        } else {
            for (const auto& [n, v] : kNamed)
                if (name == n) { cp = v; found = true; }
        }
        if (found) {
            utf8_append(out, cp);
            *i = semi + 1;
            return;
        }
    }
    out += '&';
    *i += 1;
}

// The visible text of an HTML page: scripts, styles and comments dropped, block elements as line
// breaks, entities decoded. Not a browser: it is what a reader would copy out of the page.
}  // namespace

std::string html_text(std::string_view s) {
    static const char* const kBlocks[] = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4",
                                          "h5", "h6", "section", "article", "header", "footer", "pre", "blockquote", "hr",
                                          "dt", "dd", "title"};
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '&') {
            append_entity(s, &i, out);
            continue;
        }
        if (c != '<') {
            out += c;
            ++i;
            continue;
        }
        if (s.substr(i, 4) == "<!--") {
            const size_t end = s.find("-->", i + 4);
            i = end == std::string_view::npos ? s.size() : end + 3;
            continue;
        }
        for (const char* raw : {"script", "style"}) {
            if (iequals_at(s, i + 1, raw)) {
                const std::string close = std::string("</") + raw;
                size_t j = i + 1;
                while (j < s.size() && !iequals_at(s, j, close)) ++j;
                i = j;  // the closing tag is skipped below
                break;
            }
        }
        const size_t end = s.find('>', i);
        if (end == std::string_view::npos) break;
        size_t n = i + 1;
        if (n < end && s[n] == '/') ++n;
        size_t name_end = n;
        while (name_end < end && std::isalnum(static_cast<unsigned char>(s[name_end]))) ++name_end;
        std::string name(s.substr(n, name_end - n));
        for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        for (const char* b : kBlocks)
            if (name == b) { out += '\n'; break; }
        if ((name == "td" || name == "th") && !out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
        i = end + 1;
    }
    // Collapse the blank lines and indentation the markup leaves behind.
    std::string tidy;
    tidy.reserve(out.size());
    int newlines = 0;
    bool line_start = true;
    for (const char ch : out) {
        if (ch == '\n') {
            while (!tidy.empty() && (tidy.back() == ' ' || tidy.back() == '\t')) tidy.pop_back();
            if (++newlines <= 2 && !tidy.empty()) tidy += '\n';
            line_start = true;
        } else if (line_start && (ch == ' ' || ch == '\t')) {
            continue;
        } else {
            newlines = 0;
            line_start = false;
            tidy += ch;
        }
    }
    return tidy;
}


namespace {

bool listed(const std::vector<std::string>& names, std::string_view n) {
    return std::find(names.begin(), names.end(), n) != names.end();
}

}  // namespace

std::string xml_text(std::string_view s, const XmlTextRules& rules) {
    std::string out;
    out.reserve(s.size() / 2);
    int inside_text = 0;  // depth of open text elements
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] == '<') {
            if (s.compare(i, 4, "<!--") == 0) {
                const size_t e = s.find("-->", i + 4);
                i = e == std::string_view::npos ? s.size() : e + 3;
                continue;
            }
            if (s.compare(i, 9, "<![CDATA[") == 0) {
                const size_t e = s.find("]]>", i + 9);
                const size_t end = e == std::string_view::npos ? s.size() : e;
                if (rules.text.empty() || inside_text > 0) out.append(s.substr(i + 9, end - i - 9));
                i = end == s.size() ? end : end + 3;
                continue;
            }
            const size_t e = s.find('>', i);
            if (e == std::string_view::npos) break;
            const bool closing = i + 1 < e && s[i + 1] == '/';
            const bool empty = e > i && s[e - 1] == '/';
            size_t n = i + (closing ? 2 : 1);
            size_t ne = n;
            while (ne < e && !std::isspace(static_cast<unsigned char>(s[ne])) && s[ne] != '/' && s[ne] != '>') ++ne;
            const std::string_view name = s.substr(n, ne - n);
            if (listed(rules.text, name) && !empty) inside_text = std::max(0, inside_text + (closing ? -1 : 1));
            if ((closing || empty) && listed(rules.paragraph, name)) out += '\n';
            if (!closing && (listed(rules.line_break, name))) out += '\n';
            if (!closing && listed(rules.tab, name)) out += '\t';
            if (!closing && listed(rules.space, name)) {
                // OpenDocument's <text:s text:c="3"/> stands for that many spaces.
                const std::string_view tag = s.substr(i, e - i);
                const size_t c = tag.find("text:c=\"");
                const int n = c == std::string_view::npos ? 1 : std::atoi(std::string(tag.substr(c + 8, 6)).c_str());
                out.append(size_t(std::clamp(n, 1, 100)), ' ');
            }
            i = e + 1;
            continue;
        }
        const size_t lt = std::min(s.find('<', i), s.size());
        if (rules.text.empty() || inside_text > 0) {
            for (size_t k = i; k < lt;) {
                if (s[k] == '&') append_entity(s, &k, out);
                else out += s[k++];
            }
        }
        i = lt;
    }
    return out;
}

}  // namespace hearth::docs
