#include "app/worker/inference_worker.h"

#include <QFileInfo>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QThread>
#include <QTimer>

#include "app/chat/message_blocks.h"
#include "app/settings/device_key.h"
#include "app/worker/api_server_host.h"
#include "engine/session/context_window.h"
#include "engine/session/prompt_policy.h"
#include "engine/session/session.h"

namespace hearth::app {

Q_LOGGING_CATEGORY(lcWorker, "hearth.worker")

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// The conversation as the engine's messages: the system prompt (when set), then every turn.
std::vector<ChatMessage> chatMessages(const GenerateRequest& req) {
    std::vector<ChatMessage> out;
    if (!req.systemPrompt.trimmed().isEmpty()) out.push_back({"system", req.systemPrompt.toStdString()});
    for (const TurnMessage& m : req.messages) {
        // Reasoning is not sent back: the model authors advise against it, and it would fill the
        // context with text the user never asked to keep.
        const QString content = m.role == QLatin1String("assistant") ? stripThinking(m.content) : m.content;
        out.push_back({m.role.toStdString(), content.toStdString()});
    }
    return out;
}

SamplingParams toEngine(const SamplingValues& v) {
    SamplingParams p;
    p.temperature = float(v.temperature);
    p.top_k = v.topK;
    p.top_p = float(v.topP);
    p.min_p = float(v.minP);
    p.repeat_penalty = float(v.repeatPenalty);
    p.seed = v.seed >= 0 ? uint64_t(v.seed) : QRandomGenerator::global()->generate64();
    p.max_new_tokens = v.maxNewTokens;
    return p;
}

}  // namespace

InferenceWorker::InferenceWorker() = default;
// The server first: its scheduler's thread reports into this object until it has stopped. Not
// dropModel(): this runs on the main thread once the worker's has ended, where its timer must not
// be touched.
InferenceWorker::~InferenceWorker() {
    {
        std::lock_guard<std::mutex> lock(stopMutex_);
        stopHost_ = nullptr;
    }
    host_.reset();
}

namespace {
// Raises `upTo` to at least `id` (ids only grow, so a late smaller one changes nothing).
void raiseTo(std::atomic<quint64>& upTo, quint64 id) {
    quint64 cur = upTo.load();
    while (cur < id && !upTo.compare_exchange_weak(cur, id)) {
    }
}
}  // namespace

void InferenceWorker::requestStop(quint64 requestId) {
    // Held for a few instructions on either side: a late Stop for an earlier request must not
    // set the flag the engine watches for a newer one.
    std::lock_guard<std::mutex> lock(stopMutex_);
    raiseTo(stopUpTo_, requestId);
    if (requestId >= running_) {
        cancelGenerate_.store(true);
        // An answer through the scheduler: cancel() only sets its flag, so holding the lock is brief.
        if (stopHost_ && runningJob_) stopHost_->scheduler().cancel(runningJob_);
    }
}

void InferenceWorker::requestCancelLoad(quint64 loadId) { raiseTo(cancelLoadUpTo_, loadId); }

void InferenceWorker::dropModel() {
    {
        std::lock_guard<std::mutex> lock(stopMutex_);
        stopHost_ = nullptr;
        runningJob_ = 0;
    }
    host_.reset();  // stops listening, then ends the scheduler's requests ("cancelled")
    session_.reset();
    path_.clear();
    if (activeTimer_) activeTimer_->stop();
    if (lastActive_ != 0) emit activeRequestsChanged(lastActive_ = 0);
}

void InferenceWorker::unload() {
    dropModel();
    emit unloaded();
    reportServer(QString());
}

Status InferenceWorker::openModel(const LoadRequest& req, const ProgressFn& progress, QString* serverError) {
    ModelOptions opt;
    opt.path = req.path.toStdString();
    opt.n_ctx = req.nCtx;
    opt.n_threads = req.threads;
    // "vulkan:1" = backend vulkan, device 1 (the settings validate the key).
    const DeviceChoice dev = parseDeviceKey(req.device);
    opt.backend = dev.backend;
    opt.device = dev.index;
    opt.gpu_layers = req.gpuLayers;
    if (serverConfig_.enabled) {
        auto host = ApiServerHost::open(opt, serverConfig_.parallel, progress);
        if (host.ok()) {
            host_ = std::move(*host);
            std::lock_guard<std::mutex> lock(stopMutex_);
            stopHost_ = host_.get();
            return Status();
        }
        // The slots need more memory than one Session (n_parallel KV caches): chat on without the server.
        *serverError = tr("The model could not be served: %1").arg(qs(host.message()));
        qCWarning(lcWorker) << "api server:" << *serverError;
        if (progress && !progress(0.0f)) return host.status();  // cancelled meanwhile
    }
    auto session = Session::open(opt, progress);
    if (!session.ok()) return session.status();
    session_ = std::move(*session);
    return Status();
}

