// hearth: the desktop app. Builds the AppContext (settings, store, model library, chat controller
// with its worker thread), loads the QML window and runs. No model is loaded before the window is
// shown: the first frame does not wait on a multi-GB file.
#include <QDir>
#include <QElapsedTimer>
#include <QGuiApplication>
#include <QIcon>
#include <QQmlApplicationEngine>
#include <QQuickStyle>
#include <QStandardPaths>

#include "app/controllers/app_context.h"

int main(int argc, char* argv[]) {
    QElapsedTimer startup;
    startup.start();
    QGuiApplication::setApplicationName(QStringLiteral("Hearth"));
    QGuiApplication::setApplicationVersion(QStringLiteral(HEARTH_VERSION));
    QGuiApplication::setDesktopFileName(QStringLiteral("io.github.hearth.Hearth"));
    QGuiApplication app(argc, argv);
    app.setWindowIcon(QIcon(QStringLiteral(":/icons/hearth.svg")));
    // Our own palette and controls; the Basic style follows the palette for light and dark themes.
    if (qEnvironmentVariableIsEmpty("QT_QUICK_CONTROLS_STYLE")) QQuickStyle::setStyle(QStringLiteral("Basic"));

    hearth::app::AppContext::Options options;
    options.settingsFile = QDir(QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation))
                               .filePath(QStringLiteral("hearth.conf"));
    hearth::app::AppContext context(options);

    QQmlApplicationEngine engine;
    context.registerQml(&engine);
    QObject::connect(&engine, &QQmlApplicationEngine::objectCreated, &app, [&](QObject* obj, const QUrl&) {
        if (!obj) QCoreApplication::exit(1);
        else qInfo("main window created in %lld ms", static_cast<long long>(startup.elapsed()));
    }, Qt::QueuedConnection);
    engine.load(QUrl(QStringLiteral("qrc:/qml/Main.qml")));
    return app.exec();
}
