// The text of the zip-packed documents people write: Word (.docx), PowerPoint (.pptx), OpenDocument
// text and presentations (.odt, .odp) and EPUB books, for the chat's Documents. Which one a file is
// comes from its members (word/document.xml, ppt/slides/, an OpenDocument mimetype, EPUB's
// container), not its name. Paragraphs become lines; slides, and an EPUB's chapters in reading
// order, are separated by blank lines. An Excel workbook, another zip archive or a member that
// would unpack to more than 64 MB is refused with a message that names the file.
#pragma once

#include <string>
#include <string_view>

#include "engine/util/status.h"

namespace hearth::docs {

struct OfficeText {
    std::string text;
    std::string kind;  // "word" | "slides" | "opendocument" | "epub"
};

Result<OfficeText> office_text(std::string_view zip_bytes, const std::string& name);

}  // namespace hearth::docs