void InferenceWorker::load(const LoadRequest& req) {
    dropModel();  // free the old model before mapping the new one
    auto cancelled = [&] { return cancelLoadUpTo_.load() >= req.id; };
    if (cancelled()) {  // cancelled while it waited in the queue
        emit loadFailed(req.id, req.path, tr("Loading was cancelled."), true);
        return;
    }
    emit loadStarted(req.id, req.path);
    qCInfo(lcWorker) << "loading" << QFileInfo(req.path).fileName() << "n_ctx" << req.nCtx << "device" << req.device
                     << (serverConfig_.enabled ? "for the chat and the API server" : "");
    QElapsedTimer timer;
    timer.start();

    QElapsedTimer sinceReport;
    sinceReport.start();
    QString serverError;
    const Status opened = openModel(req, [&](float fraction) {
        if (sinceReport.elapsed() >= 50 || fraction >= 1.0f) {  // ≤ 20 progress updates a second
            sinceReport.restart();
            emit loadProgress(req.id, double(fraction));
        }
        return !cancelled();
    }, &serverError);
    // A cancel that came after the last progress call still counts: the controller has moved on.
    if (!opened.ok() || cancelled()) {
        const bool wasCancelled = cancelled();
        const QString msg = wasCancelled ? tr("Loading was cancelled.") : qs(opened.message());
        qCWarning(lcWorker) << "load failed:" << msg;
        dropModel();
        emit loadFailed(req.id, req.path, msg, wasCancelled);
        reportServer(QString());
        return;
    }
    path_ = req.path;
    loadedWith_ = req;
    const ModelInfo& mi = host_ ? host_->scheduler().info() : session_->info();
    const int nCtx = host_ ? host_->scheduler().n_ctx() : session_->n_ctx();
    const double seconds = double(timer.elapsed()) / 1000.0;
    qCInfo(lcWorker) << "loaded" << qs(mi.name) << qs(mi.architecture) << qs(mi.file_type) << "in" << seconds << "s on"
                     << qs(mi.backend_description);
    emit loaded(req.id, QVariantMap{{"path", req.path},
                                    {"name", qs(mi.name)},
                                    {"architecture", qs(mi.architecture)},
                                    {"quantization", qs(mi.file_type)},
                                    {"nCtx", nCtx},
                                    {"nCtxTrain", mi.n_ctx_train},
                                    {"think", mi.template_has_think},
                                    {"backend", qs(mi.backend_description)},
                                    {"seconds", seconds}});
    if (host_) startListening();
    else reportServer(serverError);
}

void InferenceWorker::checkLoras(quint64 checkId, const std::vector<LoraSpec>& loras) {
    if (host_) {
        // Served by the scheduler, adapters go with each request: the set is tried on a one-token
        // request (token 0, one token generated), which fails with the scheduler's reason when an
        // adapter does not fit the model. Answered from the scheduler's thread, through this one.
        ServeRequest probe;
        probe.prompt = {0};
        probe.sampling.temperature = 0;
        probe.sampling.max_new_tokens = 1;
        probe.loras = loras;
        auto id = host_->scheduler().submit(std::move(probe), [this, checkId](const ServeEvent& e) {
            if (e.kind == ServeEvent::Kind::Text) return;
            const QString error = e.kind == ServeEvent::Kind::Error ? qs(e.error) : QString();
            QMetaObject::invokeMethod(this, [this, checkId, error] {
                if (!error.isEmpty()) qCWarning(lcWorker) << "adapter refused:" << error;
                emit lorasChecked(checkId, error, true);
            }, Qt::QueuedConnection);
        });
        if (!id.ok()) emit lorasChecked(checkId, qs(id.message()), true);
        return;
    }
    if (!session_) return void(emit lorasChecked(checkId, QString(), false));
    const Status st = session_->set_loras(loras);
    if (!st.ok()) qCWarning(lcWorker) << "adapter refused:" << qs(st.message());
    emit lorasChecked(checkId, st.ok() ? QString() : qs(st.message()), true);
}

