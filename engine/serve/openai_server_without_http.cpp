// OpenAiServer in a build without cpp-httplib (engine/CMakeLists.txt: only builds without the app, such
// as the GPU check machines, which have no such package). Everything links as before; bind() says the
// server is missing, so `hearth-cli serve` fails with that reason instead of the build failing.
#include <filesystem>

#include "engine/embed/text_embedder.h"
#include "engine/serve/openai_server.h"

namespace hearth {

struct OpenAiServer::Impl {
    std::string model_id;
};

OpenAiServer::OpenAiServer(Scheduler&, ServerOptions options, const std::string& model_path)
    : impl_(std::make_unique<Impl>()) {
    impl_->model_id = options.model_id.empty() ? std::filesystem::path(model_path).stem().string() : options.model_id;
}

OpenAiServer::OpenAiServer(ServerOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->model_id = !options.embedding_model_id.empty() ? options.embedding_model_id
                      : options.embedder ? std::filesystem::path(options.embedder->path()).stem().string()
                                         : std::string();
}

OpenAiServer::~OpenAiServer() = default;

Result<int> OpenAiServer::bind() {
    return make_error("this build of Hearth has no HTTP server: cpp-httplib (Debian's libcpp-httplib-dev) "
                      "was not found when it was built; install it and build again");
}

void OpenAiServer::run() {}
void OpenAiServer::stop() {}
const std::string& OpenAiServer::model_id() const { return impl_->model_id; }

}  // namespace hearth
