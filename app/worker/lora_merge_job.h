// LoraMergeJob: "Save merged model…" off the UI thread. One merge at a time runs on a pool
// thread through the engine's merge_lora (a base model plus adapters at their scales written as a
// plain model); progress comes back as queued signals (at most ~20 a second) and cancel() reaches
// into the merge through its cancel flag. The engine writes OUT.part and renames it at the end, so
// a cancelled or failed merge leaves no half-written model under the chosen name.
#pragma once

#include <QFuture>
#include <QObject>
#include <QString>
#include <atomic>
#include <vector>

#include "engine/lora/lora_spec.h"

namespace hearth::app {

class LoraMergeJob : public QObject {
    Q_OBJECT
public:
    struct Request {
        QString basePath;
        std::vector<LoraSpec> loras;
        QString outPath;
    };

    explicit LoraMergeJob(QObject* parent = nullptr);
    ~LoraMergeJob() override;  // cancels a running merge and waits for it

    // False when a merge is already running.
    bool start(const Request& req);
    void cancel();
    bool running() const { return running_; }

signals:
    void progress(double fraction);
    // error: empty when the merged model was written to outPath.
    void finished(const QString& outPath, const QString& error, bool cancelled);

private:
    QFuture<void> future_;
    std::atomic<bool> cancel_{false};
    bool running_ = false;  // main thread only
};

}  // namespace hearth::app
