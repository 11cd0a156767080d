// ModelWizard (QML singleton `Wizard`): the "Get models" wizard's state and steps, so the pages stay
// thin QML and QtTest can drive the whole journey:
//   source   — the built-in catalog (descriptions in the UI language), a hub repository id or URL
//              (huggingface.co or a mirror), or a local .gguf file or checkpoint folder;
//   files    — the repository's files from the hub's listing (on a pool thread), the catalog's
//              quantizations with sizes, and the per-device fit estimate for what is chosen;
//   download — the job in the Downloads queue (progress, pause, resume, cancel);
//   convert  — a safetensors checkpoint converted, or a GGUF quantized further (preset, optional
//              importance data), with progress and cancel;
//   quality  — perplexity (and KL divergence) before and after on the bundled texts; skippable;
//   done     — the model is in Models; "Start chatting" makes it the default.
// Each failed step keeps what was done and says what to do (DownloadController::advice).
#pragma once

#include <QObject>
#include <QThreadPool>
#include <QUrl>
#include <QVariantList>
#include <vector>

#include "engine/hub/catalog.h"
#include "engine/hub/listing.h"

namespace hearth::app {

class AppSettings;
class DownloadController;
class ModelBuildJob;
class ModelLibrary;
struct SystemMemory;

class ModelWizard : public QObject {
    Q_OBJECT
    Q_PROPERTY(QString page READ page NOTIFY pageChanged)
    Q_PROPERTY(QVariantList catalog READ catalog NOTIFY catalogChanged)
    Q_PROPERTY(bool busy READ busy NOTIFY stateChanged)
    Q_PROPERTY(QString error READ error NOTIFY stateChanged)
    Q_PROPERTY(QString advice READ advice NOTIFY stateChanged)
    Q_PROPERTY(QString repo READ repo NOTIFY stateChanged)
    Q_PROPERTY(QString endpoint READ endpoint NOTIFY stateChanged)
    Q_PROPERTY(QString sourceLabel READ sourceLabel NOTIFY stateChanged)
    Q_PROPERTY(QString catalogId READ catalogId NOTIFY stateChanged)
    // The listing: [{path, size, checked, kind}] (kind: gguf, safetensors, config, other).
    Q_PROPERTY(QVariantList files READ files NOTIFY filesChanged)
    // The catalog model's quantizations: [{name, size, fits, fitText, available}]; empty for a pasted repository.
    Q_PROPERTY(QVariantList quants READ quants NOTIFY filesChanged)
    Q_PROPERTY(QString quant READ quant NOTIFY filesChanged)
    Q_PROPERTY(double selectedBytes READ selectedBytes NOTIFY filesChanged)
    Q_PROPERTY(QString fitText READ fitText NOTIFY filesChanged)
    Q_PROPERTY(bool fits READ fits NOTIFY filesChanged)
    Q_PROPERTY(bool needsConversion READ needsConversion NOTIFY filesChanged)
    Q_PROPERTY(qint64 downloadId READ downloadId NOTIFY stateChanged)
    // The wizard's download as Downloads shows it (Downloads.job(downloadId), kept current).
    Q_PROPERTY(QVariantMap download READ download NOTIFY downloadChanged)
    // Convert and quantize: what goes in, and how far it got.
    Q_PROPERTY(QString buildInput READ buildInput NOTIFY stateChanged)
    Q_PROPERTY(bool buildFromCheckpoint READ buildFromCheckpoint NOTIFY stateChanged)
    Q_PROPERTY(QString buildStage READ buildStage NOTIFY progressChanged)
    Q_PROPERTY(double buildProgress READ buildProgress NOTIFY progressChanged)
    Q_PROPERTY(QStringList presets READ presets CONSTANT)
    Q_PROPERTY(QVariantMap quality READ quality NOTIFY stateChanged)
    Q_PROPERTY(bool qualityPossible READ qualityPossible NOTIFY stateChanged)
    Q_PROPERTY(QString resultPath READ resultPath NOTIFY stateChanged)
    Q_PROPERTY(QString resultName READ resultName NOTIFY stateChanged)
    // The made model is an embedding model (from the library's scan): the quality step compares
    // vectors, and the last page offers it to the local API instead of the chat.
    Q_PROPERTY(bool resultEmbedding READ resultEmbedding NOTIFY stateChanged)

public:
    ModelWizard(AppSettings* settings, ModelLibrary* library, DownloadController* downloads, const QString& dataDir,
                QObject* parent = nullptr);
    ~ModelWizard() override;