void InferenceWorker::generate(const GenerateRequest& req) {
    // A stop that arrives at any moment after the request was queued is seen either here or, through
    // the flag, by the engine.
    bool stoppedInQueue = false;
    {
        std::lock_guard<std::mutex> lock(stopMutex_);
        running_ = req.id;
        runningJob_ = 0;
        cancelGenerate_.store(false);
        stoppedInQueue = stopUpTo_.load() >= req.id;
    }
    if (stoppedInQueue) {
        emit finished(req.id, QVariantMap{{"stopReason", "cancelled"}, {"generated", 0}});
        return;
    }
    if (!session_ && !host_) {
        emit failed(req.id, tr("No model is loaded. Choose one on the Models page."));
        return;
    }
    if (req.modelPath != path_) {
        // Another model was loaded after this answer was asked for: answering with it would store
        // its text under the wrong model's name.
        emit failed(req.id, tr("This answer was asked of %1, but %2 is loaded now. Press Regenerate to answer with the "
                               "loaded model.")
                                .arg(QFileInfo(req.modelPath).fileName(), QFileInfo(path_).fileName()));
        return;
    }
    if (req.messages.empty() || req.messages.back().role != QLatin1String("user")) {
        emit failed(req.id, tr("There is no question to answer."));
        return;
    }
    if (Status st = session_ ? session_->set_loras(req.loras) : Status(); !st.ok()) {
        emit failed(req.id, tr("An adapter of this conversation could not be attached: %1\nSwitch it off in Adapters… to "
                               "answer without it.")
                                .arg(qs(st.message())));
        return;
    }
    // Through the scheduler the adapters go with the request instead (ServeRequest::loras).
    const ChatFormat& format = host_ ? host_->scheduler().chat_format() : static_cast<const ChatFormat&>(*session_);
    const int nCtx = host_ ? host_->scheduler().n_ctx() : session_->n_ctx();
    // The engine's prompt policy (engine/session/prompt_policy.h) chooses the window, renders and
    // tokenizes; the worker only says which messages the conversation holds.
    ChatPromptRequest pr;
    pr.messages = chatMessages(req);
    const size_t offset = pr.messages.size() - req.messages.size();  // the system prompt, when there is one
    pr.template_extra.set("enable_thinking", req.think);
    pr.n_ctx = nCtx;
    pr.reserve = answer_reserve(nCtx, req.sampling.maxNewTokens);
    const ChatPrompt cp = build_chat_prompt(format, pr);
    switch (cp.error) {
    case PromptError::None: break;
    case PromptError::Template: return void(emit failed(req.id, tr("The model's chat template failed: %1").arg(qs(cp.message))));
    case PromptError::TooLong:
        return void(emit failed(req.id, tr("Your message is about %1 tokens long, but the model's context window holds %2 "
                                           "tokens, of which %3 are kept for the answer. Shorten the message or raise the "
                                           "context length in Settings.")
                                            .arg(cp.too_long_tokens)
                                            .arg(nCtx)
                                            .arg(pr.reserve)));
    default: return void(emit failed(req.id, qs(cp.message)));
    }
    const std::vector<int32_t>& prompt = cp.tokens;
    const size_t first = cp.first_kept - offset;
    emit windowChosen(req.id, req.messages[first].id, int(prompt.size()), nCtx);
    if (host_) return generateScheduled(req, prompt, cp.think_open);
    Session& s = *session_;

    // A template that opens the reasoning itself: the answer starts inside it, so the stored text
    // starts with the tag for the UI to fold.
    QString pending;
    if (cp.think_open) pending = QStringLiteral("<think>\n");

    QElapsedTimer sinceEmit;
    sinceEmit.start();
    auto onPiece = [&](std::string_view piece) {
        pending += QString::fromUtf8(piece.data(), qsizetype(piece.size()));
        if (sinceEmit.elapsed() >= kPieceIntervalMs) {
            emit this->piece(req.id, pending);
            pending.clear();
            sinceEmit.restart();
        }
        return !cancelGenerate_.load();
    };
    auto stats = s.generate(prompt, toEngine(req.sampling), onPiece, &cancelGenerate_, cp.n_keep);
    if (!pending.isEmpty()) emit piece(req.id, pending);
    if (!stats.ok()) {
        qCWarning(lcWorker) << "generation failed:" << qs(stats.message());
        emit failed(req.id, qs(stats.message()));
        return;
    }
    const GenerateStats& g = *stats;
    qCInfo(lcWorker) << "generated" << g.n_generated << "tokens at" << g.gen_tps << "tok/s; prompt" << g.n_prompt << "("
                     << g.n_reused << "reused," << g.n_shifted_out << "shifted out) at" << g.prompt_tps
                     << "tok/s; stop:" << qs(g.stop_reason);
    emit finished(req.id, QVariantMap{{"model", path_},
                                      {"promptTokens", g.n_prompt},
                                      {"reusedTokens", g.n_reused},
                                      {"shiftedOut", g.n_shifted_out},
                                      {"generated", g.n_generated},
                                      {"promptTps", g.prompt_tps},
                                      {"genTps", g.gen_tps},
                                      {"ctxUsed", g.n_ctx_used},
                                      {"nCtx", nCtx},
                                      {"stopReason", qs(g.stop_reason)},
                                      {"server", false}});
}

