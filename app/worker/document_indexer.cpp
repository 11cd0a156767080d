#include "app/worker/document_indexer.h"

#include <QFileInfo>
#include <QJsonObject>
#include <algorithm>
#include <deque>
#include <map>

#include "app/settings/device_key.h"
#include "engine/docs/passage_embedding.h"
#include "engine/docs/passage_search.h"

namespace hearth::app {

DocumentIndexer::DocumentIndexer(const QString& databasePath) : dbPath_(databasePath) {
    qRegisterMetaType<PassageList>("hearth::app::PassageList");
}

DocumentIndexer::~DocumentIndexer() = default;

void DocumentIndexer::requestCancel(qint64 documentId) {
    std::lock_guard<std::mutex> lock(cancelMu_);
    cancelled_.insert(documentId);
}

bool DocumentIndexer::cancelled(qint64 documentId) {
    std::lock_guard<std::mutex> lock(cancelMu_);
    return cancelled_.contains(documentId);
}

Result<embed::TextEmbedder*> DocumentIndexer::embedder(const QString& model, const EmbedderChoice& how) {
    if (embedder_ && embedderModel_ == model) return embedder_.get();
    embedder_.reset();
    embedderModel_.clear();
    const DeviceChoice dev = parseDeviceKey(how.device);
    std::string note;
    auto em = embed::TextEmbedder::open(model.toStdString(), dev.backend, dev.index, how.threads, &note);
    if (!em.ok()) return em.status();
    if (!note.empty()) qInfo("documents: %s", note.c_str());
    embedder_ = std::move(*em);
    embedderModel_ = model;
    return embedder_.get();
}

void DocumentIndexer::index(qint64 documentId, const QString& path, const EmbedderChoice& how) {
    auto fail = [&](const std::string& message) {
        const bool wasCancelled = message == "cancelled";
        emit indexFailed(documentId, QString::fromStdString(message), wasCancelled);
    };
    if (cancelled(documentId)) return fail("cancelled");
    const qint64 modified = QFileInfo(path).lastModified().toMSecsSinceEpoch();
    auto doc = docs::read_document(path.toStdString());
    if (!doc.ok()) return fail(doc.message());
    auto em = embedder(how.model, how);
    if (!em.ok()) return fail(em.message());
    int lastPercent = -1;
    auto passages = docs::embed_document(**em, *doc, [&](size_t done, size_t total) {
        const int percent = total ? int(done * 100 / total) : 100;
        if (percent != lastPercent) {
            lastPercent = percent;
            emit progress(documentId, int(done), int(total));
        }
        return !cancelled(documentId);
    });
    if (!passages.ok()) return fail(passages.message());
    auto stored = std::make_shared<std::vector<StoredPassage>>();
    stored->reserve(passages->size());
    for (docs::Passage& p : *passages)
        stored->push_back({p.chunk.line, QString::fromStdString(p.chunk.heading), QString::fromStdString(p.chunk.text), std::move(p.vector)});
    PassageList list = std::move(stored);
    cache_.insert(documentId, Cached{how.model, list});
    emit indexed(documentId, list, modified, how.model);
}

void DocumentIndexer::forget(qint64 documentId) {
    cache_.remove(documentId);
    std::lock_guard<std::mutex> lock(cancelMu_);
    cancelled_.remove(documentId);
}

void DocumentIndexer::search(quint64 requestId, const QVariantList& documents, const QString& question, const EmbedderChoice& how) {
    struct Doc {
        qint64 id;
        QString name, model;
    };
    std::vector<Doc> docsToSearch;
    for (const QVariant& v : documents) {
        const QVariantMap m = v.toMap();
        docsToSearch.push_back({m.value("id").toLongLong(), m.value("name").toString(), m.value("model").toString()});
    }
    // Passages not in memory yet (documents indexed in an earlier run) come from the database.
    for (const Doc& d : docsToSearch) {
        if (cache_.contains(d.id)) continue;
        if (!db_.isOpen()) {
            if (Status st = db_.open(dbPath_); !st.ok())
                return emit found(requestId, {}, QString::fromStdString(st.message()));
        }
        auto p = DocumentStore::readPassages(db_, d.id);
        if (!p.ok()) return emit found(requestId, {}, QString::fromStdString(p.message()));
        cache_.insert(d.id, Cached{d.model, std::make_shared<const std::vector<StoredPassage>>(std::move(*p))});
    }
    // One query vector per embedding model the documents were indexed with.
    struct Scored {
        float score;
        const Doc* doc;
        const StoredPassage* passage;
    };
    std::vector<Scored> best;
    QString problem;
    QSet<QString> models;
    for (const Doc& d : docsToSearch) models.insert(cache_.value(d.id).model);
    for (const QString& model : models) {
        if (!QFileInfo::exists(model)) {
            problem = tr("The embedding model these documents were indexed with is gone (%1): add them again to search them.")
                          .arg(QFileInfo(model).fileName());
            continue;
        }
        auto em = embedder(model, how);
        if (!em.ok()) {
            problem = QString::fromStdString(em.message());
            continue;
        }
        std::vector<int32_t> ids = (*em)->tokenize(question.toStdString());
        if (int(ids.size()) > (*em)->max_tokens()) ids.resize(size_t((*em)->max_tokens()));
        auto q = (*em)->embed(ids);
        if (!q.ok()) {
            problem = QString::fromStdString(q.message());
            continue;
        }
        // By meaning and by the question's words (engine/docs/passage_search).
        std::vector<docs::SearchablePassage> searchable;
        std::deque<std::string> texts;  // UTF-8 copies the search reads (a deque: they stay where they are)
        std::map<qint64, const Doc*> byId;
        for (const Doc& d : docsToSearch) {
            const auto c = cache_.constFind(d.id);
            if (c == cache_.cend() || c->model != model || !c->passages || !byId.emplace(d.id, &d).second) continue;
            for (size_t i = 0; i < c->passages->size(); ++i) {
                const StoredPassage& p = (*c->passages)[i];
                texts.push_back(p.text.toStdString());
                searchable.push_back({d.id, int32_t(i), texts.back(), p.vector.data(), p.vector.size()});
            }
        }
        for (const docs::PassageHit& h : docs::search_passages(searchable, *q, question.toStdString(), docs::kPassagesPerQuestion, docs::kRelevantCosine))
            best.push_back({h.score, byId[h.document_id], &(*cache_.constFind(h.document_id)->passages)[size_t(h.seq)]});
    }
    // Documents indexed by several models were ranked per model: their passages meet by cosine.
    if (models.size() > 1)
        std::stable_sort(best.begin(), best.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
    if (best.size() > docs::kPassagesPerQuestion) best.resize(docs::kPassagesPerQuestion);
    QJsonArray sources;
    for (const Scored& s : best) {
        sources.append(QJsonObject{{"name", s.doc->name},
                                   {"line", s.passage->line},
                                   {"heading", s.passage->heading},
                                   {"score", double(s.score)},
                                   {"text", s.passage->text}});
    }
    emit found(requestId, sources, sources.isEmpty() ? problem : QString());
}

}  // namespace hearth::app
