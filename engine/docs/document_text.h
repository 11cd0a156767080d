// The text of a document a person attaches to a conversation (the chat's "Documents"): PDF (its text
// layer, pdf_text.h), Word, PowerPoint, OpenDocument and EPUB (office_text.h), plain text,
// Markdown, HTML and source files, in UTF-8, UTF-16 (with its byte-order mark) or GB18030 (which
// covers GBK and GB2312, what Chinese text files written on Windows usually are). Everything else —
// old Office files, spreadsheets, images, archives, any file with bytes no text has — is refused
// with a message that names the file and says what Hearth reads, never read as garbage.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/util/status.h"

namespace hearth::docs {

struct DocumentText {
    std::string text;      // UTF-8, "\n" line ends, no byte-order mark; HTML reduced to its visible text
    std::string kind;      // "text" | "markdown" | "html" | "code" | "pdf" | "word" | "slides" | "opendocument" | "epub"
    std::string encoding;  // what the bytes were: "utf-8" | "utf-16le" | "utf-16be" | "gb18030" | "pdf" | "zip"
};

// Files larger than this are refused (a 32 MB text is ~8 million tokens, hours of embedding).
constexpr size_t kMaxDocumentBytes = size_t(32) << 20;

// Reads and decodes `path`; its extension chooses the kind (.md/.markdown → markdown, .html/.htm →
// html, known source extensions → code, anything else that decodes → text).
Result<DocumentText> read_document(const std::string& path, size_t max_bytes = kMaxDocumentBytes);
// The same on bytes already read; `file_name` is used for the kind and in messages. (The fuzzed entry.)
Result<DocumentText> decode_document(std::string_view bytes, std::string_view file_name);

}  // namespace hearth::docs