void InferenceWorker::generateScheduled(const GenerateRequest& req, const std::vector<int32_t>& prompt, bool thinkOpen) {
    Scheduler& sched = host_->scheduler();
    ServeRequest sr;
    sr.prompt = prompt;
    sr.sampling = toEngine(req.sampling);
    // The template's end-of-turn marker, as the server adds it to its chat requests.
    for (std::string& stop : end_of_turn_stops(sched.chat_format())) sr.sampling.stop.push_back(std::move(stop));
    sr.loras = req.loras;

    // Lives with the callback, which runs on the scheduler's thread only; what it reports is posted
    // to this thread, so the signals come from here as they do for a Session (in order: the queue
    // keeps it).
    struct Stream {
        QString pending;
        QElapsedTimer sinceEmit, sinceSubmit;
        qint64 firstTextMs = -1;
    };
    auto stream = std::make_shared<Stream>();
    if (thinkOpen) stream->pending = QStringLiteral("<think>\n");
    stream->sinceEmit.start();
    stream->sinceSubmit.start();
    const quint64 rid = req.id;
    const int maxNew = req.sampling.maxNewTokens;
    const int nCtx = sched.n_ctx();
    const QString model = path_;
    auto post = [this](auto fn) { QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection); };
    auto onEvent = [this, stream, rid, maxNew, nCtx, model, post](const ServeEvent& e) {
        Stream& st = *stream;
        if (e.kind == ServeEvent::Kind::Text) {
            if (st.firstTextMs < 0) st.firstTextMs = st.sinceSubmit.elapsed();
            st.pending += QString::fromStdString(e.text);
            if (st.sinceEmit.elapsed() >= kPieceIntervalMs) {
                post([this, rid, text = st.pending] { emit piece(rid, text); });
                st.pending.clear();
                st.sinceEmit.restart();
            }
            return;
        }
        if (!st.pending.isEmpty()) post([this, rid, text = st.pending] { emit piece(rid, text); });
        if (e.kind == ServeEvent::Kind::Error) {
            qCWarning(lcWorker) << "generation failed:" << qs(e.error);
            post([this, rid, msg = qs(e.error)] { emit failed(rid, msg); });
            return;
        }
        // The Session's stop reasons, which the chat shows: "length" is the answer limit or a full context.
        QString reason = qs(e.finish);
        if (reason == QLatin1String("stop")) reason = QStringLiteral("eog");
        else if (reason == QLatin1String("length"))
            reason = maxNew > 0 && e.n_generated >= maxNew ? QStringLiteral("max-tokens") : QStringLiteral("context");
        const double total = double(st.sinceSubmit.elapsed()) / 1000.0;
        const double promptSec = st.firstTextMs >= 0 ? double(st.firstTextMs) / 1000.0 : total;
        const double genSec = total - promptSec;
        const QVariantMap stats{{"model", model},
                                {"promptTokens", e.n_prompt},
                                {"reusedTokens", e.n_reused},
                                {"shiftedOut", 0},
                                {"generated", e.n_generated},
                                {"promptTps", promptSec > 0 ? (e.n_prompt - e.n_reused) / promptSec : 0.0},
                                {"genTps", genSec > 0 ? e.n_generated / genSec : 0.0},
                                {"ctxUsed", e.n_prompt + e.n_generated},
                                {"nCtx", nCtx},
                                {"stopReason", reason},
                                {"server", true}};
        qCInfo(lcWorker) << "generated through the scheduler:" << e.n_generated << "tokens; prompt" << e.n_prompt << "("
                         << e.n_reused << "reused); stop:" << reason;
        post([this, rid, stats] { emit finished(rid, stats); });
    };

    // Submitted under the stop lock: a Stop either came before (then nothing runs) or finds the job's id.
    std::lock_guard<std::mutex> lock(stopMutex_);
    if (stopUpTo_.load() >= rid) {
        emit finished(rid, QVariantMap{{"stopReason", "cancelled"}, {"generated", 0}});
        return;
    }
    auto job = sched.submit(std::move(sr), onEvent);
    if (!job.ok()) {
        emit failed(rid, qs(job.message()));
        return;
    }
    runningJob_ = *job;
}

