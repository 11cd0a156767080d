#include "app/worker/api_server_host.h"

#include <chrono>
#include <csignal>

#include "engine/embed/text_embedder.h"
#include "engine/serve/openai_server.h"

namespace hearth::app {

Result<std::unique_ptr<ApiServerHost>> ApiServerHost::open(const ModelOptions& model, int n_parallel,
                                                           const ProgressFn& progress) {
    SchedulerOptions so;
    so.model = model;
    so.n_parallel = n_parallel;
    auto sched = Scheduler::create(so, progress);
    if (!sched.ok()) return sched.status();
    std::unique_ptr<ApiServerHost> host(new ApiServerHost());
    host->scheduler_ = std::move(*sched);
    return host;
}

ApiServerHost::~ApiServerHost() {
    stopListening();
    scheduler_.reset();
}

Status ApiServerHost::setEmbeddingModel(const std::string& path, const std::string& backend, int device, int n_threads) {
    const std::string where = backend + ":" + std::to_string(device);
    if (path == embedding_path_ && (path.empty() || where == embedding_device_)) return Status();
    if (server_) stopListening();  // the server points at the embedder it had
    embedder_.reset();
    embedding_path_.clear();
    if (path.empty()) return Status();
    auto em = embed::TextEmbedder::open(path, backend, device, n_threads);
    if (!em.ok()) return em.status();
    embedder_ = std::move(*em);
    embedding_path_ = path;
    embedding_device_ = where;
    return Status();
}

Result<int> ApiServerHost::listen(int port, const std::string& api_key, const std::string& model_path) {
    stopListening();
#ifndef _WIN32
    // cpp-httplib writes with plain send(): a client that hangs up mid-stream would raise SIGPIPE and
    // end the whole app. Ignored process-wide, as hearth-cli serve does (Qt's sockets never rely on it).
    std::signal(SIGPIPE, SIG_IGN);
#endif
    ServerOptions opt;
    opt.host = "127.0.0.1";  // the app never listens beyond this machine
    opt.port = port;
    opt.api_key = api_key;
    opt.embedder = embedder_.get();
    auto server = std::make_unique<OpenAiServer>(*scheduler_, opt, model_path);
    auto bound = server->bind();
    if (!bound.ok()) return bound.status();
    server_ = std::move(server);
    port_ = *bound;
    ended_ = false;
    thread_ = std::thread([this, s = server_.get()] {
        s->run();
        ended_ = true;
    });
    return port_;
}

void ApiServerHost::stopListening() {
    if (!server_) return;
    // cpp-httplib's stop() does nothing until the thread has entered its accept loop: a server
    // stopped right after it was started would then listen on. So stop again until the thread ends.
    while (!ended_) {
        server_->stop();
        if (!ended_) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (thread_.joinable()) thread_.join();
    server_.reset();
    port_ = 0;
}

}  // namespace hearth::app
