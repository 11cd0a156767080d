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

QString cleanDir(const QString& dir) { return QDir::cleanPath(QDir(dir).absolutePath()); }
}  // namespace

DiffusionModelList::DiffusionModelList(AppSettings* settings, ModelLibrary* library, QObject* parent)
    : QObject(parent), settings_(settings), library_(library) {
    connect(&scanWatch_, &QFutureWatcher<std::vector<DiffusionModelInfo>>::finished, this,
            [this] { setModels(scanWatch_.result()); });
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
    scanWatch_.setFuture(QtConcurrent::run([folder, added] {
        std::vector<DiffusionModelInfo> found = scanDiffusionModels(folder);
        for (const QString& dir : added) {
            const QString clean = cleanDir(dir);
            if (std::none_of(found.begin(), found.end(), [&](const DiffusionModelInfo& m) { return m.path == clean; }))
                found.push_back(readDiffusionModelInfo(clean));  // a folder since removed is listed with its error
        }
        return found;
    }));
}

void DiffusionModelList::setModels(std::vector<DiffusionModelInfo> found) {
    models_ = std::move(found);
    emit changed();
    if (std::exchange(rescan_, false)) refresh();
}

QString DiffusionModelList::add(const QString& dir, DiffusionModelInfo* out) {
    if (!isDiffusionFolder(dir))
        return QCoreApplication::translate("DiffusionModelList",
                                           "%1 is not a diffusion model folder: it has no model_index.json (a Stable "
                                           "Diffusion folder in diffusers' layout is needed).")
            .arg(QDir::toNativeSeparators(dir));
    const DiffusionModelInfo info = readDiffusionModelInfo(dir);  // a few small JSON files
    if (!info.usable())
        return QCoreApplication::translate("DiffusionModelList", "%1 cannot be used: %2.")
            .arg(QDir::toNativeSeparators(dir), info.error);
    QStringList added = settings_->raw().value(QLatin1String(kFoldersKey)).toStringList();
    if (!added.contains(info.path)) added << info.path;
    settings_->raw().setValue(QLatin1String(kFoldersKey), added);
    std::vector<DiffusionModelInfo> next = models_;
    next.erase(std::remove_if(next.begin(), next.end(), [&](const auto& m) { return m.path == info.path; }), next.end());
    next.push_back(info);
    if (out) *out = info;
    setModels(std::move(next));
    refresh();  // a scan in flight may have missed it
    return {};
}

void DiffusionModelList::forget(const QString& dir) {
    const QString clean = cleanDir(dir);
    QStringList added = settings_->raw().value(QLatin1String(kFoldersKey)).toStringList();
    added.removeAll(clean);
    settings_->raw().setValue(QLatin1String(kFoldersKey), added);
    std::vector<DiffusionModelInfo> next = models_;
    next.erase(std::remove_if(next.begin(), next.end(), [&](const auto& m) { return m.path == clean; }), next.end());
    setModels(std::move(next));
    refresh();
}

QVariantList DiffusionModelList::toVariantList() const {
    QVariantList out;
    for (const DiffusionModelInfo& m : models_)
        out << QVariantMap{{"path", m.path}, {"name", m.name}, {"kind", m.kind}, {"bytes", double(m.weightBytes)},
                           {"usable", m.usable()}, {"error", m.error}};
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