void InferenceWorker::configureServer(const ServerConfig& config) {
    const ServerConfig before = serverConfig_;
    serverConfig_ = config;
    if (path_.isEmpty()) return reportServer(QString());
    if (before.enabled != config.enabled || (config.enabled && before.parallel != config.parallel)) {
        // The model moves between a Session and the scheduler: opened again in the new form, without
        // load signals (the chat sees the same model). An answer being written ends as stopped.
        const LoadRequest again = loadedWith_;
        qCInfo(lcWorker) << (config.enabled ? "serving" : "no longer serving") << QFileInfo(again.path).fileName();
        dropModel();
        QString serverError;
        if (Status st = openModel(again, {}, &serverError); !st.ok()) {
            qCWarning(lcWorker) << "could not open the model again:" << qs(st.message());
            emit unloaded();
            return reportServer(tr("The model could not be opened again: %1").arg(qs(st.message())));
        }
        path_ = again.path;
        loadedWith_ = again;
        if (host_) return startListening();
        return reportServer(serverError);
    }
    if (config.enabled && host_ &&
        (before.port != config.port || before.apiKey != config.apiKey || before.embeddingModel != config.embeddingModel))
        startListening();
    else reportServer(QString());
}

void InferenceWorker::startListening() {
    // The embedding model first (opened here, off the UI thread); without it the server still
    // serves the chat model, and the page says why embeddings come from that one.
    QString embedError;
    const DeviceChoice dev = parseDeviceKey(loadedWith_.device);
    if (Status st = host_->setEmbeddingModel(serverConfig_.embeddingModel.toStdString(), dev.backend, dev.index, loadedWith_.threads);
        !st.ok()) {
        qCWarning(lcWorker) << "embedding model:" << qs(st.message());
        embedError = tr("The embedding model could not be opened, so /v1/embeddings uses the chat model: %1").arg(qs(st.message()));
    }
    auto port = host_->listen(serverConfig_.port, serverConfig_.apiKey.toStdString(), path_.toStdString());
    if (!port.ok()) {
        qCWarning(lcWorker) << "api server:" << qs(port.message());
        return reportServer(tr("Port %1 is in use by another program (or cannot be opened). Choose another port.")
                                .arg(serverConfig_.port));
    }
    qCInfo(lcWorker) << "api server listening on 127.0.0.1:" << *port;
    if (!activeTimer_) {
        activeTimer_ = new QTimer(this);  // created here, on the worker's thread, where it fires
        activeTimer_->setInterval(100);
        connect(activeTimer_, &QTimer::timeout, this, &InferenceWorker::pollActive);
        // Stopped on this thread as it ends (finished is emitted from it): a timer still running when
        // the worker is deleted on the main thread would be "stopped from another thread".
        connect(QThread::currentThread(), &QThread::finished, activeTimer_, &QTimer::stop, Qt::DirectConnection);
    }
    activeTimer_->start();
    reportServer(embedError);
}

void InferenceWorker::pollActive() {
    const int n = host_ ? host_->activeRequests() : 0;
    if (n != lastActive_) emit activeRequestsChanged(lastActive_ = n);
}

void InferenceWorker::reportServer(const QString& error) {
    const bool running = host_ && host_->listening();
    emit serverStateChanged(running, running ? host_->port() : serverConfig_.port, serverConfig_.enabled ? error : QString(),
                            serverConfig_.enabled && path_.isEmpty());
}

}  // namespace hearth::app
