// The app opens no network connection: the QML engine's network access manager refuses every
// non-local URL (so an image URL in a model's answer, or XMLHttpRequest, cannot reach the network)
// while qrc:, file: and data: URLs still load.
#include <QNetworkReply>
#include <QQmlComponent>
#include <QQmlEngine>
#include <QSignalSpy>
#include <QTemporaryFile>
#include <QtTest>

#include "app/support/offline_network.h"

using namespace hearth::app;

class OfflineTest : public QObject {
    Q_OBJECT
private slots:
    void remoteRequestsAreRefused() {
        QQmlEngine engine;
        OfflineNetworkFactory factory;
        engine.setNetworkAccessManagerFactory(&factory);
        QNetworkAccessManager* nam = engine.networkAccessManager();
        auto* offline = qobject_cast<OfflineNetworkAccessManager*>(nam);
        QVERIFY(offline);
        for (const char* url : {"http://example.com/x.png", "https://example.com/", "ftp://example.com/f"}) {
            QNetworkReply* reply = nam->get(QNetworkRequest(QUrl(QString::fromLatin1(url))));
            QSignalSpy done(reply, &QNetworkReply::finished);
            QVERIFY(done.wait(5000));
            QCOMPARE(reply->error(), QNetworkReply::ProtocolUnknownError);
            reply->deleteLater();
        }
        QCOMPARE(offline->blockedCount(), 3);

        // Local files still load.
        QTemporaryFile f;
        QVERIFY(f.open());
        f.write("local");
        f.flush();
        QNetworkReply* local = nam->get(QNetworkRequest(QUrl::fromLocalFile(f.fileName())));
        QSignalSpy done(local, &QNetworkReply::finished);
        QVERIFY(done.wait(5000));
        QCOMPARE(local->error(), QNetworkReply::NoError);
        QCOMPARE(local->readAll(), QByteArray("local"));
        local->deleteLater();
        QCOMPARE(offline->blockedCount(), 3);
    }

    void qmlXmlHttpRequestIsRefused() {
        QQmlEngine engine;
        OfflineNetworkFactory factory;
        engine.setNetworkAccessManagerFactory(&factory);
        QQmlComponent c(&engine);
        c.setData("import QtQuick\nQtObject {\n property int status: -1\n property bool done: false\n"
                  " Component.onCompleted: { const x = new XMLHttpRequest(); x.onreadystatechange = function() {"
                  " if (x.readyState === XMLHttpRequest.DONE) { status = x.status; done = true } };"
                  " x.open('GET', 'http://example.com/'); x.send() }\n}",
                  QUrl());
        std::unique_ptr<QObject> o(c.create());
        QVERIFY2(o, qPrintable(c.errorString()));
        QTRY_VERIFY_WITH_TIMEOUT(o->property("done").toBool(), 5000);
        QCOMPARE(o->property("status").toInt(), 0);  // no HTTP status: nothing was fetched
        auto* offline = qobject_cast<OfflineNetworkAccessManager*>(engine.networkAccessManager());
        QVERIFY(offline && offline->blockedCount() >= 1);
    }
};

QTEST_MAIN(OfflineTest)
#include "test_offline.moc"
