#include "app/store/chat_store.h"

#include <QDateTime>
#include <QJsonDocument>

#include "app/store/schema.h"

namespace hearth::app {

namespace {

int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

QString toJson(const QJsonObject& o) { return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)); }

QJsonObject fromJson(const QString& s) {
    const QJsonDocument d = QJsonDocument::fromJson(s.toUtf8());
    return d.isObject() ? d.object() : QJsonObject();
}

ConversationRecord readConversation(const Statement& s) {
    ConversationRecord c;
    c.id = s.int64(0);
    c.title = s.text(1);
    c.createdAt = s.int64(2);
    c.updatedAt = s.int64(3);
    c.model = s.text(4);
    c.systemPrompt = s.text(5);
    c.settings = fromJson(s.text(6));
    return c;
}

// Columns 0-11, 14 and 15 of MESSAGES_WITH_ALTERNATIVES below.
MessageRecord readMessage(const Statement& s) {
    MessageRecord m;
    m.id = s.int64(0);
    m.conversationId = s.int64(1);
    m.role = s.text(2);
    m.content = s.text(3);
    m.createdAt = s.int64(4);
    m.tokenCount = s.integer(5);
    m.model = s.text(6);
    m.genSettings = fromJson(s.text(7));
    m.inContext = s.integer(8) != 0;
    m.status = s.text(9);
    m.altIndex = s.integer(10);
    m.altCount = s.integer(11);
    m.prompt = s.text(14);
    m.sources = QJsonDocument::fromJson(s.text(15).toUtf8()).array();
    return m;
}

// Every message of one conversation with its place in its slot (alt_index, alt_count); callers
// add a WHERE over the derived table.
#define MESSAGES_WITH_ALTERNATIVES                                                                         \
    "SELECT id, conversation_id, role, content, created_at, token_count, model, gen_settings_json, "      \
    "in_context, status, alt_index, alt_count, slot, shown, prompt, sources_json FROM (SELECT *, "        \
    "row_number() OVER (PARTITION BY slot ORDER BY id) - 1 AS alt_index, "                                \
    "count(*) OVER (PARTITION BY slot) AS alt_count FROM messages WHERE conversation_id = ?1) "

const char* const kConversationColumns =
    "SELECT id, title, created_at, updated_at, model, system_prompt, settings_json FROM conversations ";

Status expectOneRow(SqliteDb& db, const char* what, int64_t id) {
    if (db.changes() == 0) return make_error(std::string(what) + " " + std::to_string(id) + " does not exist");
    return Status();
}

// The text a streaming answer has saved so far, in order (joined here, not by group_concat, whose
// order SQLite does not promise).
Result<QString> savedChunks(SqliteDb& db, int64_t messageId) {
    auto s = db.prepare("SELECT text FROM message_chunks WHERE message_id = ? ORDER BY seq");
    s.bind(1, messageId);
    QString text;
    while (s.step()) text += s.text(0);
    if (!s.ok()) return s.status();
    return text;
}

Status finishOn(SqliteDb& db, int64_t messageId, const QString& status, int tokenCount) {
    Transaction tx(db);
    HEARTH_RETURN_IF_ERROR(tx.status());
    auto text = savedChunks(db, messageId);
    HEARTH_RETURN_IF_ERROR(text);
    auto s = db.prepare("UPDATE messages SET content = content || ?, status = ?, "
                        "token_count = CASE WHEN ? >= 0 THEN ? ELSE token_count END WHERE id = ?");
    s.bind(1, *text).bind(2, status).bind(3, tokenCount).bind(4, tokenCount).bind(5, messageId);
    HEARTH_RETURN_IF_ERROR(s.exec());
    HEARTH_RETURN_IF_ERROR(expectOneRow(db, "message", messageId));
    auto d = db.prepare("DELETE FROM message_chunks WHERE message_id = ?");
    d.bind(1, messageId);
    HEARTH_RETURN_IF_ERROR(d.exec());
    return tx.commit();
}

Status touchOn(SqliteDb& db, int64_t conversationId, int64_t when) {
    auto s = db.prepare("UPDATE conversations SET updated_at = ? WHERE id = ?");
    s.bind(1, when).bind(2, conversationId);
    return s.exec();
}

