#include "app/controllers/adapter_controller.h"

#include <QDir>
#include <QFileInfo>
#include <QLoggingCategory>
#include <algorithm>
#include <cmath>

#include "app/controllers/chat_controller.h"
#include "app/store/chat_store.h"
#include "app/support/desktop_helper.h"
#include "app/worker/inference_worker.h"

namespace hearth::app {

Q_LOGGING_CATEGORY(lcAdapters, "hearth.adapters")

AdapterController::AdapterController(ChatStore* store, InferenceWorker* worker, ChatController* chat)
    : QObject(chat), store_(store), worker_(worker), chat_(chat) {
    connect(worker_, &InferenceWorker::lorasChecked, this, &AdapterController::onChecked);
    connect(&merge_, &LoraMergeJob::progress, this, [this](double f) {
        mergeProgress_ = f;
        emit mergeProgressChanged();
    });
    connect(&merge_, &LoraMergeJob::finished, this, &AdapterController::onMergeFinished);
}

std::vector<LoraSpec> AdapterController::specsOf(const std::vector<AdapterEntry>& entries) {
    std::vector<LoraSpec> out;
    for (const AdapterEntry& e : entries)
        if (e.active()) out.push_back({e.record.path.toStdString(), float(e.record.scale)});
    return out;
}

int AdapterController::activeCount() const { return int(specsOf(list_.entries()).size()); }

QString AdapterController::summary() const {
    QStringList parts;
    for (const AdapterEntry& e : list_.entries())
        if (e.active())
            parts << QStringLiteral("%1 ×%2").arg(AdapterListModel::displayName(e.record.path)).arg(e.record.scale, 0, 'f', 2);
    return parts.join(QStringLiteral(", "));
}

void AdapterController::setMessage(const QString& m) {
    if (m == message_) return;
    message_ = m;
    emit messageChanged();
}

void AdapterController::dismissMessage() { setMessage(QString()); }

QStringList AdapterController::refreshMissing(std::vector<AdapterEntry>& entries) const {
    QStringList newlyMissing;
    for (AdapterEntry& e : entries) {
        const bool missing = !QFileInfo::exists(e.record.path);
        if (missing && !e.missing && e.record.enabled) newlyMissing << e.record.path;
        e.missing = missing;
    }
    return newlyMissing;
}

void AdapterController::warnMissing(const QStringList& paths) {
    if (paths.isEmpty()) return;
    QStringList lines;
    for (const QString& p : paths)
        lines << tr("The adapter “%1” was not found at %2. This conversation answers without it until the file is back.")
                     .arg(AdapterListModel::displayName(p), p);
    chat_->showWarning(lines.join(QLatin1Char('\n')));
}

void AdapterController::setConversation(int64_t id, const std::vector<AdapterRecord>& adapters) {
    conversationId_ = id;
    if (checkId_) {  // a check for the conversation left behind: its answer is ignored
        checkId_ = 0;
        emit checkingChanged();
    }
    pending_.clear();
    setMessage(QString());
    std::vector<AdapterEntry> entries;
    for (const AdapterRecord& r : adapters) entries.push_back({r, false});
    const QStringList missing = refreshMissing(entries);
    list_.setEntries(entries);
    emit activeChanged();
    warnMissing(missing);
}

void AdapterController::conversationCreated(int64_t id) {
    conversationId_ = id;
    if (list_.count() > 0) commit(list_.entries());
}

std::vector<LoraSpec> AdapterController::activeSpecs() {
    std::vector<AdapterEntry> entries = list_.entries();
    const QStringList missing = refreshMissing(entries);
    if (entries != list_.entries()) {
        list_.setEntries(entries);
        emit activeChanged();
    }
    warnMissing(missing);
    return specsOf(entries);
}

// ---- changes -----------------------------------------------------------------------------------

bool AdapterController::propose(std::vector<AdapterEntry> next) {
    if (checkId_) {
        setMessage(tr("Wait until the last change has been checked."));
        return false;
    }
    setMessage(QString());
    if (specsOf(next) == specsOf(list_.entries())) {  // nothing the model uses changes (e.g. a missing one)
        commit(next);
        emit changeChecked(QString());
        return true;
    }
    checkId_ = nextCheck_++;
    pending_ = std::move(next);
    emit checkingChanged();
    QMetaObject::invokeMethod(worker_, [w = worker_, id = checkId_, specs = specsOf(pending_)] { w->checkLoras(id, specs); },
                              Qt::QueuedConnection);
    return true;
}

void AdapterController::onChecked(quint64 checkId, const QString& error, bool checked) {
    if (checkId != checkId_) return;
    checkId_ = 0;
    emit checkingChanged();
    if (error.isEmpty()) {
        if (!checked) qCInfo(lcAdapters) << "no model loaded: the adapters are checked when it answers";
        commit(pending_);
    } else {
        setMessage(tr("The model refused this change; the adapters stay as they were. %1").arg(error));
    }
    pending_.clear();
    emit changeChecked(error);
}

void AdapterController::commit(const std::vector<AdapterEntry>& next) {
    list_.setEntries(next);
    if (conversationId_) {
        std::vector<AdapterRecord> records;
        for (const AdapterEntry& e : next) records.push_back(e.record);
        const Status st = store_->setConversationAdapters(conversationId_, records);
        if (!st.ok()) chat_->showWarning(tr("Saving failed: %1").arg(QString::fromStdString(st.message())));
    }
    emit activeChanged();
}

bool AdapterController::add(const QString& pathOrUrl) {
    QString path = pathOrUrl.startsWith(QLatin1String("file:")) ? QUrl(pathOrUrl).toLocalFile() : pathOrUrl;
    path = path.trimmed();
    if (path.isEmpty()) return false;
    path = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    if (!QFileInfo::exists(path)) {
        setMessage(tr("%1 was not found.").arg(path));
        return false;
    }
    for (const AdapterEntry& e : list_.entries())
        if (e.record.path == path) {
            setMessage(tr("%1 is already in the list.").arg(AdapterListModel::displayName(path)));
            return false;
        }
    std::vector<AdapterEntry> next = list_.entries();
    next.push_back({AdapterRecord{path, 1.0, true}, false});
    return propose(std::move(next));
}

bool AdapterController::setEnabled(int row, bool on) {
    if (row < 0 || row >= list_.count()) return false;
    std::vector<AdapterEntry> next = list_.entries();
    if (next[size_t(row)].record.enabled == on) return true;
    next[size_t(row)].record.enabled = on;
    return propose(std::move(next));
}

bool AdapterController::setScale(int row, double scale) {
    if (row < 0 || row >= list_.count() || !std::isfinite(scale)) return false;
    // Hundredths, as the dialog shows them: a slider's 0.7500001 is stored and applied as 0.75.
    scale = std::round(std::clamp(scale, 0.0, kMaxScale) * 100.0) / 100.0;
    std::vector<AdapterEntry> next = list_.entries();
    if (next[size_t(row)].record.scale == scale) return true;
    next[size_t(row)].record.scale = scale;
    return propose(std::move(next));
}

bool AdapterController::remove(int row) {
    if (row < 0 || row >= list_.count()) return false;
    std::vector<AdapterEntry> next = list_.entries();
    next.erase(next.begin() + row);
    return propose(std::move(next));
}

// ---- merge -------------------------------------------------------------------------------------

QString AdapterController::suggestedMergedName() const {
    QString name = QFileInfo(chat_->adapterBaseModel()).completeBaseName();
    if (name.isEmpty()) name = QStringLiteral("model");
    for (const AdapterEntry& e : list_.entries())
        if (e.active()) name += QLatin1Char('-') + AdapterListModel::displayName(e.record.path);
    return name + QStringLiteral(".gguf");
}

bool AdapterController::saveMerged(const QUrl& out) {
    if (merge_.running()) return false;
    auto refuse = [this](const QString& why) {
        mergeMessage_ = why;
        mergeFailed_ = true;
        emit mergingChanged();
        return false;
    };
    const QString base = chat_->adapterBaseModel();
    if (base.isEmpty()) return refuse(tr("Choose a model for this conversation first."));
    const std::vector<LoraSpec> specs = activeSpecs();
    if (specs.empty()) return refuse(tr("Switch on at least one adapter to merge."));
    const QString outPath = localFilePath(out);
    if (outPath.isEmpty()) return false;
    if (QFileInfo(outPath).absoluteFilePath() == QFileInfo(base).absoluteFilePath())
        return refuse(tr("Choose another file name: the merged model must not replace its base model."));
    for (const LoraSpec& s : specs)
        if (QFileInfo(outPath).absoluteFilePath() == QFileInfo(QString::fromStdString(s.path)).absoluteFilePath())
            return refuse(tr("Choose another file name: the merged model must not replace an adapter."));
    if (!merge_.start({base, specs, outPath})) return false;
    mergeProgress_ = 0;
    mergeMessage_ = tr("Merging %1 into %2…").arg(summary(), QFileInfo(outPath).fileName());
    mergeFailed_ = false;
    emit mergeProgressChanged();
    emit mergingChanged();
    qCInfo(lcAdapters) << "merging" << base << "with" << summary() << "into" << outPath;
    return true;
}

void AdapterController::cancelMerge() { merge_.cancel(); }

void AdapterController::onMergeFinished(const QString& out, const QString& error, bool cancelled) {
    mergeFailed_ = !error.isEmpty() && !cancelled;
    if (cancelled) mergeMessage_ = tr("Merging was cancelled; nothing was saved.");
    else if (!error.isEmpty()) mergeMessage_ = tr("The merged model could not be saved: %1").arg(error);
    else mergeMessage_ = tr("Saved the merged model as %1. Import it on the Models page to use it.").arg(out);
    if (!error.isEmpty()) qCWarning(lcAdapters) << "merge failed:" << error;
    emit mergingChanged();
    emit mergeFinished(error, cancelled);
}

}  // namespace hearth::app
