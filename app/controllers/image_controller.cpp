#include "app/controllers/image_controller.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QRegularExpression>

#include "app/chat/message_blocks.h"
#include "app/controllers/chat_controller.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "app/store/chat_store.h"
#include "app/support/desktop_helper.h"
#include "app/support/replace_file.h"
#include "app/support/system_memory.h"

namespace hearth::app {

namespace {
const char* const kModelKey = "image/model";      // the last chosen one

// The VAE works in 8-pixel latents, so sides are multiples of 8 (the UNet rounds odd latent sides
// as diffusers does); the largest side is a sanity bound, not an engine limit.
constexpr int kSizeStep = 8, kMaxSide = 2048, kMaxSteps = 150;
constexpr double kMaxGuidance = 30;
const QStringList kSamplers = {QStringLiteral("euler"), QStringLiteral("euler_a"), QStringLiteral("ddim"), QStringLiteral("lcm")};
}  // namespace

ImageController::ImageController(ChatStore* store, AppSettings* settings, ModelLibrary* library, ChatController* chat,
                                 const QString& dataDir, QObject* parent)
    : QObject(parent), store_(store), settings_(settings), library_(library), chat_(chat), dataDir_(dataDir),
      galleryStore_(store), models_(settings, library) {
    worker_ = new DiffusionWorker;
    worker_->moveToThread(&thread_);
    thread_.setObjectName(QStringLiteral("diffusion"));
    connect(worker_, &DiffusionWorker::opening, this, [this](quint64 id) {
        if (id != currentRequest_) return;
        opening_ = true;
        emit runChanged();
    });
    connect(worker_, &DiffusionWorker::progress, this, &ImageController::onProgress);
    connect(worker_, &DiffusionWorker::finished, this, &ImageController::onFinished);
    connect(worker_, &DiffusionWorker::failed, this, &ImageController::onFailed);
    connect(worker_, &DiffusionWorker::deviceReported, this, &ImageController::onDeviceReported);
    thread_.start();
    // Which device draws, asked of the worker's thread now and whenever the setting changes.
    connect(settings_, &AppSettings::changed, this, &ImageController::probeDeviceIfChanged);
    probeDeviceIfChanged();

    modelPath_ = settings_->raw().value(QLatin1String(kModelKey)).toString();
    connect(&models_, &DiffusionModelList::changed, this, &ImageController::onModelsChanged);
    connect(&models_, &DiffusionModelList::modelAdded, this, [this](const QString& path) {
        setModelPath(path);
        emit modelAdded();
    });
    connect(&models_, &DiffusionModelList::modelRefused, this, &ImageController::showError);
    if (chat_) {
        connect(chat_, &ChatController::oneOffFinished, this, &ImageController::onPromptWritten);
        connect(chat_, &ChatController::modelChanged, this, &ImageController::recheckMemory);
    }
    if (store_->isOpen()) {
        auto rows = galleryStore_.all();
        if (rows.ok()) gallery_.setImages(std::move(*rows));
        else showError(QString::fromStdString(rows.message()));
    }
    refreshModels();
}

ImageController::~ImageController() {
    if (currentRequest_) worker_->requestStop(currentRequest_);
    thread_.quit();
    thread_.wait();
    delete worker_;  // its thread has ended
}

// ---- the form ----

void ImageController::setPrompt(const QString& v) {
    if (v == prompt_) return;
    prompt_ = v;
    emit formChanged();
}
void ImageController::setNegative(const QString& v) {
    if (v == negative_) return;
    negative_ = v;
    emit formChanged();
}
void ImageController::setModelPath(const QString& v) {
    if (v == modelPath_) return;
    modelPath_ = v;
    // The open pipeline is kept only while its model is the chosen one: another choice frees its
    // weights now (queued, so a running generation ends first), not at the next run.
    QMetaObject::invokeMethod(worker_, [w = worker_, dir = v] { w->unloadUnless(dir); }, Qt::QueuedConnection);
    settings_->raw().setValue(QLatin1String(kModelKey), v);
    emit formChanged();
    recheckMemory();
}
void ImageController::setWidth(int v) {
    if (v == width_) return;
    width_ = v;
    emit formChanged();
}
void ImageController::setHeight(int v) {
    if (v == height_) return;
    height_ = v;
    emit formChanged();
}
void ImageController::setSteps(int v) {
    if (v == steps_) return;
    steps_ = v;
    emit formChanged();
}
void ImageController::setGuidance(double v) {
    if (v == guidance_) return;
    guidance_ = v;
    emit formChanged();
}
void ImageController::setSampler(const QString& v) {
    if (v == sampler_) return;
    sampler_ = v;
    emit formChanged();
}
void ImageController::setRandomSeed(bool v) {
    if (v == randomSeed_) return;
    randomSeed_ = v;
    emit formChanged();
}
void ImageController::setSeed(const QString& v) {
    if (v == seed_) return;
    seed_ = v;
    emit formChanged();
}

// ---- models ----

void ImageController::refreshModels() { models_.refresh(); }

void ImageController::onModelsChanged() {
    emit modelsChanged();
    // Keep the choice while it is listed; otherwise the first usable model.
    if (!findModel(modelPath_)) {
        const QString first = models_.firstUsable();
        if (!first.isEmpty() || modelPath_.isEmpty()) setModelPath(first);
    }
    recheckMemory();
}

const DiffusionModelInfo* ImageController::findModel(const QString& path) const { return models_.find(path); }

void ImageController::addModelFolder(const QUrl& folder) {
    addModelPath(localFilePath(folder));
}

void ImageController::addModelPath(const QString& dir) {
    dismissError();
    models_.addFolder(dir);
}

bool ImageController::checkpointNeedsConfigFolder(const QUrl& file) const { return !checkpointHasTokenizer(localFilePath(file)); }

void ImageController::addCheckpointFile(const QUrl& file, const QUrl& configFolder) {
    addCheckpointPath(localFilePath(file), localFilePath(configFolder));
}

void ImageController::addCheckpointPath(const QString& file, const QString& configDir) {
    dismissError();
    models_.addCheckpoint(file, configDir);
}

void ImageController::forgetModelFolder(const QString& dir) {
    if (models_.find(dir) && models_.find(dir)->path == modelPath_) setModelPath(QString());
    models_.forget(dir);
}

// ---- memory ----

bool ImageController::fitsTogether(uint64_t chatBytes, uint64_t diffusionBytes, uint64_t availableBytes) {
    return availableBytes == 0 || chatBytes + diffusionBytes <= availableBytes;
}

void ImageController::setAvailableMemoryForTest(uint64_t bytes) {
    availableForTest_ = bytes ? std::optional<uint64_t>(bytes) : std::nullopt;
    recheckMemory();
}

void ImageController::recheckMemory() {
    QString warning;
    const DiffusionModelInfo* d = findModel(modelPath_);
    const QString chatPath = chat_ ? chat_->modelPath() : QString();
    if (d && !chatPath.isEmpty() && chat_->modelState() == QLatin1String("ready")) {
        // The Models page's basis: the chat model's footprint at the context setting; the pipeline's
        // weight files (F16 kept as they are) against the memory of the device both would use.
        uint64_t chatBytes = 0;
        if (library_)
            if (const ModelFileInfo* m = library_->list()->find(chatPath))
                chatBytes = estimateMemory(*m, settings_->contextLength()).total();
        if (chatBytes == 0) chatBytes = uint64_t(QFileInfo(chatPath).size());
        // The chat's backend description starts with its device's label ("Vulkan: <name> (…)").
        const QString chatDevice = chat_->backendDescription();
        const bool chatOnGpu = chatDevice.startsWith(QLatin1String("Vulkan: ")) || chatDevice.startsWith(QLatin1String("CUDA: "));
        if (device_.onGpu()) {
            // Both on this GPU: the chat's weights are already out of what it reports free, so they
            // count back in, and both are compared with what the device can hold. On different
            // devices they do not compete (the engine's plan still checks the image's own size).
            if (chatDevice.startsWith(device_.label)) {
                const uint64_t free = availableForTest_ ? *availableForTest_ : device_.freeBytes;
                if (!fitsTogether(chatBytes, d->weightBytes, free + chatBytes))
                    warning = tr("The chat model (%1) and %2 (%3) may not fit together in the memory of %4: %5 is free there. "
                                 "Unload the chat model for this run to make room.")
                                  .arg(formatBytesText(double(chatBytes)), d->name, formatBytesText(double(d->weightBytes)),
                                       device_.label, formatBytesText(double(free)));
            }
        } else if (!chatOnGpu) {
            const uint64_t available = availableForTest_ ? *availableForTest_ : readSystemMemory().availableBytes;
            if (!fitsTogether(chatBytes, d->weightBytes, available))
                warning = tr("The chat model (%1) and %2 (%3) may not fit in memory together: %4 is free. "
                             "Unload the chat model for this run to make room.")
                              .arg(formatBytesText(double(chatBytes)), d->name, formatBytesText(double(d->weightBytes)),
                                   formatBytesText(double(available)));
        }
    }
    if (warning == memoryWarning_) return;
    memoryWarning_ = warning;
    emit memoryChanged();
}

// ---- the device ----

void ImageController::probeDeviceIfChanged() {
    const QString key = settings_->device();
    if (key == probedKey_) return;
    probedKey_ = key;
    // Queued behind a running generation: the next run opens on the new device.
    QMetaObject::invokeMethod(worker_, [w = worker_, key] { w->probeDevice(key); }, Qt::QueuedConnection);
}

void ImageController::onDeviceReported(const DiffusionDevice& device) {
    if (device.key != probedKey_) return;  // an answer about a setting since changed
    device_ = device;
    emit deviceChanged();
    recheckMemory();
}

QString ImageController::deviceText() const {
    if (device_.key.isEmpty()) return {};
    if (device_.backend.isEmpty()) return tr("The device chosen in Settings (%1) was not found.").arg(device_.key);
    if (device_.backend == QLatin1String("cpu")) return tr("Draws on the CPU");
    if (device_.backend == QLatin1String("vulkan")) return tr("Draws on Vulkan: %1").arg(device_.name);
    if (device_.backend == QLatin1String("cuda")) return tr("Draws on CUDA: %1").arg(device_.name);
    return tr("Draws on %1").arg(device_.label);
}

QString ImageController::deviceNote() const {
    if (device_.fallback.isEmpty()) return {};
    if (device_.onGpu()) return tr("The automatic choice passed over a GPU: %1").arg(device_.fallback);  // CUDA failed, Vulkan draws
    return tr("The automatic choice passed over a GPU, so the CPU draws: %1").arg(device_.fallback);
}

void ImageController::retranslate() {
    emit deviceChanged();
    emit currentImageChanged();
    recheckMemory();
}

void ImageController::unloadChatForRun() {
    if (!chat_ || chat_->modelPath().isEmpty()) return;
    reloadChatAfterRun_ = chat_->modelPath();
    chat_->unloadModel();
    memoryWarning_.clear();
    emit memoryChanged();
}

// ---- runs ----

QString ImageController::imagesDir() const { return QDir(dataDir_).filePath(QStringLiteral("images")); }

bool ImageController::generate() {
    if (currentRequest_) return false;
    const DiffusionModelInfo* m = findModel(modelPath_);
    if (!m) {
        showError(tr("Choose an image model first. Add a Stable Diffusion folder on the Models page (\"Add folder…\")."));
        return false;
    }
    if (!m->usable()) {
        showError(tr("%1 cannot be used: %2.").arg(m->name, m->error));
        return false;
    }
    if (prompt_.trimmed().isEmpty()) {
        showError(tr("Describe the picture first: the prompt is empty."));
        return false;
    }
    if (width_ < kSizeStep || height_ < kSizeStep || width_ > kMaxSide || height_ > kMaxSide || width_ % kSizeStep ||
        height_ % kSizeStep) {
        showError(tr("Width and height must be multiples of %1 between %1 and %2 pixels (%3×%4 was asked for).")
                      .arg(kSizeStep).arg(kMaxSide).arg(width_).arg(height_));
        return false;
    }
    if (steps_ < 1 || steps_ > kMaxSteps) {
        showError(tr("Steps must be between 1 and %1.").arg(kMaxSteps));
        return false;
    }
    if (!(guidance_ >= 0 && guidance_ <= kMaxGuidance)) {
        showError(tr("Guidance must be between 0 and %1.").arg(kMaxGuidance));
        return false;
    }
    if (!kSamplers.contains(sampler_)) {
        showError(tr("Unknown sampler \"%1\".").arg(sampler_));
        return false;
    }
    if (!store_->isOpen()) {
        showError(tr("The database could not be opened, so the gallery cannot be saved."));
        return false;
    }
    quint64 seed = 0;
    if (randomSeed_) {
        seed = QRandomGenerator::global()->bounded(quint64(1) << 32);  // short enough to read and type back
        seed_ = QString::number(seed);
        emit formChanged();
    } else {
        bool ok = false;
        seed = seed_.trimmed().toULongLong(&ok);
        if (!ok) {
            showError(tr("The seed must be a whole number (0 or more), or choose a random seed."));
            return false;
        }
    }
    dismissError();

    DiffusionRequest req;
    req.id = nextRequest_++;
    req.modelDir = m->path;
    req.configDir = m->configDir;
    req.prompt = prompt_.trimmed();
    req.negative = negative_.trimmed();
    req.width = width_;
    req.height = height_;
    req.steps = steps_;
    req.guidance = guidance_;
    req.sampler = sampler_;
    req.seed = seed;
    req.threads = settings_->threads();
    req.device = settings_->device();
    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss-zzz"));
    req.outPath = QDir(imagesDir()).filePath(QStringLiteral("hearth-%1-%2.png").arg(stamp).arg(seed));

    pending_ = ImageRecord();
    pending_.file = req.outPath;
    pending_.prompt = req.prompt;
    pending_.negative = req.negative;
    pending_.seed = seed;
    pending_.width = req.width;
    pending_.height = req.height;
    pending_.steps = req.steps;
    pending_.guidance = req.guidance;
    pending_.sampler = req.sampler;
    pending_.model = req.modelDir;

    currentRequest_ = req.id;
    opening_ = false;
    step_ = 0;
    totalSteps_ = req.steps;
    {
        std::lock_guard<std::mutex> lock(previewMutex_);
        preview_ = QImage();
    }
    previewSerial_ = 0;
    emit previewChanged();
    emit runChanged();
    QMetaObject::invokeMethod(worker_, [w = worker_, req] { w->generate(req); }, Qt::QueuedConnection);
    return true;
}

void ImageController::stop() {
    if (currentRequest_) worker_->requestStop(currentRequest_);
}

QImage ImageController::preview() const {
    std::lock_guard<std::mutex> lock(previewMutex_);
    return preview_;
}

void ImageController::onProgress(quint64 requestId, int step, int steps, const QImage& preview) {
    if (requestId != currentRequest_) return;
    opening_ = false;
    step_ = step;
    totalSteps_ = steps;
    emit runChanged();
    if (!preview.isNull()) {
        {
            std::lock_guard<std::mutex> lock(previewMutex_);
            preview_ = preview;
        }
        ++previewSerial_;
        emit previewChanged();
    }
}

void ImageController::onFinished(quint64 requestId, const QString& file, double seconds, const QStringList& warnings) {
    if (requestId != currentRequest_) return;
    pending_.file = file;
    pending_.seconds = seconds;
    auto rec = galleryStore_.add(pending_);
    qint64 id = 0;
    if (rec.ok()) {
        gallery_.prepend(*rec);
        id = rec->id;
        currentImageId_ = id;
        emit currentImageChanged();
    } else {
        showError(tr("The image was saved as %1, but the gallery could not record it: %2")
                      .arg(QDir::toNativeSeparators(file), QString::fromStdString(rec.message())));
    }
    if (!warnings.isEmpty()) showError(warnings.join(QLatin1Char(' ')));
    endRun();
    emit runFinished(id, false);
}

void ImageController::onFailed(quint64 requestId, const QString& message, bool stopped) {
    if (requestId != currentRequest_) return;
    if (!stopped) showError(tr("The picture could not be made: %1").arg(message));
    endRun();
    emit runFinished(0, stopped);
}

void ImageController::endRun() {
    currentRequest_ = 0;
    opening_ = false;
    emit runChanged();
    if (!reloadChatAfterRun_.isEmpty() && chat_) chat_->loadModel(std::exchange(reloadChatAfterRun_, QString()));
}

// ---- the gallery ----

QString ImageController::currentImageFile() const {
    const ImageRecord* r = gallery_.find(currentImageId_);
    return r ? r->file : QString();
}

QString ImageController::samplerLabel(const QString& key) {
    if (key == QLatin1String("euler")) return tr("Euler");
    if (key == QLatin1String("euler_a")) return tr("Euler a");
    if (key == QLatin1String("ddim")) return tr("DDIM");
    if (key == QLatin1String("lcm")) return tr("LCM");
    return key;
}

QString ImageController::currentImageSummary() const {
    const ImageRecord* r = gallery_.find(currentImageId_);
    if (!r) return {};
    QString text = tr("“%1”").arg(r->prompt);
    if (!r->negative.isEmpty()) text += QStringLiteral("  ·  ") + tr("not “%1”").arg(r->negative);
    const QStringList parts = {
        QStringLiteral("%1×%2").arg(r->width).arg(r->height), tr("%n steps", nullptr, r->steps),
        tr("guidance %1").arg(r->guidance), samplerLabel(r->sampler), tr("seed %1").arg(r->seed),
        QFileInfo(r->model).fileName(), tr("%1 s").arg(r->seconds, 0, 'f', 1)};
    return text + QStringLiteral("  ·  ") + parts.join(QStringLiteral("  ·  "));
}

void ImageController::showImage(qint64 id) {
    if (id == currentImageId_ || !gallery_.find(id)) return;
    currentImageId_ = id;
    emit currentImageChanged();
}

bool ImageController::deleteImage(qint64 id) {
    const ImageRecord* r = gallery_.find(id);
    if (!r) return false;
    if (QFile::exists(r->file) && !QFile::remove(r->file)) {
        showError(tr("%1 could not be deleted.").arg(QDir::toNativeSeparators(r->file)));
        return false;
    }
    const Status st = galleryStore_.remove(id);
    if (!st.ok()) showError(QString::fromStdString(st.message()));
    gallery_.remove(id);
    if (currentImageId_ == id) {
        currentImageId_ = 0;
        emit currentImageChanged();
    }
    return st.ok();
}

void ImageController::reuseSettings(qint64 id) {
    const ImageRecord* r = gallery_.find(id);
    if (!r) return;
    prompt_ = r->prompt;
    negative_ = r->negative;
    width_ = r->width;
    height_ = r->height;
    steps_ = r->steps;
    guidance_ = r->guidance;
    sampler_ = r->sampler;
    randomSeed_ = false;
    seed_ = QString::number(r->seed);
    emit formChanged();
    if (findModel(r->model)) setModelPath(r->model);
    else showError(tr("The model that made this image (%1) is not in the list any more; the other settings are filled in.")
                       .arg(QDir::toNativeSeparators(r->model)));
}

bool ImageController::copyImage(qint64 id) const {
    const ImageRecord* r = gallery_.find(id);
    return r && DesktopHelper::copyImageToClipboard(r->file);
}

bool ImageController::saveImageAs(qint64 id, const QUrl& file) {
    const ImageRecord* r = gallery_.find(id);
    if (!r) return false;
    const QString to = localFilePath(file);
    if (QFileInfo(to).absoluteFilePath() == QFileInfo(r->file).absoluteFilePath()) return true;
    // The dialog already asked whether to replace a file there; it is replaced only once the copy is whole.
    if (const QString err = replaceFileWithCopy(to, r->file); !err.isEmpty()) {
        showError(tr("The image could not be saved as %1. %2").arg(QDir::toNativeSeparators(to), err));
        return false;
    }
    return true;
}

bool ImageController::openImage(qint64 id) const {
    const ImageRecord* r = gallery_.find(id);
    return r && DesktopHelper::openLocalFile(r->file);
}

QString ImageController::suggestedFileName(qint64 id) const {
    const ImageRecord* r = gallery_.find(id);
    if (!r) return QStringLiteral("image.png");
    QString stem = r->prompt.left(40).toLower();
    stem.replace(QRegularExpression(QStringLiteral("[^\\w]+")), QStringLiteral("-"));
    stem = stem.section(QLatin1Char('-'), 0, -1, QString::SectionSkipEmpty);
    return (stem.isEmpty() ? QStringLiteral("image") : stem) + QStringLiteral(".png");
}

// ---- errors ----

void ImageController::showError(const QString& message) {
    errorText_ = message;
    emit errorChanged();
}

void ImageController::dismissError() {
    if (errorText_.isEmpty()) return;
    errorText_.clear();
    emit errorChanged();
}

// ---- the hand-off from the chat ----

void ImageController::sendToImage(const QString& messageText) {
    setPrompt(stripThinking(messageText).trimmed());
    emit pageRequested();
}

QString ImageController::promptInstruction() {
    // English whatever the UI language: the chat model is asked in the language it follows best,
    // and CLIP reads English only.
    return QStringLiteral(
        "You write prompts for a Stable Diffusion image generator. Turn the user's text into one concise English "
        "image prompt: the subject, the setting, the style and the lighting, as comma-separated phrases, at most 60 "
        "words. If the text is in another language (for example Chinese), translate it into English in the same step. "
        "Reply with the prompt only: no quotes, no explanation, no preface.");
}

bool ImageController::writePrompt(const QString& messageText) {
    emit pageRequested();
    if (!chat_ || chat_->modelState() != QLatin1String("ready")) {
        showError(tr("Load a chat model first: it writes the prompt."));
        return false;
    }
    if (promptRequest_) chat_->stopOneOff(promptRequest_);
    const QString text = stripThinking(messageText).trimmed().left(6000);  // a long answer: its start is enough
    promptRequest_ = chat_->askOnce(promptInstruction(), text);
    emit writingPromptChanged();
    return promptRequest_ != 0;
}

void ImageController::onPromptWritten(quint64 requestId, const QString& text, const QString& error) {
    if (requestId != promptRequest_) return;
    promptRequest_ = 0;
    emit writingPromptChanged();
    if (!error.isEmpty()) return showError(tr("The chat model could not write a prompt: %1").arg(error));
    // One line, without the quotes or "Prompt:" some models add anyway.
    QString p = text.simplified();
    p.remove(QRegularExpression(QStringLiteral("^(image )?prompt\\s*:\\s*"), QRegularExpression::CaseInsensitiveOption));
    if (p.size() >= 2 && (p.startsWith(QLatin1Char('"')) && p.endsWith(QLatin1Char('"')))) p = p.mid(1, p.size() - 2).trimmed();
    if (p.isEmpty()) return showError(tr("The chat model answered with an empty prompt; write one yourself or try again."));
    setPrompt(p);
}

}  // namespace hearth::app
