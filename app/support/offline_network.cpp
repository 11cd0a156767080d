#include "app/support/offline_network.h"

#include <QNetworkRequest>

namespace hearth::app {

bool OfflineNetworkAccessManager::isLocal(const QUrl& url) {
    const QString s = url.scheme().toLower();
    return s == QLatin1String("file") || s == QLatin1String("qrc") || s == QLatin1String("data") || s.isEmpty();
}

QNetworkReply* OfflineNetworkAccessManager::createRequest(Operation op, const QNetworkRequest& request,
                                                          QIODevice* outgoingData) {
    if (isLocal(request.url())) return QNetworkAccessManager::createRequest(op, request, outgoingData);
    ++blocked_;
    qWarning("blocked a network request to %s: Hearth works offline", qPrintable(request.url().toDisplayString()));
    // A scheme no handler knows: Qt answers with ProtocolUnknownError without touching the network.
    QNetworkRequest refused(request);
    refused.setUrl(QUrl(QStringLiteral("hearth-offline:blocked")));
    return QNetworkAccessManager::createRequest(op, refused, nullptr);
}

}  // namespace hearth::app
