#include "engine/docs/office_text.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "engine/docs/markup_text.h"
#include "engine/docs/zip_archive.h"

namespace hearth::docs {

namespace {

constexpr size_t kMaxMember = size_t(64) << 20;
constexpr size_t kMaxTotal = size_t(256) << 20;

// The next start tag of `element` at or after *pos ("<item …>"), moving *pos past it; false when none is left.
bool next_tag(std::string_view xml, std::string_view element, size_t* pos, std::string_view* tag) {
    std::string open(1, '<');
    open += element;
    for (size_t at = xml.find(open, *pos); at != std::string_view::npos; at = xml.find(open, at + 1)) {
        const size_t after = at + open.size();
        if (after < xml.size() && xml[after] != ' ' && xml[after] != '\n' && xml[after] != '\t' && xml[after] != '\r' &&
            xml[after] != '/' && xml[after] != '>')
            continue;  // "<itemref" when looking for "<item"
        const size_t end = xml.find('>', after);
        if (end == std::string_view::npos) return false;
        *tag = xml.substr(at, end - at);
        *pos = end + 1;
        return true;
    }
    return false;
}

// The value of attribute `attr` in a start tag ("" when it has none).
std::string attribute(std::string_view tag, std::string_view attr) {
    for (size_t k = tag.find(attr); k != std::string_view::npos; k = tag.find(attr, k + 1)) {
        const size_t eq = k + attr.size();
        if (k == 0 || (tag[k - 1] != ' ' && tag[k - 1] != '\n' && tag[k - 1] != '\t' && tag[k - 1] != '\r')) continue;
        if (eq + 1 >= tag.size() || tag[eq] != '=' || (tag[eq + 1] != '"' && tag[eq + 1] != '\'')) continue;
        const size_t close = tag.find(tag[eq + 1], eq + 2);
        if (close == std::string_view::npos) return {};
        return std::string(tag.substr(eq + 2, close - eq - 2));
    }
    return {};
}

// "a/b/../c.xhtml" → "a/c.xhtml"; paths that climb above the archive's root are refused ("").
std::string join_path(const std::string& dir, const std::string& rel) {
    std::vector<std::string> parts;
    std::string path = rel.rfind('/', 0) == 0 ? rel.substr(1) : dir + rel;
    size_t hash = path.find('#');
    if (hash != std::string::npos) path.resize(hash);
    size_t start = 0;
    while (start <= path.size()) {
        const size_t slash = std::min(path.find('/', start), path.size());
        const std::string p = path.substr(start, slash - start);
        if (p == "..") {
            if (parts.empty()) return {};
            parts.pop_back();
        } else if (!p.empty() && p != ".") {
            parts.push_back(p);
        }
        start = slash + 1;
    }
    std::string out;
    for (const std::string& p : parts) out += (out.empty() ? "" : "/") + p;
    return out;
}

class Reader {
public:
    Reader(const ZipArchive& z, const std::string& name) : z_(z), name_(name) {}
    Result<std::string> member(std::string_view path) {
        const ZipArchive::Entry* e = z_.find(path);
        if (!e) return make_error(name_ + " is damaged: it has no " + std::string(path));
        auto r = z_.read(*e, kMaxMember);
        HEARTH_RETURN_IF_ERROR(r);
        total_ += r->size();
        if (total_ > kMaxTotal) return make_error(name_ + " unpacks to more than " + std::to_string(kMaxTotal >> 20) + " MB");
        return r;
    }

private:
    const ZipArchive& z_;
    const std::string& name_;
    size_t total_ = 0;
};

Result<std::string> epub_text(const ZipArchive& z, Reader& rd, const std::string& name) {
    auto container = rd.member("META-INF/container.xml");
    HEARTH_RETURN_IF_ERROR(container);
    std::string_view tag;
    size_t pos = 0;
    const std::string opf_path = next_tag(*container, "rootfile", &pos, &tag) ? attribute(tag, "full-path") : std::string();
    if (opf_path.empty()) return make_error(name + " is damaged: its container names no package file");
    auto opf = rd.member(opf_path);
    HEARTH_RETURN_IF_ERROR(opf);
    const std::string dir = opf_path.find('/') == std::string::npos ? "" : opf_path.substr(0, opf_path.rfind('/') + 1);
    std::map<std::string, std::string> hrefs;  // manifest id → href
    for (pos = 0; next_tag(*opf, "item", &pos, &tag);) hrefs[attribute(tag, "id")] = attribute(tag, "href");
    std::string out;
    for (pos = 0; next_tag(*opf, "itemref", &pos, &tag);) {
        const std::string idref = attribute(tag, "idref");
        auto h = hrefs.find(idref);
        if (h == hrefs.end()) continue;
        const std::string path = join_path(dir, h->second);
        if (path.empty() || !z.find(path)) continue;
        auto chapter = rd.member(path);
        HEARTH_RETURN_IF_ERROR(chapter);
        const std::string text = html_text(*chapter);
        if (text.find_first_not_of(" \n\t") == std::string::npos) continue;
        if (!out.empty()) out += "\n\n";
        out += text;
    }
    return out;
}

// At most one blank line in a row, no white space at line ends.
std::string tidy(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    int newlines = 0;
    for (char c : s) {
        if (c == '\n') {
            while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
            if (++newlines <= 2 && !out.empty()) out += '\n';
        } else {
            newlines = 0;
            out += c;
        }
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

Result<OfficeText> read_office(std::string_view bytes, const std::string& name) {
    auto z = ZipArchive::open(bytes, name);
    HEARTH_RETURN_IF_ERROR(z);
    Reader rd(*z, name);
    OfficeText out;
    if (z->find("word/document.xml")) {
        auto xml = rd.member("word/document.xml");
        HEARTH_RETURN_IF_ERROR(xml);
        out.kind = "word";
        out.text = xml_text(*xml, {{"w:t"}, {"w:p"}, {"w:br", "w:cr"}, {"w:tab"}, {}});
        return out;
    }
    std::vector<std::pair<long, std::string>> slides;
    for (const ZipArchive::Entry& e : z->entries()) {
        const std::string_view n = e.name;
        if (n.rfind("ppt/slides/slide", 0) == 0 && n.size() > 20 && n.substr(n.size() - 4) == ".xml")
            slides.emplace_back(std::strtol(std::string(n.substr(16, n.size() - 20)).c_str(), nullptr, 10), e.name);
    }
    if (!slides.empty()) {
        std::sort(slides.begin(), slides.end());
        out.kind = "slides";
        for (const auto& [number, path] : slides) {
            auto xml = rd.member(path);
            HEARTH_RETURN_IF_ERROR(xml);
            if (!out.text.empty()) out.text += "\n\n";
            out.text += xml_text(*xml, {{"a:t"}, {"a:p"}, {"a:br"}, {}, {}});
        }
        return out;
    }
    if (const ZipArchive::Entry* m = z->find("mimetype")) {
        auto type = z->read(*m, 4096);
        if (type.ok() && type->rfind("application/vnd.oasis.opendocument.", 0) == 0) {
            if (type->find("spreadsheet") != std::string::npos)
                return make_error(name + " is a spreadsheet: save it as CSV to add it to a conversation");
            auto xml = rd.member("content.xml");
            HEARTH_RETURN_IF_ERROR(xml);
            out.kind = "opendocument";
            const size_t body = xml->find("<office:body");
            out.text = xml_text(std::string_view(*xml).substr(body == std::string::npos ? 0 : body),
                                {{}, {"text:p", "text:h"}, {"text:line-break"}, {"text:tab"}, {"text:s"}});
            return out;
        }
        if (type.ok() && type->rfind("application/epub+zip", 0) == 0) {
            auto text = epub_text(*z, rd, name);
            HEARTH_RETURN_IF_ERROR(text);
            out.kind = "epub";
            out.text = std::move(*text);
            return out;
        }
    }
    if (z->find("xl/workbook.xml")) return make_error(name + " is an Excel workbook: save it as CSV to add it to a conversation");
    return make_error(name + " is a zip archive, not a document: Hearth reads Word, PowerPoint, OpenDocument and EPUB files "
                             "among the zip-packed ones");
}

}  // namespace

Result<OfficeText> office_text(std::string_view bytes, const std::string& name) {
    auto r = read_office(bytes, name);
    if (r.ok()) r->text = tidy(r->text);
    return r;
}

}  // namespace hearth::docs