    QString page() const { return page_; }
    QVariantList catalog() const;
    bool busy() const { return busy_; }
    QString error() const { return error_; }
    QString advice() const { return advice_; }
    QString repo() const { return repo_; }
    QString endpoint() const { return endpoint_; }
    QString sourceLabel() const { return sourceLabel_; }
    QString catalogId() const { return catalogId_; }
    QVariantList files() const;
    QVariantList quants() const;
    QString quant() const { return quant_; }
    double selectedBytes() const;
    QString fitText() const;
    bool fits() const;
    bool needsConversion() const;
    qint64 downloadId() const { return downloadId_; }
    QVariantMap download() const;
    // "en" or "zh_CN": the language of the catalog's descriptions (AppContext::applyLanguage sets it).
    void setUiLanguage(const QString& language);
    QString buildInput() const { return buildInput_; }
    bool buildFromCheckpoint() const { return buildFromCheckpoint_; }
    QString buildStage() const { return buildStage_; }
    double buildProgress() const { return buildProgress_; }
    QStringList presets() const;
    QVariantMap quality() const { return quality_; }
    bool qualityPossible() const { return !qualityBefore_.isEmpty(); }
    QString resultPath() const { return resultPath_; }
    QString resultName() const;
    bool resultEmbedding() const;
    Q_INVOKABLE void useForEmbeddings();  // Settings → Local API server's embedding model

    // Back to the Source page (a running download goes on in the queue).
    Q_INVOKABLE void reset();
    Q_INVOKABLE void back();
    // Source page.
    Q_INVOKABLE void chooseCatalog(const QString& id, const QString& quant = QStringLiteral("Q4_K_M"));
    Q_INVOKABLE void chooseCatalogSource(const QString& id);  // the original safetensors checkpoint, to convert here
    Q_INVOKABLE void chooseRepo(const QString& text);         // "org/name" or a hub / mirror URL
    Q_INVOKABLE void chooseLocal(const QUrl& url);            // a .gguf file or a checkpoint folder
    Q_INVOKABLE void chooseLocalPath(const QString& path);
    // Files page.
    Q_INVOKABLE void setFileChecked(int index, bool checked);
    Q_INVOKABLE void selectQuant(const QString& name);
    Q_INVOKABLE void startDownload();
    // Download page (it also lists the whole queue: showDownloads opens it from the downloads indicator).
    Q_INVOKABLE void showDownloads();
    Q_INVOKABLE void pauseDownload();
    Q_INVOKABLE void resumeDownload();
    Q_INVOKABLE void cancelDownload();
    // Convert page. preset: Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0; imatrix: optional importance data file.
    Q_INVOKABLE void startBuild(const QString& preset, const QUrl& imatrix = QUrl());
    Q_INVOKABLE void cancelBuild();
    Q_INVOKABLE void addAsIs();  // a local .gguf used as it is (no quantizing)
    // Quality page.
    Q_INVOKABLE void runQuality();
    Q_INVOKABLE void skipQuality();
    // Done page: makes the new model the default for new conversations.
    Q_INVOKABLE void startChatting();

    // For the tests and the pages: the files the listing gave (after the last chooseRepo/chooseCatalog).
    const std::vector<hub::RepoFile>& listing() const { return listing_; }
    // The quality texts the wizard scores (bundled in the app's resources, copied out to read).
    QStringList qualityTexts() const;

signals:
    void pageChanged();
    void catalogChanged();
    void stateChanged();
    void filesChanged();
    void progressChanged();
    void downloadChanged();
    void chatRequested();

private:
    void setPage(const QString& p);
    void setError(const QString& error, const QString& advice = {});
    void listRepo(const QString& endpoint, const QString& repo, const QString& revision, const QStringList& patterns,
                  const QString& label);
    void onListed(quint64 token, const QString& error, const std::vector<hub::RepoFile>& files, const QStringList& patterns);
    void onDownloadFinished(qint64 id, const QString& destination, const QStringList& paths);
    void onDownloadFailed(qint64 id, const QString& message);
    void onBuildFinished(const QString& outPath, const QString& source, const QString& error, bool cancelled);
    void onQualityFinished(const QVariantMap& result, const QString& error, bool cancelled);
    void finishWithModel(const QString& path);
    QString fitFor(double bytes, bool* fits) const;
    QString fitFor(double bytes, bool* fits, const SystemMemory& mem) const;
    static QString kindOf(const QString& path);

    AppSettings* settings_;
    ModelLibrary* library_;
    DownloadController* downloads_;
    ModelBuildJob* build_;
    QString dataDir_;
    hub::Catalog catalog_;
    QThreadPool pool_;  // listings: never the shared pool, which scans and imports use
    quint64 listToken_ = 0;  // a newer listing makes an older answer stale

    QString page_ = QStringLiteral("source");
    bool busy_ = false;
    QString error_, advice_;
    QString repo_, revision_, endpoint_, sourceLabel_, catalogId_, quant_;
    std::vector<hub::RepoFile> listing_;
    std::vector<bool> checked_;
    qint64 downloadId_ = 0;
    QString buildInput_;
    bool buildFromCheckpoint_ = false;
    QString buildStage_;
    double buildProgress_ = 0;
    QString qualityBefore_;  // the unquantized model the quality step compares with
    QString intermediate_;   // a converted F16 file the wizard made (deleted when done)
    QVariantMap quality_;
    QString resultPath_;
    QString uiLanguage_ = QStringLiteral("en");
    bool awaitingImport_ = false;
};

}  // namespace hearth::app
