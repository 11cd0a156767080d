// DocumentIndexer: the chat's Documents on a thread of their own (never the UI's, and not the
// inference worker's, so a long document indexes while the model answers). It reads a file, cuts
// it into passages, embeds them with a BERT-family embedding model (engine/docs), and later finds
// the passages for a question among a conversation's documents, by meaning and by the question's
// words (engine/docs/passage_search).
//
// It keeps the passages of every document it indexed or searched in memory (a person's documents
// are thousands of passages: megabytes), reading those it does not have from the database on a
// connection of its own; the main thread writes what it indexes (DocumentStore::setIndexed), so the
// store stays the database's only writer. One embedding model is open at a time; documents indexed
// by another model are searched with that model's own query vector.
#pragma once

#include <QHash>
#include <QJsonArray>
#include <QObject>
#include <QSet>
#include <QString>
#include <QVariantList>
#include <memory>
#include <mutex>

#include "app/store/document_store.h"
#include "app/store/sqlite_db.h"
#include "engine/embed/text_embedder.h"

namespace hearth::app {

struct EmbedderChoice {
    QString model;        // the .gguf path
    QString device = QStringLiteral("auto");  // the settings' device key
    int threads = 0;
};

class DocumentIndexer : public QObject {
    Q_OBJECT
public:
    explicit DocumentIndexer(const QString& databasePath);
    ~DocumentIndexer() override;

    // Thread-safe: the indexing of `documentId` stops at its next group of passages.
    void requestCancel(qint64 documentId);

    // Run on the indexer's thread (queue them with QMetaObject::invokeMethod).
    void index(qint64 documentId, const QString& path, const EmbedderChoice& embedder);
    // `documents`: [{"id", "name", "model"}] of ready, switched-on documents. Answered by found().
    void search(quint64 requestId, const QVariantList& documents, const QString& question, const EmbedderChoice& embedder);
    void forget(qint64 documentId);

signals:
    void progress(qint64 documentId, int done, int total);
    void indexed(qint64 documentId, hearth::app::PassageList passages, qint64 modifiedAt, const QString& model);
    void indexFailed(qint64 documentId, const QString& error, bool cancelled);
    // sources: [{"name", "line", "heading", "score", "text"}], best first; error: why nothing was searched.
    void found(quint64 requestId, const QJsonArray& sources, const QString& error);

private:
    Result<embed::TextEmbedder*> embedder(const QString& model, const EmbedderChoice& how);
    bool cancelled(qint64 documentId);

    QString dbPath_;
    SqliteDb db_;  // opened on first use, on this object's thread
    std::unique_ptr<embed::TextEmbedder> embedder_;
    QString embedderModel_;
    struct Cached {
        QString model;
        PassageList passages;  // as stored: what search reads and excerpts quote
    };
    QHash<qint64, Cached> cache_;
    std::mutex cancelMu_;
    QSet<qint64> cancelled_;
};

}  // namespace hearth::app

Q_DECLARE_METATYPE(hearth::app::PassageList)
