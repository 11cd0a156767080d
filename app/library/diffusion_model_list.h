// The diffusion models Hearth knows: the pipeline folders directly inside the models folder, and
// folders added with "Add folder…" and checkpoint files added with "Add checkpoint…" where they are
// (remembered in the settings). Listing reads only
// small JSON files, on a pool thread (diffusion_model_info.h); the result comes back as a queued
// call and `changed`. ImageController owns one and shows it as `Images.models`.
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QVariantList>
#include <vector>

#include "app/library/diffusion_model_info.h"

namespace hearth::app {

class AppSettings;
class ModelLibrary;

class DiffusionModelList : public QObject {
    Q_OBJECT
public:
    DiffusionModelList(AppSettings* settings, ModelLibrary* library, QObject* parent = nullptr);
    ~DiffusionModelList() override;  // waits for a scan in flight

    void refresh();
    // Adds a diffusers folder, or a single-file checkpoint with the diffusers folder of the same model
    // for its configs and tokenizer (empty: its family's usual configs and tokenizer/ beside the
    // file), where it is. Read on a pool thread; `modelAdded` (it is listed and remembered) or
    // `modelRefused` (with the reason, in the UI language) follows.
    void addFolder(const QString& dir);
    void addCheckpoint(const QString& file, const QString& configDir);
    void forget(const QString& path);

    const std::vector<DiffusionModelInfo>& models() const { return models_; }
    // [{path, name, kind, bytes, usable, error, singleFile, configDir}] for QML.
    QVariantList toVariantList() const;
    // The entry of `path` (any spelling of the folder), or null.
    const DiffusionModelInfo* find(const QString& path) const;
    // The first usable model's folder ("" when none).
    QString firstUsable() const;

signals:
    void changed();
    void modelAdded(const QString& path);
    void modelRefused(const QString& reason);

private:
    void setModels(std::vector<DiffusionModelInfo> found);
    void addAsync(const QString& path, const QString& configDir, bool file);
    void listReplacing(const QString& path, const DiffusionModelInfo* info);

    AppSettings* settings_;
    ModelLibrary* library_;
    std::vector<DiffusionModelInfo> models_;
    QFutureWatcher<std::vector<DiffusionModelInfo>> scanWatch_;
    bool rescan_ = false;
    // Adds and removals made here count up `changes_`; a scan remembers the count it started at, and
    // a scan that started before the last change is dropped (and another one started): its list
    // would bring back a removed model, or lose one just added, until the next scan.
    quint64 changes_ = 0;
    quint64 scanFrom_ = 0;
};

}  // namespace hearth::app
