// ImageController (QML singleton `Images`): the Image tab. It holds the form (prompt, negative
// prompt, model, size, steps, guidance, sampler, seed), runs generations on a DiffusionWorker in its
// own thread (the pipeline stays open while the same model is chosen), keeps the latest latent
// preview for the page (PreviewImageProvider serves it as image://hearthpreview/N), and keeps the
// gallery: PNGs under <data>/images/ with their settings in the database (ImageGallery, schema v6).
// It also lists the diffusion models (pipeline folders in the models folder, and folders added with
// "Add folder…", remembered in the settings), takes prompts handed over from the chat ("Send to
// Image", "Write a prompt" through the chat's loaded model), and says when the chat model and the
// diffusion model will not fit in memory together, offering to unload the chat model for the run.
// Images are drawn on the device of the Settings' device choice, as the chat (the worker probes and
// opens it on its thread); the page says which device draws, and the memory check compares the chat
// and the pipeline against that device's memory when both are on it (a GPU, or the host).
#pragma once

#include <QImage>
#include <QObject>
#include <QThread>
#include <QUrl>
#include <QVariantList>
#include <mutex>
#include <optional>

#include "app/library/diffusion_model_list.h"
#include "app/models/gallery_list_model.h"
#include "app/store/image_gallery.h"
#include "app/worker/diffusion_worker.h"

namespace hearth::app {

class AppSettings;
class ChatController;
class ChatStore;
class ModelLibrary;

class ImageController : public QObject {
    Q_OBJECT
    // The form.
    Q_PROPERTY(QString prompt READ prompt WRITE setPrompt NOTIFY formChanged)
    Q_PROPERTY(QString negative READ negative WRITE setNegative NOTIFY formChanged)
    Q_PROPERTY(QString modelPath READ modelPath WRITE setModelPath NOTIFY formChanged)
    Q_PROPERTY(int width READ width WRITE setWidth NOTIFY formChanged)
    Q_PROPERTY(int height READ height WRITE setHeight NOTIFY formChanged)
    Q_PROPERTY(int steps READ steps WRITE setSteps NOTIFY formChanged)
    Q_PROPERTY(double guidance READ guidance WRITE setGuidance NOTIFY formChanged)
    Q_PROPERTY(QString sampler READ sampler WRITE setSampler NOTIFY formChanged)
    Q_PROPERTY(bool randomSeed READ randomSeed WRITE setRandomSeed NOTIFY formChanged)
    Q_PROPERTY(QString seed READ seed WRITE setSeed NOTIFY formChanged)  // text: 64-bit seeds exceed QML numbers
    // The diffusion models: [{path, name, kind, bytes, usable, error}].
    Q_PROPERTY(QVariantList models READ models NOTIFY modelsChanged)
    Q_PROPERTY(hearth::app::GalleryListModel* gallery READ gallery CONSTANT)
    // The run.
    Q_PROPERTY(bool running READ running NOTIFY runChanged)
    Q_PROPERTY(bool opening READ opening NOTIFY runChanged)  // the pipeline is being opened
    Q_PROPERTY(int step READ step NOTIFY runChanged)
    Q_PROPERTY(int totalSteps READ totalSteps NOTIFY runChanged)
    Q_PROPERTY(int previewSerial READ previewSerial NOTIFY previewChanged)  // 0: no preview
    Q_PROPERTY(qint64 currentImageId READ currentImageId NOTIFY currentImageChanged)  // the image shown large (0: none)
    Q_PROPERTY(QString currentImageFile READ currentImageFile NOTIFY currentImageChanged)
    // One line of what made it: the prompt, size, steps, guidance, sampler, seed, model, time.
    Q_PROPERTY(QString currentImageSummary READ currentImageSummary NOTIFY currentImageChanged)
    Q_PROPERTY(QString errorText READ errorText NOTIFY errorChanged)
    Q_PROPERTY(QString memoryWarning READ memoryWarning NOTIFY memoryChanged)
    Q_PROPERTY(bool writingPrompt READ writingPrompt NOTIFY writingPromptChanged)
    // Which device draws: "Draws on Vulkan: <name>" / "Draws on the CPU" ("" until the worker has looked).
    Q_PROPERTY(QString deviceText READ deviceText NOTIFY deviceChanged)
    // Auto passed over a GPU that could not hold the model or the size, and why ("" otherwise).
    Q_PROPERTY(QString deviceNote READ deviceNote NOTIFY deviceChanged)

public:
    ImageController(ChatStore* store, AppSettings* settings, ModelLibrary* library, ChatController* chat,
                    const QString& dataDir, QObject* parent = nullptr);
    ~ImageController() override;

