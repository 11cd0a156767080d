#include "app/store/document_store.h"

#include <QDateTime>
#include <cstring>

#include "app/store/chat_store.h"

namespace hearth::app {

namespace {

Status setState(ChatStore* store, int64_t id, const char* state, const QString& error) {
    return store->postWrite([id, state, error](SqliteDb& db) {
        auto s = db.prepare("UPDATE documents SET state = ?, error = ? WHERE id = ?");
        s.bind(1, QString::fromLatin1(state)).bind(2, error).bind(3, id);
        return s.exec();
    });
}

}  // namespace

Result<std::vector<DocumentRecord>> DocumentStore::documents(int64_t conversationId) {
    if (!store_->isOpen()) return make_error("the conversation database is not open");
    store_->waitForQueuedWrites();
    auto s = store_->db().prepare(
        "SELECT id, conversation_id, path, name, bytes, modified_at, embed_model, state, error, passages, enabled, added_at "
        "FROM documents WHERE conversation_id = ? ORDER BY id");
    s.bind(1, conversationId);
    std::vector<DocumentRecord> out;
    while (s.step()) {
        DocumentRecord r;
        r.id = s.int64(0);
        r.conversationId = s.int64(1);
        r.path = s.text(2);
        r.name = s.text(3);
        r.bytes = s.int64(4);
        r.modifiedAt = s.int64(5);
        r.embedModel = s.text(6);
        r.state = s.text(7);
        r.error = s.text(8);
        r.passages = s.integer(9);
        r.enabled = s.integer(10) != 0;
        r.addedAt = s.int64(11);
        out.push_back(std::move(r));
    }
    if (!s.ok()) return s.status();
    return out;
}

Result<DocumentRecord> DocumentStore::add(DocumentRecord r) {
    if (!store_->isOpen()) return make_error("the conversation database is not open");
    if (nextId_ == 0) {
        store_->waitForQueuedWrites();
        auto max = store_->db().scalarInt("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'documents'");
        HEARTH_RETURN_IF_ERROR(max);
        nextId_ = *max + 1;
    }
    r.id = nextId_++;
    r.state = QStringLiteral("indexing");
    if (r.addedAt == 0) r.addedAt = QDateTime::currentMSecsSinceEpoch();
    HEARTH_RETURN_IF_ERROR(store_->postWrite([r](SqliteDb& db) {
        auto s = db.prepare(
            "INSERT INTO documents(id, conversation_id, path, name, bytes, modified_at, embed_model, state, enabled, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'indexing', ?, ?)");
        s.bind(1, r.id).bind(2, r.conversationId).bind(3, r.path).bind(4, r.name).bind(5, r.bytes).bind(6, r.modifiedAt);
        s.bind(7, r.embedModel).bind(8, r.enabled ? 1 : 0).bind(9, r.addedAt);
        return s.exec();
    }));
    return r;
}

Status DocumentStore::setIndexed(int64_t id, const PassageList& passages, int64_t modifiedAt, const QString& embedModel) {
    return store_->postWrite([id, passages, modifiedAt, embedModel](SqliteDb& db) {
        Transaction tx(db);
        HEARTH_RETURN_IF_ERROR(tx.status());
        // Removed (or its conversation deleted) while it was being indexed: nothing to keep.
        auto exists = db.prepare("SELECT 1 FROM documents WHERE id = ?");
        exists.bind(1, id);
        if (!exists.step()) return exists.status();
        exists.reset();
        auto d = db.prepare("DELETE FROM document_passages WHERE document_id = ?");
        d.bind(1, id);
        HEARTH_RETURN_IF_ERROR(d.exec());
        auto ins = db.prepare("INSERT INTO document_passages(document_id, seq, line, heading, text, vector) VALUES (?, ?, ?, ?, ?, ?)");
        for (size_t i = 0; i < passages->size(); ++i) {
            const StoredPassage& p = (*passages)[i];
            // float32 in this machine's order, which is little-endian on every machine Hearth runs on.
            const QByteArray vec(reinterpret_cast<const char*>(p.vector.data()), qsizetype(p.vector.size() * sizeof(float)));
            ins.reset();
            ins.bind(1, id).bind(2, int64_t(i)).bind(3, p.line).bind(4, p.heading).bind(5, p.text).bindBlob(6, vec);
            HEARTH_RETURN_IF_ERROR(ins.exec());
        }
        auto u = db.prepare("UPDATE documents SET state = 'ready', error = '', passages = ?, modified_at = ?, embed_model = ? WHERE id = ?");
        u.bind(1, int64_t(passages->size())).bind(2, modifiedAt).bind(3, embedModel).bind(4, id);
        HEARTH_RETURN_IF_ERROR(u.exec());
        return tx.commit();
    });
}

Status DocumentStore::setFailed(int64_t id, const QString& error) { return setState(store_, id, "failed", error); }
Status DocumentStore::setIndexing(int64_t id) { return setState(store_, id, "indexing", QString()); }

Status DocumentStore::setEnabled(int64_t id, bool enabled) {
    return store_->postWrite([id, enabled](SqliteDb& db) {
        auto s = db.prepare("UPDATE documents SET enabled = ? WHERE id = ?");
        s.bind(1, enabled ? 1 : 0).bind(2, id);
        return s.exec();
    });
}

Status DocumentStore::remove(int64_t id) {
    return store_->postWrite([id](SqliteDb& db) {
        auto s = db.prepare("DELETE FROM documents WHERE id = ?");
        s.bind(1, id);
        return s.exec();
    });
}

Result<std::vector<StoredPassage>> DocumentStore::readPassages(SqliteDb& db, int64_t id) {
    auto s = db.prepare("SELECT line, heading, text, vector FROM document_passages WHERE document_id = ? ORDER BY seq");
    s.bind(1, id);
    std::vector<StoredPassage> out;
    while (s.step()) {
        StoredPassage p;
        p.line = s.integer(0);
        p.heading = s.text(1);
        p.text = s.text(2);
        const QByteArray v = s.blob(3);
        if (v.size() % qsizetype(sizeof(float)) != 0 || v.isEmpty())
            return make_error("document " + std::to_string(id) + ": a stored passage vector is damaged");
        p.vector.resize(size_t(v.size()) / sizeof(float));
        std::memcpy(p.vector.data(), v.constData(), size_t(v.size()));
        out.push_back(std::move(p));
    }
    if (!s.ok()) return s.status();
    return out;
}

}  // namespace hearth::app
