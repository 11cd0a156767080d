// Text out of markup: an HTML page's visible text (scripts, styles and comments dropped, block
// elements as line breaks, entities decoded), and the text of an XML document whose text elements
// and paragraph elements are named (Word's w:t and w:p, PowerPoint's a:t and a:p, OpenDocument's
// text:p). Not parsers that validate: they read what a reader would copy out, from any bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth::docs {

std::string html_text(std::string_view html);

struct XmlTextRules {
    std::vector<std::string> text;        // character data is kept only inside these elements ({} = everywhere)
    std::vector<std::string> paragraph;   // a line break after each of these ends
    std::vector<std::string> line_break;  // empty elements that are a line break (w:br, text:line-break)
    std::vector<std::string> tab;         // … a tab (w:tab, text:tab)
    std::vector<std::string> space;       // … a space (text:s)
};

std::string xml_text(std::string_view xml, const XmlTextRules& rules);

}  // namespace hearth::docs
