#include "app/controllers/api_server_controller.h"

#include "app/settings/app_settings.h"
#include "app/worker/inference_worker.h"

namespace hearth::app {

ApiServerController::ApiServerController(AppSettings* settings, InferenceWorker* worker, QObject* parent)
    : QObject(parent), settings_(settings), worker_(worker), port_(settings->apiServerPort()) {
    connect(worker_, &InferenceWorker::serverStateChanged, this, &ApiServerController::onState);
    connect(worker_, &InferenceWorker::activeRequestsChanged, this, [this](int n) {
        if (n == active_) return;
        active_ = n;
        emit activeRequestsChanged();
    });
    settle_.setSingleShot(true);
    settle_.setInterval(250);
    connect(&settle_, &QTimer::timeout, this, &ApiServerController::apply);
    connect(settings_, &AppSettings::apiServerChanged, &settle_, qOverload<>(&QTimer::start));
    apply();  // before the first model loads: queued ahead of its load
}

void ApiServerController::apply() {
    ServerConfig c;
    c.enabled = settings_->apiServerEnabled();
    c.port = settings_->apiServerPort();
    c.apiKey = settings_->apiServerKey();
    c.embeddingModel = settings_->apiEmbeddingModel();
    c.parallel = kParallel;
    if (!c.enabled && (running_ || waiting_ || !error_.isEmpty())) onState(false, c.port, QString(), false);
    QMetaObject::invokeMethod(worker_, [w = worker_, c] { w->configureServer(c); }, Qt::QueuedConnection);
}

void ApiServerController::onState(bool running, int port, const QString& error, bool waiting) {
    if (running == running_ && port == port_ && error == error_ && waiting == waiting_) return;
    running_ = running;
    port_ = port;
    error_ = error;
    waiting_ = waiting;
    emit stateChanged();
}

}  // namespace hearth::app