// The answers a killed app left streaming end as "interrupted", keeping the text they saved.
Status recoverInterrupted(SqliteDb& db) {
    std::vector<int64_t> ids;
    {
        auto s = db.prepare("SELECT id FROM messages WHERE status = 'streaming'");
        while (s.step()) ids.push_back(s.int64(0));
        HEARTH_RETURN_IF_ERROR(s.status());
    }
    for (int64_t id : ids) HEARTH_RETURN_IF_ERROR(finishOn(db, id, QStringLiteral("interrupted"), -1));
    return Status();
}

Result<int64_t> nextId(SqliteDb& db, const char* table) {
    const std::string sql = std::string("SELECT max(coalesce((SELECT max(id) FROM ") + table +
                            "), 0), coalesce((SELECT seq FROM sqlite_sequence WHERE name = '" + table + "'), 0)) + 1";
    return db.scalarInt(sql.c_str());
}

}  // namespace

Status ChatStore::open(const QString& path) {
    close();
    openError_.clear();
    path_ = path;
    SqliteDb& w = writer_.db();
    Status st = w.open(path);
    if (st.ok()) st = schema::prepareDatabase(w);
    if (st.ok()) st = recoverInterrupted(w);
    if (st.ok()) st = read_.open(path);
    if (st.ok()) st = schema::setPragmas(read_);
    Result<int64_t> conv = st.ok() ? nextId(w, "conversations") : Result<int64_t>(st);
    Result<int64_t> msg = conv.ok() ? nextId(w, "messages") : Result<int64_t>(conv.status());
    if (!msg.ok()) {
        read_.close();
        writer_.stop();
        w.close();
        const Status failed = make_error(path.toStdString() + ": " + msg.message());
        openError_ = QString::fromStdString(failed.message());
        return failed;
    }
    nextConversationId_ = *conv;
    nextMessageId_ = *msg;
    writer_.start();
    return Status();
}

void ChatStore::close() {
    writer_.stop();
    read_.close();
}

void ChatStore::setWriteErrorHandler(std::function<void(const QString&)> handler) {
    if (!handler) return writer_.setErrorHandler(nullptr);
    writer_.setErrorHandler([h = std::move(handler)](const Status& st) { h(QString::fromStdString(st.message())); });
}

Status ChatStore::post(StoreWriter::Job job) {
    if (!writer_.running()) return make_error("the conversation database is not open");
    writer_.post(std::move(job));
    return Status();
}

// ---- reads ------------------------------------------------------------------------------------

Result<std::vector<ConversationRecord>> ChatStore::conversations() {
    waitForWrites();
    auto s = read_.prepare((std::string(kConversationColumns) + "ORDER BY updated_at DESC, id DESC").c_str());
    std::vector<ConversationRecord> out;
    while (s.step()) out.push_back(readConversation(s));
    if (!s.ok()) return s.status();
    return out;
}

Result<ConversationRecord> ChatStore::conversation(int64_t id) {
    waitForWrites();
    auto s = read_.prepare((std::string(kConversationColumns) + "WHERE id = ?").c_str());
    s.bind(1, id);
    if (!s.step()) return s.ok() ? make_error("conversation " + std::to_string(id) + " does not exist") : s.status();
    ConversationRecord c = readConversation(s);
    auto a = read_.prepare("SELECT path, scale, enabled FROM conversation_adapters WHERE conversation_id = ? ORDER BY position");
    a.bind(1, id);
    while (a.step()) c.adapters.push_back({a.text(0), a.real(1), a.integer(2) != 0});
    if (!a.ok()) return a.status();
    return c;
}

// The rows of a MESSAGES_WITH_ALTERNATIVES query; an answer still being written (or left so by a
// kill) is read with the chunks its streaming saves appended.
Result<std::vector<MessageRecord>> ChatStore::readMessages(Statement& s) {
    std::vector<MessageRecord> out;
    while (s.step()) out.push_back(readMessage(s));
    if (!s.ok()) return s.status();
    for (MessageRecord& m : out) {
        if (m.status != QLatin1String("streaming")) continue;
        auto text = savedChunks(read_, m.id);
        HEARTH_RETURN_IF_ERROR(text);
        m.content += *text;
    }
    return out;
}

Result<std::vector<MessageRecord>> ChatStore::messages(int64_t conversationId) {
    waitForWrites();
    auto s = read_.prepare(MESSAGES_WITH_ALTERNATIVES "WHERE shown = 1 ORDER BY slot");
    s.bind(1, conversationId);
    return readMessages(s);
}

