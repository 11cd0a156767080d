// Splits a message's text into the blocks the chat view draws differently: Markdown prose, fenced
// code (drawn with a Copy button) and a reasoning model's <think>…</think> section (collapsible).
// Works on partial text while an answer streams: an unclosed fence or think tag runs to the end.
#pragma once

#include <QString>
#include <vector>

namespace hearth::app {

struct MessageBlock {
    enum Kind { Text, Code, Think };
    Kind kind = Text;
    QString text;       // Markdown for Text, raw code for Code, the reasoning for Think
    QString language;   // Code: the fence's info string ("python"), may be empty
    bool open = false;  // Code/Think still streaming (no closing fence/tag yet)
};

std::vector<MessageBlock> splitMessageBlocks(const QString& content);

// What the chat view draws: the blocks above, with prose further cut at paragraph breaks (so a
// streamed answer re-renders only its last paragraph) and soft line breaks made hard. Each block
// can be rendered alone with the same result as the whole prose: a cut is made only before a
// paragraph that starts at the margin and is no list item, so lists, indented continuations and
// indented code stay whole.
std::vector<MessageBlock> displayBlocks(const QString& content);

// Markdown with every single line break inside a paragraph turned into a hard break (two trailing
// spaces): a poem's or an address's lines stay lines, as people who paste Markdown expect. Blank
// lines, and lines already ending in a hard break, are left alone.
QString withHardLineBreaks(const QString& markdown);

// The answer without its reasoning (what Copy copies and what goes back to the model as history).
QString stripThinking(const QString& content);

}  // namespace hearth::app