    QString prompt() const { return prompt_; }
    QString negative() const { return negative_; }
    QString modelPath() const { return modelPath_; }
    int width() const { return width_; }
    int height() const { return height_; }
    int steps() const { return steps_; }
    double guidance() const { return guidance_; }
    QString sampler() const { return sampler_; }
    bool randomSeed() const { return randomSeed_; }
    QString seed() const { return seed_; }
    void setPrompt(const QString& v);
    void setNegative(const QString& v);
    void setModelPath(const QString& v);
    void setWidth(int v);
    void setHeight(int v);
    void setSteps(int v);
    void setGuidance(double v);
    void setSampler(const QString& v);
    void setRandomSeed(bool v);
    void setSeed(const QString& v);

    QVariantList models() const { return models_.toVariantList(); }
    GalleryListModel* gallery() { return &gallery_; }
    bool running() const { return currentRequest_ != 0; }
    bool opening() const { return opening_; }
    int step() const { return step_; }
    int totalSteps() const { return totalSteps_; }
    int previewSerial() const { return previewSerial_; }
    QImage preview() const;  // any thread (the image provider's)
    qint64 currentImageId() const { return currentImageId_; }
    QString currentImageFile() const;
    QString currentImageSummary() const;
    static QString samplerLabel(const QString& key);  // "euler_a" → "Euler a"
    QString errorText() const { return errorText_; }
    QString memoryWarning() const { return memoryWarning_; }
    bool writingPrompt() const { return promptRequest_ != 0; }
    QString deviceText() const;
    QString deviceNote() const;
    const DiffusionDevice& device() const { return device_; }
    QString imagesDir() const;

    Q_INVOKABLE void refreshModels();
    // "Add folder…": a diffusers folder (with model_index.json) used where it is. "Add checkpoint…":
    // a single-file SD checkpoint (.safetensors) used where it is; without CLIP's tokenizer/ beside
    // it, it needs the diffusers folder of the same model (its configs and tokenizer), which the
    // page asks for next. Both are read off the UI thread: the model is then selected and
    // modelAdded follows, or errorText says why not.
    Q_INVOKABLE void addModelFolder(const QUrl& folder);
    Q_INVOKABLE void addModelPath(const QString& dir);
    Q_INVOKABLE bool checkpointNeedsConfigFolder(const QUrl& file) const;
    Q_INVOKABLE void addCheckpointFile(const QUrl& file, const QUrl& configFolder);
    Q_INVOKABLE void addCheckpointPath(const QString& file, const QString& configDir);
    Q_INVOKABLE void forgetModelFolder(const QString& dir);

    // Starts a run with the form's settings (false, with errorText set, when the form is not runnable).
    Q_INVOKABLE bool generate();
    Q_INVOKABLE void stop();
    Q_INVOKABLE void showImage(qint64 id);
    Q_INVOKABLE bool deleteImage(qint64 id);   // the file and its row
    Q_INVOKABLE void reuseSettings(qint64 id); // fills the form with that image's settings (its seed fixed)
    Q_INVOKABLE bool copyImage(qint64 id) const;
    Q_INVOKABLE bool saveImageAs(qint64 id, const QUrl& file);
    Q_INVOKABLE bool openImage(qint64 id) const;  // in the system's viewer
    Q_INVOKABLE QString suggestedFileName(qint64 id) const;
    Q_INVOKABLE void dismissError();

