#include "app/worker/lora_merge_job.h"

#include <QElapsedTimer>
#include <QFile>
#include <QtConcurrent/QtConcurrentRun>

#include "engine/lora/lora_merge.h"

namespace hearth::app {

LoraMergeJob::LoraMergeJob(QObject* parent) : QObject(parent) {}

LoraMergeJob::~LoraMergeJob() {
    cancel_.store(true);
    future_.waitForFinished();
}

bool LoraMergeJob::start(const Request& req) {
    if (running_) return false;
    running_ = true;
    cancel_.store(false);
    future_ = QtConcurrent::run([this, req] {
        MergeOptions opt;
        opt.base_path = req.basePath.toStdString();
        opt.loras = req.loras;
        opt.out_path = req.outPath.toStdString();
        QElapsedTimer sinceReport;
        sinceReport.start();
        const Status st = merge_lora(opt, [&](float fraction) {
            if (sinceReport.elapsed() >= 50 || fraction >= 1.0f) {
                sinceReport.restart();
                QMetaObject::invokeMethod(this, [this, fraction] { emit progress(double(fraction)); }, Qt::QueuedConnection);
            }
            return !cancel_.load();
        }, &cancel_);
        const bool cancelled = cancel_.load() && !st.ok();
        // Only a merge that says it succeeded and left the file counts as written.
        QString error;
        if (!st.ok()) error = QString::fromStdString(st.message());
        else if (!QFile::exists(req.outPath)) error = tr("the merge ended without writing %1").arg(req.outPath);
        QMetaObject::invokeMethod(this, [this, out = req.outPath, error, cancelled] {
            running_ = false;
            emit finished(out, error, cancelled);
        }, Qt::QueuedConnection);
    });
    return true;
}

void LoraMergeJob::cancel() { cancel_.store(true); }

}  // namespace hearth::app
