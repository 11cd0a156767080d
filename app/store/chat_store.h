// ChatStore: conversations and messages in SQLite (schema.h).
//
// Why it is built this way: the UI thread must never wait for a write, and the store is the only
// writer of its file. So every write is queued, in order, to one writer thread with its own
// connection (StoreWriter), and returns at once; the ids a write needs are allocated here, on the
// calling side, from counters read at open, so addMessage() can hand back the finished record
// before its INSERT has run. Reads run on the caller's own connection (WAL lets it read while the
// writer writes) after waiting for the writes queued before them, so a read always sees what the
// caller wrote; the controller reads only on user actions (open, search, export, alternatives),
// never while an answer streams, and what it waits for then is a few small, linear writes.
// Streaming saves append only the new text (message_chunks); the message's content and its FTS
// index are written once, when the answer ends (finishMessage). Every write commits by itself or
// in its own transaction, so a crash at any moment leaves the file consistent and loses at most
// the text streamed since the last save. A write that fails is reported to the error handler and
// by the next flush(). Call the methods from one thread (the one that opened the store).
#pragma once

#include <QString>
#include <functional>
#include <vector>

#include "app/store/records.h"
#include "app/store/sqlite_db.h"
#include "app/store/store_writer.h"

namespace hearth::app {

class ChatStore {
public:
    ChatStore() = default;
    ~ChatStore() { close(); }
    ChatStore(const ChatStore&) = delete;
    ChatStore& operator=(const ChatStore&) = delete;

    // Opens (creating or migrating) the database, marks answers a crash left "streaming" as
    // "interrupted" (their saved text kept), and starts the writer.
    Status open(const QString& path);
    // Runs the queued writes, then closes both connections.
    void close();
    bool isOpen() const { return read_.isOpen(); }
    // Why the last open() failed ("" when it did not): the path and SQLite's reason.
    QString openError() const { return openError_; }
    QString path() const { return path_; }  // the database file, as opened
    // The reading connection (tests inspect the file through it; call flush() first).
    SqliteDb& db() { return read_; }

    // Waits for every queued write; returns the first write error since the last flush.
    Status flush() { return writer_.flush(); }
    // Told (on the writer thread) about every write that failed; keep it short.
    void setWriteErrorHandler(std::function<void(const QString&)> handler);

    // ---- reads (wait for earlier writes first) ----
    // Conversations, newest (by updated_at) first.
    Result<std::vector<ConversationRecord>> conversations();
    // One conversation with its adapters.
    Result<ConversationRecord> conversation(int64_t id);
    // The shown messages of a conversation in order, each with its place among its alternatives;
    // an answer still streaming carries the text saved so far.
    Result<std::vector<MessageRecord>> messages(int64_t conversationId);
    // Every alternative of the slot of `messageId`, oldest first.
    Result<std::vector<MessageRecord>> alternatives(int64_t messageId);
    // Full-text search over message text (any substring; case-insensitive) and titles. Answers
    // still streaming are found once they end.
    Result<std::vector<SearchHit>> search(const QString& query, int limit = 50);
    // Exports of the shown messages (message text only, no database ids beyond the conversation's).
    Result<QString> exportMarkdown(int64_t conversationId);
    Result<QByteArray> exportJson(int64_t conversationId);

    // ---- writes (queued; return at once) ----
    Result<int64_t> createConversation(const QString& model, const QString& systemPrompt,
                                       const QJsonObject& settings = {});
    Status renameConversation(int64_t id, const QString& title);
    Status setConversationModel(int64_t id, const QString& model);
    Status setConversationSystemPrompt(int64_t id, const QString& systemPrompt);
    Status setConversationSettings(int64_t id, const QJsonObject& settings);
    // Replaces the conversation's adapter list (in one transaction).
    Status setConversationAdapters(int64_t id, const std::vector<AdapterRecord>& adapters);
    Status deleteConversation(int64_t id);  // its messages and adapters go with it (ON DELETE CASCADE)

    // Adding a message touches updated_at; the first user message names an untitled conversation.
    // status "streaming" starts an answer that appendMessageText() grows and finishMessage() ends.
    Result<MessageRecord> addMessage(int64_t conversationId, const QString& role, const QString& content,
                                     const QString& model = {}, const QJsonObject& genSettings = {},
                                     const QString& status = {});
    // Regenerate: a new streaming answer in the slot of `shown` (which it replaces on screen and in
    // the history; the earlier ones stay as alternatives).
    Result<MessageRecord> addAlternative(const MessageRecord& shown, const QString& model,
                                         const QJsonObject& genSettings);
    // The streaming save: appends `text` (the part not saved yet) to a streaming answer. Its cost
    // does not depend on how long the answer already is. `committed` runs on the writer thread once
    // the text is on disk.
    Status appendMessageText(int64_t messageId, const QString& text, std::function<void()> committed = {});
    // Ends a streaming answer: joins its saved text into content, indexes it for search, sets how
    // it ended ("" complete, "stopped", "length", "error", "interrupted") and its token count.
    Status finishMessage(int64_t messageId, const QString& status, int tokenCount = -1,
                         std::function<void()> committed = {});
    // Replaces the text of a finished message (and its index entry).
    Status updateMessageContent(int64_t messageId, const QString& content, int tokenCount = -1);
    Status setMessageGenSettings(int64_t messageId, const QJsonObject& genSettings);
    // A question answered from documents: the prompt the model is given and the passages in it.
    Status setMessagePrompt(int64_t messageId, const QString& prompt, const QJsonArray& sources);
    // Shows alternative `messageId` of its slot (and sends it as history) instead of the others.
    Status showAlternative(int64_t messageId);
    // Deletes the message and every later one of its conversation, alternatives included
    // (edit-and-resend; an answer that failed before any text). A slot left without its shown
    // alternative shows its newest remaining one.
    Status deleteMessagesFrom(int64_t conversationId, int64_t firstMessageId);
    // Marks messages with id < firstInContextId as out of the context window and the rest as in.
    Status setContextStart(int64_t conversationId, int64_t firstInContextId);

    // For the stores of the database's other tables (download_queue.h), which share this file and
    // its one writer: queue a write, and wait for the queued writes before a read of `db()`.
    Status postWrite(StoreWriter::Job job) { return post(std::move(job)); }
    void waitForQueuedWrites() { waitForWrites(); }

    // A title from a first message: one line, at most `maxChars` characters, never splitting a
    // surrogate pair.
    static QString titleFrom(const QString& text, int maxChars = 60);

private:
    Status post(StoreWriter::Job job);
    void waitForWrites() { writer_.waitIdle(); }
    Result<MessageRecord> insertMessage(MessageRecord m, int64_t slot, bool hideSlot);
    Result<std::vector<MessageRecord>> readMessages(Statement& s);

    SqliteDb read_;
    StoreWriter writer_;
    // Next free ids (AUTOINCREMENT never reuses one; the writer inserts them explicitly).
    int64_t nextConversationId_ = 1;
    int64_t nextMessageId_ = 1;
    QString openError_;
    QString path_;
};

}  // namespace hearth::app
