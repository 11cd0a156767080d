// The text of a PDF, for the chat's Documents: what a reader would copy out of it, page by page.
// Objects are found by scanning the file (as a repair tool does), not through its cross-reference
// table, so a file with a damaged or missing table still reads; object streams are unpacked;
// content streams (Flate, ASCIIHex, ASCII85) are interpreted for their text operators, with each
// font's ToUnicode map, its predefined Unicode CMap (UniGB-UCS2-H and the like), or its simple
// encoding (WinAnsi, MacRoman, Standard, with /Differences). Line breaks follow the text matrix.
// Encrypted files and files whose pages hold no text (scans) are refused with a message that
// says so. Every count, length, nesting and the total unpacked size are bounded.
#pragma once

#include <string>
#include <string_view>

#include "engine/util/status.h"

namespace hearth::docs {

// `name` is the file's name, for messages. The text is UTF-8 with "\n" line ends, pages separated
// by a blank line.
Result<std::string> pdf_text(std::string_view bytes, const std::string& name);

}  // namespace hearth::docs
