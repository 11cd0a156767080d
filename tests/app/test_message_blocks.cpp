// What the chat view draws of a message: displayBlocks() (paragraph cuts, soft breaks made hard)
// and MessageBlockModel, which must report a streamed answer's growth as changes to its last row
// or new rows only, never as a reset or as changes to earlier rows.
#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTextDocument>
#include <QTextList>
#include <QTextTable>
#include <QtTest>

#include "app/chat/message_blocks.h"
#include "app/models/message_block_model.h"

using namespace hearth::app;

namespace {
QStringList texts(const std::vector<MessageBlock>& blocks) {
    QStringList out;
    for (const MessageBlock& b : blocks) out << b.text;
    return out;
}
}  // namespace

class MessageBlocksTest : public QObject {
    Q_OBJECT
private slots:
    void softBreaksBecomeHard() {
        // A poem's lines stay lines.
        QCOMPARE(withHardLineBreaks(QStringLiteral("Roses are red,\nViolets are blue.")),
                 QStringLiteral("Roses are red,  \nViolets are blue."));
        // Paragraph breaks, the last line, and lines already ending in a hard break are unchanged.
        QCOMPARE(withHardLineBreaks(QStringLiteral("a\n\nb\n")), QStringLiteral("a\n\nb\n"));
        QCOMPARE(withHardLineBreaks(QStringLiteral("a  \nb\\\nc")), QStringLiteral("a  \nb\\\nc"));
        // Whitespace-only lines count as blank.
        QCOMPARE(withHardLineBreaks(QStringLiteral("a\n   \nb")), QStringLiteral("a\n   \nb"));

        // In the view: prose gets the breaks, code keeps its text as written.
        const auto b = displayBlocks(QStringLiteral("line one\nline two\n```\nx = 1\ny = 2\n```"));
        QCOMPARE(int(b.size()), 2);
        QCOMPARE(b[0].text, QStringLiteral("line one  \nline two"));
        QCOMPARE(b[1].kind, MessageBlock::Code);
        QCOMPARE(b[1].text, QStringLiteral("x = 1\ny = 2"));
        // The reasoning is plain text: its line breaks show as they are.
        const auto t = displayBlocks(QStringLiteral("<think>a\nb</think>c"));
        QCOMPARE(t[0].text, QStringLiteral("a\nb"));
    }

    void hardBreaksKeepMarkdownStructure() {
        // What Qt's Markdown reader (the view's TextEdit) makes of the converted text: line breaks
        // where the text had them, and tables, lists and headings as before.
        QTextDocument doc;
        doc.setMarkdown(QStringLiteral("The kettle sings,\nthe window fogs."));
        QCOMPARE(doc.toPlainText(), QStringLiteral("The kettle sings, the window fogs."));  // what we avoid
        doc.setMarkdown(withHardLineBreaks(QStringLiteral("The kettle sings,\nthe window fogs.")));
        QCOMPARE(doc.toPlainText(), QStringLiteral("The kettle sings,\nthe window fogs."));

        doc.setMarkdown(withHardLineBreaks(QStringLiteral("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |")));
        QTextCursor c(&doc);
        c.movePosition(QTextCursor::NextBlock);
        QVERIFY(c.currentTable());
        QCOMPARE(c.currentTable()->rows(), 3);
        QCOMPARE(c.currentTable()->columns(), 2);

        doc.setMarkdown(withHardLineBreaks(QStringLiteral("- one\n- two\n- three")));
        QCOMPARE(doc.blockCount(), 3);
        QVERIFY(doc.firstBlock().textList());
        QCOMPARE(doc.firstBlock().textList()->count(), 3);
        QCOMPARE(doc.toPlainText(), QStringLiteral("one\ntwo\nthree"));

        doc.setMarkdown(withHardLineBreaks(QStringLiteral("Title\n=====\nbody")));
        QCOMPARE(doc.firstBlock().blockFormat().headingLevel(), 1);
        QCOMPARE(doc.firstBlock().text(), QStringLiteral("Title"));
    }

