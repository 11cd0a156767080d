// ChatStore: conversations and messages in SQLite (schema.h). Used from the main thread only; every
// write is its own committed transaction, so a crash at any moment leaves the file consistent and
// loses at most the text streamed since the last save.
#pragma once

#include <QString>
#include <vector>

#include "app/store/records.h"
#include "app/store/sqlite_db.h"

namespace hearth::app {

class ChatStore {
public:
    Status open(const QString& path);
    bool isOpen() const { return db_.isOpen(); }
    SqliteDb& db() { return db_; }

    // Conversations, newest (by updated_at) first.
    Result<std::vector<ConversationRecord>> conversations();
    Result<ConversationRecord> conversation(int64_t id);
    Result<int64_t> createConversation(const QString& model, const QString& systemPrompt,
                                       const QJsonObject& settings = {});
    Status renameConversation(int64_t id, const QString& title);
    Status setConversationModel(int64_t id, const QString& model);
    Status setConversationSystemPrompt(int64_t id, const QString& systemPrompt);
    Status setConversationSettings(int64_t id, const QJsonObject& settings);
    Status deleteConversation(int64_t id);  // its messages go with it (ON DELETE CASCADE)

    // Messages of a conversation in order. Adding a message touches updated_at; the first user
    // message names an untitled conversation.
    Result<std::vector<MessageRecord>> messages(int64_t conversationId);
    Result<MessageRecord> addMessage(int64_t conversationId, const QString& role, const QString& content,
                                     const QString& model = {}, const QJsonObject& genSettings = {});
    // The streaming save: replaces the text (and token count) of a message being generated.
    Status updateMessageContent(int64_t messageId, const QString& content, int tokenCount = -1);
    Status setMessageGenSettings(int64_t messageId, const QJsonObject& genSettings);
    // Deletes the message and every later one of its conversation (edit-and-resend, regenerate).
    Status deleteMessagesFrom(int64_t conversationId, int64_t firstMessageId);
    // Marks messages with id < firstInContextId as out of the context window and the rest as in.
    Status setContextStart(int64_t conversationId, int64_t firstInContextId);

    // Full-text search over message text (any substring; case-insensitive) and titles.
    Result<std::vector<SearchHit>> search(const QString& query, int limit = 50);

    // Exports (message text only, no database ids beyond the conversation's).
    Result<QString> exportMarkdown(int64_t conversationId);
    Result<QByteArray> exportJson(int64_t conversationId);

    // A title from a first message: one line, at most `maxChars` characters, never splitting a
    // surrogate pair.
    static QString titleFrom(const QString& text, int maxChars = 60);

private:
    Status touch(int64_t conversationId);
    SqliteDb db_;
};

}  // namespace hearth::app
