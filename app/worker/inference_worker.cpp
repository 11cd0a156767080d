#include "app/worker/inference_worker.h"

#include <QFileInfo>
#include <QLoggingCategory>
#include <QRandomGenerator>

#include "app/chat/message_blocks.h"
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
InferenceWorker::~InferenceWorker() = default;

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
    if (requestId >= running_) cancelGenerate_.store(true);
}

void InferenceWorker::requestCancelLoad(quint64 loadId) { raiseTo(cancelLoadUpTo_, loadId); }

void InferenceWorker::unload() {
    session_.reset();
    path_.clear();
    emit unloaded();
}

void InferenceWorker::load(const LoadRequest& req) {
    session_.reset();  // free the old model before mapping the new one
    path_.clear();
    auto cancelled = [&] { return cancelLoadUpTo_.load() >= req.id; };
    if (cancelled()) {  // cancelled while it waited in the queue
        emit loadFailed(req.id, req.path, tr("Loading was cancelled."), true);
        return;
    }
    emit loadStarted(req.id, req.path);
    qCInfo(lcWorker) << "loading" << QFileInfo(req.path).fileName() << "n_ctx" << req.nCtx << "device" << req.device;
    QElapsedTimer timer;
    timer.start();

    ModelOptions opt;
    opt.path = req.path.toStdString();
    opt.n_ctx = req.nCtx;
    opt.n_threads = req.threads;
    // "vulkan:1" = backend vulkan, device 1 (the settings validate the key).
    const QStringList dev = req.device.split(QLatin1Char(':'));
    opt.backend = dev.value(0, QStringLiteral("auto")).toStdString();
    opt.device = dev.size() > 1 ? dev[1].toInt() : 0;
    opt.gpu_layers = req.gpuLayers;
    QElapsedTimer sinceReport;
    sinceReport.start();
    auto session = Session::open(opt, [&](float fraction) {
        if (sinceReport.elapsed() >= 50 || fraction >= 1.0f) {  // ≤ 20 progress updates a second
            sinceReport.restart();
            emit loadProgress(req.id, double(fraction));
        }
        return !cancelled();
    });
    // A cancel that came after the last progress call still counts: the controller has moved on.
    if (!session.ok() || cancelled()) {
        const bool wasCancelled = cancelled();
        const QString msg = wasCancelled ? tr("Loading was cancelled.") : qs(session.message());
        qCWarning(lcWorker) << "load failed:" << msg;
        emit loadFailed(req.id, req.path, msg, wasCancelled);
        return;
    }
    session_ = std::move(*session);
    path_ = req.path;
    const ModelInfo& mi = session_->info();
    const double seconds = double(timer.elapsed()) / 1000.0;
    qCInfo(lcWorker) << "loaded" << qs(mi.name) << qs(mi.architecture) << qs(mi.file_type) << "in" << seconds << "s on"
                     << qs(mi.backend_description);
    emit loaded(req.id, QVariantMap{{"path", req.path},
                                    {"name", qs(mi.name)},
                                    {"architecture", qs(mi.architecture)},
                                    {"quantization", qs(mi.file_type)},
                                    {"nCtx", session_->n_ctx()},
                                    {"nCtxTrain", mi.n_ctx_train},
                                    {"think", mi.template_has_think},
                                    {"backend", qs(mi.backend_description)},
                                    {"seconds", seconds}});
}

void InferenceWorker::checkLoras(quint64 checkId, const std::vector<LoraSpec>& loras) {
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
        cancelGenerate_.store(false);
        stoppedInQueue = stopUpTo_.load() >= req.id;
    }
    if (stoppedInQueue) {
        emit finished(req.id, QVariantMap{{"stopReason", "cancelled"}, {"generated", 0}});
        return;
    }
    if (!session_) {
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
    Session& s = *session_;
    if (Status st = s.set_loras(req.loras); !st.ok()) {
        emit failed(req.id, tr("An adapter of this conversation could not be attached: %1\nSwitch it off in Adapters… to "
                               "answer without it.")
                                .arg(qs(st.message())));
        return;
    }
    const int nCtx = s.n_ctx();
    // The engine's prompt policy (engine/session/prompt_policy.h) chooses the window, renders and
    // tokenizes; the worker only says which messages the conversation holds.
    ChatPromptRequest pr;
    pr.messages = chatMessages(req);
    const size_t offset = pr.messages.size() - req.messages.size();  // the system prompt, when there is one
    pr.template_extra.set("enable_thinking", req.think);
    pr.n_ctx = nCtx;
    pr.reserve = answer_reserve(nCtx, req.sampling.maxNewTokens);
    const ChatPrompt cp = build_chat_prompt(s, pr);
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
                                      {"stopReason", qs(g.stop_reason)}});
}

}  // namespace hearth::app
