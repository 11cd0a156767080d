#include "engine/docs/document_text.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

#include "engine/docs/markup_text.h"
#include "engine/docs/office_text.h"
#include "engine/docs/pdf_text.h"
#include "engine/util/utf8.h"

namespace hearth::docs {

namespace {

std::string base_name(std::string_view path) {
    const size_t slash = path.find_last_of('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string lower_ext(std::string_view name) {
    const size_t dot = name.find_last_of('.');
    if (dot == std::string_view::npos || dot == 0) return {};
    std::string e(name.substr(dot + 1));
    for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
    return e;
}

std::string kind_of(const std::string& ext) {
    if (ext == "md" || ext == "markdown" || ext == "mdown" || ext == "mkd") return "markdown";
    if (ext == "html" || ext == "htm" || ext == "xhtml") return "html";
    static const char* const kCode[] = {"c", "h", "cc", "cpp", "cxx", "hpp", "hh", "cu", "py", "js", "ts", "jsx", "tsx",
                                        "java", "kt", "go", "rs", "rb", "php", "cs", "swift", "m", "mm", "scala", "sh",
                                        "bash", "zsh", "ps1", "sql", "lua", "pl", "r", "jl", "dart", "qml", "cmake",
                                        "toml", "yaml", "yml", "json", "xml", "ini", "cfg", "vue", "svelte", "css", "scss"};
    for (const char* c : kCode)
        if (ext == c) return "code";
    return "text";
}

// Formats a person might attach that are not text, recognised by their first bytes.
const char* binary_format(std::string_view b) {
    auto starts = [&](std::string_view magic) { return b.substr(0, magic.size()) == magic; };
    if (starts("\xD0\xCF\x11\xE0")) return "an old Microsoft Office document (.doc, .xls)";
    if (starts("\x89PNG") || starts("\xFF\xD8\xFF") || starts("GIF8")) return "a picture";
    if (starts("\x7F" "ELF")) return "a program";
    if (starts("{\\rtf")) return "an RTF document";
    if (starts("GGUF")) return "a model file";
    return nullptr;
}

Result<std::string> from_utf16(std::string_view b, bool big_endian, const std::string& name) {
    if (b.size() % 2) return make_error(name + ": the UTF-16 text ends in the middle of a character (the file is cut short)");
    std::string out;
    out.reserve(b.size() * 3 / 2);
    auto unit = [&](size_t i) {
        const auto lo = static_cast<unsigned char>(b[i + (big_endian ? 1 : 0)]);
        const auto hi = static_cast<unsigned char>(b[i + (big_endian ? 0 : 1)]);
        return uint32_t(hi) << 8 | lo;
    };
    for (size_t i = 0; i < b.size(); i += 2) {
        uint32_t u = unit(i);
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (i + 2 >= b.size()) return make_error(name + ": the UTF-16 text has an unpaired surrogate at its end");
            const uint32_t v = unit(i + 2);
            if (v < 0xDC00 || v > 0xDFFF)
                return make_error(name + ": the UTF-16 text has an unpaired surrogate at byte " + std::to_string(i));
            u = 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00);
            i += 2;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            return make_error(name + ": the UTF-16 text has an unpaired surrogate at byte " + std::to_string(i));
        }
        utf8_append(out, u);
    }
    return out;
}

// GB18030 through the C library's iconv (glibc has it; it is a superset of GBK and GB2312). Strict:
// a byte sequence that is not GB18030 fails the whole decode rather than being replaced.
bool from_gb18030(std::string_view b, std::string* out) {
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == iconv_t(-1)) return false;
    out->assign(b.size() * 2 + 16, '\0');
    char* in = const_cast<char*>(b.data());
    size_t in_left = b.size();
    char* dst = out->data();
    size_t out_left = out->size();
    bool ok = true;
    while (in_left > 0) {
        if (iconv(cd, &in, &in_left, &dst, &out_left) == size_t(-1)) {
            if (errno == E2BIG) {  // cannot happen with 2× room, but stay correct if it does
                const size_t used = size_t(dst - out->data());
                out->resize(out->size() * 2);
                dst = out->data() + used;
                out_left = out->size() - used;
                continue;
            }
            ok = false;
            break;
        }
    }
    iconv_close(cd);
    if (!ok) return false;
    out->resize(size_t(dst - out->data()));
    return utf8_valid(*out);
}

