// The list models under QAbstractItemModelTester (which checks every signal and index against
// the model's own answers) while rows are inserted, moved, changed and removed.
#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QtTest>

#include "app/models/conversation_list_model.h"
#include "app/models/message_list_model.h"

using namespace hearth::app;

namespace {
ConversationRecord conv(int64_t id, const char* title, int64_t updated) {
    ConversationRecord c;
    c.id = id;
    c.title = QString::fromUtf8(title);
    c.updatedAt = updated;
    return c;
}
MessageRecord msg(int64_t id, const char* role, const char* content) {
    MessageRecord m;
    m.id = id;
    m.conversationId = 1;
    m.role = QString::fromLatin1(role);
    m.content = QString::fromUtf8(content);
    return m;
}
}  // namespace

class ListModelsTest : public QObject {
    Q_OBJECT
private slots:
    void conversations() {
        ConversationListModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setConversations({conv(3, "c", 30), conv(2, "b", 20), conv(1, "a", 10)});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.data(model.index(0), ConversationListModel::TitleRole).toString(), QStringLiteral("c"));

        // A new conversation goes on top.
        model.upsert(conv(4, "d", 40));
        QCOMPARE(model.idAt(0), qint64(4));
        // Activity in the oldest moves it to the top.
        QSignalSpy moved(&model, &QAbstractItemModel::rowsMoved);
        model.upsert(conv(1, "a2", 50));
        QCOMPARE(moved.count(), 1);
        QCOMPARE(model.idAt(0), qint64(1));
        QCOMPARE(model.data(model.index(0), ConversationListModel::TitleRole).toString(), QStringLiteral("a2"));
        QCOMPARE(model.idAt(1), qint64(4));
        QCOMPARE(model.idAt(4), qint64(-1) + 1);  // out of range reads as 0
        // A rename in place does not move.
        model.upsert(conv(3, "renamed", 30));
        QCOMPARE(model.rowOf(3), 2);
        QCOMPARE(model.data(model.index(2), Qt::DisplayRole).toString(), QStringLiteral("renamed"));
        // An older timestamp moves it down.
        model.upsert(conv(1, "a2", 5));
        QCOMPARE(model.rowOf(1), 3);
        QCOMPARE(model.idAt(0), qint64(4));
        model.remove(2);
        QCOMPARE(model.rowCount(), 3);
        model.remove(99);  // unknown: nothing happens
        QCOMPARE(model.rowCount(), 3);
        model.setSearchHits({{7, "hit", "…snippet…", 1}});
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.data(model.index(0), ConversationListModel::SnippetRole).toString(), QStringLiteral("…snippet…"));
        QVERIFY(!model.data(model.index(5), ConversationListModel::TitleRole).isValid());
        QVERIFY(model.roleNames().values().contains("conversationId"));
    }

    void messages() {
        MessageListModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setMessages({msg(1, "system", "sys"), msg(2, "user", "hi"), msg(3, "assistant", "hello")});
        QCOMPARE(model.rowCount(), 3);
        model.append(msg(4, "user", "write code"));
        model.append(msg(5, "assistant", ""), true);
        QCOMPARE(model.data(model.index(4), MessageListModel::StreamingRole).toBool(), true);

        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.appendText(4, "<think>plan");
        model.appendText(4, " it</think>Here:\n```cpp\nint x;\n```\nDone.");
        QCOMPARE(changed.count(), 2);
        // The blocks are the row's own model, the same object however the text grows.
        auto* blocks = qobject_cast<MessageBlockModel*>(model.data(model.index(4), MessageListModel::BlocksRole).value<QObject*>());
        QVERIFY(blocks);
        QCOMPARE(blocks->rowCount(), 4);
        QCOMPARE(blocks->data(blocks->index(0), MessageBlockModel::KindRole).toString(), QStringLiteral("think"));
        QCOMPARE(blocks->data(blocks->index(0), MessageBlockModel::BodyRole).toString(), QStringLiteral("plan it"));
        QCOMPARE(blocks->data(blocks->index(2), MessageBlockModel::KindRole).toString(), QStringLiteral("code"));
        QCOMPARE(blocks->data(blocks->index(2), MessageBlockModel::LanguageRole).toString(), QStringLiteral("cpp"));
        QVERIFY(!changed.last().at(2).value<QList<int>>().contains(MessageListModel::BlocksRole));
        QCOMPARE(model.data(model.index(4), MessageListModel::AnswerRole).toString(),
                 QStringLiteral("Here:\n```cpp\nint x;\n```\nDone."));
        model.setStreaming(4, false);
        QCOMPARE(model.data(model.index(4), MessageListModel::StreamingRole).toBool(), false);

        model.setContextStart(4);
        QCOMPARE(model.data(model.index(0), MessageListModel::InContextRole).toBool(), true);   // system stays
        QCOMPARE(model.data(model.index(1), MessageListModel::InContextRole).toBool(), false);
        QCOMPARE(model.data(model.index(3), MessageListModel::InContextRole).toBool(), true);

        model.setContent(3, "edited", 2);
        QCOMPARE(model.data(model.index(3), MessageListModel::TokenCountRole).toInt(), 2);
        model.removeFrom(3);
        QCOMPARE(model.rowCount(), 3);
        model.removeFrom(7);  // out of range: nothing
        model.appendText(9, "x");
        QCOMPARE(model.rowOfId(2), 1);
        QCOMPARE(model.rowOfId(42), -1);
        QCOMPARE(int(model.records().size()), 3);
        model.clear();
        QCOMPARE(model.rowCount(), 0);
    }
};

QTEST_GUILESS_MAIN(ListModelsTest)
#include "test_list_models.moc"
