#include "app/library/diffusion_model_list.h"

#include <QCoreApplication>
#include <QDir>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>

#include "app/library/model_library.h"
#include "app/settings/app_settings.h"

namespace hearth::app {

namespace {
const char* const kFoldersKey = "image/folders";  // diffusion folders added where they are
// Checkpoint files added where they are: [{file, config}] (config: the folder of its configs, or "").
const char* const kCheckpointsKey = "image/checkpoints";

struct Checkpoint {
    QString file, config;
};
QList<Checkpoint> readCheckpoints(AppSettings* settings) {
    QList<Checkpoint> out;
    for (const QVariant& v : settings->raw().value(QLatin1String(kCheckpointsKey)).toList()) {
        const QVariantMap m = v.toMap();
        if (!m.value(QStringLiteral("file")).toString().isEmpty())
            out.push_back({m.value(QStringLiteral("file")).toString(), m.value(QStringLiteral("config")).toString()});
    }
    return out;
}
void writeCheckpoints(AppSettings* settings, const QList<Checkpoint>& all) {
    QVariantList list;
    for (const Checkpoint& c : all) list << QVariantMap{{QStringLiteral("file"), c.file}, {QStringLiteral("config"), c.config}};
    settings->raw().setValue(QLatin1String(kCheckpointsKey), list);
}

QString cleanDir(const QString& dir) { return QDir::cleanPath(QDir(dir).absolutePath()); }

// `all` without the checkpoint `clean` (a clean path) and, when `keep` is set, with it again as `keep`.
QList<Checkpoint> replacingCheckpoint(QList<Checkpoint> all, const QString& clean, const Checkpoint* keep = nullptr) {
    all.erase(std::remove_if(all.begin(), all.end(), [&](const Checkpoint& c) { return cleanDir(c.file) == clean; }), all.end());
    if (keep) all.push_back(*keep);
    return all;
}
}  // namespace

DiffusionModelList::DiffusionModelList(AppSettings* settings, ModelLibrary* library, QObject* parent)
    : QObject(parent), settings_(settings), library_(library) {
    connect(&scanWatch_, &QFutureWatcher<std::vector<DiffusionModelInfo>>::finished, this, [this] {
        if (scanFrom_ != changes_) {  // the settings changed while it ran: its list is out of date
            rescan_ = false;
            return refresh();
        }
        setModels(scanWatch_.result());
    });
    if (library_) connect(library_, &ModelLibrary::folderChanged, this, &DiffusionModelList::refresh);
}

DiffusionModelList::~DiffusionModelList() { scanWatch_.waitForFinished(); }

void DiffusionModelList::refresh() {
    if (scanWatch_.isRunning()) {
        rescan_ = true;
        return;
    }
    const QString folder = library_ ? library_->folder() : QString();
    const QStringList added = settings_->raw().value(QLatin1String(kFoldersKey)).toStringList();
    const QList<Checkpoint> files = readCheckpoints(settings_);
    scanFrom_ = changes_;
    scanWatch_.setFuture(QtConcurrent::run([folder, added, files] {
        std::vector<DiffusionModelInfo> found = scanDiffusionModels(folder);
        for (const QString& dir : added) {
            const QString clean = cleanDir(dir);
            if (std::none_of(found.begin(), found.end(), [&](const DiffusionModelInfo& m) { return m.path == clean; }))
                found.push_back(readDiffusionModelInfo(clean));  // a folder since removed is listed with its error
        }
        for (const Checkpoint& c : files)  // a file since removed is listed with its error
            found.push_back(readCheckpointInfo(c.file, c.config));
        return found;
    }));
}

void DiffusionModelList::setModels(std::vector<DiffusionModelInfo> found) {
    models_ = std::move(found);
    emit changed();
    if (std::exchange(rescan_, false)) refresh();
}

void DiffusionModelList::addFolder(const QString& dir) {
    addAsync(dir, QString(), false);
}

void DiffusionModelList::addCheckpoint(const QString& file, const QString& configDir) {
    addAsync(file, configDir, true);
}

// Reads the folder's small JSON files or the checkpoint's header on a pool thread (a folder on a
// slow disk, a header of up to 100 MiB), then remembers and lists it, or says why not.
void DiffusionModelList::addAsync(const QString& path, const QString& configDir, bool file) {
    // What one stat tells is said at once (queued, as the answer of a read would come).
    QString refused;
    if (file && !isCheckpointFile(path))
        refused = QCoreApplication::translate("DiffusionModelList", "%1 cannot be used: %2.")
                      .arg(QDir::toNativeSeparators(path), QCoreApplication::translate("DiffusionModelList", "not a .safetensors file"));
    else if (!file && !isDiffusionFolder(path))
        refused = QCoreApplication::translate("DiffusionModelList",
                                              "%1 is not a diffusion model folder: it has no model_index.json (a Stable "
                                              "Diffusion folder in diffusers' layout is needed).")
                      .arg(QDir::toNativeSeparators(path));
    if (!refused.isEmpty()) {
        QMetaObject::invokeMethod(this, [this, refused] { emit modelRefused(refused); }, Qt::QueuedConnection);
        return;
    }
    auto* watch = new QFutureWatcher<DiffusionModelInfo>(this);
    connect(watch, &QFutureWatcher<DiffusionModelInfo>::finished, this, [this, watch, path, file] {
        watch->deleteLater();
        const DiffusionModelInfo info = watch->result();
        if (!info.usable()) {
            emit modelRefused(QCoreApplication::translate("DiffusionModelList", "%1 cannot be used: %2.")
                                  .arg(QDir::toNativeSeparators(path), info.error));
            return;
        }
        if (file) {
            const Checkpoint added{info.path, info.configDir};
            writeCheckpoints(settings_, replacingCheckpoint(readCheckpoints(settings_), info.path, &added));
        } else {
            QStringList added = settings_->raw().value(QLatin1String(kFoldersKey)).toStringList();
            if (!added.contains(info.path)) added << info.path;
            settings_->raw().setValue(QLatin1String(kFoldersKey), added);
        }
        listReplacing(info.path, &info);
        emit modelAdded(info.path);
    });
    watch->setFuture(QtConcurrent::run([path, configDir, file] {
        return file ? readCheckpointInfo(path, configDir) : readDiffusionModelInfo(path);
    }));
}

void DiffusionModelList::forget(const QString& path) {
    const QString clean = cleanDir(path);
    QStringList added = settings_->raw().value(QLatin1String(kFoldersKey)).toStringList();
    added.removeAll(clean);
    settings_->raw().setValue(QLatin1String(kFoldersKey), added);
    writeCheckpoints(settings_, replacingCheckpoint(readCheckpoints(settings_), clean));
    listReplacing(clean, nullptr);
}

// The list at once, without `path` and with `info` (when set) in its place. A scan in flight started
// before this change and is dropped when it ends (another one starts), so no scan is needed here.
void DiffusionModelList::listReplacing(const QString& path, const DiffusionModelInfo* info) {
    ++changes_;
    std::vector<DiffusionModelInfo> next = models_;
    next.erase(std::remove_if(next.begin(), next.end(), [&](const auto& m) { return m.path == path; }), next.end());
    if (info) next.push_back(*info);
    setModels(std::move(next));
}

QVariantList DiffusionModelList::toVariantList() const {
    QVariantList out;
    for (const DiffusionModelInfo& m : models_)
        out << QVariantMap{{"path", m.path}, {"name", m.name}, {"kind", m.kind}, {"bytes", double(m.weightBytes)},
                           {"usable", m.usable()}, {"error", m.error}, {"singleFile", m.singleFile}, {"configDir", m.configDir}};
    return out;
}

const DiffusionModelInfo* DiffusionModelList::find(const QString& path) const {
    if (path.isEmpty()) return nullptr;
    const QString clean = cleanDir(path);
    for (const DiffusionModelInfo& m : models_)
        if (m.path == clean) return &m;
    return nullptr;
}

QString DiffusionModelList::firstUsable() const {
    for (const DiffusionModelInfo& m : models_)
        if (m.usable()) return m.path;
    return {};
}

}  // namespace hearth::app