Result<std::vector<MessageRecord>> ChatStore::alternatives(int64_t messageId) {
    waitForWrites();
    auto s = read_.prepare(MESSAGES_WITH_ALTERNATIVES
                           "WHERE slot = (SELECT slot FROM messages WHERE id = ?2) ORDER BY id");
    // ?1 (the conversation) is looked up from the message so the window covers only its slot's peers.
    auto c = read_.prepare("SELECT conversation_id FROM messages WHERE id = ?");
    c.bind(1, messageId);
    if (!c.step()) return c.ok() ? make_error("message " + std::to_string(messageId) + " does not exist") : c.status();
    s.bind(1, c.int64(0)).bind(2, messageId);
    return readMessages(s);
}

// ---- writes -----------------------------------------------------------------------------------

Result<int64_t> ChatStore::createConversation(const QString& model, const QString& systemPrompt,
                                              const QJsonObject& settings) {
    const int64_t id = nextConversationId_;
    const int64_t t = nowMs();
    HEARTH_RETURN_IF_ERROR(post([=, settings = toJson(settings)](SqliteDb& db) {
        auto s = db.prepare("INSERT INTO conversations(id, title, created_at, updated_at, model, system_prompt, "
                            "settings_json) VALUES (?, '', ?, ?, ?, ?, ?)");
        s.bind(1, id).bind(2, t).bind(3, t).bind(4, model).bind(5, systemPrompt).bind(6, settings);
        return s.exec();
    }));
    ++nextConversationId_;
    return id;
}

namespace {
// One UPDATE of one conversation column, checked to have found its row.
Status updateConversationColumn(SqliteDb& db, const char* sql, int64_t id, const QString& value) {
    auto s = db.prepare(sql);
    s.bind(1, value).bind(2, id);
    HEARTH_RETURN_IF_ERROR(s.exec());
    return expectOneRow(db, "conversation", id);
}
}  // namespace

Status ChatStore::renameConversation(int64_t id, const QString& title) {
    return post([id, title = title.trimmed()](SqliteDb& db) {
        return updateConversationColumn(db, "UPDATE conversations SET title = ? WHERE id = ?", id, title);
    });
}

Status ChatStore::setConversationModel(int64_t id, const QString& model) {
    return post([id, model](SqliteDb& db) {
        return updateConversationColumn(db, "UPDATE conversations SET model = ? WHERE id = ?", id, model);
    });
}

Status ChatStore::setConversationSystemPrompt(int64_t id, const QString& systemPrompt) {
    return post([id, systemPrompt](SqliteDb& db) {
        return updateConversationColumn(db, "UPDATE conversations SET system_prompt = ? WHERE id = ?", id, systemPrompt);
    });
}

Status ChatStore::setConversationSettings(int64_t id, const QJsonObject& settings) {
    return post([id, json = toJson(settings)](SqliteDb& db) {
        return updateConversationColumn(db, "UPDATE conversations SET settings_json = ? WHERE id = ?", id, json);
    });
}

Status ChatStore::setConversationAdapters(int64_t id, const std::vector<AdapterRecord>& adapters) {
    return post([id, adapters](SqliteDb& db) {
        Transaction tx(db);
        HEARTH_RETURN_IF_ERROR(tx.status());
        auto d = db.prepare("DELETE FROM conversation_adapters WHERE conversation_id = ?");
        d.bind(1, id);
        HEARTH_RETURN_IF_ERROR(d.exec());
        for (size_t i = 0; i < adapters.size(); ++i) {
            auto s = db.prepare("INSERT INTO conversation_adapters(conversation_id, position, path, scale, enabled) "
                                "VALUES (?, ?, ?, ?, ?)");
            s.bind(1, id).bind(2, int64_t(i)).bind(3, adapters[i].path).bind(4, adapters[i].scale);
            s.bind(5, adapters[i].enabled ? 1 : 0);
            HEARTH_RETURN_IF_ERROR(s.exec());
        }
        return tx.commit();
    });
}

Status ChatStore::deleteConversation(int64_t id) {
    return post([id](SqliteDb& db) {
        auto s = db.prepare("DELETE FROM conversations WHERE id = ?");
        s.bind(1, id);
        HEARTH_RETURN_IF_ERROR(s.exec());
        return expectOneRow(db, "conversation", id);
    });
}

