#include "app/worker/inference_worker.h"

#include <QFileInfo>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <optional>

#include "app/chat/context_window.h"
#include "app/chat/message_blocks.h"
#include "engine/session/session.h"

namespace hearth::app {

Q_LOGGING_CATEGORY(lcWorker, "hearth.worker")

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// The engine's prompt for messages[first..] after the system prompt.
std::vector<ChatMessage> chatMessages(const GenerateRequest& req, size_t first) {
    std::vector<ChatMessage> out;
    if (!req.systemPrompt.trimmed().isEmpty()) out.push_back({"system", req.systemPrompt.toStdString()});
    for (size_t i = first; i < req.messages.size(); ++i) {
        const TurnMessage& m = req.messages[i];
        // Reasoning is not sent back: the model authors advise against it, and it would fill the
        // context with text the user never asked to keep.
        const QString content = m.role == QLatin1String("assistant") ? stripThinking(m.content) : m.content;
        out.push_back({m.role.toStdString(), content.toStdString()});
    }
    return out;
}

// Tokenizes rendered chat text the way templates expect: special tokens parsed, BOS added only when
// the template did not write it.
Result<std::vector<int32_t>> tokenizePrompt(const Session& s, const std::string& text) {
    auto body = s.tokenize(text, false, true);
    HEARTH_RETURN_IF_ERROR(body);
    auto bos = s.tokenize("", true, false);
    HEARTH_RETURN_IF_ERROR(bos);
    std::vector<int32_t> ids;
    if (!bos->empty() && (body->empty() || (*body)[0] != (*bos)[0])) ids.push_back((*bos)[0]);
    ids.insert(ids.end(), body->begin(), body->end());
    return ids;
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
    const int reserve = answerReserve(nCtx, req.sampling.maxNewTokens);
    json::Value extra = json::Value::object();
    extra.set("enable_thinking", req.think);

    // Token cost of each message, to choose the window (verified against the real render below).
    auto count = [&](const QString& text) -> int {
        auto t = s.tokenize(text.toStdString(), false, false);
        return (t.ok() ? int(t->size()) : int(text.size())) + 8;  // + the template's per-message framing
    };
    std::vector<WindowMessage> wm;
    if (!req.systemPrompt.trimmed().isEmpty()) wm.push_back({true, false, count(req.systemPrompt)});
    const size_t offset = wm.size();
    for (const TurnMessage& m : req.messages)
        wm.push_back({false, m.role == QLatin1String("user"),
                      count(m.role == QLatin1String("assistant") ? stripThinking(m.content) : m.content)});
    const WindowDecision d = chooseWindow(wm, 8, nCtx, reserve);
    const int lastTokens = wm.back().tokens;
    auto tooLong = [&](int promptTokens) {
        return tr("Your message is about %1 tokens long, but the model's context window holds %2 tokens, of which %3 "
                  "are kept for the answer. Shorten the message or raise the context length in Settings.")
            .arg(std::max(lastTokens, promptTokens))
            .arg(nCtx)
            .arg(reserve);
    };
    // When even the estimate says the last message cannot fit, the real render below confirms it
    // (estimates err on the long side) before the user is told.
    size_t first = d.ok ? size_t(d.firstKept) - offset : req.messages.size() - 1;

    // The estimate picks where to start; the real render decides. A window that does not fit lets
    // the next whole turn go; one that fits is widened to earlier turns while they still fit, so
    // no more history leaves than the context requires.
    struct Rendered {
        std::string text;
        std::vector<int32_t> ids;
    };
    QString renderError;
    auto renderFrom = [&](size_t from) -> std::optional<Rendered> {
        auto text = s.render_chat(chatMessages(req, from), true, extra);
        if (!text.ok()) {
            renderError = tr("The model's chat template failed: %1").arg(qs(text.message()));
            return std::nullopt;
        }
        auto ids = tokenizePrompt(s, *text);
        if (!ids.ok()) {
            renderError = qs(ids.message());
            return std::nullopt;
        }
        return Rendered{std::move(*text), std::move(*ids)};
    };
    auto fits = [&](const Rendered& r) { return int(r.ids.size()) + reserve <= nCtx; };
    auto turnStart = [&](size_t i) { return req.messages[i].role == QLatin1String("user"); };

    std::optional<Rendered> chosen = renderFrom(first);
    if (!chosen) return void(emit failed(req.id, renderError));
    if (fits(*chosen)) {
        for (size_t earlier = first; earlier-- > 0;) {
            if (!turnStart(earlier)) continue;
            std::optional<Rendered> wider = renderFrom(earlier);
            if (!wider) return void(emit failed(req.id, renderError));
            if (!fits(*wider)) break;
            chosen = std::move(wider);
            first = earlier;
        }
    } else {
        while (!fits(*chosen)) {
            size_t next = first + 1;
            while (next < req.messages.size() && !turnStart(next)) ++next;
            if (next >= req.messages.size()) return void(emit failed(req.id, tooLong(int(chosen->ids.size()))));
            first = next;
            chosen = renderFrom(first);
            if (!chosen) return void(emit failed(req.id, renderError));
        }
    }
    std::vector<int32_t> prompt = std::move(chosen->ids);
    std::string rendered = std::move(chosen->text);

    // Tokens that must survive the engine's own shift when the answer fills the context: the
    // system prompt (the common prefix with the system-only render).
    int nKeep = 0;
    if (!req.systemPrompt.trimmed().isEmpty()) {
        auto sys = s.render_chat({{"system", req.systemPrompt.toStdString()}}, false, extra);
        auto sysIds = sys.ok() ? tokenizePrompt(s, *sys) : Result<std::vector<int32_t>>(sys.status());
        if (sysIds.ok())
            while (nKeep < int(sysIds->size()) && nKeep < int(prompt.size()) && (*sysIds)[size_t(nKeep)] == prompt[size_t(nKeep)])
                ++nKeep;
    } else if (!prompt.empty()) {
        auto bos = s.tokenize("", true, false);
        nKeep = bos.ok() && !bos->empty() && prompt[0] == (*bos)[0] ? 1 : 0;
    }
    nKeep = std::min(nKeep, nCtx / 2);

    emit windowChosen(req.id, req.messages[first].id, int(prompt.size()), nCtx);

    // A template that opens the reasoning itself ("<think>\n" at the end of the prompt): the
    // answer starts inside it, so the stored text starts with the tag for the UI to fold.
    QString pending;
    const QString renderedTail = qs(rendered.substr(rendered.size() > 16 ? rendered.size() - 16 : 0)).trimmed();
    if (renderedTail.endsWith(QLatin1String("<think>"))) pending = QStringLiteral("<think>\n");

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
    auto stats = s.generate(prompt, toEngine(req.sampling), onPiece, &cancelGenerate_, nKeep);
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
