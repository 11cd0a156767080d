#include "app/controllers/documents_controller.h"

#include <QFileInfo>

#include "app/controllers/chat_controller.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "app/store/chat_store.h"

namespace hearth::app {

DocumentsController::DocumentsController(ChatStore* store, AppSettings* settings, ModelLibrary* library, ChatController* chat,
                                         const QString& databasePath)
    : QObject(chat), store_(store), docs_(store), settings_(settings), library_(library), chat_(chat) {
    indexer_ = new DocumentIndexer(databasePath);
    indexer_->moveToThread(&thread_);
    thread_.setObjectName(QStringLiteral("documents"));
    connect(indexer_, &DocumentIndexer::progress, this, &DocumentsController::onProgress);
    connect(indexer_, &DocumentIndexer::indexed, this, &DocumentsController::onIndexed);
    connect(indexer_, &DocumentIndexer::indexFailed, this, &DocumentsController::onFailed);
    connect(indexer_, &DocumentIndexer::found, this, &DocumentsController::searched);
    thread_.start();
    // The embedding model's name follows the library (a model imported or converted, a scan done).
    if (library_) {
        connect(library_, &ModelLibrary::scanningChanged, this, &DocumentsController::itemsChanged);
        connect(library_, &ModelLibrary::imported, this, &DocumentsController::itemsChanged);
    }
}

DocumentsController::~DocumentsController() {
    for (qint64 id : indexing_) indexer_->requestCancel(id);  // a document left "indexing" is indexed again next time
    thread_.quit();
    thread_.wait();
    delete indexer_;
}

QVariantList DocumentsController::items() const {
    QVariantList out;
    for (const Entry& e : entries_) {
        out << QVariantMap{{"id", qint64(e.rec.id)},       {"name", e.rec.name},         {"path", e.rec.path},
                           {"state", e.rec.state},         {"progress", e.progress},     {"passages", e.rec.passages},
                           {"error", e.rec.error},         {"enabled", e.rec.enabled},   {"file", e.file}};
    }
    return out;
}

int DocumentsController::searchableCount() const {
    return int(std::count_if(entries_.begin(), entries_.end(),
                             [](const Entry& e) { return e.rec.enabled && e.rec.state == QLatin1String("ready"); }));
}

QString DocumentsController::chosenEmbeddingModel() const {
    const QString chosen = settings_->apiEmbeddingModel();
    if (!chosen.isEmpty() && QFileInfo::exists(chosen)) return chosen;
    if (library_) {
        const QVariantList models = library_->embeddingModels();
        if (!models.isEmpty()) return models.first().toMap().value("path").toString();
    }
    return {};
}

QString DocumentsController::embeddingModelName() const {
    const QString m = chosenEmbeddingModel();
    return m.isEmpty() ? QString() : library_ ? library_->displayName(m) : QFileInfo(m).completeBaseName();
}

EmbedderChoice DocumentsController::embedderChoice(const QString& model) const {
    return EmbedderChoice{model, settings_->device(), settings_->threads()};
}

int DocumentsController::rowOf(qint64 id) const {
    for (size_t i = 0; i < entries_.size(); ++i)
        if (entries_[i].rec.id == id) return int(i);
    return -1;
}

void DocumentsController::setMessage(const QString& m) {
    if (message_ == m) return;
    message_ = m;
    emit messageChanged();
}

void DocumentsController::dismissMessage() { setMessage(QString()); }

QStringList DocumentsController::nameFilters() const {
    return {tr("Documents (*.pdf *.docx *.pptx *.odt *.odp *.epub *.txt *.md *.markdown *.html *.htm *.csv *.json *.log *.rst *.tex *.xml *.yaml *.yml)"),
            tr("Source code (*.c *.h *.cpp *.hpp *.py *.js *.ts *.java *.go *.rs *.rb *.php *.cs *.swift *.kt *.sh *.sql *.qml)"),
            tr("All files (*)")};
}

void DocumentsController::setConversation(int64_t id) {
    conversationId_ = id;
    entries_.clear();
    setMessage(QString());
    if (id) {
        auto list = docs_.documents(id);
        if (list.ok()) {
            for (const DocumentRecord& r : *list) {
                // The file as it is now against when it was indexed: its passages are searched either
                // way; the chip says so, and Re-index reads it again.
                const QFileInfo fi(r.path);
                QString file;
                if (!fi.exists()) file = QStringLiteral("missing");
                else if (r.state == QLatin1String("ready") && fi.lastModified().toMSecsSinceEpoch() != r.modifiedAt)
                    file = QStringLiteral("changed");
                entries_.push_back({r, r.state == QLatin1String("ready") ? 1.0 : 0.0, file});
            }
        } else {
            setMessage(QString::fromStdString(list.message()));
        }
    }
    // A document left "indexing" by an earlier run (the app was closed during it) starts again.
    for (const Entry& e : entries_)
        if (e.rec.state == QLatin1String("indexing") && !indexing_.contains(e.rec.id)) startIndexing(e.rec);
    emit itemsChanged();
}

bool DocumentsController::add(const QList<QUrl>& files) {
    QStringList paths;
    for (const QUrl& u : files) paths << (u.isLocalFile() ? u.toLocalFile() : u.toString());
    return addPaths(paths);
}

bool DocumentsController::addPaths(const QStringList& paths) {
    const QString model = chosenEmbeddingModel();
    if (model.isEmpty()) {
        setMessage(tr("Documents are searched with an embedding model, and the library has none. Get one in the model "
                      "wizard, for example by pasting sentence-transformers/all-MiniLM-L6-v2."));
        return false;
    }
    const qint64 conv = chat_->ensureStoredConversation();
    if (!conv) return false;
    conversationId_ = conv;
    QStringList skipped;
    for (const QString& path : paths) {
        const QFileInfo fi(path);
        if (!fi.isFile()) {
            skipped << tr("%1 is not a file").arg(fi.fileName().isEmpty() ? path : fi.fileName());
            continue;
        }
        const QString canonical = fi.canonicalFilePath();
        if (std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.rec.path == canonical; })) {
            skipped << tr("%1 is already attached").arg(fi.fileName());
            continue;
        }
        DocumentRecord r;
        r.conversationId = conv;
        r.path = canonical;
        r.name = fi.fileName();
        r.bytes = fi.size();
        r.modifiedAt = fi.lastModified().toMSecsSinceEpoch();
        r.embedModel = model;
        auto added = docs_.add(r);
        if (!added.ok()) {
            setMessage(QString::fromStdString(added.message()));
            return false;
        }
        entries_.push_back({*added, 0.0, QString()});
        startIndexing(*added);
    }
    setMessage(skipped.join(QStringLiteral("; ")));
    emit itemsChanged();
    return true;
}