Result<MessageRecord> ChatStore::insertMessage(MessageRecord m, int64_t slot, bool hideSlot) {
    m.id = nextMessageId_;
    m.createdAt = nowMs();
    if (slot == 0) slot = m.id;
    HEARTH_RETURN_IF_ERROR(post([m, slot, hideSlot](SqliteDb& db) {
        Transaction tx(db);
        HEARTH_RETURN_IF_ERROR(tx.status());
        if (hideSlot) {
            auto h = db.prepare("UPDATE messages SET shown = 0 WHERE conversation_id = ? AND slot = ?");
            h.bind(1, m.conversationId).bind(2, slot);
            HEARTH_RETURN_IF_ERROR(h.exec());
        }
        auto s = db.prepare("INSERT INTO messages(id, conversation_id, role, content, created_at, token_count, model, "
                            "gen_settings_json, in_context, status, slot, shown) VALUES (?, ?, ?, ?, ?, 0, ?, ?, 1, ?, ?, 1)");
        s.bind(1, m.id).bind(2, m.conversationId).bind(3, m.role).bind(4, m.content).bind(5, m.createdAt);
        s.bind(6, m.model).bind(7, toJson(m.genSettings)).bind(8, m.status).bind(9, slot);
        HEARTH_RETURN_IF_ERROR(s.exec());
        HEARTH_RETURN_IF_ERROR(touchOn(db, m.conversationId, m.createdAt));
        if (m.role == QLatin1String("user")) {
            auto t = db.prepare("UPDATE conversations SET title = ? WHERE id = ? AND title = ''");
            t.bind(1, titleFrom(m.content)).bind(2, m.conversationId);
            HEARTH_RETURN_IF_ERROR(t.exec());
        }
        return tx.commit();
    }));
    ++nextMessageId_;
    return m;
}

Result<MessageRecord> ChatStore::addMessage(int64_t conversationId, const QString& role, const QString& content,
                                            const QString& model, const QJsonObject& genSettings, const QString& status) {
    MessageRecord m;
    m.conversationId = conversationId;
    m.role = role;
    m.content = content;
    m.model = model;
    m.genSettings = genSettings;
    m.status = status;
    return insertMessage(std::move(m), 0, false);
}

Result<MessageRecord> ChatStore::addAlternative(const MessageRecord& shown, const QString& model,
                                                const QJsonObject& genSettings) {
    // The slot is the id of its first alternative: the shown one's peers all share it.
    waitForWrites();
    auto s = read_.prepare("SELECT slot FROM messages WHERE id = ?");
    s.bind(1, shown.id);
    if (!s.step()) return s.ok() ? make_error("message " + std::to_string(shown.id) + " does not exist") : s.status();
    const int64_t slot = s.int64(0);
    MessageRecord m;
    m.conversationId = shown.conversationId;
    m.role = shown.role;
    m.model = model;
    m.genSettings = genSettings;
    m.status = QStringLiteral("streaming");
    m.inContext = shown.inContext;
    m.altIndex = shown.altCount;
    m.altCount = shown.altCount + 1;
    return insertMessage(std::move(m), slot, true);
}

Status ChatStore::appendMessageText(int64_t messageId, const QString& text, std::function<void()> committed) {
    return post([messageId, text, committed = std::move(committed)](SqliteDb& db) {
        if (!text.isEmpty()) {
            auto s = db.prepare("INSERT INTO message_chunks(message_id, seq, text) VALUES "
                                "(?1, coalesce((SELECT max(seq) FROM message_chunks WHERE message_id = ?1), 0) + 1, ?2)");
            s.bind(1, messageId).bind(2, text);
            HEARTH_RETURN_IF_ERROR(s.exec());
        }
        if (committed) committed();
        return Status();
    });
}

Status ChatStore::finishMessage(int64_t messageId, const QString& status, int tokenCount,
                                std::function<void()> committed) {
    return post([=, committed = std::move(committed)](SqliteDb& db) {
        HEARTH_RETURN_IF_ERROR(finishOn(db, messageId, status, tokenCount));
        if (committed) committed();
        return Status();
    });
}

