// DownloadController (QML singleton `Downloads`): the queue of model downloads a person started in
// the wizard. One download runs at a time, on a thread of its own (the engine's DownloadJob: .part
// files with sidecars, resume with Range, sha256 checked while the bytes arrive); the others wait.
// The queue lives in the conversation database (DownloadQueue), so downloads go on while the person
// chats and resume after a restart from the .part files. Pause stops the job and keeps its parts;
// cancel stops it and deletes them. Every failure carries the engine's cause and what to do about it.
// The UI thread only reads this object's in-memory copy; database writes are queued to the writer.
#pragma once

#include <QFuture>
#include <QObject>
#include <QThreadPool>
#include <QVariantList>
#include <memory>
#include <vector>

#include "app/store/download_queue.h"
#include "engine/hub/listing.h"

namespace hearth::hub {
class DownloadJob;
struct JobProgress;
}  // namespace hearth::hub

namespace hearth::app {

class AppSettings;
class ChatStore;

class DownloadController : public QObject {
    Q_OBJECT
    // [{id, label, repo, state, doneBytes, totalBytes, fraction, speed, eta, current, error, advice}], oldest first.
    Q_PROPERTY(QVariantList jobs READ jobs NOTIFY jobsChanged)
    Q_PROPERTY(int activeCount READ activeCount NOTIFY jobsChanged)  // running or waiting
    Q_PROPERTY(double activeFraction READ activeFraction NOTIFY jobsChanged)
public:
    DownloadController(ChatStore* store, AppSettings* settings, QObject* parent = nullptr);
    ~DownloadController() override;  // stops the running job (its parts stay for the next start)

    // Reads the queue and resumes the downloads a restart interrupted (state running or queued).
    void restore();

    // Queues a download of `files` (from the hub's listing) into `destination`; it starts when no
    // other runs. Returns its id, or 0 with *error set.
    qint64 enqueue(const QString& label, const QString& repo, const QString& revision, const QString& endpoint,
                   const std::vector<hub::RepoFile>& files, const QString& destination, QString* error);

    Q_INVOKABLE void pause(qint64 id);
    Q_INVOKABLE void resume(qint64 id);
    Q_INVOKABLE void cancel(qint64 id);   // deletes the partial files
    Q_INVOKABLE void forget(qint64 id);   // removes a finished, failed (its parts deleted) or cancelled row from the list
    Q_INVOKABLE QVariantMap job(qint64 id) const;

    QVariantList jobs() const;
    int activeCount() const;
    double activeFraction() const;

    // What to do about an engine download error, in the UI language ("" when nothing better than the
    // cause itself can be said).
    static QString advice(const QString& engineError);

signals:
    void jobsChanged();
    // All files of job `id` are complete and verified; `paths` are absolute.
    void jobFinished(qint64 id, const QString& destination, const QStringList& paths);
    void jobFailed(qint64 id, const QString& message);

private:
    struct Entry {
        DownloadRecord rec;
        double speed = 0, eta = -1;
        QString current;
    };
    enum class Stop { None, Pause, Cancel };

    Entry* find(qint64 id);
    const Entry* find(qint64 id) const;
    QVariantMap toMap(const Entry& e) const;
    void setState(Entry& e, const QString& state, const QString& error = {});
    void startNext();
    void onProgress(qint64 id, const hub::JobProgress& p);
    void onJobEnded(qint64 id, const QString& error, bool allOk, const QStringList& paths);
    static void deleteParts(const DownloadRecord& r);

    AppSettings* settings_;
    DownloadQueue queue_;
    std::vector<Entry> entries_;
    QThreadPool pool_;  // one thread: a download never waits for, or holds up, the shared pool
    qint64 running_ = 0;
    Stop stop_ = Stop::None;
    bool resumeAfterPause_ = false;  // resume() came while a pause was still stopping the job
    std::shared_ptr<hub::DownloadJob> job_;
    QFuture<void> future_;
    qint64 lastSavedMs_ = 0;
};

}  // namespace hearth::app