void DocumentsController::startIndexing(const DocumentRecord& d) {
    indexing_.insert(d.id);
    QString model = d.embedModel;
    if (!QFileInfo::exists(model)) model = chosenEmbeddingModel();  // the model it was started with is gone
    QMetaObject::invokeMethod(
        indexer_, [ix = indexer_, id = d.id, path = d.path, how = embedderChoice(model)] { ix->index(id, path, how); },
        Qt::QueuedConnection);
}

void DocumentsController::remove(qint64 id) {
    const int row = rowOf(id);
    if (row < 0) return;
    if (indexing_.contains(id)) indexer_->requestCancel(id);
    (void)docs_.remove(id);
    entries_.erase(entries_.begin() + row);
    QMetaObject::invokeMethod(indexer_, [ix = indexer_, id] { ix->forget(id); }, Qt::QueuedConnection);
    emit itemsChanged();
}

void DocumentsController::setEnabled(qint64 id, bool on) {
    const int row = rowOf(id);
    if (row < 0 || entries_[size_t(row)].rec.enabled == on) return;
    entries_[size_t(row)].rec.enabled = on;
    (void)docs_.setEnabled(id, on);
    emit itemsChanged();
}

void DocumentsController::retry(qint64 id) {
    const int row = rowOf(id);
    if (row < 0 || indexing_.contains(id)) return;
    Entry& e = entries_[size_t(row)];
    e.rec.state = QStringLiteral("indexing");
    e.rec.error.clear();
    e.progress = 0;
    e.file.clear();
    const QString model = chosenEmbeddingModel();
    if (!model.isEmpty()) e.rec.embedModel = model;
    (void)docs_.setIndexing(id);
    QMetaObject::invokeMethod(indexer_, [ix = indexer_, id] { ix->forget(id); }, Qt::QueuedConnection);
    startIndexing(e.rec);
    emit itemsChanged();
}

quint64 DocumentsController::search(const QString& question) {
    QVariantList list;
    for (const Entry& e : entries_) {
        if (!e.rec.enabled || e.rec.state != QLatin1String("ready")) continue;
        list << QVariantMap{{"id", qint64(e.rec.id)}, {"name", e.rec.name}, {"model", e.rec.embedModel}};
    }
    if (list.isEmpty()) return 0;
    const quint64 id = nextSearch_++;
    QMetaObject::invokeMethod(
        indexer_,
        [ix = indexer_, id, list, question, how = embedderChoice(QString())] { ix->search(id, list, question, how); },
        Qt::QueuedConnection);
    return id;
}

void DocumentsController::onProgress(qint64 id, int done, int total) {
    const int row = rowOf(id);
    if (row < 0) return;
    entries_[size_t(row)].progress = total > 0 ? double(done) / total : 0;
    emit itemsChanged();
}

void DocumentsController::onIndexed(qint64 id, const PassageList& passages, qint64 modifiedAt, const QString& model) {
    indexing_.remove(id);
    // Stored even when another conversation is shown now: the document still belongs to its own.
    (void)docs_.setIndexed(id, passages, modifiedAt, model);
    const int row = rowOf(id);
    if (row >= 0) {
        Entry& e = entries_[size_t(row)];
        e.rec.state = QStringLiteral("ready");
        e.rec.passages = int(passages->size());
        e.rec.embedModel = model;
        e.progress = 1;
        emit itemsChanged();
    }
    emit documentFinished(id, QStringLiteral("ready"));
}

void DocumentsController::onFailed(qint64 id, const QString& error, bool cancelled) {
    indexing_.remove(id);
    if (cancelled) return;  // removed, or the app is closing
    (void)docs_.setFailed(id, error);
    const int row = rowOf(id);
    if (row >= 0) {
        Entry& e = entries_[size_t(row)];
        e.rec.state = QStringLiteral("failed");
        e.rec.error = error;
        emit itemsChanged();
    }
    emit documentFinished(id, QStringLiteral("failed"));
}

}  // namespace hearth::app