Status ChatStore::updateMessageContent(int64_t messageId, const QString& content, int tokenCount) {
    return post([=](SqliteDb& db) {
        Transaction tx(db);
        HEARTH_RETURN_IF_ERROR(tx.status());
        auto d = db.prepare("DELETE FROM message_chunks WHERE message_id = ?");
        d.bind(1, messageId);
        HEARTH_RETURN_IF_ERROR(d.exec());
        auto s = db.prepare("UPDATE messages SET content = ?, token_count = CASE WHEN ? >= 0 THEN ? ELSE token_count END "
                            "WHERE id = ?");
        s.bind(1, content).bind(2, tokenCount).bind(3, tokenCount).bind(4, messageId);
        HEARTH_RETURN_IF_ERROR(s.exec());
        HEARTH_RETURN_IF_ERROR(expectOneRow(db, "message", messageId));
        return tx.commit();
    });
}

Status ChatStore::setMessagePrompt(int64_t messageId, const QString& prompt, const QJsonArray& sources) {
    return post([messageId, prompt, json = QString::fromUtf8(QJsonDocument(sources).toJson(QJsonDocument::Compact))](SqliteDb& db) {
        auto s = db.prepare("UPDATE messages SET prompt = ?, sources_json = ? WHERE id = ?");
        s.bind(1, prompt).bind(2, json).bind(3, messageId);
        HEARTH_RETURN_IF_ERROR(s.exec());
        return expectOneRow(db, "message", messageId);
    });
}

Status ChatStore::setMessageGenSettings(int64_t messageId, const QJsonObject& genSettings) {
    return post([messageId, json = toJson(genSettings)](SqliteDb& db) {
        auto s = db.prepare("UPDATE messages SET gen_settings_json = ? WHERE id = ?");
        s.bind(1, json).bind(2, messageId);
        HEARTH_RETURN_IF_ERROR(s.exec());
        return expectOneRow(db, "message", messageId);
    });
}

Status ChatStore::showAlternative(int64_t messageId) {
    return post([messageId](SqliteDb& db) {
        auto s = db.prepare("UPDATE messages SET shown = (id = ?1) WHERE "
                            "conversation_id = (SELECT conversation_id FROM messages WHERE id = ?1) AND "
                            "slot = (SELECT slot FROM messages WHERE id = ?1)");
        s.bind(1, messageId);
        HEARTH_RETURN_IF_ERROR(s.exec());
        return expectOneRow(db, "message", messageId);
    });
}

Status ChatStore::deleteMessagesFrom(int64_t conversationId, int64_t firstMessageId) {
    return post([=](SqliteDb& db) {
        Transaction tx(db);
        HEARTH_RETURN_IF_ERROR(tx.status());
        auto s = db.prepare("DELETE FROM messages WHERE conversation_id = ? AND id >= ?");
        s.bind(1, conversationId).bind(2, firstMessageId);
        HEARTH_RETURN_IF_ERROR(s.exec());
        auto r = db.prepare("UPDATE messages SET shown = 1 WHERE id IN (SELECT max(id) FROM messages WHERE "
                            "conversation_id = ? GROUP BY slot HAVING max(shown) = 0)");
        r.bind(1, conversationId);
        HEARTH_RETURN_IF_ERROR(r.exec());
        HEARTH_RETURN_IF_ERROR(touchOn(db, conversationId, nowMs()));
        return tx.commit();
    });
}

Status ChatStore::setContextStart(int64_t conversationId, int64_t firstInContextId) {
    // System messages always stay in the window; only the turns after them slide out.
    return post([=](SqliteDb& db) {
        auto s = db.prepare("UPDATE messages SET in_context = (id >= ? OR role = 'system') WHERE conversation_id = ? "
                            "AND in_context != (id >= ? OR role = 'system')");
        s.bind(1, firstInContextId).bind(2, conversationId).bind(3, firstInContextId);
        return s.exec();
    });
}

QString ChatStore::titleFrom(const QString& text, int maxChars) {
    QString line = text.trimmed().section(QLatin1Char('\n'), 0, 0).simplified();
    if (line.size() <= maxChars) return line;
    int cut = maxChars;
    if (cut > 0 && line.at(cut - 1).isHighSurrogate()) --cut;  // keep the pair whole
    return line.left(cut).trimmed() + QStringLiteral("…");
}

}  // namespace hearth::app
