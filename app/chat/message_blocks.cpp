#include "app/chat/message_blocks.h"

#include <QRegularExpression>
#include <QStringList>

namespace hearth::app {

namespace {

const QString kOpenThink = QStringLiteral("<think>");
const QString kCloseThink = QStringLiteral("</think>");

// A fence line: up to three spaces, then three or more backticks; returns the fence length or 0.
int fenceLength(const QString& line, QString* info) {
    int i = 0;
    while (i < line.size() && i < 3 && line.at(i) == QLatin1Char(' ')) ++i;
    int n = 0;
    while (i + n < line.size() && line.at(i + n) == QLatin1Char('`')) ++n;
    if (n < 3) return 0;
    if (info) *info = line.mid(i + n).trimmed();
    return n;
}

// A model's answer is untrusted text: an image in it must not make the view fetch anything.
// ![alt](url) becomes "alt" (in brackets when there is one), and <img …> tags are removed.
QString withoutImages(const QString& text) {
    static const QRegularExpression mdImage(QStringLiteral("!\\[([^\\]]*)\\]\\([^)]*\\)"));
    static const QRegularExpression htmlImage(QStringLiteral("<img\\b[^>]*>"), QRegularExpression::CaseInsensitiveOption);
    QString t = text;
    t.replace(mdImage, QStringLiteral("[\\1]"));
    t.replace(htmlImage, QString());
    return t;
}

void appendText(std::vector<MessageBlock>& out, const QString& raw) {
    if (raw.trimmed().isEmpty()) return;
    const QString text = withoutImages(raw);
    if (!out.empty() && out.back().kind == MessageBlock::Text) {
        out.back().text += text;
        return;
    }
    out.push_back({MessageBlock::Text, text, {}, false});
}

// Prose and fenced code of an answer (no think tags inside).
void splitCode(const QString& text, std::vector<MessageBlock>& out) {
    const QStringList lines = text.split(QLatin1Char('\n'));
    QString prose;
    MessageBlock code;
    int fence = 0;  // length of the open fence, 0 outside code
    for (int li = 0; li < lines.size(); ++li) {
        const QString& line = lines[li];
        const bool lastLine = li == lines.size() - 1;
        QString info;
        if (fence == 0) {
            if (fenceLength(line, &info) > 0 && !info.contains(QLatin1Char('`'))) {
                appendText(out, prose);
                prose.clear();
                fence = fenceLength(line, nullptr);
                code = {MessageBlock::Code, {}, info, true};
            } else {
                prose += line;
                if (!lastLine) prose += QLatin1Char('\n');
            }
        } else {
            const int n = fenceLength(line, &info);
            if (n >= fence && info.isEmpty()) {
                code.open = false;
                if (code.text.endsWith(QLatin1Char('\n'))) code.text.chop(1);
                out.push_back(code);
                fence = 0;
            } else {
                code.text += line;
                if (!lastLine) code.text += QLatin1Char('\n');
            }
        }
    }
    if (fence > 0) {
        if (code.text.endsWith(QLatin1Char('\n'))) code.text.chop(1);
        out.push_back(code);
    }
    appendText(out, prose);
}

}  // namespace

std::vector<MessageBlock> splitMessageBlocks(const QString& content) {
    std::vector<MessageBlock> out;
    QString rest = content;
    // Reasoning first. A template may open <think> in the prompt, so the text can start inside
    // the reasoning with only a closing tag later.
    const int open = rest.indexOf(kOpenThink);
    const int close = rest.indexOf(kCloseThink);
    const bool leadingOpen = open >= 0 && rest.left(open).trimmed().isEmpty();
    if (leadingOpen || (close >= 0 && (open < 0 || close < open))) {
        const int start = leadingOpen ? open + int(kOpenThink.size()) : 0;
        const int end = rest.indexOf(kCloseThink, start);
        MessageBlock think{MessageBlock::Think, {}, {}, end < 0};
        think.text = (end < 0 ? rest.mid(start) : rest.mid(start, end - start)).trimmed();
        out.push_back(think);
        rest = end < 0 ? QString() : rest.mid(end + int(kCloseThink.size()));
    }
    splitCode(rest, out);
    return out;
}

namespace {

// A line that starts a list item ("- x", "* x", "+ x", "1. x", "2) x"), or could still become one
// while an answer streams ("-", "3", "3."). A number without its dot ("2024 was…") counts too: it
// only keeps that paragraph in the block before, and it means a cut, once made, is never undone
// by later text (the view's earlier blocks stay untouched).
bool startsListItem(const QString& line) {
    static const QRegularExpression item(QStringLiteral("^(?:[-*+]|\\d{1,9}[.)]?)(?:\\s|$)"));
    return item.match(line).hasMatch();
}

bool isBlank(const QString& line) { return line.trimmed().isEmpty(); }

// Cuts prose into paragraph groups (see displayBlocks()).
QStringList proseParagraphs(const QString& prose) {
    const QStringList lines = prose.split(QLatin1Char('\n'));
    QStringList out;
    QStringList current;
    bool sawBlank = false;  // a blank line since the last text line of `current`
    for (const QString& line : lines) {
        if (isBlank(line)) {
            if (!current.isEmpty()) sawBlank = true;
            continue;
        }
        const bool startsAtMargin = !line.at(0).isSpace();
        if (sawBlank && startsAtMargin && !startsListItem(line)) {
            out << current.join(QLatin1Char('\n'));
            current.clear();
        } else if (sawBlank) {
            current << QString();  // keep the blank line inside the group (loose list, continuation)
        }
        sawBlank = false;
        current << line;
    }
    if (!current.isEmpty()) out << current.join(QLatin1Char('\n'));
    return out;
}

}  // namespace

std::vector<MessageBlock> displayBlocks(const QString& content) {
    std::vector<MessageBlock> out;
    for (MessageBlock& b : splitMessageBlocks(content)) {
        if (b.kind != MessageBlock::Text) {
            out.push_back(std::move(b));
            continue;
        }
        for (const QString& paragraph : proseParagraphs(b.text))
            out.push_back({MessageBlock::Text, withHardLineBreaks(paragraph), {}, false});
    }
    return out;
}

QString withHardLineBreaks(const QString& markdown) {
    QStringList lines = markdown.split(QLatin1Char('\n'));
    for (int i = 0; i + 1 < lines.size(); ++i) {
        QString& line = lines[i];
        if (isBlank(line) || isBlank(lines[i + 1])) continue;
        if (line.endsWith(QLatin1String("  ")) || line.endsWith(QLatin1Char('\\'))) continue;
        line += QLatin1String("  ");
    }
    return lines.join(QLatin1Char('\n'));
}

QString stripThinking(const QString& content) {
    const int close = content.indexOf(kCloseThink);
    const int open = content.indexOf(kOpenThink);
    if (close >= 0) return content.mid(close + int(kCloseThink.size())).trimmed();
    if (open >= 0 && content.left(open).trimmed().isEmpty()) return QString();  // still thinking
    return content;
}

}  // namespace hearth::app
