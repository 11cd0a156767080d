// ModelLibrary (QML singleton `Models`): the models folder — scan, import (validate, then copy in
// with progress and cancel, or use the file where it is), delete, and the memory estimate that
// says whether a model fits this machine. File work runs on a pool thread; results come back as
// queued calls, so the window never waits on a disk.
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QStringList>
#include <QUrl>
#include <QVariantMap>
#include <atomic>
#include <memory>

#include "app/library/model_file_list_model.h"

namespace hearth::app {

class AppSettings;

class ModelLibrary : public QObject {
    Q_OBJECT
    Q_PROPERTY(hearth::app::ModelFileListModel* list READ list CONSTANT)
    Q_PROPERTY(QString folder READ folder NOTIFY folderChanged)
    Q_PROPERTY(bool scanning READ scanning NOTIFY scanningChanged)
    Q_PROPERTY(bool importing READ importing NOTIFY importChanged)
    Q_PROPERTY(double importProgress READ importProgress NOTIFY importChanged)
    Q_PROPERTY(QString importName READ importName NOTIFY importChanged)
    Q_PROPERTY(QStringList externalModels READ externalModels NOTIFY externalModelsChanged)
    // The compute devices to offer in Settings (see devices()); filled by probeDevices() on a pool thread.
    Q_PROPERTY(QVariantList devices READ devices NOTIFY devicesChanged)
    Q_PROPERTY(bool devicesProbed READ devicesProbed NOTIFY devicesChanged)
public:
    explicit ModelLibrary(AppSettings* settings, QObject* parent = nullptr);
    ~ModelLibrary() override;

    ModelFileListModel* list() { return &list_; }
    QString folder() const;
    bool scanning() const { return scanning_; }
    bool importing() const { return importing_; }
    double importProgress() const { return importProgress_; }
    QString importName() const { return importName_; }
    QStringList externalModels() const { return external_; }

    Q_INVOKABLE void refresh();
    // copy: true copies the file(s) into the models folder; false registers it where it is.
    Q_INVOKABLE void importModel(const QUrl& fileUrl, bool copy);
    Q_INVOKABLE void importPath(const QString& path, bool copy);
    Q_INVOKABLE void cancelImport();
    Q_INVOKABLE bool deleteModel(const QString& path);  // deletes the file(s) it copied, forgets external ones
    Q_INVOKABLE QVariantMap estimate(const QString& path, int nCtx) const;
    Q_INVOKABLE QVariantMap info(const QString& path) const;
    Q_INVOKABLE QString displayName(const QString& path) const;
    // The embedding models of the list, for the API server's choice: [{path, label}], by name.
    Q_INVOKABLE QVariantList embeddingModels() const;
    Q_INVOKABLE bool isInFolder(const QString& path) const;
    // The compute devices to offer in Settings: [{key, label}], "auto" and "cpu" first, then every
    // GPU the engine's backends see (CPU implementations of Vulkan such as lavapipe are left out:
    // the CPU backend is faster). Keys are AppSettings device keys. Enumerating CUDA and Vulkan takes
    // a moment, so probeDevices() does it on a pool thread; until it is done, devices() is "auto"
    // and "cpu" only.
    QVariantList devices() const;
    bool devicesProbed() const { return devicesProbed_; }
    void probeDevices();

    // The check done before loading, from the last scan (no file is read): empty when the model can
    // be used and fits, otherwise the message to show. Host memory is checked only when the model
    // runs on the CPU (device "cpu", or "auto" on a machine without a GPU); a GPU placement sizes
    // its layer split from the device's free memory itself.
    QString refuseReason(const QString& path, int nCtx, const QString& device = QStringLiteral("cpu")) const;
    // One plain sentence for why a model cannot be used.
    static QString problemText(ModelProblem problem, const QString& architecture);
    // Re-emits the texts that depend on the UI language (problem sentences, device labels).
    void retranslate();

signals:
    void folderChanged();
    void scanningChanged();
    void importChanged();
    void externalModelsChanged();
    void imported(const QString& path);
    void importFailed(const QString& message, const QString& details);
    void devicesChanged();
    void deleted(const QString& path);
    void errorOccurred(const QString& message);

private:
    void finishScan(std::vector<ModelFileInfo> models);
    // Shows an imported model (its info read on the import's thread) or drops a deleted one at once,
    // instead of waiting for the scan that follows: the wizard names the model the moment it is in.
    void showImported(ModelFileInfo info);
    void dropFromList(const QString& path);
    std::vector<ModelFileInfo> rowsWithout(const QString& path) const;
    void showChanged(std::vector<ModelFileInfo> rows);  // shows `rows`, counts a change, scans again
    void setImportState(bool importing, double progress, const QString& name);

    AppSettings* settings_;
    ModelFileListModel list_;
    QStringList external_;
    QVariantList gpus_;
    bool devicesProbed_ = false;
    bool scanning_ = false;
    bool rescan_ = false;
    // Imports and deletions count up; a scan that started before the last one is out of date when it
    // ends (it could list a model just deleted, or miss one just imported), so it is dropped and run again.
    quint64 changes_ = 0, scanFrom_ = 0;
    bool importing_ = false;
    double importProgress_ = 0;
    QString importName_;
    std::shared_ptr<std::atomic<bool>> cancelImport_;
    QFutureWatcher<void> scanWatch_, importWatch_, probeWatch_;
};

}  // namespace hearth::app
