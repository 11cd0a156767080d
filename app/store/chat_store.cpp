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
    return m;
}

Status expectOneRow(SqliteDb& db, const char* what, int64_t id) {
    if (db.changes() == 0) return make_error(std::string(what) + " " + std::to_string(id) + " does not exist");
    return Status();
}

}  // namespace

Status ChatStore::open(const QString& path) {
    HEARTH_RETURN_IF_ERROR(db_.open(path));
    Status st = schema::prepareDatabase(db_);
    if (!st.ok()) {
        db_.close();
        return make_error(path.toStdString() + ": " + st.message());
    }
    return Status();
}

Result<std::vector<ConversationRecord>> ChatStore::conversations() {
    auto s = db_.prepare("SELECT id, title, created_at, updated_at, model, system_prompt, settings_json "
                         "FROM conversations ORDER BY updated_at DESC, id DESC");
    std::vector<ConversationRecord> out;
    while (s.step()) out.push_back(readConversation(s));
    if (!s.ok()) return s.status();
    return out;
}

Result<ConversationRecord> ChatStore::conversation(int64_t id) {
    auto s = db_.prepare("SELECT id, title, created_at, updated_at, model, system_prompt, settings_json "
                         "FROM conversations WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return s.ok() ? make_error("conversation " + std::to_string(id) + " does not exist") : s.status();
    return readConversation(s);
}

Result<int64_t> ChatStore::createConversation(const QString& model, const QString& systemPrompt,
                                              const QJsonObject& settings) {
    const int64_t t = nowMs();
    auto s = db_.prepare("INSERT INTO conversations(title, created_at, updated_at, model, system_prompt, settings_json) "
                         "VALUES ('', ?, ?, ?, ?, ?)");
    s.bind(1, t).bind(2, t).bind(3, model).bind(4, systemPrompt).bind(5, toJson(settings));
    HEARTH_RETURN_IF_ERROR(s.exec());
    return db_.lastInsertId();
}

Status ChatStore::renameConversation(int64_t id, const QString& title) {
    auto s = db_.prepare("UPDATE conversations SET title = ? WHERE id = ?");
    s.bind(1, title.trimmed()).bind(2, id);
    HEARTH_RETURN_IF_ERROR(s.exec());
    return expectOneRow(db_, "conversation", id);
}

Status ChatStore::setConversationModel(int64_t id, const QString& model) {
    auto s = db_.prepare("UPDATE conversations SET model = ? WHERE id = ?");
    s.bind(1, model).bind(2, id);
    HEARTH_RETURN_IF_ERROR(s.exec());
    return expectOneRow(db_, "conversation", id);
}

Status ChatStore::setConversationSystemPrompt(int64_t id, const QString& systemPrompt) {
    auto s = db_.prepare("UPDATE conversations SET system_prompt = ? WHERE id = ?");
    s.bind(1, systemPrompt).bind(2, id);
    HEARTH_RETURN_IF_ERROR(s.exec());
    return expectOneRow(db_, "conversation", id);
}

Status ChatStore::setConversationSettings(int64_t id, const QJsonObject& settings) {
    auto s = db_.prepare("UPDATE conversations SET settings_json = ? WHERE id = ?");
    s.bind(1, toJson(settings)).bind(2, id);
    HEARTH_RETURN_IF_ERROR(s.exec());
    return expectOneRow(db_, "conversation", id);
}

Status ChatStore::deleteConversation(int64_t id) {
    auto s = db_.prepare("DELETE FROM conversations WHERE id = ?");
    s.bind(1, id);
    HEARTH_RETURN_IF_ERROR(s.exec());
    return expectOneRow(db_, "conversation", id);
}

Result<std::vector<MessageRecord>> ChatStore::messages(int64_t conversationId) {
    auto s = db_.prepare("SELECT id, conversation_id, role, content, created_at, token_count, model, "
                         "gen_settings_json, in_context FROM messages WHERE conversation_id = ? ORDER BY id");
    s.bind(1, conversationId);
    std::vector<MessageRecord> out;
    while (s.step()) out.push_back(readMessage(s));
    if (!s.ok()) return s.status();
    return out;
}

Status ChatStore::touch(int64_t conversationId) {
    auto s = db_.prepare("UPDATE conversations SET updated_at = ? WHERE id = ?");
    s.bind(1, nowMs()).bind(2, conversationId);
    return s.exec();
}

Result<MessageRecord> ChatStore::addMessage(int64_t conversationId, const QString& role, const QString& content,
                                            const QString& model, const QJsonObject& genSettings) {
    Transaction tx(db_);
    HEARTH_RETURN_IF_ERROR(tx.status());
    MessageRecord m;
    m.conversationId = conversationId;
    m.role = role;
    m.content = content;
    m.createdAt = nowMs();
    m.model = model;
    m.genSettings = genSettings;
    auto s = db_.prepare("INSERT INTO messages(conversation_id, role, content, created_at, token_count, model, "
                         "gen_settings_json, in_context) VALUES (?, ?, ?, ?, 0, ?, ?, 1)");
    s.bind(1, conversationId).bind(2, role).bind(3, content).bind(4, m.createdAt).bind(5, model).bind(6, toJson(genSettings));
    HEARTH_RETURN_IF_ERROR(s.exec());
    m.id = db_.lastInsertId();
    HEARTH_RETURN_IF_ERROR(touch(conversationId));
    if (role == QLatin1String("user")) {
        auto t = db_.prepare("UPDATE conversations SET title = ? WHERE id = ? AND title = ''");
        t.bind(1, titleFrom(content)).bind(2, conversationId);
        HEARTH_RETURN_IF_ERROR(t.exec());
    }
    HEARTH_RETURN_IF_ERROR(tx.commit());
    return m;
}

Status ChatStore::updateMessageContent(int64_t messageId, const QString& content, int tokenCount) {
    auto s = db_.prepare("UPDATE messages SET content = ?, token_count = CASE WHEN ? >= 0 THEN ? ELSE token_count END "
                         "WHERE id = ?");
    s.bind(1, content).bind(2, tokenCount).bind(3, tokenCount).bind(4, messageId);
    HEARTH_RETURN_IF_ERROR(s.exec());
    return expectOneRow(db_, "message", messageId);
}

Status ChatStore::setMessageGenSettings(int64_t messageId, const QJsonObject& genSettings) {
    auto s = db_.prepare("UPDATE messages SET gen_settings_json = ? WHERE id = ?");
    s.bind(1, toJson(genSettings)).bind(2, messageId);
    HEARTH_RETURN_IF_ERROR(s.exec());
    return expectOneRow(db_, "message", messageId);
}

Status ChatStore::deleteMessagesFrom(int64_t conversationId, int64_t firstMessageId) {
    Transaction tx(db_);
    HEARTH_RETURN_IF_ERROR(tx.status());
    auto s = db_.prepare("DELETE FROM messages WHERE conversation_id = ? AND id >= ?");
    s.bind(1, conversationId).bind(2, firstMessageId);
    HEARTH_RETURN_IF_ERROR(s.exec());
    HEARTH_RETURN_IF_ERROR(touch(conversationId));
    return tx.commit();
}

Status ChatStore::setContextStart(int64_t conversationId, int64_t firstInContextId) {
    // System messages always stay in the window; only the turns after them slide out.
    auto s = db_.prepare("UPDATE messages SET in_context = (id >= ? OR role = 'system') WHERE conversation_id = ? "
                         "AND in_context != (id >= ? OR role = 'system')");
    s.bind(1, firstInContextId).bind(2, conversationId).bind(3, firstInContextId);
    return s.exec();
}

QString ChatStore::titleFrom(const QString& text, int maxChars) {
    QString line = text.trimmed().section(QLatin1Char('\n'), 0, 0).simplified();
    if (line.size() <= maxChars) return line;
    int cut = maxChars;
    if (cut > 0 && line.at(cut - 1).isHighSurrogate()) --cut;  // keep the pair whole
    return line.left(cut).trimmed() + QStringLiteral("…");
}

}  // namespace hearth::app