// Text has tabs, line ends and form feeds among its control characters, and nothing else of them
// in any number: a NUL or more than one control character in 200 means the bytes are something else.
bool looks_binary(std::string_view s) {
    size_t controls = 0;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == 0) return true;
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7F) ++controls;
    }
    return controls * 200 > s.size();
}

std::string normalize_line_ends(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            out += '\n';
            if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Text from inside a zip-packed document, which should be UTF-8 and from a damaged file may not
// be: bytes that are not are replaced by U+FFFD.
std::string replace_inutf8_valid(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        uint32_t cp;
        const size_t n = utf8_decode_at(s, i, &cp);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

bool only_space(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f'; });
}

}  // namespace

Result<DocumentText> decode_document(std::string_view bytes, std::string_view file_name) {
    const std::string name = base_name(file_name);
    const std::string reads = "Hearth reads PDF, Word, PowerPoint, OpenDocument, EPUB, plain text, Markdown, HTML and source "
                              "files (UTF-8, UTF-16 or GB18030)";
    // A PDF's header may follow some junk (the format allows 1,024 bytes of it).
    if (bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos) {
        auto text = pdf_text(bytes, name);
        HEARTH_RETURN_IF_ERROR(text);
        return DocumentText{std::move(*text), "pdf", "pdf"};
    }
    if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
        auto office = office_text(bytes, name);
        HEARTH_RETURN_IF_ERROR(office);
        if (only_space(office->text)) return make_error(name + " has no text in it");
        return DocumentText{normalize_line_ends(replace_inutf8_valid(office->text)), office->kind, "zip"};
    }
    if (const char* what = binary_format(bytes))
        return make_error(name + " is " + what + ", not text: " + reads + "; save it as text first");
    DocumentText doc;
    doc.kind = kind_of(lower_ext(name));
    std::string text;
    if (bytes.substr(0, 3) == "\xEF\xBB\xBF") {
        bytes.remove_prefix(3);
        if (!utf8_valid(bytes)) return make_error(name + " starts as UTF-8 but has bytes that are not UTF-8");
        doc.encoding = "utf-8";
        text = std::string(bytes);
    } else if (bytes.substr(0, 2) == "\xFF\xFE" || bytes.substr(0, 2) == "\xFE\xFF") {
        const bool be = bytes[0] == '\xFE';
        auto t = from_utf16(bytes.substr(2), be, name);
        HEARTH_RETURN_IF_ERROR(t);
        doc.encoding = be ? "utf-16be" : "utf-16le";
        text = std::move(*t);
    } else if (utf8_valid(bytes)) {
        doc.encoding = "utf-8";
        text = std::string(bytes);
    } else if (!looks_binary(bytes) && from_gb18030(bytes, &text)) {
        doc.encoding = "gb18030";
    } else {
        return make_error(name + " is not text (its bytes are not UTF-8, UTF-16 or GB18030): " + reads);
    }
    if (looks_binary(text)) return make_error(name + " looks like a binary file, not text: " + reads);
    text = normalize_line_ends(text);
    doc.text = doc.kind == "html" ? html_text(text) : std::move(text);
    if (only_space(doc.text)) return make_error(name + " has no text in it");
    return doc;
}

Result<DocumentText> read_document(const std::string& path, size_t max_bytes) {
    const std::string name = base_name(path);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return make_error(path + ": " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return make_error(path + " is a folder, not a document");
    if (size_t(st.st_size) > max_bytes)
        return make_error(name + " is " + std::to_string((st.st_size + (1 << 20) - 1) >> 20) + " MB; Hearth reads documents of up to " +
                          std::to_string(max_bytes >> 20) + " MB");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return make_error(path + ": " + std::strerror(errno));
    std::string bytes(size_t(st.st_size), '\0');
    const size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
    const bool err = std::ferror(f);
    std::fclose(f);
    if (err || got != bytes.size()) return make_error(path + ": could not read the whole file");
    return decode_document(bytes, path);
}

}  // namespace hearth::docs
