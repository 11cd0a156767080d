#include "app/controllers/download_controller.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QJsonObject>
#include <QRegularExpression>
#include <QtConcurrent/QtConcurrentRun>

#include "app/settings/app_settings.h"
#include "app/store/chat_store.h"
#include "engine/hub/download.h"

namespace hearth::app {

namespace {

std::vector<hub::RepoFile> filesOf(const DownloadRecord& r) {
    std::vector<hub::RepoFile> out;
    for (const QJsonValue& v : r.files) {
        const QJsonObject o = v.toObject();
        hub::RepoFile f;
        f.path = o.value("path").toString().toStdString();
        f.size = uint64_t(o.value("size").toDouble());
        f.sha256 = o.value("sha256").toString().toStdString();
        f.git_oid = o.value("oid").toString().toStdString();
        out.push_back(std::move(f));
    }
    return out;
}

bool isActive(const QString& state) { return state == QLatin1String("running") || state == QLatin1String("queued"); }

}  // namespace

DownloadController::DownloadController(ChatStore* store, AppSettings* settings, QObject* parent)
    : QObject(parent), settings_(settings), queue_(store) {
    pool_.setMaxThreadCount(1);
}

DownloadController::~DownloadController() {
    // A shutdown is neither pause nor cancel: the row stays "running", so the next start resumes it.
    if (job_) job_->cancel();
    future_.waitForFinished();
}

void DownloadController::restore() {
    auto rows = queue_.all();
    if (!rows.ok()) {
        qWarning("download queue: %s", rows.message().c_str());
        return;
    }
    entries_.clear();
    for (DownloadRecord& r : *rows) {
        Entry e;
        e.rec = std::move(r);
        // A download the last run left going waits for its turn again (its bytes are in the .part files).
        if (e.rec.state == QLatin1String("running")) e.rec.state = QStringLiteral("queued");
        entries_.push_back(std::move(e));
    }
    emit jobsChanged();
    startNext();
}

qint64 DownloadController::enqueue(const QString& label, const QString& repo, const QString& revision,
                                   const QString& endpoint, const std::vector<hub::RepoFile>& files,
                                   const QString& destination, QString* error) {
    DownloadRecord r;
    r.label = label;
    r.repo = repo;
    r.revision = revision.isEmpty() ? QStringLiteral("main") : revision;
    r.endpoint = endpoint;
    r.destination = destination;
    for (const hub::RepoFile& f : files) {
        QJsonObject o;
        o.insert("path", QString::fromStdString(f.path));
        o.insert("size", double(f.size));
        o.insert("sha256", QString::fromStdString(f.sha256));
        o.insert("oid", QString::fromStdString(f.git_oid));
        r.files.append(o);
        r.totalBytes += int64_t(f.size);
    }
    auto id = queue_.add(r);
    if (!id.ok()) {
        if (error) *error = QString::fromStdString(id.message());
        return 0;
    }
    r.id = *id;
    Entry e;
    e.rec = r;
    entries_.push_back(std::move(e));
    emit jobsChanged();
    startNext();
    return r.id;
}

DownloadController::Entry* DownloadController::find(qint64 id) {
    for (Entry& e : entries_)
        if (e.rec.id == id) return &e;
    return nullptr;
}
const DownloadController::Entry* DownloadController::find(qint64 id) const {
    return const_cast<DownloadController*>(this)->find(id);
}

void DownloadController::setState(Entry& e, const QString& state, const QString& error) {
    e.rec.state = state;
    e.rec.error = error;
    if (state != QLatin1String("running")) e.speed = 0, e.eta = -1, e.current.clear();
    (void)queue_.setState(e.rec.id, state, error);
    (void)queue_.setBytes(e.rec.id, e.rec.doneBytes, e.rec.totalBytes);
}

void DownloadController::startNext() {
    if (running_ != 0) return;
    Entry* next = nullptr;
    for (Entry& e : entries_)
        if (e.rec.state == QLatin1String("queued")) {
            next = &e;
            break;
        }
    if (!next) return;
    DownloadRecord r = next->rec;
    running_ = r.id;
    stop_ = Stop::None;
    resumeAfterPause_ = false;
    setState(*next, QStringLiteral("running"));
    emit jobsChanged();

    hub::HubOptions o;
    o.endpoint = r.endpoint.toStdString();
    o.revision = r.revision.toStdString();
    o.token = settings_->hubToken().toStdString();  // the engine sends it to the endpoint's origin only
    job_ = std::make_shared<hub::DownloadJob>(o, r.repo.toStdString(), filesOf(r), r.destination.toStdString());
    const qint64 id = r.id;
    job_->on_progress = [this, id](const hub::JobProgress& p) {
        QMetaObject::invokeMethod(this, [this, id, p] { onProgress(id, p); }, Qt::QueuedConnection);
    };
    auto job = job_;
    future_ = QtConcurrent::run(&pool_, [this, job, id, dest = r.destination] {
        const Status st = job->run();
        QString error;
        QStringList paths;
        if (!st.ok()) error = QString::fromStdString(st.message());
        for (const hub::FileOutcome& f : job->outcomes()) {
            if (f.ok) paths << QDir(dest).filePath(QString::fromStdString(f.path));
            else if (error.isEmpty() && !f.cancelled) error = QString::fromStdString(f.error);
        }
        const bool allOk = st.ok() && job->all_ok();
        QMetaObject::invokeMethod(this, [this, id, error, allOk, paths] { onJobEnded(id, error, allOk, paths); },
                                  Qt::QueuedConnection);
    });
}

void DownloadController::onProgress(qint64 id, const hub::JobProgress& p) {
    Entry* e = find(id);
    if (!e || id != running_) return;
    e->rec.doneBytes = int64_t(p.done_bytes);
    e->rec.totalBytes = int64_t(p.total_bytes);
    e->speed = p.bytes_per_s;
    e->eta = p.eta_s;
    e->current = QString::fromStdString(p.current);
    // The byte count on disk is what the .part files say anyway; the row is refreshed every few
    // seconds so the list shows about the right figure after a restart.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (now - lastSavedMs_ >= 2000) {
        lastSavedMs_ = now;
        (void)queue_.setBytes(id, e->rec.doneBytes, e->rec.totalBytes);
    }
    emit jobsChanged();
}

