// DocumentStore: the documents attached to conversations and their passages, in the conversation
// database's `documents` and `document_passages` tables (schema v7). Writes go through the store's
// one writer thread and return at once (ids allocated here, as ChatStore does); the list of a
// conversation's documents is read on the caller's connection after the writes queued before it.
// The passages themselves (text and vectors, megabytes for a long document) are read only by the
// document indexer's thread, on a connection of its own (readPassages).
#pragma once

#include <QString>
#include <cstdint>
#include <memory>
#include <vector>

#include "app/store/records.h"
#include "engine/util/status.h"

namespace hearth::app {

class ChatStore;
class SqliteDb;

using PassageList = std::shared_ptr<const std::vector<StoredPassage>>;

class DocumentStore {
public:
    explicit DocumentStore(ChatStore* store) : store_(store) {}

    // A conversation's documents in the order they were attached.
    Result<std::vector<DocumentRecord>> documents(int64_t conversationId);
    // Queues the insert (state "indexing"); returns the record with its id and time.
    Result<DocumentRecord> add(DocumentRecord r);
    // The passages of an indexed document, replacing any it had, and its state "ready" (one
    // transaction); nothing when the document was removed meanwhile.
    Status setIndexed(int64_t id, const PassageList& passages, int64_t modifiedAt, const QString& embedModel);
    Status setFailed(int64_t id, const QString& error);
    Status setIndexing(int64_t id);
    Status setEnabled(int64_t id, bool enabled);
    Status remove(int64_t id);  // its passages go with it

    // On any connection to the database: the passages of document `id`, in order.
    static Result<std::vector<StoredPassage>> readPassages(SqliteDb& db, int64_t id);

private:
    ChatStore* store_;
    int64_t nextId_ = 0;  // 0: not read yet
};

}  // namespace hearth::app
