// ApiServerHost: the app's local API server (issue #16) over one loaded model. It owns the
// engine's Scheduler (the model, `n_parallel` sequence slots each with the chat's context length)
// and, while listening, the OpenAI-compatible HTTP server on 127.0.0.1 with its own thread. The
// chat submits to the same scheduler (InferenceWorker), so a person chatting and a script calling
// the API run side by side instead of waiting for each other.
//
// Qt-free on purpose: it is the engine's server as `hearth-cli serve` builds it (app/cli/
// cmd_serve.cpp), only started and stopped from the worker thread. Loopback only: there is no
// host setting in the app.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "engine/serve/scheduler.h"
#include "engine/util/status.h"

namespace hearth {
class OpenAiServer;
namespace embed {
class TextEmbedder;
}
}  // namespace hearth

namespace hearth::app {

class ApiServerHost {
public:
    // Loads the model into a scheduler of `n_parallel` slots; nothing listens yet.
    static Result<std::unique_ptr<ApiServerHost>> open(const ModelOptions& model, int n_parallel,
                                                       const ProgressFn& progress = {});
    ~ApiServerHost();  // stops listening (open requests end), then the scheduler (its requests end "cancelled")

    Scheduler& scheduler() { return *scheduler_; }

    // The embedding model /v1/embeddings answers with from the next listen() on ("" = none: the chat
    // model's own vectors). Opened here, on the caller's (the worker's) thread, on the chat's device
    // (`backend` and `device` as create_backend takes them; "auto" lets a GPU that cannot run it give
    // way to the CPU). Unchanged path and device: nothing is reopened. On error none is kept.
    Status setEmbeddingModel(const std::string& path, const std::string& backend, int device, int n_threads);
    const std::string& embeddingModel() const { return embedding_path_; }

    // Listens on 127.0.0.1:`port` (0: any free port) with an optional bearer key; returns the port.
    // A port in use is an error here, before any thread starts. Listening again replaces the server.
    Result<int> listen(int port, const std::string& api_key, const std::string& model_path);
    void stopListening();  // returns once the HTTP thread has ended; the scheduler stays
    bool listening() const { return server_ != nullptr; }
    int port() const { return port_; }

    // Requests in a slot or waiting for one, the chat's included (the scheduler's own counters).
    int activeRequests() const { return scheduler_->n_active() + scheduler_->n_queued(); }

private:
    ApiServerHost() = default;
    std::unique_ptr<Scheduler> scheduler_;
    std::unique_ptr<embed::TextEmbedder> embedder_;  // outlives server_, which points at it
    std::string embedding_path_, embedding_device_;  // the device as "backend:index"
    std::unique_ptr<OpenAiServer> server_;
    std::thread thread_;
    std::atomic<bool> ended_{true};  // run() has returned
    int port_ = 0;
};

}  // namespace hearth::app
