// Splits a message's text into the blocks the chat view draws differently: Markdown prose, fenced
// code (drawn with a Copy button) and a reasoning model's <think>…</think> section (collapsible).
// Works on partial text while an answer streams: an unclosed fence or think tag runs to the end.
#pragma once

#include <QString>
#include <QVariantList>
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

// The same, as a list of maps {kind: "text"|"code"|"think", text, language, open} for QML.
QVariantList messageBlocksForQml(const QString& content);

// The answer without its reasoning (what Copy copies and what goes back to the model as history).
QString stripThinking(const QString& content);

}  // namespace hearth::app
