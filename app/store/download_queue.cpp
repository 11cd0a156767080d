#include "app/store/download_queue.h"

#include <QDateTime>
#include <QJsonDocument>

#include "app/store/chat_store.h"

namespace hearth::app {

namespace {
int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }
}  // namespace

Result<std::vector<DownloadRecord>> DownloadQueue::all() {
    if (!store_->isOpen()) return make_error("the conversation database is not open");
    store_->waitForQueuedWrites();
    auto s = store_->db().prepare(
        "SELECT id, label, repo, revision, endpoint, files_json, destination, state, total_bytes, done_bytes, error, "
        "created_at, updated_at FROM downloads ORDER BY id");
    std::vector<DownloadRecord> out;
    while (s.step()) {
        DownloadRecord r;
        r.id = s.int64(0);
        r.label = s.text(1);
        r.repo = s.text(2);
        r.revision = s.text(3);
        r.endpoint = s.text(4);
        r.files = QJsonDocument::fromJson(s.text(5).toUtf8()).array();
        r.destination = s.text(6);
        r.state = s.text(7);
        r.totalBytes = s.int64(8);
        r.doneBytes = s.int64(9);
        r.error = s.text(10);
        r.createdAt = s.int64(11);
        r.updatedAt = s.int64(12);
        out.push_back(std::move(r));
    }
    if (!s.ok()) return s.status();
    return out;
}

Result<int64_t> DownloadQueue::add(DownloadRecord r) {
    if (!store_->isOpen()) return make_error("the conversation database is not open");
    if (nextId_ == 0) {
        // The writer may hold inserts not yet on disk: wait for them before reading the largest id.
        store_->waitForQueuedWrites();
        auto max = store_->db().scalarInt("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'downloads'");
        HEARTH_RETURN_IF_ERROR(max);
        nextId_ = *max + 1;
    }
    r.id = nextId_++;
    r.createdAt = r.updatedAt = nowMs();
    const QString files = QString::fromUtf8(QJsonDocument(r.files).toJson(QJsonDocument::Compact));
    HEARTH_RETURN_IF_ERROR(store_->postWrite([r, files](SqliteDb& db) {
        auto s = db.prepare(
            "INSERT INTO downloads(id, label, repo, revision, endpoint, files_json, destination, state, total_bytes, "
            "done_bytes, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, r.id).bind(2, r.label).bind(3, r.repo).bind(4, r.revision).bind(5, r.endpoint).bind(6, files);
        s.bind(7, r.destination).bind(8, r.state).bind(9, r.totalBytes).bind(10, r.doneBytes).bind(11, r.error);
        s.bind(12, r.createdAt).bind(13, r.updatedAt);
        return s.exec();
    }));
    return r.id;
}

Status DownloadQueue::setState(int64_t id, const QString& state, const QString& error) {
    const int64_t t = nowMs();
    return store_->postWrite([id, state, error, t](SqliteDb& db) {
        auto s = db.prepare("UPDATE downloads SET state = ?, error = ?, updated_at = ? WHERE id = ?");
        s.bind(1, state).bind(2, error).bind(3, t).bind(4, id);
        return s.exec();
    });
}

Status DownloadQueue::setBytes(int64_t id, int64_t doneBytes, int64_t totalBytes) {
    const int64_t t = nowMs();
    return store_->postWrite([id, doneBytes, totalBytes, t](SqliteDb& db) {
        auto s = db.prepare("UPDATE downloads SET done_bytes = ?, total_bytes = ?, updated_at = ? WHERE id = ?");
        s.bind(1, doneBytes).bind(2, totalBytes).bind(3, t).bind(4, id);
        return s.exec();
    });
}

Status DownloadQueue::remove(int64_t id) {
    return store_->postWrite([id](SqliteDb& db) {
        auto s = db.prepare("DELETE FROM downloads WHERE id = ?");
        s.bind(1, id);
        return s.exec();
    });
}

}  // namespace hearth::app