void DownloadController::onJobEnded(qint64 id, const QString& error, bool allOk, const QStringList& paths) {
    const Stop stop = stop_;
    running_ = 0;
    job_.reset();
    stop_ = Stop::None;
    Entry* e = find(id);
    if (e) {
        if (stop == Stop::Cancel) {
            deleteParts(e->rec);
            e->rec.doneBytes = 0;
            setState(*e, QStringLiteral("cancelled"));
        } else if (stop == Stop::Pause && !allOk) {
            // Resume pressed while the pause was still taking effect: back in the queue at once.
            setState(*e, resumeAfterPause_ ? QStringLiteral("queued") : QStringLiteral("paused"));
        } else if (allOk) {
            e->rec.doneBytes = e->rec.totalBytes;
            setState(*e, QStringLiteral("done"));
        } else {
            setState(*e, QStringLiteral("failed"), error.isEmpty() ? tr("the download stopped without saying why") : error);
        }
    }
    emit jobsChanged();
    if (e && e->rec.state == QLatin1String("done")) emit jobFinished(id, e->rec.destination, paths);
    if (e && e->rec.state == QLatin1String("failed")) emit jobFailed(id, e->rec.error);
    startNext();
}

void DownloadController::pause(qint64 id) {
    Entry* e = find(id);
    if (!e) return;
    if (id == running_) {
        stop_ = Stop::Pause;
        if (job_) job_->cancel();  // the parts stay; resume continues from them
    } else if (e->rec.state == QLatin1String("queued")) {
        setState(*e, QStringLiteral("paused"));
        emit jobsChanged();
    }
}

void DownloadController::resume(qint64 id) {
    Entry* e = find(id);
    if (!e) return;
    if (id == running_) {
        if (stop_ == Stop::Pause) resumeAfterPause_ = true;  // the job is still stopping
        return;
    }
    if (e->rec.state == QLatin1String("paused") || e->rec.state == QLatin1String("failed")) {
        setState(*e, QStringLiteral("queued"));
        emit jobsChanged();
        startNext();
    }
}

