// Hearth opens no network connection. QML can reach the network on its own (an <img> or a
// Markdown image in a model's answer, XMLHttpRequest), so the QML engine gets a network access
// manager that answers every non-local request with an error instead of connecting.
#pragma once

#include <QNetworkAccessManager>
#include <QQmlNetworkAccessManagerFactory>

namespace hearth::app {

class OfflineNetworkAccessManager : public QNetworkAccessManager {
    Q_OBJECT
public:
    using QNetworkAccessManager::QNetworkAccessManager;
    static bool isLocal(const QUrl& url);  // file:, qrc:, data:
    int blockedCount() const { return blocked_; }

protected:
    QNetworkReply* createRequest(Operation op, const QNetworkRequest& request, QIODevice* outgoingData) override;

private:
    int blocked_ = 0;
};

class OfflineNetworkFactory : public QQmlNetworkAccessManagerFactory {
public:
    QNetworkAccessManager* create(QObject* parent) override { return new OfflineNetworkAccessManager(parent); }
};

}  // namespace hearth::app
