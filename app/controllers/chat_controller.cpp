#include "app/controllers/chat_controller.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>
#include <QJsonArray>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QSysInfo>

#include "app/chat/message_blocks.h"
#include "app/chat/sampling_presets.h"
#include "app/controllers/adapter_controller.h"
#include "app/controllers/documents_controller.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "app/support/desktop_helper.h"
#include "app/support/replace_file.h"
#include "app/support/system_memory.h"
#include "engine/docs/grounded_prompt.h"

namespace hearth::app {

Q_LOGGING_CATEGORY(lcChat, "hearth.chat")

ChatController::ChatController(ChatStore* store, AppSettings* settings, ModelLibrary* library, QObject* parent)
    : QObject(parent), store_(store), settings_(settings), library_(library) {

    worker_ = new InferenceWorker;
    worker_->moveToThread(&thread_);
    thread_.setObjectName(QStringLiteral("inference"));
    connect(worker_, &InferenceWorker::loadProgress, this, [this](quint64 loadId, double f) {
        if (loadId != currentLoad_) return;
        loadProgress_ = f;
        emit loadProgressChanged();
    });
    connect(worker_, &InferenceWorker::loaded, this, &ChatController::onLoaded);
    connect(worker_, &InferenceWorker::loadFailed, this, &ChatController::onLoadFailed);
    connect(worker_, &InferenceWorker::windowChosen, this, &ChatController::onWindow);
    connect(worker_, &InferenceWorker::piece, this, &ChatController::onPiece);
    connect(worker_, &InferenceWorker::finished, this, &ChatController::onFinished);
    connect(worker_, &InferenceWorker::failed, this, &ChatController::onFailed);
    thread_.start();
    adapters_ = new AdapterController(store_, worker_, this);
    documents_ = new DocumentsController(store_, settings_, library_, this, store_->path());
    connect(documents_, &DocumentsController::searched, this, &ChatController::onSearched);
    // Writes run on the store's thread; one that fails is shown here, on the UI thread.
    store_->setWriteErrorHandler([this](const QString& message) {
        QMetaObject::invokeMethod(this, [this, message] { showError(tr("Saving failed: %1").arg(message)); },
                                  Qt::QueuedConnection);
    });
    reloadConversations();
}

ChatController::~ChatController() {
    if (currentRequest_) {
        worker_->requestStop(currentRequest_);
        finishStreaming(QStringLiteral("interrupted"), -1);
    }
    worker_->requestCancelLoad(nextLoad_ - 1);
    thread_.quit();
    thread_.wait();
    delete worker_;  // its thread has ended: deleting it here is safe
    // No write of ours may call back into this object once it is gone.
    (void)store_->flush();
    store_->setWriteErrorHandler(nullptr);
}

bool ChatController::think() const {
    const QJsonValue v = conv_.settings.value(QStringLiteral("think"));
    return v.isBool() ? v.toBool() : loadedThink_;
}

void ChatController::showError(const QString& message) {
    qCWarning(lcChat) << message;
    errorText_ = message;
    emit errorChanged();
}

void ChatController::dismissError() {
    if (errorText_.isEmpty()) return;
    errorText_.clear();
    emit errorChanged();
}

void ChatController::setModelState(const QString& state) {
    modelState_ = state;
    emit modelChanged();
}

// ---- conversations ---------------------------------------------------------------------------

void ChatController::reloadConversations() {
    if (!store_->isOpen()) return;
    if (!searchQuery_.trimmed().isEmpty()) {
        auto hits = store_->search(searchQuery_);
        if (hits.ok()) conversations_.setSearchHits(*hits);
        else showError(QString::fromStdString(hits.message()));
        return;
    }
    auto list = store_->conversations();
    if (list.ok()) conversations_.setConversations(*list);
    else showError(QString::fromStdString(list.message()));
}

void ChatController::setSearchQuery(const QString& q) {
    if (q == searchQuery_) return;
    searchQuery_ = q;
    emit searchQueryChanged();
    reloadConversations();
}

// What the store does on adding a message (touch updated_at; the first question names the
// conversation), done to the in-memory copy too, so the list needs no read-back.
void ChatController::noteMessageAdded(const MessageRecord& m) {
    if (m.conversationId != conv_.id) return;
    conv_.updatedAt = m.createdAt;
    if (m.role == QLatin1String("user") && conv_.title.isEmpty()) conv_.title = ChatStore::titleFrom(m.content);
    if (searchQuery_.trimmed().isEmpty()) conversations_.upsert(conv_);
    emit conversationChanged();
}

QString ChatController::effectiveModel() const {
    if (!conv_.model.isEmpty() && QFileInfo::exists(conv_.model)) return conv_.model;
    if (!loadedPath_.isEmpty()) return loadedPath_;
    return settings_->defaultModel();
}

void ChatController::newConversation() {
    if (generating()) stop();
    conv_ = ConversationRecord();
    conv_.model = loadedPath_.isEmpty() ? settings_->defaultModel() : loadedPath_;
    messages_.clear();
    adapters_->setConversation(0, {});
    documents_->setConversation(0);
    resetConversationStats();
    settings_->setLastConversationId(0);
    emit conversationChanged();
}

void ChatController::ensureConversation() {
    if (conv_.id || !store_->isOpen()) return;
    auto id = store_->createConversation(conv_.model, conv_.systemPrompt, conv_.settings);
    if (!id.ok()) {
        showError(QString::fromStdString(id.message()));
        return;
    }
    conv_.id = *id;
    conv_.createdAt = conv_.updatedAt = QDateTime::currentMSecsSinceEpoch();
    adapters_->conversationCreated(conv_.id);
    settings_->setLastConversationId(conv_.id);
    if (searchQuery_.trimmed().isEmpty()) conversations_.upsert(conv_);
}

qint64 ChatController::ensureStoredConversation() {
    if (conv_.model.isEmpty()) conv_.model = effectiveModel();
    ensureConversation();
    return conv_.id;
}

void ChatController::openConversation(qint64 id) {
    if (id == conv_.id && id != 0) return;
    if (generating()) stop();
    auto c = store_->conversation(id);
    if (!c.ok()) {
        showError(QString::fromStdString(c.message()));
        return;
    }
    auto msgs = store_->messages(id);
    if (!msgs.ok()) {
        showError(QString::fromStdString(msgs.message()));
        return;
    }
    conv_ = *c;
    messages_.setMessages(*msgs);
    adapters_->setConversation(conv_.id, conv_.adapters);
    documents_->setConversation(conv_.id);
    resetConversationStats();
    settings_->setLastConversationId(id);
    emit conversationChanged();
}

void ChatController::reopenLast() {
    const qint64 id = settings_->lastConversationId();
    if (id > 0 && store_->isOpen() && store_->conversation(id).ok()) openConversation(id);
    else newConversation();
}

void ChatController::renameConversation(qint64 id, const QString& title) {
    if (title.trimmed().isEmpty()) return;
    const Status st = store_->renameConversation(id, title);
    if (!st.ok()) return showError(QString::fromStdString(st.message()));
    auto c = store_->conversation(id);
    if (!c.ok()) return;
    if (id == conv_.id) {
        conv_.title = c->title;
        emit conversationChanged();
    }
    const int row = conversations_.rowOf(id);
    if (row >= 0 && searchQuery_.trimmed().isEmpty()) conversations_.upsert(*c);
    else reloadConversations();
}

void ChatController::deleteConversation(qint64 id) {
    if (currentRequest_ && id == streamingConversationId_) {
        stop();
        streamingMessageId_ = 0;  // its answer goes with it: nothing left to save
    }
    const Status st = store_->deleteConversation(id);
    if (!st.ok()) return showError(QString::fromStdString(st.message()));
    conversations_.remove(id);
    if (id == conv_.id) newConversation();
}

QString ChatController::suggestedExportName(qint64 id, const QString& format) const {
    auto c = store_->conversation(id);
    QString base = c.ok() && !c->title.isEmpty() ? c->title : QStringLiteral("conversation");
    base.replace(QRegularExpression(QStringLiteral("[\\\\/:*?\"<>|\\s]+")), QStringLiteral("-"));
    // No dots or dashes left at the end ("Describe the city of Rome." → "Describe-the-city-of-Rome.md").
    base = base.left(60).remove(QRegularExpression(QStringLiteral("[.\\-]+$")));
    if (base.isEmpty()) base = QStringLiteral("conversation");
    return base + (format == QLatin1String("json") ? QStringLiteral(".json") : QStringLiteral(".md"));
}

bool ChatController::exportConversation(qint64 id, const QUrl& file, const QString& format) {
    const QString path = localFilePath(file);
    QByteArray bytes;
    if (format == QLatin1String("json")) {
        auto js = store_->exportJson(id);
        if (!js.ok()) return showError(QString::fromStdString(js.message())), false;
        bytes = *js;
    } else {
        auto md = store_->exportMarkdown(id);
        if (!md.ok()) return showError(QString::fromStdString(md.message())), false;
        bytes = md->toUtf8();
    }
    if (const QString err = replaceFile(path, bytes); !err.isEmpty()) {  // a failed write keeps the old file
        showError(err);
        return false;
    }
    return true;
}

void ChatController::setSystemPrompt(const QString& prompt) {
    if (prompt == conv_.systemPrompt) return;
    conv_.systemPrompt = prompt;
    if (conv_.id) {
        const Status st = store_->setConversationSystemPrompt(conv_.id, prompt);
        if (!st.ok()) showError(QString::fromStdString(st.message()));
    }
    emit conversationChanged();
}

void ChatController::setThink(bool on) {
    if (think() == on && conv_.settings.contains(QStringLiteral("think"))) return;
    conv_.settings.insert(QStringLiteral("think"), on);
    if (conv_.id) {
        const Status st = store_->setConversationSettings(conv_.id, conv_.settings);
        if (!st.ok()) showError(QString::fromStdString(st.message()));
    }
    emit conversationChanged();
}

// ---- models ------------------------------------------------------------------------------------

void ChatController::loadModel(const QString& path) {
    if (path.isEmpty()) return;
    if (generating()) stop();
    if (library_) {
        const QString refuse = library_->refuseReason(path, settings_->contextLength(), settings_->device());
        if (!refuse.isEmpty()) {
            generateAfterLoad_ = false;
            showError(refuse);
            return;
        }
    }
    // A newer load cancels every earlier one, queued or in flight; their outcomes are ignored.
    worker_->requestCancelLoad(nextLoad_ - 1);
    // The worker frees the loaded model when the load starts: it is not "loaded" any more.
    forgetLoadedModel();
    loadingPath_ = path;
    loadProgress_ = 0;
    emit loadProgressChanged();
    setModelState(QStringLiteral("loading"));
    LoadRequest req;
    req.id = nextLoad_++;
    currentLoad_ = req.id;
    req.path = path;
    req.nCtx = settings_->contextLength();
    req.threads = settings_->threads();
    req.device = settings_->device();
    req.gpuLayers = settings_->gpuLayers();
    QMetaObject::invokeMethod(worker_, [w = worker_, req] { w->load(req); }, Qt::QueuedConnection);
}

void ChatController::useModel(const QString& path) {
    conv_.model = path;
    settings_->setDefaultModel(path);
    if (conv_.id) {
        const Status st = store_->setConversationModel(conv_.id, path);
        if (!st.ok()) showError(QString::fromStdString(st.message()));
    }
    emit conversationChanged();
    if (path != loadedPath_ || modelState_ != QLatin1String("ready")) loadModel(path);
}

void ChatController::reloadModel() {
    if (loadedPath_.isEmpty() || modelState_ != QLatin1String("ready")) return;
    if (currentRequest_) {
        reloadAfterAnswer_ = true;  // finishRequest() reloads once the answer has ended
        return;
    }
    const QString path = loadedPath_;  // loadModel() forgets the loaded model before it loads again
    loadModel(path);
}

void ChatController::resetConversationStats() {
    // Context use and speeds belong to the conversation shown; the loaded model's sizes stay.
    QVariantMap kept;
    for (const char* key : {"nCtx", "nCtxTrain"})
        if (stats_.contains(key)) kept.insert(key, stats_.value(key));
    if (!kept.isEmpty()) kept.insert("ctxUsed", 0);
    if (kept == stats_) return;
    stats_ = kept;
    emit statsChanged();
}

void ChatController::cancelLoad() {
    if (!currentLoad_) return;
    // The cancel is tied to this load: it holds even if the load has not started yet. The worker
    // ends up with no model; the UI says so at once.
    worker_->requestCancelLoad(currentLoad_);
    currentLoad_ = 0;
    generateAfterLoad_ = false;
    forgetLoadedModel();
    setModelState(QStringLiteral("none"));
}

void ChatController::unloadModel() {
    if (generating()) stop();
    worker_->requestCancelLoad(nextLoad_ - 1);
    currentLoad_ = 0;
    generateAfterLoad_ = false;
    QMetaObject::invokeMethod(worker_, [w = worker_] { w->unload(); }, Qt::QueuedConnection);
    forgetLoadedModel();
    setModelState(QStringLiteral("none"));
}

void ChatController::forgetLoadedModel() {
    loadedPath_.clear();
    loadedName_.clear();
    backend_.clear();
}

void ChatController::onLoaded(quint64 loadId, const QVariantMap& info) {
    if (loadId != currentLoad_) {
        // A load that was cancelled but finished first. When nothing newer is on its way, free the
        // model it left behind (a newer load frees it anyway).
        if (!currentLoad_) QMetaObject::invokeMethod(worker_, [w = worker_] { w->unload(); }, Qt::QueuedConnection);
        return;
    }
    currentLoad_ = 0;
    loadedPath_ = info.value("path").toString();
    loadedName_ = info.value("name").toString();
    backend_ = info.value("backend").toString();
    loadedThink_ = info.value("think").toBool();
    stats_ = QVariantMap{{"nCtx", info.value("nCtx")}, {"nCtxTrain", info.value("nCtxTrain")}, {"ctxUsed", 0}};
    emit statsChanged();
    setModelState(QStringLiteral("ready"));
    emit conversationChanged();  // think() may follow the model's default
    if (generateAfterLoad_) {
        generateAfterLoad_ = false;
        startGeneration();
    }
}

void ChatController::onLoadFailed(quint64 loadId, const QString& path, const QString& message, bool cancelled) {
    if (loadId != currentLoad_) return;  // superseded by a newer load, or cancelled here already
    currentLoad_ = 0;
    generateAfterLoad_ = false;
    forgetLoadedModel();
    setModelState(QStringLiteral("none"));
    if (!cancelled) showError(tr("Could not load %1: %2").arg(QFileInfo(path).fileName(), message));
}

// ---- generation -----------------------------------------------------------------------------------

bool ChatController::send(const QString& text) {
    const QString content = text.trimmed();
    if (content.isEmpty() || generating() || modelState_ == QLatin1String("loading")) return false;
    const QString model = effectiveModel();
    if (model.isEmpty()) {
        showError(tr("Choose a model first: import a .gguf file on the Models page."));
        return false;
    }
    dismissError();
    if (conv_.id && conv_.model != model) (void)store_->setConversationModel(conv_.id, model);
    conv_.model = model;
    ensureConversation();
    if (!conv_.id) return false;
    auto m = store_->addMessage(conv_.id, QStringLiteral("user"), content);
    if (!m.ok()) {
        showError(QString::fromStdString(m.message()));
        return false;
    }
    messages_.append(*m);
    noteMessageAdded(*m);
    regenerateOf_ = MessageRecord();
    answerQuestion(*m);
    return true;
}

void ChatController::answerQuestion(const MessageRecord& question) {
    if (question.prompt.isEmpty()) {
        if (const quint64 id = documents_->search(question.content)) {
            searchRequest_ = id;
            searchQuestionId_ = question.id;
            emit generatingChanged();
            return;
        }
    }
    answerWhenLoaded();
}

void ChatController::answerWhenLoaded() {
    if (loadedPath_ != effectiveModel() || modelState_ != QLatin1String("ready")) {
        generateAfterLoad_ = true;
        loadModel(effectiveModel());
        // The refusal path clears generateAfterLoad_ and shows why; the question stays saved.
        return;
    }
    startGeneration();
}

void ChatController::onSearched(quint64 requestId, const QJsonArray& sources, const QString& error) {
    if (requestId != searchRequest_ || requestId == 0) return;  // stopped, or another conversation now
    searchRequest_ = 0;
    const int row = messages_.rowOfId(searchQuestionId_);
    if (row < 0) {
        emit generatingChanged();
        return;
    }
    if (!error.isEmpty()) showError(tr("Your documents were not searched: %1").arg(error));
    if (!sources.isEmpty()) {
        std::vector<docs::Excerpt> excerpts;
        for (const QJsonValue& v : sources) {
            const QJsonObject o = v.toObject();
            excerpts.push_back({o.value("name").toString().toStdString(), o.value("line").toInt(),
                                o.value("heading").toString().toStdString(), o.value("text").toString().toStdString()});
        }
        const QString prompt =
            QString::fromStdString(docs::grounded_message(messages_.at(row).content.toStdString(), excerpts));
        (void)store_->setMessagePrompt(searchQuestionId_, prompt, sources);
        messages_.setGrounding(row, prompt, sources);
    }
    emit generatingChanged();
    answerWhenLoaded();
}

void ChatController::startGeneration() {
    if (!conv_.id || messages_.count() == 0) return;
    GenerateRequest req;
    req.id = nextRequest_++;
    req.modelPath = loadedPath_;  // the worker refuses the request if another model is loaded by then
    req.systemPrompt = conv_.systemPrompt;
    const MessageRecord replaced = std::exchange(regenerateOf_, MessageRecord());
    for (const MessageRecord& m : messages_.records()) {
        if (m.role == QLatin1String("system") || (replaced.id && m.id == replaced.id)) continue;
        // A question answered from documents is sent (now and as history) as the model was given it.
        req.messages.push_back({m.id, m.role, m.prompt.isEmpty() ? m.content : m.prompt});
    }
    const auto preset = presetForModel(loadedName_, QFileInfo(loadedPath_).fileName());
    req.sampling = effectiveSampling(settings_->sampling(), preset, settings_->recommendedSampling(), conv_.settings);
    req.think = think();
    req.loras = adapters_->activeSpecs();
    currentGenSettings_ = req.sampling.toJson();
    currentGenSettings_.insert("think", req.think);
    if (!req.loras.empty()) {  // which adapters wrote the answer, as it was asked
        QJsonArray loras;
        for (const LoraSpec& l : req.loras)
            loras.append(QJsonObject{{"path", QString::fromStdString(l.path)}, {"scale", double(l.scale)}});
        currentGenSettings_.insert("loras", loras);
    }

    const int replacedRow = replaced.id ? messages_.rowOfId(replaced.id) : -1;
    auto a = replacedRow >= 0
                 ? store_->addAlternative(messages_.at(replacedRow), req.modelPath, currentGenSettings_)
                 : store_->addMessage(conv_.id, QStringLiteral("assistant"), QString(), req.modelPath, currentGenSettings_,
                                      QStringLiteral("streaming"));
    if (!a.ok()) return showError(QString::fromStdString(a.message()));
    streamingMessageId_ = a->id;
    streamingConversationId_ = conv_.id;
    streamingText_.clear();
    savedChars_ = 0;
    sinceSave_.start();
    if (replacedRow >= 0) messages_.removeFrom(replacedRow);  // the last row: the new alternative takes its place
    messages_.append(*a, true);
    noteMessageAdded(*a);
    currentRequest_ = req.id;
    emit generatingChanged();
    QMetaObject::invokeMethod(worker_, [w = worker_, req] { w->generate(req); }, Qt::QueuedConnection);
}

void ChatController::stop() {
    if (searchRequest_) {  // the question stays, unanswered: Regenerate asks it again
        searchRequest_ = 0;
        emit generatingChanged();
        return;
    }
    if (currentRequest_) worker_->requestStop(currentRequest_);
}

void ChatController::regenerate() {
    if (generating() || messages_.count() == 0) return;
    int row = messages_.count() - 1;
    regenerateOf_ = MessageRecord();
    if (messages_.at(row).role != QLatin1String("assistant")) {
        if (messages_.at(row).role == QLatin1String("user"))  // a question without an answer (failed or stopped before)
            answerQuestion(messages_.at(row));
        return;
    }
    // The answer stays (on screen, and in the store as an alternative) until the new one starts.
    regenerateOf_ = messages_.at(row);
    if (loadedPath_ != effectiveModel() || modelState_ != QLatin1String("ready")) {
        generateAfterLoad_ = true;
        loadModel(effectiveModel());
        return;
    }
    startGeneration();
}

void ChatController::editAndResend(qint64 messageId, const QString& text) {
    const QString content = text.trimmed();
    if (generating() || content.isEmpty()) return;
    const int row = messages_.rowOfId(messageId);
    if (row < 0 || messages_.at(row).role != QLatin1String("user")) return;
    // The edited question replaces the old one and everything after it.
    const Status st = store_->deleteMessagesFrom(conv_.id, messageId);
    if (!st.ok()) return showError(QString::fromStdString(st.message()));
    messages_.removeFrom(row);
    auto m = store_->addMessage(conv_.id, QStringLiteral("user"), content);
    if (!m.ok()) return showError(QString::fromStdString(m.message()));
    messages_.append(*m);
    noteMessageAdded(*m);
    regenerateOf_ = MessageRecord();
    answerQuestion(*m);
}

// Queues the text streamed since the last save (never half a surrogate pair: each chunk must be
// valid UTF-16 on its own). streamingSaved follows once the writer has committed it.
void ChatController::saveStreaming() {
    if (!streamingMessageId_) return;
    int end = int(streamingText_.size());
    if (end > savedChars_ && streamingText_.at(end - 1).isHighSurrogate()) --end;
    if (end == savedChars_) return;
    const qint64 id = streamingMessageId_;
    const Status st = store_->appendMessageText(id, streamingText_.mid(savedChars_, end - savedChars_), [this, id, end] {
        QMetaObject::invokeMethod(this, [this, id, end] { emit streamingSaved(id, end); }, Qt::QueuedConnection);
    });
    if (!st.ok()) return showError(tr("Saving the answer failed: %1").arg(QString::fromStdString(st.message())));
    savedChars_ = end;
    sinceSave_.restart();
}

// The rest of the text, then how the answer ended; its content is indexed for search now, once.
void ChatController::finishStreaming(const QString& status, int tokenCount) {
    if (!streamingMessageId_) return;
    const qint64 id = streamingMessageId_;
    const int end = int(streamingText_.size());
    Status st = store_->appendMessageText(id, streamingText_.mid(savedChars_));
    if (st.ok()) st = store_->finishMessage(id, status, tokenCount, [this, id, end, status] {
        QMetaObject::invokeMethod(this, [this, id, end, status] {
            emit streamingSaved(id, end);
            emit answerSaved(id, status);
        }, Qt::QueuedConnection);
    });
    if (!st.ok()) return showError(tr("Saving the answer failed: %1").arg(QString::fromStdString(st.message())));
    savedChars_ = end;
    const int row = messages_.rowOfId(id);
    messages_.setStatus(row, status);
}

void ChatController::showAlternative(qint64 messageId, int delta) {
    const int row = messages_.rowOfId(messageId);
    if (row < 0 || delta == 0 || (currentRequest_ && messageId == streamingMessageId_)) return;
    auto alts = store_->alternatives(messageId);
    if (!alts.ok()) return showError(QString::fromStdString(alts.message()));
    int at = 0;
    while (at < int(alts->size()) && alts->at(size_t(at)).id != messageId) ++at;
    const int target = at + delta;
    if (at >= int(alts->size()) || target < 0 || target >= int(alts->size())) return;
    const MessageRecord& shown = alts->at(size_t(target));
    const Status st = store_->showAlternative(shown.id);
    if (!st.ok()) return showError(QString::fromStdString(st.message()));
    messages_.setRecord(row, shown);
}

void ChatController::onWindow(quint64 requestId, qint64 firstMessageId, int promptTokens, int nCtx) {
    if (requestId != currentRequest_) return;
    if (firstMessageId > 0) {
        // The answer's own conversation: the user may have opened another one since.
        const Status st = store_->setContextStart(streamingConversationId_, firstMessageId);
        if (!st.ok()) showError(QString::fromStdString(st.message()));
        if (conv_.id == streamingConversationId_) messages_.setContextStart(firstMessageId);
    }
    stats_.insert("ctxUsed", promptTokens);
    stats_.insert("nCtx", nCtx);
    emit statsChanged();
}

quint64 ChatController::askOnce(const QString& systemPrompt, const QString& userText, int maxNewTokens) {
    if (modelState_ != QLatin1String("ready") || loadedPath_.isEmpty()) return 0;
    GenerateRequest req;
    req.id = nextRequest_++;
    req.modelPath = loadedPath_;
    req.systemPrompt = systemPrompt;
    req.messages.push_back({0, QStringLiteral("user"), userText});
    // Near-greedy and short: a rewrite, not a creative answer; no reasoning section.
    req.sampling.temperature = 0.2;
    req.sampling.maxNewTokens = maxNewTokens;
    req.think = false;
    oneOff_.insert(req.id, QString());
    QMetaObject::invokeMethod(worker_, [w = worker_, req] { w->generate(req); }, Qt::QueuedConnection);
    return req.id;
}

void ChatController::stopOneOff(quint64 requestId) {
    // requestStop stops every earlier request too: only ask for it when no conversation answer is older.
    if (oneOff_.contains(requestId) && !(currentRequest_ && currentRequest_ < requestId)) worker_->requestStop(requestId);
}

void ChatController::onPiece(quint64 requestId, const QString& text) {
    if (auto it = oneOff_.find(requestId); it != oneOff_.end()) {
        it.value() += text;
        return;
    }
    if (requestId != currentRequest_) return;
    streamingText_ += text;
    const int row = messages_.rowOfId(streamingMessageId_);
    messages_.appendText(row, text);
    if (sinceSave_.elapsed() >= saveIntervalMs_) saveStreaming();
}

void ChatController::finishRequest() {
    const int row = messages_.rowOfId(streamingMessageId_);
    messages_.setStreaming(row, false);
    streamingMessageId_ = 0;
    streamingConversationId_ = 0;
    streamingText_.clear();
    currentRequest_ = 0;
    emit generatingChanged();
    if (reloadAfterAnswer_) {  // asked for while the answer was being written
        reloadAfterAnswer_ = false;
        QMetaObject::invokeMethod(this, &ChatController::reloadModel, Qt::QueuedConnection);
    }
}

namespace {
// The engine's stop reasons ("eog", "stop-string", "max-tokens", "context", "cancelled") as the
// store's answer status.
QString answerStatus(const QString& stopReason) {
    if (stopReason == QLatin1String("cancelled")) return QStringLiteral("stopped");
    if (stopReason == QLatin1String("max-tokens") || stopReason == QLatin1String("context")) return QStringLiteral("length");
    return QString();
}
}  // namespace

void ChatController::onFinished(quint64 requestId, const QVariantMap& stats) {
    if (oneOff_.contains(requestId)) {
        emit oneOffFinished(requestId, stripThinking(oneOff_.take(requestId)).trimmed(), QString());
        return;
    }
    if (requestId != currentRequest_) return;
    const int generated = stats.value("generated").toInt();
    const int row = messages_.rowOfId(streamingMessageId_);
    if (row >= 0) messages_.setContent(row, streamingText_, generated);
    const QString reason = stats.value("stopReason").toString();
    finishStreaming(answerStatus(reason), generated);
    if (row >= 0) {  // the answer's conversation is still shown (not switched away from during it)
        for (auto it = stats.begin(); it != stats.end(); ++it) stats_.insert(it.key(), it.value());
        emit statsChanged();
    }
    finishRequest();
    emit answerFinished(reason);
}

void ChatController::onFailed(quint64 requestId, const QString& message) {
    if (oneOff_.contains(requestId)) {
        oneOff_.remove(requestId);
        emit oneOffFinished(requestId, QString(), message);
        return;
    }
    if (requestId != currentRequest_) return;
    const int row = messages_.rowOfId(streamingMessageId_);
    if (streamingMessageId_ && streamingText_.isEmpty()) {
        // Nothing was generated: drop the empty answer so the question can be retried (a
        // regenerated one: the alternative it replaced is shown again).
        (void)store_->deleteMessagesFrom(streamingConversationId_, streamingMessageId_);
        if (row >= 0 && messages_.at(row).altIndex > 0) {
            auto msgs = store_->messages(conv_.id);
            if (msgs.ok()) messages_.setMessages(*msgs);
        } else {
            messages_.removeFrom(row);
        }
    } else {
        finishStreaming(QStringLiteral("error"), -1);
    }
    finishRequest();
    showError(message);
    emit answerFinished(QStringLiteral("error"));
}

QString ChatController::diagnostics() const {
    const SystemMemory mem = readSystemMemory();
    QStringList lines;
    lines << QStringLiteral("Hearth %1").arg(QStringLiteral(HEARTH_VERSION));
    lines << QStringLiteral("Qt %1 (built with %2)").arg(QString::fromLatin1(qVersion()), QStringLiteral(QT_VERSION_STR));
    lines << QStringLiteral("OS: %1; kernel %2; %3").arg(QSysInfo::prettyProductName(), QSysInfo::kernelVersion(),
                                                          QSysInfo::currentCpuArchitecture());
    lines << QStringLiteral("Platform plugin: %1").arg(QGuiApplication::platformName());
    lines << QStringLiteral("CPU threads: %1; memory: %2 total, %3 available")
                 .arg(QThread::idealThreadCount())
                 .arg(formatBytesText(double(mem.totalBytes)), formatBytesText(double(mem.availableBytes)));
    lines << QStringLiteral("Model: %1").arg(loadedPath_.isEmpty() ? QStringLiteral("(none loaded)")
                                                                 : loadedName_ + QStringLiteral(" — ") + QFileInfo(loadedPath_).fileName());
    if (!backend_.isEmpty()) lines << QStringLiteral("Backend: %1").arg(backend_);
    lines << QStringLiteral("Settings: context %1, threads %2, device %3, temperature %4, top-k %5, top-p %6, min-p %7, "
                            "repeat penalty %8, seed %9, max new tokens %10, recommended sampling %11")
                 .arg(settings_->contextLength())
                 .arg(settings_->threads())
                 .arg(settings_->device())
                 .arg(settings_->temperature())
                 .arg(settings_->topK())
                 .arg(settings_->topP())
                 .arg(settings_->minP())
                 .arg(settings_->repeatPenalty())
                 .arg(settings_->seed())
                 .arg(settings_->maxNewTokens())
                 .arg(settings_->recommendedSampling() ? QStringLiteral("on") : QStringLiteral("off"));
    lines << QStringLiteral("Language: %1; theme: %2").arg(settings_->language(), settings_->theme());
    if (!stats_.isEmpty())
        lines << QStringLiteral("Last answer: prompt %1 tok/s, generation %2 tok/s, context %3/%4")
                     .arg(stats_.value("promptTps").toDouble(), 0, 'f', 1)
                     .arg(stats_.value("genTps").toDouble(), 0, 'f', 1)
                     .arg(stats_.value("ctxUsed").toInt())
                     .arg(stats_.value("nCtx").toInt());
    return lines.join(QLatin1Char('\n'));
}

QString ChatController::storeError() const {
    // Made when read, in the language of the moment (the store is opened before the translator is
    // installed). The file is left as it is: a newer Hearth's, or damaged, the person's to recover.
    if (store_->isOpen()) return {};
    return tr("The conversation database could not be opened; nothing will be saved. The file was left as it is. (%1)")
        .arg(store_->openError());
}

void ChatController::retranslate() { emit storeErrorChanged(); }

}  // namespace hearth::app