void DownloadController::cancel(qint64 id) {
    Entry* e = find(id);
    if (!e) return;
    if (id == running_) {
        stop_ = Stop::Cancel;
        if (job_) job_->cancel();
        return;  // onJobEnded deletes the parts once the job has let go of them
    }
    if (e->rec.state == QLatin1String("done") || e->rec.state == QLatin1String("cancelled")) return;
    deleteParts(e->rec);
    e->rec.doneBytes = 0;
    setState(*e, QStringLiteral("cancelled"));
    emit jobsChanged();
}

void DownloadController::forget(qint64 id) {
    Entry* e = find(id);
    if (!e || isActive(e->rec.state) || e->rec.state == QLatin1String("paused")) return;
    // A failed download taken off the list is given up: its partial files go with it.
    if (e->rec.state == QLatin1String("failed")) deleteParts(e->rec);
    (void)queue_.remove(id);
    entries_.erase(entries_.begin() + (e - entries_.data()));
    emit jobsChanged();
}

void DownloadController::deleteParts(const DownloadRecord& r) {
    // Only the partial files and their sidecars: a file already complete is a finished download.
    // Unlinking a multi-GB file can take a while on some file systems: a pool thread does it.
    QStringList paths;
    for (const QJsonValue& v : r.files) {
        const QString path = QDir(r.destination).filePath(v.toObject().value("path").toString());
        paths << path + QStringLiteral(".part") << path + QStringLiteral(".part.json");
    }
    (void)QtConcurrent::run([paths] {
        for (const QString& p : paths) QFile::remove(p);
    });
}

QVariantMap DownloadController::toMap(const Entry& e) const {
    QVariantMap m;
    m.insert("id", qint64(e.rec.id));
    m.insert("label", e.rec.label.isEmpty() ? e.rec.repo : e.rec.label);
    m.insert("repo", e.rec.repo);
    m.insert("state", e.rec.state);
    m.insert("destination", e.rec.destination);
    m.insert("doneBytes", double(e.rec.doneBytes));
    m.insert("totalBytes", double(e.rec.totalBytes));
    m.insert("fraction", e.rec.totalBytes > 0 ? double(e.rec.doneBytes) / double(e.rec.totalBytes) : 0.0);
    m.insert("speed", e.speed);
    m.insert("eta", e.eta);
    m.insert("current", e.current);
    m.insert("fileCount", int(e.rec.files.size()));
    m.insert("error", e.rec.error);
    m.insert("advice", advice(e.rec.error));
    return m;
}

QVariantMap DownloadController::job(qint64 id) const {
    const Entry* e = find(id);
    return e ? toMap(*e) : QVariantMap();
}

QVariantList DownloadController::jobs() const {
    QVariantList out;
    for (const Entry& e : entries_) out << toMap(e);
    return out;
}

int DownloadController::activeCount() const {
    int n = 0;
    for (const Entry& e : entries_) n += isActive(e.rec.state) ? 1 : 0;
    return n;
}

double DownloadController::activeFraction() const {
    double done = 0, total = 0;
    for (const Entry& e : entries_)
        if (isActive(e.rec.state)) done += double(e.rec.doneBytes), total += double(e.rec.totalBytes);
    return total > 0 ? done / total : 0.0;
}

QString DownloadController::advice(const QString& error) {
    if (error.isEmpty()) return {};
    if (error.contains(QLatin1String("is gated")))
        return tr("Accept the licence on the model's hub page, then add an access token in Settings and try again.");
    static const QRegularExpression missingRepo(QStringLiteral("repository '[^']*' not found"));
    if (error.contains(missingRepo))
        return tr("Check the repository name. A private repository needs an access token in Settings.");
    if (error.contains(QLatin1String("not found")))
        return tr("The file or revision is not on the hub any more: go back and choose again.");
    if (error.contains(QLatin1String("disk")))
        return tr("Free some disk space (or choose another models folder in Settings), then resume: nothing downloaded so far is lost.");
    if (error.contains(QLatin1String("mismatch")))
        return tr("The file arrived damaged and was deleted. Resume to download it again.");
    if (error.contains(QLatin1String("connection")) || error.contains(QLatin1String("server error")) ||
        error.contains(QLatin1String("rate-limiting")) || error.contains(QLatin1String("timed out")))
        return tr("Check the internet connection, or choose a mirror in Settings, then resume: the download continues where it stopped.");
    return tr("Resume to try again; the download continues where it stopped.");
}

}  // namespace hearth::app
