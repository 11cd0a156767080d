#include "app/library/model_library.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QPointer>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>

#include "app/settings/app_settings.h"
#include "app/support/desktop_helper.h"
#include "app/support/system_memory.h"
#include "engine/backend/backend.h"

namespace hearth::app {

namespace {

// Copies `from` to `to` through `to.part` in 8 MiB chunks, reporting bytes done; the rename at the
// end means a cancelled or failed copy never leaves a half file that looks like a model.
QString copyWithProgress(const QString& from, const QString& to, const std::atomic<bool>& cancel,
                         const std::function<void(qint64)>& onBytes) {
    QFile in(from);
    if (!in.open(QIODevice::ReadOnly)) return QObject::tr("Cannot read %1: %2").arg(from, in.errorString());
    const QString partPath = to + QStringLiteral(".part");
    QFile out(partPath);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return QObject::tr("Cannot write %1: %2").arg(partPath, out.errorString());
    QByteArray buf(8 << 20, Qt::Uninitialized);
    for (;;) {
        if (cancel.load()) {
            out.close();
            QFile::remove(partPath);
            return QObject::tr("Import cancelled.");
        }
        const qint64 n = in.read(buf.data(), buf.size());
        if (n < 0) {
            out.close();
            QFile::remove(partPath);
            return QObject::tr("Cannot read %1: %2").arg(from, in.errorString());
        }
        if (n == 0) break;
        if (out.write(buf.constData(), n) != n) {
            const QString err = out.errorString();
            out.close();
            QFile::remove(partPath);
            return QObject::tr("Cannot write %1 (is the disk full?): %2").arg(partPath, err);
        }
        onBytes(n);
    }
    if (!out.flush()) {
        QFile::remove(partPath);
        return QObject::tr("Cannot write %1: %2").arg(partPath, out.errorString());
    }
    out.close();
    QFile::remove(to);
    if (!QFile::rename(partPath, to)) {
        QFile::remove(partPath);
        return QObject::tr("Cannot rename %1 to %2").arg(partPath, to);
    }
    return {};
}

// Every GPU the engine's backends see, as [{key, label}] (labels are device names: not translated).
QVariantList enumerateGpus() {
    QVariantList out;
    for (const hearth::DeviceInfo& d : hearth::list_devices().devices) {
        if ((d.backend != "vulkan" && d.backend != "cuda") || d.type == "cpu-implementation") continue;
        const QString key = QString::fromStdString(d.backend) + QLatin1Char(':') + QString::number(d.index);
        QString label = (d.backend == "cuda" ? QStringLiteral("CUDA: ") : QStringLiteral("Vulkan: ")) +
                        QString::fromStdString(d.name);
        if (d.memory_total) label += QStringLiteral(" (%1 GiB)").arg(double(d.memory_total) / double(1ull << 30), 0, 'f', 1);
        out << QVariantMap{{QStringLiteral("key"), key}, {QStringLiteral("label"), label}};
    }
    return out;
}

}  // namespace

ModelLibrary::ModelLibrary(AppSettings* settings, QObject* parent) : QObject(parent), settings_(settings) {
    external_ = settings_->raw().value("models/external").toStringList();
    connect(settings_, &AppSettings::modelsFolderChanged, this, [this] {
        emit folderChanged();
        refresh();
    });
    connect(settings_, &AppSettings::changed, this, [this] {
        list_.setMemoryContext(settings_->contextLength(), readSystemMemory().availableBytes);
    });
    list_.setMemoryContext(settings_->contextLength(), readSystemMemory().availableBytes);
}

ModelLibrary::~ModelLibrary() {
    if (cancelImport_) cancelImport_->store(true);
    scanWatch_.waitForFinished();
    importWatch_.waitForFinished();
    probeWatch_.waitForFinished();
}

QString ModelLibrary::folder() const { return settings_->modelsFolder(); }

void ModelLibrary::refresh() {
    if (scanning_) {
        rescan_ = true;
        return;
    }
    scanning_ = true;
    emit scanningChanged();
    scanFrom_ = changes_;
    const QString dir = folder();
    const QStringList external = external_;
    const bool importing = importing_;
    QPointer<ModelLibrary> self(this);
    scanWatch_.setFuture(QtConcurrent::run([self, dir, external, importing] {
        QDir().mkpath(dir);
        // A copy killed mid-way (the app was closed or crashed) leaves its .part file behind. One
        // that is still being written is touched every few milliseconds, so a .part file untouched
        // for a minute while this process imports nothing is a leftover: free its disk space.
        if (!importing) {
            const QDateTime staleBefore = QDateTime::currentDateTime().addSecs(-60);
            for (const QFileInfo& part : QDir(dir).entryInfoList({QStringLiteral("*.part")}, QDir::Files))
                if (part.lastModified() < staleBefore) QFile::remove(part.absoluteFilePath());
        }
        std::vector<ModelFileInfo> models = scanModelsFolder(dir);
        for (const QString& path : external) {
            if (!QFileInfo::exists(path)) continue;
            auto info = readModelFileInfo(path);
            if (info.ok()) models.push_back(std::move(*info));
        }
        QMetaObject::invokeMethod(self, [self, models = std::move(models)]() mutable {
            if (self) self->finishScan(std::move(models));
        }, Qt::QueuedConnection);
    }));
}

void ModelLibrary::finishScan(std::vector<ModelFileInfo> models) {
    if (scanFrom_ != changes_) {  // an import or a deletion since it started: its list is out of date
        scanning_ = false;
        rescan_ = false;
        return refresh();
    }
    list_.setModels(std::move(models));
    list_.setMemoryContext(settings_->contextLength(), readSystemMemory().availableBytes);
    scanning_ = false;
    emit scanningChanged();
    if (rescan_) {
        rescan_ = false;
        refresh();
    }
}

void ModelLibrary::setImportState(bool importing, double progress, const QString& name) {
    importing_ = importing;
    importProgress_ = progress;
    importName_ = name;
    emit importChanged();
}

void ModelLibrary::importModel(const QUrl& fileUrl, bool copy) {
    importPath(localFilePath(fileUrl), copy);
}

void ModelLibrary::importPath(const QString& path, bool copy) {
    if (importing_) {
        emit importFailed(tr("Another import is still running."), {});
        return;
    }
    const QString dir = folder();
    cancelImport_ = std::make_shared<std::atomic<bool>>(false);
    auto cancel = cancelImport_;
    setImportState(true, 0, QFileInfo(path).fileName());
    QPointer<ModelLibrary> self(this);
    importWatch_.setFuture(QtConcurrent::run([self, path, copy, dir, cancel] {
        auto fail = [self](const QString& error, const QString& details = {}) {
            QMetaObject::invokeMethod(self, [self, error, details] {
                if (!self) return;
                self->setImportState(false, 0, {});
                emit self->importFailed(error, details);
            }, Qt::QueuedConnection);
        };
        auto finish = [self](ModelFileInfo result) {
            QMetaObject::invokeMethod(self, [self, result = std::move(result)]() mutable {
                if (!self) return;
                self->setImportState(false, 0, {});
                const QString path = result.path;
                if (!self->isInFolder(path) && !self->external_.contains(path)) {
                    self->external_.append(path);
                    self->settings_->raw().setValue("models/external", self->external_);
                    emit self->externalModelsChanged();
                }
                self->showImported(std::move(result));
                emit self->imported(path);
            }, Qt::QueuedConnection);
        };
        // Validate first, as the engine will load it (vocabulary included): a file that cannot be
        // used is never copied or listed.
        auto info = readModelFileInfo(path);
        if (!info.ok()) return fail(problemText(ModelProblem::NotAModel, {}), QString::fromStdString(info.message()));
        if (!info->usable() && !info->embeddingModel()) return fail(problemText(info->problem, info->architecture), info->error);
        if (!copy) return finish(std::move(*info));
        QDir().mkpath(dir);
        const qint64 total = qint64(std::max<uint64_t>(1, info->fileSize));
        std::atomic<qint64> done{0};
        QString firstTarget;
        for (const QString& part : info->parts) {
            const QString target = QDir(dir).filePath(QFileInfo(part).fileName());
            if (firstTarget.isEmpty()) firstTarget = target;
            if (QFileInfo(target).absoluteFilePath() == QFileInfo(part).absoluteFilePath()) continue;  // already there
            if (QFileInfo::exists(target))
                return fail(QObject::tr("A file named %1 is already in the models folder.").arg(QFileInfo(target).fileName()));
            qint64 lastReport = 0;
            const QString err = copyWithProgress(part, target, *cancel, [&](qint64 n) {
                done += n;
                if (done - lastReport >= (64 << 20) || done == total) {  // a few updates per second at disk speed
                    lastReport = done;
                    const double p = double(done) / double(total);
                    QMetaObject::invokeMethod(self, [self, p] {
                        if (self) self->setImportState(true, p, self->importName_);
                    }, Qt::QueuedConnection);
                }
            });
            if (!err.isEmpty()) return fail(err);
        }
        // The copy, as the scan will read it (its own path and parts).
        auto copied = readModelFileInfo(firstTarget);
        if (!copied.ok()) return fail(problemText(ModelProblem::NotAModel, {}), QString::fromStdString(copied.message()));
        finish(std::move(*copied));
    }));
}

void ModelLibrary::cancelImport() {
    if (cancelImport_) cancelImport_->store(true);
}

bool ModelLibrary::isInFolder(const QString& path) const {
    return QFileInfo(path).absoluteDir() == QDir(folder()).absolutePath();
}

bool ModelLibrary::deleteModel(const QString& path) {
    const ModelFileInfo* m = list_.find(path);
    const QStringList parts = m ? m->parts : QStringList{path};
    if (external_.contains(path)) {
        external_.removeAll(path);
        settings_->raw().setValue("models/external", external_);
        emit externalModelsChanged();
    } else if (isInFolder(path)) {
        for (const QString& p : parts) {
            if (QFile::exists(p) && !QFile::remove(p)) {
                emit errorOccurred(tr("Cannot delete %1.").arg(p));
                return false;
            }
        }
    } else {
        return false;
    }
    dropFromList(path);
    emit deleted(path);
    return true;
}

void ModelLibrary::showImported(ModelFileInfo info) {
    // As a scan orders them: the folder's models by name, then the external ones in the order added.
    std::vector<ModelFileInfo> rows = rowsWithout(info.path);
    auto at = rows.end();
    if (isInFolder(info.path))
        at = std::find_if(rows.begin(), rows.end(), [&](const ModelFileInfo& m) {
            return !isInFolder(m.path) || m.name.compare(info.name, Qt::CaseInsensitive) > 0;
        });
    rows.insert(at, std::move(info));
    showChanged(std::move(rows));
}

void ModelLibrary::dropFromList(const QString& path) { showChanged(rowsWithout(path)); }

std::vector<ModelFileInfo> ModelLibrary::rowsWithout(const QString& path) const {
    std::vector<ModelFileInfo> rows;
    for (const ModelFileInfo& m : list_.models())
        if (m.path != path) rows.push_back(m);
    return rows;
}

void ModelLibrary::showChanged(std::vector<ModelFileInfo> rows) {
    list_.setModels(std::move(rows));
    ++changes_;  // a scan in flight is out of date now
    refresh();
}

QVariantMap ModelLibrary::estimate(const QString& path, int nCtx) const {
    QVariantMap r;
    const ModelFileInfo* m = list_.find(path);
    if (!m || !m->usable()) return r;
    const MemoryEstimate e = estimateMemory(*m, nCtx);
    const SystemMemory mem = readSystemMemory();
    r.insert("weights", double(e.weightBytes));
    r.insert("kv", double(e.kvBytes));
    r.insert("total", double(e.total()));
    r.insert("available", double(mem.availableBytes));
    r.insert("fits", mem.availableBytes == 0 || e.total() <= mem.availableBytes);
    r.insert("text", tr("Needs about %1 (weights %2 + context %3); %4 free")
                         .arg(formatBytesText(double(e.total())), formatBytesText(double(e.weightBytes)),
                              formatBytesText(double(e.kvBytes)), formatBytesText(double(mem.availableBytes))));
    return r;
}

QVariantMap ModelLibrary::info(const QString& path) const {
    QVariantMap r;
    const ModelFileInfo* m = list_.find(path);
    if (!m) return r;
    r.insert("name", m->name);
    r.insert("architecture", m->architecture);
    r.insert("quantization", m->quantization);
    r.insert("think", m->thinkTemplate);
    r.insert("contextLength", m->contextLength);
    r.insert("embedding", m->embeddingModel());
    return r;
}

QVariantList ModelLibrary::embeddingModels() const {
    QVariantList out;
    for (const ModelFileInfo& m : list_.models()) {
        if (!m.embeddingModel()) continue;
        const QString label = m.quantization.isEmpty() ? m.name : m.name + QStringLiteral(" · ") + m.quantization;
        out << QVariantMap{{QStringLiteral("path"), m.path}, {QStringLiteral("label"), label}};
    }
    return out;
}

QString ModelLibrary::displayName(const QString& path) const {
    if (path.isEmpty()) return {};
    const ModelFileInfo* m = list_.find(path);
    return m ? m->name : QFileInfo(path).completeBaseName();
}

QString ModelLibrary::problemText(ModelProblem problem, const QString& architecture) {
    switch (problem) {
        case ModelProblem::None: return {};
        case ModelProblem::NotAModel:
            return tr("This file is not a GGUF language model, or it is damaged or incomplete.");
        case ModelProblem::MissingPart:
            return tr("This model is split into several files and some of them are missing. Put all its parts in the same folder.");
        case ModelProblem::Architecture:
            return tr("Hearth cannot run this kind of model (%1) yet.").arg(architecture.isEmpty() ? tr("unknown") : architecture);
        case ModelProblem::Vocabulary:
            return tr("Hearth cannot read this model's vocabulary: its tokenizer is not supported yet. Try another model.");
        case ModelProblem::EmbeddingModel:
            return tr("An embedding model: it turns text into vectors for search and document retrieval, and does not chat. "
                      "The local API server can serve it (Settings → Local API server).");
    }
    return {};
}

QString ModelLibrary::refuseReason(const QString& path, int nCtx, const QString& device) const {
    const ModelFileInfo* m = list_.find(path);
    if (!m) return {};  // not scanned yet: the engine's own check at load time has the last word
    if (!m->usable())
        return tr("%1 cannot be used. %2 (Details: %3)").arg(m->name, problemText(m->problem, m->architecture), m->error);
    const bool onHost = device == QLatin1String("cpu") || (device == QLatin1String("auto") && gpus_.isEmpty());
    if (!onHost) return {};
    const MemoryEstimate e = estimateMemory(*m, nCtx);
    const SystemMemory mem = readSystemMemory();
    if (mem.availableBytes != 0 && e.total() > mem.availableBytes)
        return tr("%1 needs about %2 of memory at a context of %3 tokens, but only %4 is free. "
                  "Choose a smaller model or quantization, or lower the context length in Settings.")
            .arg(m->name, formatBytesText(double(e.total())), QString::number(nCtx),
                 formatBytesText(double(mem.availableBytes)));
    return {};
}

QVariantList ModelLibrary::devices() const {
    QVariantList out;  // labels in the current language
    out << QVariantMap{{QStringLiteral("key"), QStringLiteral("auto")}, {QStringLiteral("label"), tr("Automatic")}};
    out << QVariantMap{{QStringLiteral("key"), QStringLiteral("cpu")}, {QStringLiteral("label"), tr("CPU")}};
    return out + gpus_;
}

void ModelLibrary::probeDevices() {
    if (devicesProbed_ || probeWatch_.isRunning()) return;
    QPointer<ModelLibrary> self(this);
    probeWatch_.setFuture(QtConcurrent::run([self] {
        const QVariantList gpus = enumerateGpus();
        QMetaObject::invokeMethod(self, [self, gpus] {
            if (!self) return;
            self->gpus_ = gpus;
            self->devicesProbed_ = true;
            emit self->devicesChanged();
        }, Qt::QueuedConnection);
    }));
}

void ModelLibrary::retranslate() {
    list_.retranslate();
    emit devicesChanged();
}

}  // namespace hearth::app
