// ApiServerController (QML singleton `ApiServer`): the main-thread side of the local API server
// (issue #16). Settings → "Local API server" edits AppSettings; this object sends each change to
// the InferenceWorker (which owns the server and the scheduler, on its thread) and keeps what the
// worker reports: whether it listens, why not, and how many requests are active, for the Settings
// page and the status line. Nothing here waits for the worker.
#pragma once

#include <QObject>
#include <QString>
#include <QTimer>

namespace hearth::app {

class AppSettings;
class InferenceWorker;

class ApiServerController : public QObject {
    Q_OBJECT
    Q_PROPERTY(bool running READ running NOTIFY stateChanged)
    // On, but no model is loaded yet: it starts with the next model.
    Q_PROPERTY(bool waiting READ waiting NOTIFY stateChanged)
    Q_PROPERTY(QString errorText READ errorText NOTIFY stateChanged)
    Q_PROPERTY(int port READ port NOTIFY stateChanged)
    Q_PROPERTY(QString address READ address NOTIFY stateChanged)
    Q_PROPERTY(int activeRequests READ activeRequests NOTIFY activeRequestsChanged)
    Q_PROPERTY(int parallel READ parallel CONSTANT)

public:
    static constexpr int kParallel = 4;  // sequence slots: the chat and a few scripts at once

    ApiServerController(AppSettings* settings, InferenceWorker* worker, QObject* parent = nullptr);

    bool running() const { return running_; }
    bool waiting() const { return waiting_; }
    QString errorText() const { return error_; }
    int port() const { return port_; }
    // What clients put as their base URL: http://127.0.0.1:PORT/v1.
    QString address() const { return QStringLiteral("http://127.0.0.1:%1/v1").arg(port_); }
    int activeRequests() const { return active_; }
    int parallel() const { return kParallel; }

signals:
    void stateChanged();
    void activeRequestsChanged();

private:
    void apply();  // sends the settings to the worker
    void onState(bool running, int port, const QString& error, bool waiting);

    AppSettings* settings_;
    InferenceWorker* worker_;
    // Settings changes reach the worker a moment later, as one: stepping the port from 8080 to 8085
    // rebinds once, not five times.
    QTimer settle_;
    bool running_ = false, waiting_ = false;
    QString error_;
    int port_ = 8080;
    int active_ = 0;
};

}  // namespace hearth::app
