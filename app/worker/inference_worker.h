// InferenceWorker: lives in its own QThread and owns the loaded model's engine Session. The main
// thread talks to it only through queued calls (load, generate, unload) and hears back through
// queued signals; stop and cancel are atomic flags it may set directly. Nothing here ever blocks
// the main thread: a 30-second prompt evaluation happens entirely on the worker's thread.
//
// Requests carry increasing ids, and stop/cancel name the id they are for (and all earlier ones),
// so a Stop or Cancel that arrives while its request still waits in the queue is not lost, and a
// newer request never inherits an older one's cancel. The Stop reaches into the engine's
// evaluation (Session::generate's cancel flag), so it takes effect within tens of milliseconds
// even in the middle of a long prompt.
//
// The local API server (issue #16): with it on, the loaded model lives in an ApiServerHost (the
// engine's Scheduler, several sequence slots, and the OpenAI-compatible server on 127.0.0.1)
// instead of a Session, and the chat is one more client of that scheduler: generate() submits and
// returns, the answer streams from the scheduler's thread, Stop cancels the request. With it off
// the chat generates through its Session as before. Turning it on or off opens the loaded model
// again in the other form (the scheduler and a Session each hold their own copy).
//
// Streaming: text pieces are coalesced and emitted at most every `kPieceIntervalMs` (about 30 per
// second), so a fast model cannot flood the UI with a repaint per token.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QVariantMap>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "app/chat/sampling_presets.h"
#include "engine/lora/lora_spec.h"
#include "engine/session/session.h"

namespace hearth {
class Session;
}

class QTimer;

namespace hearth::app {

class ApiServerHost;

struct ServerConfig {
    bool enabled = false;
    int port = 8080;       // on 127.0.0.1 only; 0: any free port (tests)
    QString apiKey;        // "" = none
    int parallel = 4;      // sequence slots, each with the chat's context length
    QString embeddingModel;  // a BERT-family .gguf for /v1/embeddings; "" = the chat model's own vectors
};

struct LoadRequest {
    quint64 id = 0;         // increasing from 1; requestCancelLoad(id) cancels this load and earlier ones
    QString path;
    int nCtx = 4096;
    int threads = 0;        // 0: the engine's choice
    QString device = QStringLiteral("auto");  // "auto" | "cpu" | "vulkan:N" | "cuda:N"
    int gpuLayers = -1;     // layers on the GPU; -1: as many as fit
};

struct TurnMessage {
    qint64 id = 0;          // store id (0 for messages not stored)
    QString role;           // "user" | "assistant"
    QString content;
};

struct GenerateRequest {
    quint64 id = 0;         // increasing from 1; stop(id) cancels this request and earlier ones
    QString modelPath;      // the model the answer is for: refused (failed) when another one is loaded
    QString systemPrompt;
    std::vector<TurnMessage> messages;  // the last one is answered
    SamplingValues sampling;
    bool think = true;      // passed to the template as enable_thinking
    // The conversation's adapters that are on (and whose files exist), attached before answering:
    // nothing changes when the model already has this set; an adapter that does not fit fails the answer.
    std::vector<LoraSpec> loras;
};

class InferenceWorker : public QObject {
    Q_OBJECT
public:
    static constexpr int kPieceIntervalMs = 33;

    InferenceWorker();
    ~InferenceWorker() override;

    // Thread-safe, called directly from the main thread.
    void requestStop(quint64 requestId);
    void requestCancelLoad(quint64 loadId);  // this load and every earlier one

    // Run on the worker's thread (queue them with QMetaObject::invokeMethod).
    // A load replaces the loaded model even when it fails or is cancelled: afterwards the requested
    // model is loaded, or none is.
    void load(const LoadRequest& req);
    void unload();
    void generate(const GenerateRequest& req);
    // Tries `loras` as the loaded model's adapter set (Session::set_loras: every adapter opened and
    // checked against the model, all or nothing): on success it is attached, on an error the
    // previous set stays. Answered by lorasChecked(checkId, …); with no model loaded nothing is
    // checked (checked = false). While the server is on, the set is tried on a one-token request
    // to the scheduler instead (adapters go with each request there).
    void checkLoras(quint64 checkId, const std::vector<LoraSpec>& loras);
    // The API server's settings. On → the loaded model (and every later one) is served; off → the
    // chat's Session again. Answered by serverStateChanged.
    void configureServer(const ServerConfig& config);

signals:
    void loadStarted(quint64 loadId, const QString& path);
    void loadProgress(quint64 loadId, double fraction);
    void loaded(quint64 loadId, const QVariantMap& info);   // name, architecture, nCtx, think, backend, path, seconds
    void loadFailed(quint64 loadId, const QString& path, const QString& message, bool cancelled);
    void unloaded();
    // The window chosen for a request: messages before firstMessageId are out of the context.
    void windowChosen(quint64 requestId, qint64 firstMessageId, int promptTokens, int nCtx);
    void piece(quint64 requestId, const QString& text);
    void finished(quint64 requestId, const QVariantMap& stats);  // stats include "model": the path that answered
    void failed(quint64 requestId, const QString& message);
    // error: empty when the set is attached; checked: false when no model was loaded to check against.
    void lorasChecked(quint64 checkId, const QString& error, bool checked);
    // running: listening on 127.0.0.1:port; error: why it is not ("" when it is, or when it is off);
    // waiting: on, but no model is loaded to serve.
    void serverStateChanged(bool running, int port, const QString& error, bool waiting);
    // Requests in a slot or queued (API and chat), from the scheduler's counters when they change.
    void activeRequestsChanged(int count);

private:
    // Opens the model as a Session, or as an ApiServerHost when the server is on (falling back to a
    // Session, with the reason in *serverError, when the scheduler cannot be made).
    Status openModel(const LoadRequest& req, const ProgressFn& progress, QString* serverError);
    void dropModel();
    void startListening();  // host_ listens with serverConfig_; reports the outcome
    void reportServer(const QString& error);
    void pollActive();
    void generateScheduled(const GenerateRequest& req, const std::vector<int32_t>& prompt, bool thinkOpen);

    std::unique_ptr<hearth::Session> session_;
    std::unique_ptr<ApiServerHost> host_;     // instead of session_ while the server is on
    ServerConfig serverConfig_;
    LoadRequest loadedWith_;                  // to open the loaded model again when the server is switched
    QTimer* activeTimer_ = nullptr;           // polls host_'s atomic counters on this thread
    int lastActive_ = 0;
    ApiServerHost* stopHost_ = nullptr;       // host_ for requestStop (main thread); under stopMutex_
    uint64_t runningJob_ = 0;                 // the scheduler's id of running_; under stopMutex_
    QString path_;
    std::mutex stopMutex_;                    // orders requestStop() against a request's start
    std::atomic<bool> cancelGenerate_{false}; // the running request's Stop, watched inside evaluation
    std::atomic<quint64> stopUpTo_{0};
    quint64 running_ = 0;                     // the request generate() runs (or last ran); under stopMutex_
    std::atomic<quint64> cancelLoadUpTo_{0};
};

}  // namespace hearth::app
