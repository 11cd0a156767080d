// ChatStore: a fresh database, migrations from fixture databases of every earlier schema version,
// streaming saves, answer status and alternatives, search, export, edits.
#include <QJsonDocument>
#include <QJsonArray>
#include <QJsonObject>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include "app/store/chat_store.h"
#include "app/store/document_store.h"
#include "app/store/download_queue.h"
#include "app/store/image_gallery.h"
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

        // Replacing a message's text.
        QVERIFY(store.updateMessageContent(m2->id, "Paris, of course.", 5).ok());
        QCOMPARE(store.messages(*id)->at(1).content, QStringLiteral("Paris, of course."));
        QCOMPARE(store.messages(*id)->at(1).tokenCount, 5);
        // Writes are queued: one that fails is reported by the next flush.
        VERIFY_OK(store.flush());
        QVERIFY(store.updateMessageContent(999999, "x").ok());
        QVERIFY(!store.flush().ok());
        VERIFY_OK(store.flush());  // reported once

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
        VERIFY_OK(store.flush());
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM messages WHERE conversation_id = 1"), int64_t(0));
        QVERIFY(store.deleteConversation(*id).ok());
        QVERIFY(!store.flush().ok());
        QVERIFY(!store.conversation(*id).ok());
        // Foreign keys refuse a message for a conversation that does not exist.
        QVERIFY(store.addMessage(424242, "user", "orphan").ok());
        QVERIFY(!store.flush().ok());
        // Ids are never reused, even after a reopen.
        const int64_t lastId = store.addMessage(*id2, "user", "again")->id;
        store.close();
        VERIFY_OK(store.open(path("fresh.db")));
        QVERIFY(store.addMessage(*id2, "user", "after reopen")->id > lastId);
        VERIFY_OK(store.flush());
        auto check = store.db().prepare("PRAGMA integrity_check");
        QVERIFY(check.step());
        QCOMPARE(check.text(0), QStringLiteral("ok"));
    }

    // A copy of a fixture database (tests/app/fixtures/vN.db) to migrate.
    QString fixtureCopy(int version) {
        const QString from = QStringLiteral(HEARTH_TEST_SOURCE_DIR "/fixtures/v%1.db").arg(version);
        const QString to = path(qPrintable(QStringLiteral("fixture-v%1.db").arg(version)));
        QFile::remove(to);
        if (!QFile::copy(from, to)) return {};
        QFile(to).setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        return to;
    }

    void migrationFromEveryVersion_data() {
        QTest::addColumn<int>("version");
        for (int v = 1; v < schema::kCurrentVersion; ++v) QTest::newRow(qPrintable(QStringLiteral("v%1").arg(v))) << v;
    }

    void migrationFromEveryVersion() {
        QFETCH(int, version);
        const QString file = fixtureCopy(version);
        QVERIFY2(!file.isEmpty(), "fixture missing");
        {
            SqliteDb raw;
            QVERIFY(raw.open(file).ok());
            QCOMPARE(*raw.scalarInt("PRAGMA user_version"), int64_t(version));
        }
        ChatStore store;
        VERIFY_OK(store.open(file));
        QCOMPARE(*store.db().scalarInt("PRAGMA user_version"), int64_t(schema::kCurrentVersion));
        {
            auto check = store.db().prepare("PRAGMA integrity_check");
            QVERIFY(check.step());
            QCOMPARE(check.text(0), QStringLiteral("ok"));
        }
        QVERIFY(store.db().exec("INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')").ok());

        // Every row as the fixture holds it (fixtures/vN.sql), with the new columns' defaults.
        auto convs = *store.conversations();
        QCOMPARE(int(convs.size()), 2);
        const ConversationRecord bread = *store.conversation(1);
        QCOMPARE(bread.title, QStringLiteral("Sourdough"));
        QCOMPARE(bread.createdAt, int64_t(1700000000000));
        QCOMPARE(bread.updatedAt, int64_t(1700000005000));
        QCOMPARE(bread.model, QStringLiteral("/models/tiny.gguf"));
        QCOMPARE(bread.systemPrompt, QStringLiteral("Be brief."));
        QCOMPARE(store.conversation(2)->title, QString::fromUtf8("长城"));
        QVERIFY(bread.adapters.empty());  // the v4 table starts empty
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM downloads"), int64_t(0));  // so does v5's
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM images"), int64_t(0));     // and v6's
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM documents"), int64_t(0));  // and v7's
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM messages WHERE prompt = '' AND sources_json = '[]'"),
                 *store.db().scalarInt("SELECT count(*) FROM messages"));
        auto a = *store.messages(1);
        auto b = *store.messages(2);
        QCOMPARE(int(a.size()), version == 1 ? 2 : 4);
        QCOMPARE(int(b.size()), 2);
        QCOMPARE(a[0].content, QStringLiteral("Tell me about sourdough bread"));
        QCOMPARE(a[1].content, QString::fromUtf8("It needs a starter.\nFeed it daily. 🍞"));
        QCOMPARE(a[1].tokenCount, 12);
        QCOMPARE(a[1].createdAt, int64_t(1700000005000));
        QCOMPARE(a[1].model, QStringLiteral("/models/tiny.gguf"));
        QCOMPARE(b[1].content, QString::fromUtf8("长城始建于春秋战国时期。"));
        for (const auto& list : {a, b})
            for (const MessageRecord& m : list) {
                QCOMPARE(m.status, QString());
                QCOMPARE(m.altIndex, 0);
                QCOMPARE(m.altCount, 1);
            }
        if (version == 1) {
            QVERIFY(a[0].inContext);  // the v2 columns' defaults
            QCOMPARE(store.conversation(2)->settings, QJsonObject());
        } else {
            QVERIFY(!a[0].inContext && !a[1].inContext && a[2].inContext);
            QCOMPARE(a[1].genSettings.value("top_k").toInt(), 40);
            QCOMPARE(store.conversation(2)->settings.value("think").toBool(), true);
            QCOMPARE(a[3].content, QStringLiteral("Rye ferments faster."));
        }
        // Old rows are searchable (indexed by the v2 migration or by the v2 triggers).
        QCOMPARE(int(store.search("sourdough")->size()), 1);
        QCOMPARE(int(store.search(QString::fromUtf8("春秋战国"))->size()), 1);
        QCOMPARE(int(store.search("daily")->size()), 1);
        // New writes continue after the old ids.
        auto m = store.addMessage(1, "user", "More?");
        QVERIFY(m->id > (version == 1 ? 4 : 6));
        VERIFY_OK(store.flush());
        QCOMPARE(store.messages(1)->back().content, QStringLiteral("More?"));
    }

    void newerDatabaseIsRefused() {
        const QString file = fixtureCopy(2);
        {
            SqliteDb raw;
            QVERIFY(raw.open(file).ok());
            QVERIFY(raw.exec("PRAGMA user_version=99").ok());
        }
        ChatStore newer;
        const auto st = newer.open(file);
        QVERIFY(!st.ok());
        QVERIFY2(QString::fromStdString(st.message()).contains("newer"), st.message().c_str());
        SqliteDb raw;
        QVERIFY(raw.open(file).ok());
        QCOMPARE(*raw.scalarInt("PRAGMA user_version"), int64_t(99));
        QCOMPARE(*raw.scalarInt("SELECT count(*) FROM messages"), int64_t(6));
    }

    void streamingSaveAppendsAndIndexesOnce() {
        ChatStore store;
        VERIFY_OK(store.open(path("stream.db")));
        const int64_t c = *store.createConversation({}, {});
        QVERIFY(store.addMessage(c, "user", "Write a poem").ok());
        auto a = store.addMessage(c, "assistant", QString(), "m.gguf", {}, "streaming");
        VERIFY_OK(a);
        QVERIFY(store.appendMessageText(a->id, "Roses are red,\n").ok());
        QVERIFY(store.appendMessageText(a->id, QString::fromUtf8("violets 🌸 are blue")).ok());
        auto msgs = *store.messages(c);
        QCOMPARE(msgs[1].content, QString::fromUtf8("Roses are red,\nviolets 🌸 are blue"));
        QCOMPARE(msgs[1].status, QStringLiteral("streaming"));
        // Not indexed while it streams: the message row itself is not rewritten by a save.
        QCOMPARE(int(store.search("violets")->size()), 0);
        QCOMPARE(*store.db().scalarInt("SELECT length(content) FROM messages WHERE id = 2"), int64_t(0));
        QVERIFY(store.finishMessage(a->id, "stopped", 9).ok());
        msgs = *store.messages(c);
        QCOMPARE(msgs[1].content, QString::fromUtf8("Roses are red,\nviolets 🌸 are blue"));
        QCOMPARE(msgs[1].status, QStringLiteral("stopped"));
        QCOMPARE(msgs[1].tokenCount, 9);
        QCOMPARE(int(store.search("violets")->size()), 1);
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM message_chunks"), int64_t(0));
        QVERIFY(store.db().exec("INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')").ok());

        // An answer left streaming (the app died) is "interrupted" at the next open, its text kept.
        auto b = store.addMessage(c, "assistant", QString(), "m.gguf", {}, "streaming");
        QVERIFY(store.appendMessageText(b->id, "half an ans").ok());
        QVERIFY(store.appendMessageText(b->id, "wer").ok());
        store.close();
        VERIFY_OK(store.open(path("stream.db")));
        msgs = *store.messages(c);
        QCOMPARE(msgs.back().status, QStringLiteral("interrupted"));
        QCOMPARE(msgs.back().content, QStringLiteral("half an answer"));
        QCOMPARE(int(store.search("half an answer")->size()), 1);
    }

    // The cost of one streaming save at 1,000 and 20,000 characters, old way (rewrite the message,
    // which re-indexes every trigram) and new way (append the new text). Printed for the record;
    // the check is loose, as the machine is shared.
    void streamingSaveCost() {
        ChatStore store;
        VERIFY_OK(store.open(path("cost.db")));
        const int64_t c = *store.createConversation({}, {});
        const QString piece = QStringLiteral("The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet. ");
        auto timeSaves = [&](int chars, bool append) {
            auto m = store.addMessage(c, "assistant", QString(), {}, {}, append ? "streaming" : "");
            QString text;
            while (text.size() < chars) text += piece;
            if (append) (void)store.appendMessageText(m->id, text);
            else (void)store.updateMessageContent(m->id, text);
            (void)store.flush();
            const int saves = 50;
            QElapsedTimer t;
            t.start();
            for (int i = 0; i < saves; ++i) {
                text += piece;
                if (append) (void)store.appendMessageText(m->id, piece);
                else (void)store.updateMessageContent(m->id, text);
                (void)store.flush();
            }
            return double(t.nsecsElapsed()) / 1e6 / saves;
        };
        const double append1k = timeSaves(1000, true), append20k = timeSaves(20000, true);
        const double rewrite1k = timeSaves(1000, false), rewrite20k = timeSaves(20000, false);
        qInfo("one streaming save: rewrite+reindex %.3f ms at 1k chars, %.3f ms at 20k; append %.3f ms at 1k, %.3f ms at 20k",
              rewrite1k, rewrite20k, append1k, append20k);
        QVERIFY2(append20k < append1k * 3 + 1.0, "an append must not grow with the answer's length");
    }

    void alternatives() {
        ChatStore store;
        VERIFY_OK(store.open(path("alt.db")));
        const int64_t c = *store.createConversation({}, {});
        const auto q = *store.addMessage(c, "user", "Name a colour");
        auto first = *store.addMessage(c, "assistant", QString(), "m", {}, "streaming");
        QVERIFY(store.appendMessageText(first.id, "Red").ok());
        QVERIFY(store.finishMessage(first.id, "").ok());
        first = store.messages(c)->at(1);
        // Regenerate: a second alternative of the same slot, shown in place of the first.
        auto second = store.addAlternative(first, "m", {});
        VERIFY_OK(second);
        QCOMPARE(second->altIndex, 1);
        QCOMPARE(second->altCount, 2);
        QVERIFY(store.appendMessageText(second->id, "Blue").ok());
        QVERIFY(store.finishMessage(second->id, "length").ok());
        auto msgs = *store.messages(c);
        QCOMPARE(int(msgs.size()), 2);
        QCOMPARE(msgs[1].content, QStringLiteral("Blue"));
        QCOMPARE(msgs[1].status, QStringLiteral("length"));
        QCOMPARE(msgs[1].altIndex, 1);
        QCOMPARE(msgs[1].altCount, 2);
        auto alts = *store.alternatives(second->id);
        QCOMPARE(int(alts.size()), 2);
        QCOMPARE(alts[0].content, QStringLiteral("Red"));
        QCOMPARE(alts[0].altIndex, 0);
        // Later turns follow whichever alternative is shown.
        const auto q2 = *store.addMessage(c, "user", "Another");
        QVERIFY(store.showAlternative(first.id).ok());
        msgs = *store.messages(c);
        QCOMPARE(int(msgs.size()), 3);
        QCOMPARE(msgs[1].content, QStringLiteral("Red"));
        QCOMPARE(msgs[1].altIndex, 0);
        QCOMPARE(msgs[1].altCount, 2);
        QCOMPARE(msgs[2].id, q2.id);
        // Dropping the shown alternative shows the newest one left.
        QVERIFY(store.deleteMessagesFrom(c, q2.id).ok());
        auto third = *store.addAlternative(store.messages(c)->at(1), "m", {});
        QCOMPARE(third.altIndex, 2);
        QVERIFY(store.deleteMessagesFrom(c, third.id).ok());
        msgs = *store.messages(c);
        QCOMPARE(int(msgs.size()), 2);
        QCOMPARE(msgs[1].content, QStringLiteral("Blue"));
        QCOMPARE(msgs[1].altCount, 2);
        // Edit-and-resend drops the question and every alternative after it.
        QVERIFY(store.deleteMessagesFrom(c, q.id).ok());
        QCOMPARE(int(store.messages(c)->size()), 0);
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM messages"), int64_t(0));
        VERIFY_OK(store.flush());
        // The export holds the shown alternative only.
        QVERIFY(store.addMessage(c, "user", "Q").ok());
        auto x = *store.addMessage(c, "assistant", "old");
        auto y = *store.addAlternative(x, "m", {});
        QVERIFY(store.appendMessageText(y.id, "new").ok());
        QVERIFY(store.finishMessage(y.id, "").ok());
        const QString md = *store.exportMarkdown(c);
        QVERIFY(md.contains("## Assistant\n\nnew"));
        QVERIFY(!md.contains("old"));
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

    // A conversation's adapters: written through the writer in order, read with the conversation
    // (and only with its own), replaced as a whole, deleted with it.
    void adaptersPerConversation() {
        ChatStore store;
        VERIFY_OK(store.open(path("adapters.db")));
        const int64_t a = *store.createConversation({}, {});
        const int64_t b = *store.createConversation({}, {});
        const std::vector<AdapterRecord> setA = {{"/lora/qv-r16.gguf", 1.0, true}, {QString::fromUtf8("/lora/中文 adapter"), 0.25, false}};
        const std::vector<AdapterRecord> setB = {{"/lora/mlp-r8.gguf", 1.75, true}};
        VERIFY_OK(store.setConversationAdapters(a, setA));
        VERIFY_OK(store.setConversationAdapters(b, setB));
        QCOMPARE(store.conversation(a)->adapters, setA);
        QCOMPARE(store.conversation(b)->adapters, setB);
        // Replaced as a whole (a shorter list leaves no stale positions behind); order is kept.
        const std::vector<AdapterRecord> reordered = {setA[1], setB[0]};
        VERIFY_OK(store.setConversationAdapters(a, reordered));
        QCOMPARE(store.conversation(a)->adapters, reordered);
        VERIFY_OK(store.setConversationAdapters(a, {setA[0]}));
        QCOMPARE(store.conversation(a)->adapters, std::vector<AdapterRecord>{setA[0]});
        // After a reopen.
        store.close();
        VERIFY_OK(store.open(path("adapters.db")));
        QCOMPARE(store.conversation(a)->adapters, std::vector<AdapterRecord>{setA[0]});
        QCOMPARE(store.conversation(b)->adapters, setB);
        // Deleting a conversation deletes its rows, and only its rows.
        VERIFY_OK(store.deleteConversation(a));
        VERIFY_OK(store.flush());
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM conversation_adapters"), int64_t(1));
        QCOMPARE(store.conversation(b)->adapters, setB);
        // A write for a conversation that does not exist is an error (foreign key), not a stray row.
        VERIFY_OK(store.setConversationAdapters(999, setB));
        QVERIFY(!store.flush().ok());
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM conversation_adapters"), int64_t(1));
    }

    // A conversation's documents (schema v7): added while indexing, their passages stored with exact vectors and
    // read back in order on another connection, a failure's reason kept, the switch kept, and all of
    // it gone with the conversation (ON DELETE CASCADE); a damaged vector is an error, not garbage;
    // passages that arrive for a document removed meanwhile are dropped without a failed write.
    void documentsAndPassages() {
        ChatStore store;
        VERIFY_OK(store.open(path("documents.db")));
        const int64_t conv = *store.createConversation("/m.gguf", "");
        DocumentStore docs(&store);
        DocumentRecord r;
        r.conversationId = conv;
        r.path = "/docs/policy.pdf";
        r.name = "policy.pdf";
        r.bytes = 2796;
        const DocumentRecord a = *docs.add(r);
        r.name = "scan.pdf";
        const DocumentRecord b = *docs.add(r);
        QVERIFY(b.id > a.id);
        QCOMPARE(a.state, QStringLiteral("indexing"));
        auto passages = std::make_shared<std::vector<StoredPassage>>();
        passages->push_back({1, "Refunds", "Customers may return a product within thirty days.", {0.6f, 0.8f, 0.0f}});
        passages->push_back({7, "", QString::fromUtf8("退货期限为三十天。"), {1.0f / 3, 2.0f / 3, 2.0f / 3}});
        VERIFY_OK(docs.setIndexed(a.id, passages, 1700000000123, "/models/minilm.gguf"));
        VERIFY_OK(docs.setFailed(b.id, "scan.pdf has no text layer"));
        VERIFY_OK(docs.setEnabled(a.id, false));
        auto list = *docs.documents(conv);
        QCOMPARE(int(list.size()), 2);
        QCOMPARE(list[0].state, QStringLiteral("ready"));
        QCOMPARE(list[0].passages, 2);
        QCOMPARE(list[0].modifiedAt, int64_t(1700000000123));
        QCOMPARE(list[0].embedModel, QStringLiteral("/models/minilm.gguf"));
        QVERIFY(!list[0].enabled);
        QCOMPARE(list[1].state, QStringLiteral("failed"));
        QCOMPARE(list[1].error, QStringLiteral("scan.pdf has no text layer"));
        VERIFY_OK(store.flush());
        SqliteDb other;  // as the indexer reads them: its own connection
        VERIFY_OK(other.open(path("documents.db")));
        auto back = DocumentStore::readPassages(other, a.id);
        VERIFY_OK(back.status());
        QCOMPARE(int(back->size()), 2);
        for (size_t i = 0; i < 2; ++i) {
            QCOMPARE((*back)[i].line, (*passages)[i].line);
            QCOMPARE((*back)[i].heading, (*passages)[i].heading);
            QCOMPARE((*back)[i].text, (*passages)[i].text);
            QVERIFY((*back)[i].vector == (*passages)[i].vector);  // bit for bit
        }
        VERIFY_OK(store.db().exec("UPDATE document_passages SET vector = x'0102' WHERE seq = 1"));
        auto damaged = DocumentStore::readPassages(other, a.id);
        QVERIFY(!damaged.ok());
        QVERIFY(damaged.message().find("damaged") != std::string::npos);
        other.close();
        // Indexed after it was removed (the indexer finished as the person clicked ×): nothing is
        // stored and no write fails.
        VERIFY_OK(docs.remove(b.id));
        VERIFY_OK(docs.setIndexed(b.id, passages, 0, "/models/minilm.gguf"));
        VERIFY_OK(store.flush());
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM document_passages"), int64_t(2));
        VERIFY_OK(store.deleteConversation(conv));
        VERIFY_OK(store.flush());
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM documents"), int64_t(0));
        QCOMPARE(*store.db().scalarInt("SELECT count(*) FROM document_passages"), int64_t(0));
    }

    // The image gallery (schema v6): rows written through the store's writer, newest first, every
    // setting as given (a seed above 2^63 survives SQLite's signed integers), ids after a reopen,
    // and removed.
    void imageGallery() {
        int64_t firstId = 0;
        {
            ChatStore store;
            VERIFY_OK(store.open(path("images.db")));
            ImageGallery g(&store);
            ImageRecord r;
            r.file = QStringLiteral("/data/images/a.png");
            r.prompt = QString::fromUtf8("雪地里的狐狸");
            r.negative = QStringLiteral("blurry");
            r.seed = 0xFFFFFFFFFFFFFFF0ull;
            r.width = 640;
            r.height = 384;
            r.steps = 25;
            r.guidance = 6.5;
            r.sampler = QStringLiteral("euler_a");
            r.model = QStringLiteral("/models/sd15");
            r.seconds = 12.25;
            r.createdAt = 1700000000000;
            auto a = g.add(r);
            VERIFY_OK(a);
            firstId = a->id;
            r.file = QStringLiteral("/data/images/b.png");
            r.createdAt = 1700000001000;
            auto b = g.add(r);
            VERIFY_OK(b);
            QCOMPARE(b->id, firstId + 1);
            auto rows = g.all();
            VERIFY_OK(rows);
            QCOMPARE(int(rows->size()), 2);
            QCOMPARE(rows->front().file, QStringLiteral("/data/images/b.png"));  // newest first
            const ImageRecord& back = rows->back();
            QCOMPARE(back.id, firstId);
            QCOMPARE(back.prompt, QString::fromUtf8("雪地里的狐狸"));
            QCOMPARE(back.negative, QStringLiteral("blurry"));
            QCOMPARE(back.seed, uint64_t(0xFFFFFFFFFFFFFFF0ull));
            QCOMPARE(back.width, 640);
            QCOMPARE(back.height, 384);
            QCOMPARE(back.steps, 25);
            QCOMPARE(back.guidance, 6.5);
            QCOMPARE(back.sampler, QStringLiteral("euler_a"));
            QCOMPARE(back.model, QStringLiteral("/models/sd15"));
            QCOMPARE(back.seconds, 12.25);
            QCOMPARE(back.createdAt, int64_t(1700000000000));
            VERIFY_OK(g.remove(firstId + 1));
        }
        ChatStore store;
        VERIFY_OK(store.open(path("images.db")));
        ImageGallery g(&store);
        auto rows = g.all();
        VERIFY_OK(rows);
        QCOMPARE(int(rows->size()), 1);
        ImageRecord r;
        r.file = QStringLiteral("/data/images/c.png");
        auto c = g.add(r);
        VERIFY_OK(c);
        QCOMPARE(c->id, firstId + 2);  // AUTOINCREMENT: a removed row's id is not handed out again
    }

    // The downloads queue (schema v5): rows written through the store's writer, read back in order,
    // updated and removed, and still there after a reopen (what a restart resumes from).
    void downloadQueue() {
        {
            ChatStore store;
            VERIFY_OK(store.open(path("downloads.db")));
            DownloadQueue q(&store);
            DownloadRecord r;
            r.label = QStringLiteral("Qwen2.5 1.5B Instruct · Q4_K_M");
            r.repo = QStringLiteral("Qwen/Qwen2.5-1.5B-Instruct-GGUF");
            r.endpoint = QStringLiteral("https://hf-mirror.com");
            r.destination = QStringLiteral("/models");
            r.files = QJsonArray{QJsonObject{{"path", "qwen-q4_k_m.gguf"}, {"size", 1000.0}, {"sha256", "ab"}, {"oid", ""}}};
            r.totalBytes = 1000;
            auto a = q.add(r);
            VERIFY_OK(a);
            r.label = QStringLiteral("second");
            auto b = q.add(r);
            VERIFY_OK(b);
            QCOMPARE(*b, *a + 1);
            VERIFY_OK(q.setBytes(*a, 400, 1000));
            VERIFY_OK(q.setState(*a, QStringLiteral("running")));
            VERIFY_OK(q.setState(*b, QStringLiteral("failed"), QStringLiteral("disk full")));
            // A state outside the CHECK constraint is refused by the database (reported by flush).
            VERIFY_OK(q.setState(*b, QStringLiteral("bogus")));
            QVERIFY(!store.flush().ok());
        }
        ChatStore store;
        VERIFY_OK(store.open(path("downloads.db")));
        DownloadQueue q(&store);
        auto rows = q.all();
        VERIFY_OK(rows);
        QCOMPARE(int(rows->size()), 2);
        const DownloadRecord& first = rows->at(0);
        QCOMPARE(first.state, QStringLiteral("running"));
        QCOMPARE(first.doneBytes, int64_t(400));
        QCOMPARE(first.endpoint, QStringLiteral("https://hf-mirror.com"));
        QCOMPARE(first.files.size(), qsizetype(1));
        QCOMPARE(first.files[0].toObject().value("path").toString(), QStringLiteral("qwen-q4_k_m.gguf"));
        QCOMPARE(rows->at(1).state, QStringLiteral("failed"));
        QCOMPARE(rows->at(1).error, QStringLiteral("disk full"));
        VERIFY_OK(q.remove(first.id));
        auto left = q.all();
        VERIFY_OK(left);
        QCOMPARE(int(left->size()), 1);
        // Ids are never reused after a removal (AUTOINCREMENT's sequence).
        auto c = q.add(rows->at(1));
        VERIFY_OK(c);
        QVERIFY(*c > rows->at(1).id);
    }

    void titles() {
        QCOMPARE(ChatStore::titleFrom("  hello\nworld "), QStringLiteral("hello"));
        const QString longText = QString(59, QLatin1Char('a')) + QString::fromUtf8("😀😀");
        const QString t = ChatStore::titleFrom(longText, 60);
        QVERIFY(!t.at(t.size() - 2).isHighSurrogate() || t.at(t.size() - 1).isLowSurrogate());
        QVERIFY(t.endsWith(QString::fromUtf8("…")));
        QVERIFY(!t.contains(QChar(0xFFFD)));
    }

    // A damaged database file (garbage, or a copy cut short): opening it is an error that says so,
    // and the file is left byte for byte as it was, for the person to recover or move away.
    void damagedFileIsRefusedAndLeftAlone() {
        const QString garbage = path("garbage.db");
        {
            QFile f(garbage);
            QVERIFY(f.open(QIODevice::WriteOnly));
            QByteArray b(8192, '\0');
            for (int i = 0; i < b.size(); ++i) b[i] = char((i * 131 + 7) & 0xff);
            f.write(b);
        }
        const QString cut = fixtureCopy(schema::kCurrentVersion - 1);
        QVERIFY(!cut.isEmpty());
        QVERIFY(QFile::resize(cut, QFileInfo(cut).size() / 2));
        for (const QString& file : {garbage, cut}) {
            QFile before(file);
            QVERIFY(before.open(QIODevice::ReadOnly));
            const QByteArray bytes = before.readAll();
            before.close();
            ChatStore store;
            const auto st = store.open(file);
            QVERIFY2(!st.ok(), qPrintable(file));
            QVERIFY(!store.isOpen());
            const QString why = QString::fromStdString(st.message());
            QVERIFY2(why.contains(file) && (why.contains("not a database") || why.contains("malformed")), qPrintable(why));
            QCOMPARE(store.openError(), why);
            QFile after(file);
            QVERIFY(after.open(QIODevice::ReadOnly));
            QVERIFY2(after.readAll() == bytes, "the damaged file was changed");
        }
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
