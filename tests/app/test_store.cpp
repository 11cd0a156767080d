// ChatStore: a fresh database, migration of a version-1 database, search, export, edits.
#include <QJsonDocument>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

#include "app/store/chat_store.h"
#include "app/store/schema.h"

using namespace hearth::app;

// Verifies a Status/Result and prints its message when it failed.
#define VERIFY_OK(expr)                                          \
    do {                                                         \
        const auto& _r = (expr);                                 \
        QVERIFY2(_r.ok(), _r.status().message().c_str());        \
    } while (0)

class StoreTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString path(const char* name) const { return dir_.filePath(QString::fromLatin1(name)); }

private slots:
    void freshDatabase() {
        ChatStore store;
        VERIFY_OK(store.open(path("fresh.db")));
        QCOMPARE(*store.db().scalarInt("PRAGMA user_version"), int64_t(schema::kCurrentVersion));
        QCOMPARE(*store.db().scalarInt("PRAGMA foreign_keys"), int64_t(1));
        {
            auto mode = store.db().prepare("PRAGMA journal_mode");
            QVERIFY(mode.step());
            QCOMPARE(mode.text(0), QStringLiteral("wal"));
        }

        auto id = store.createConversation("/models/tiny.gguf", "Be brief.");
        QVERIFY(id.ok());
        auto m1 = store.addMessage(*id, "user", "What is the capital of France?\nAnswer in one word.");
        VERIFY_OK(m1);
        auto m2 = store.addMessage(*id, "assistant", "Paris.", "/models/tiny.gguf", QJsonObject{{"temperature", 0.7}});
        QVERIFY(m2.ok());
        auto conv = store.conversation(*id);
        QVERIFY(conv.ok());
        QCOMPARE(conv->title, QStringLiteral("What is the capital of France?"));  // first line of the first user message
        QCOMPARE(conv->systemPrompt, QStringLiteral("Be brief."));
        auto msgs = store.messages(*id);
        QVERIFY(msgs.ok());
        QCOMPARE(int(msgs->size()), 2);
        QCOMPARE(msgs->at(1).genSettings.value("temperature").toDouble(), 0.7);
        QVERIFY(msgs->at(1).inContext);

        // A rename sticks and is not overwritten by later user messages.
        QVERIFY(store.renameConversation(*id, "  Geography  ").ok());
        QVERIFY(store.addMessage(*id, "user", "And Germany?").ok());
        QCOMPARE(store.conversation(*id)->title, QStringLiteral("Geography"));

        // Streaming save.
        QVERIFY(store.updateMessageContent(m2->id, "Paris, of course.", 5).ok());
        QCOMPARE(store.messages(*id)->at(1).content, QStringLiteral("Paris, of course."));
        QCOMPARE(store.messages(*id)->at(1).tokenCount, 5);
        QVERIFY(!store.updateMessageContent(999999, "x").ok());

        // Context window flags.
        QVERIFY(store.setContextStart(*id, m2->id).ok());
        msgs = store.messages(*id);
        QVERIFY(!msgs->at(0).inContext);
        QVERIFY(msgs->at(1).inContext && msgs->at(2).inContext);

        // Edit-and-resend: the message and later ones go.
        QVERIFY(store.deleteMessagesFrom(*id, m2->id).ok());
        QCOMPARE(int(store.messages(*id)->size()), 1);

        // Newest first.
        auto id2 = store.createConversation({}, {});
        QVERIFY(store.addMessage(*id2, "user", "hello").ok());
        auto list = store.conversations();
        QVERIFY(list.ok());
        QCOMPARE(int(list->size()), 2);
        QCOMPARE(list->at(0).id, *id2);

        // Delete cascades to messages.
        QVERIFY(store.deleteConversation(*id).ok());
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM messages WHERE conversation_id = 1"), int64_t(0));
        QVERIFY(!store.deleteConversation(*id).ok());
        QVERIFY(!store.conversation(*id).ok());
        // Foreign keys refuse a message for a conversation that does not exist.
        QVERIFY(!store.addMessage(424242, "user", "orphan").ok());
        auto check = store.db().prepare("PRAGMA integrity_check");
        QVERIFY(check.step());
        QCOMPARE(check.text(0), QStringLiteral("ok"));
    }

    void migrationFromVersion1() {
        // Build the database an older Hearth wrote: schema version 1 with data in it.
        {
            SqliteDb db;
            QVERIFY(db.open(path("old.db")).ok());
            QVERIFY(db.exec(schema::migrationSql(1)).ok());
            QVERIFY(db.exec("PRAGMA user_version=1").ok());
            QVERIFY(db.exec("INSERT INTO conversations(title, created_at, updated_at, model, system_prompt) "
                            "VALUES ('Old chat', 1000, 2000, 'm.gguf', '');"
                            "INSERT INTO messages(conversation_id, role, content, created_at) VALUES "
                            "(1, 'user', 'Tell me about sourdough bread', 1000),"
                            "(1, 'assistant', '酸面包需要天然酵母。', 1500);").ok());
        }
        ChatStore store;
        VERIFY_OK(store.open(path("old.db")));
        QCOMPARE(*store.db().scalarInt("PRAGMA user_version"), int64_t(schema::kCurrentVersion));
        auto msgs = store.messages(1);
        QVERIFY(msgs.ok());
        QCOMPARE(int(msgs->size()), 2);
        QVERIFY(msgs->at(0).inContext);  // the new column's default
        QCOMPARE(store.conversation(1)->settings, QJsonObject());
        // Old rows were indexed by the migration.
        auto hits = store.search("sourdough");
        QVERIFY(hits.ok());
        QCOMPARE(int(hits->size()), 1);
        QCOMPARE(hits->at(0).title, QStringLiteral("Old chat"));
        hits = store.search("天然酵母");
        QCOMPARE(int(hits->size()), 1);

        // A database from a newer Hearth is refused, not modified.
        QVERIFY(store.db().exec("PRAGMA user_version=99").ok());
        ChatStore newer;
        const auto st = newer.open(path("old.db"));
        QVERIFY(!st.ok());
        QVERIFY2(QString::fromStdString(st.message()).contains("newer"), st.message().c_str());
    }

    void search() {
        ChatStore store;
        VERIFY_OK(store.open(path("search.db")));
        auto a = *store.createConversation({}, {});
        QVERIFY(store.addMessage(a, "user", "How do I reverse a linked list in C?").ok());
        QVERIFY(store.addMessage(a, "assistant", "Walk the list and flip each next pointer.").ok());
        auto b = *store.createConversation({}, {});
        QVERIFY(store.addMessage(b, "user", "给我讲讲长城的历史").ok());
        QVERIFY(store.addMessage(b, "assistant", "长城始建于春秋战国时期。").ok());
        auto c = *store.createConversation({}, {});
        QVERIFY(store.addMessage(c, "user", "100% sure? use under_score").ok());

        auto hits = *store.search("LINKED list");  // case-insensitive, every term
        QCOMPARE(int(hits.size()), 1);
        QCOMPARE(hits[0].conversationId, a);
        QVERIFY(hits[0].snippet.contains("linked", Qt::CaseInsensitive));
        QCOMPARE(int(store.search("linked giraffe")->size()), 0);
        QCOMPARE(int(store.search("长城")->size()), 1);        // two characters: the LIKE fallback
        QCOMPARE(int(store.search("春秋战国")->size()), 1);    // trigram index
        QCOMPARE(int(store.search("100%")->size()), 1);       // LIKE wildcards are literal
        QCOMPARE(int(store.search("e_s")->size()), 0);
        QCOMPARE(int(store.search("under_score")->size()), 1);
        QCOMPARE(int(store.search("   ")->size()), 0);
        // Updates and deletes keep the index in step.
        auto msgs = *store.messages(a);
        QVERIFY(store.updateMessageContent(msgs[1].id, "Use recursion instead.").ok());
        QCOMPARE(int(store.search("pointer")->size()), 0);
        QCOMPARE(int(store.search("recursion")->size()), 1);
        QVERIFY(store.deleteConversation(a).ok());
        QCOMPARE(int(store.search("recursion")->size()), 0);
        // Titles match too.
        QVERIFY(store.renameConversation(c, "Percentages").ok());
        QCOMPARE(int(store.search("percent")->size()), 1);
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '\"sure\"'"), int64_t(1));
        QVERIFY(store.db().exec("INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')").ok());
    }

    void exportFormats() {
        ChatStore store;
        VERIFY_OK(store.open(path("export.db")));
        auto id = *store.createConversation("/m/qwen.gguf", "You are terse.");
        QVERIFY(store.addMessage(id, "user", "Write hello world in Python").ok());
        QVERIFY(store.addMessage(id, "assistant", "```python\nprint(\"hello\")\n```").ok());
        auto md = store.exportMarkdown(id);
        QVERIFY(md.ok());
        QVERIFY(md->startsWith("# Write hello world in Python\n"));
        QVERIFY(md->contains("## System\n\nYou are terse."));
        QVERIFY(md->contains("## User\n\nWrite hello world in Python"));
        QVERIFY(md->contains("## Assistant\n\n```python\nprint(\"hello\")\n```"));
        QVERIFY(md->contains("- Model: qwen.gguf"));
        auto js = store.exportJson(id);
        QVERIFY(js.ok());
        const QJsonObject o = QJsonDocument::fromJson(*js).object();
        QCOMPARE(o.value("format").toString(), QStringLiteral("hearth-conversation"));
        QCOMPARE(o.value("system_prompt").toString(), QStringLiteral("You are terse."));
        const QJsonArray arr = o.value("messages").toArray();
        QCOMPARE(arr.size(), 2);
        QCOMPARE(arr[1].toObject().value("role").toString(), QStringLiteral("assistant"));
        QCOMPARE(arr[1].toObject().value("content").toString(), QStringLiteral("```python\nprint(\"hello\")\n```"));
        QVERIFY(!store.exportMarkdown(12345).ok());
    }

    void titles() {
        QCOMPARE(ChatStore::titleFrom("  hello\nworld "), QStringLiteral("hello"));
        const QString longText = QString(59, QLatin1Char('a')) + QString::fromUtf8("😀😀");
        const QString t = ChatStore::titleFrom(longText, 60);
        QVERIFY(!t.at(t.size() - 2).isHighSurrogate() || t.at(t.size() - 1).isLowSurrogate());
        QVERIFY(t.endsWith(QString::fromUtf8("…")));
        QVERIFY(!t.contains(QChar(0xFFFD)));
    }

    void unwritablePathIsAnError() {
        ChatStore store;
        const auto st = store.open("/nonexistent-dir/x/hearth.db");
        QVERIFY(!st.ok());
        QVERIFY(!st.message().empty());
    }
};

QTEST_GUILESS_MAIN(StoreTest)
#include "test_store.moc"