    void paragraphsAreSeparateBlocks() {
        auto b = displayBlocks(QStringLiteral("# Title\n\nFirst paragraph\nstill first.\n\nSecond."));
        QCOMPARE(texts(b), (QStringList{"# Title", "First paragraph  \nstill first.", "Second."}));

        // A list stays in one block (with what leads into it), loose or not, with its indented
        // continuations; the paragraph after it is cut off.
        b = displayBlocks(QStringLiteral("Steps:\n\n1. one\n\n2. two\n\n   more about two\n- other\n\nAfter."));
        QCOMPARE(texts(b), (QStringList{"Steps:\n\n1. one\n\n2. two\n\n   more about two  \n- other", "After."}));

        // Indented code after a blank line stays with what it follows.
        b = displayBlocks(QStringLiteral("Run:\n\n    make\n\nDone."));
        QCOMPARE(texts(b), (QStringList{"Run:\n\n    make", "Done."}));

        // While streaming, a paragraph that may still become a list item ("3.") is not cut off yet.
        QCOMPARE(int(displayBlocks(QStringLiteral("1. a\n\n3.")).size()), 1);
        QCOMPARE(int(displayBlocks(QStringLiteral("1. a\n\n3")).size()), 1);
        QCOMPARE(int(displayBlocks(QStringLiteral("1. a\n\nThe")).size()), 2);
        // Blank-only prose makes no block.
        QCOMPARE(int(displayBlocks(QStringLiteral("\n\n  \n")).size()), 0);
    }

    void streamingChangesOnlyTheEnd() {
        MessageBlockModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);

        // Stream an answer a few characters at a time and check every step.
        const QString answer = QStringLiteral(
            "<think>plan\nit</think>Intro line\nsecond line.\n\n```python\nprint(1)\nprint(2)\n```\n\n"
            "1. one\n2. two\n\nClosing words.");
        QString content;
        for (int i = 0; i < answer.size(); i += 3) {
            content += answer.mid(i, 3);
            const int before = model.rowCount();
            changed.clear();
            inserted.clear();
            removed.clear();
            model.setContent(content);
            QCOMPARE(reset.count(), 0);
            // Only rows from the last old one on change.
            for (const auto& args : changed) QVERIFY(args.at(0).toModelIndex().row() >= before - 1);
            for (const auto& args : removed) QVERIFY(args.at(1).toInt() >= before - 1);
            for (const auto& args : inserted) QVERIFY(args.at(1).toInt() >= before - 1);
            // And the model always equals a fresh split of the text so far.
            const auto expected = displayBlocks(content);
            QCOMPARE(model.rowCount(), int(expected.size()));
            for (int r = 0; r < model.rowCount(); ++r)
                QCOMPARE(model.data(model.index(r), MessageBlockModel::BodyRole).toString(), expected[size_t(r)].text);
        }
        QCOMPARE(model.rowCount(), 5);
        QCOMPARE(model.data(model.index(0), MessageBlockModel::KindRole).toString(), QStringLiteral("think"));
        QCOMPARE(model.data(model.index(0), MessageBlockModel::OpenRole).toBool(), false);
        QCOMPARE(model.data(model.index(2), MessageBlockModel::KindRole).toString(), QStringLiteral("code"));
        QCOMPARE(model.data(model.index(2), MessageBlockModel::LanguageRole).toString(), QStringLiteral("python"));
        QCOMPARE(model.data(model.index(4), MessageBlockModel::BodyRole).toString(), QStringLiteral("Closing words."));

        // The same text again: no signal at all.
        changed.clear();
        model.setContent(content);
        QCOMPARE(changed.count(), 0);
        // A different text (an edit): rows are replaced from the first change on.
        model.setContent(QStringLiteral("Other"));
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.data(model.index(0), MessageBlockModel::BodyRole).toString(), QStringLiteral("Other"));
        QVERIFY(model.roleNames().values().contains("body"));
    }
};

QTEST_MAIN(MessageBlocksTest)  // QTextDocument lays out text: it needs a QGuiApplication
#include "test_message_blocks.moc"
