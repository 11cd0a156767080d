// DocumentsController (QML singleton `Documents`): the documents attached to the conversation shown,
// behind the chat's Documents bar. Adding a file stores it (state "indexing") and hands it to the
// DocumentIndexer's thread, which reads, cuts and embeds it; the passages are stored when it is done
// (or the reason it failed). Before a question is answered, ChatController asks search() for the
// passages nearest it among the documents that are ready and switched on, and gives the model
// those passages with the question (engine/docs/grounded_prompt).
//
// Documents are indexed with the embedding model chosen in Settings (the local API's), or else the
// first embedding model in the library; with none, adding a document says how to get one.
// ChatController owns this object and tells it which conversation is shown.
#pragma once

#include <QJsonArray>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QThread>
#include <QUrl>
#include <QVariantList>

#include "app/store/document_store.h"
#include "app/worker/document_indexer.h"

namespace hearth::app {

class AppSettings;
class ChatController;
class ChatStore;
class ModelLibrary;

class DocumentsController : public QObject {
    Q_OBJECT
    // [{"id", "name", "path", "state" ("indexing" | "ready" | "failed"), "progress" (0..1), "passages",
    //   "error", "enabled", "file" ("" | "changed" since it was indexed | "missing")}], in the order they were added.
    Q_PROPERTY(QVariantList items READ items NOTIFY itemsChanged)
    Q_PROPERTY(int searchableCount READ searchableCount NOTIFY itemsChanged)
    // Why the last add was refused, or a document could not be searched ("" when nothing to say).
    Q_PROPERTY(QString message READ message NOTIFY messageChanged)
    // The embedding model new documents are indexed with ("" when the library has none).
    Q_PROPERTY(QString embeddingModelName READ embeddingModelName NOTIFY itemsChanged)

public:
    DocumentsController(ChatStore* store, AppSettings* settings, ModelLibrary* library, ChatController* chat,
                        const QString& databasePath);
    ~DocumentsController() override;

    QVariantList items() const;
    int searchableCount() const;
    QString message() const { return message_; }
    QString embeddingModelName() const;

    // ---- ChatController's side
    void setConversation(int64_t id);  // 0: a new conversation, not stored yet
    // Finds the passages for a question among the searchable documents; answered by searched().
    // Returns the request id (0: nothing to search).
    quint64 search(const QString& question);

    // ---- the Documents bar
    Q_INVOKABLE bool add(const QList<QUrl>& files);
    Q_INVOKABLE bool addPaths(const QStringList& paths);
    Q_INVOKABLE void remove(qint64 id);
    Q_INVOKABLE void setEnabled(qint64 id, bool on);
    Q_INVOKABLE void retry(qint64 id);  // a failed document, or one whose file changed: indexed again
    Q_INVOKABLE void dismissMessage();
    // The file-dialog filter of what can be read.
    Q_INVOKABLE QStringList nameFilters() const;

signals:
    void itemsChanged();
    void messageChanged();
    void searched(quint64 requestId, const QJsonArray& sources, const QString& error);
    // A document finished indexing: "ready" or "failed" (tests wait on it).
    void documentFinished(qint64 id, const QString& state);

private:
    QString chosenEmbeddingModel() const;
    EmbedderChoice embedderChoice(const QString& model) const;
    void startIndexing(const DocumentRecord& d);
    int rowOf(qint64 id) const;
    void setMessage(const QString& m);
    void onProgress(qint64 id, int done, int total);
    void onIndexed(qint64 id, const PassageList& passages, qint64 modifiedAt, const QString& model);
    void onFailed(qint64 id, const QString& error, bool cancelled);

    ChatStore* store_;
    DocumentStore docs_;
    AppSettings* settings_;
    QPointer<ModelLibrary> library_;
    ChatController* chat_;
    QThread thread_;
    DocumentIndexer* indexer_ = nullptr;
    int64_t conversationId_ = 0;
    struct Entry {
        DocumentRecord rec;
        double progress = 0;
        QString file;  // "" | "changed" | "missing", checked when the conversation is opened
    };
    std::vector<Entry> entries_;
    QSet<qint64> indexing_;  // handed to the indexer and not finished
    quint64 nextSearch_ = 1;
    QString message_;
};

}  // namespace hearth::app