    // The hand-off from the chat: the message's text (reasoning removed) as the prompt.
    Q_INVOKABLE void sendToImage(const QString& messageText);
    // Asks the chat's loaded model to turn the message into one concise English image prompt
    // (translating a Chinese one); the answer lands in the prompt field. False when no chat model is loaded.
    Q_INVOKABLE bool writePrompt(const QString& messageText);
    // Unloads the chat model now and loads it again when the next run ends.
    Q_INVOKABLE void unloadChatForRun();
    Q_INVOKABLE void recheckMemory();
    // Re-emits the texts made in C++ (the memory warning, the image's summary) after a language switch.
    void retranslate();

    // Whether a chat model of `chatBytes` and a diffusion model of `diffusionBytes` fit together in
    // `availableBytes` (0: unknown, which fits).
    static bool fitsTogether(uint64_t chatBytes, uint64_t diffusionBytes, uint64_t availableBytes);
    // Tests: pretend this much memory is free on the device images draw on (the host, or the GPU's
    // report beside the chat); 0: read it again.
    void setAvailableMemoryForTest(uint64_t bytes);
    static QString promptInstruction();  // the system prompt of "Write a prompt"

signals:
    void formChanged();
    void modelsChanged();
    void runChanged();
    void previewChanged();
    void currentImageChanged();
    void errorChanged();
    void memoryChanged();
    void writingPromptChanged();
    void deviceChanged();
    // The page should be shown (a hand-off from the chat).
    void pageRequested();
    // "Add folder…" or "Add checkpoint…" succeeded: the model is the selected one.
    void modelAdded();
    // A run ended: the image was saved (id > 0), or it was stopped or failed (id 0).
    void runFinished(qint64 imageId, bool stopped);

private:
    void showError(const QString& message);
    void onModelsChanged();
    const DiffusionModelInfo* findModel(const QString& path) const;
    void onProgress(quint64 requestId, int step, int steps, const QImage& preview);
    void onFinished(quint64 requestId, const QString& file, double seconds, const QStringList& warnings);
    void onFailed(quint64 requestId, const QString& message, bool stopped);
    void endRun();
    void onPromptWritten(quint64 requestId, const QString& text, const QString& error);
    void onDeviceReported(const DiffusionDevice& device);
    void probeDeviceIfChanged();  // asks the worker which device the settings' choice draws on

    ChatStore* store_;
    AppSettings* settings_;
    ModelLibrary* library_;
    ChatController* chat_;
    QString dataDir_;
    ImageGallery galleryStore_;
    GalleryListModel gallery_;

    QString prompt_, negative_, modelPath_;
    int width_ = 512, height_ = 512, steps_ = 20;
    double guidance_ = 7.5;
    QString sampler_ = QStringLiteral("euler");
    bool randomSeed_ = true;
    QString seed_ = QStringLiteral("0");

    DiffusionModelList models_;

    QThread thread_;
    DiffusionWorker* worker_ = nullptr;
    quint64 nextRequest_ = 1;
    quint64 currentRequest_ = 0;
    ImageRecord pending_;  // the settings of the running request (its row once it succeeds)
    bool opening_ = false;
    int step_ = 0, totalSteps_ = 0;
    mutable std::mutex previewMutex_;
    QImage preview_;
    int previewSerial_ = 0;
    qint64 currentImageId_ = 0;

    QString errorText_, memoryWarning_;
    std::optional<uint64_t> availableForTest_;
    QString reloadChatAfterRun_;  // the chat model unloaded for this run
    quint64 promptRequest_ = 0;
    DiffusionDevice device_;  // the worker's last report
    QString probedKey_;       // the device setting last asked about
};

}  // namespace hearth::app
