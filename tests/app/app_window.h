// The real app window in a test: the AppContext wiring over a test's own data folder and settings
// file, Main.qml loaded and exposed (offscreen under ctest), and the warnings Qt printed meanwhile —
// a missing QML module or a broken binding shows there before anything else fails.
#pragma once

#include <QDir>
#include <QImage>
#include <QQmlApplicationEngine>
#include <QQuickWindow>
#include <QRect>
#include <QStringList>
#include <QtTest>
#include <memory>

#include "app/controllers/app_context.h"
#include "app/settings/app_settings.h"

namespace hearth::app::test {

// Warnings, criticals and fatals seen since the collector was installed (every message is passed on
// to the handler that was there before).
inline QStringList& warnings() {
    static QStringList list;
    return list;
}

inline QtMessageHandler& previousHandler() {
    static QtMessageHandler previous = nullptr;
    return previous;
}

inline void collectWarning(QtMsgType type, const QMessageLogContext& ctx, const QString& msg) {
    if (type == QtWarningMsg || type == QtCriticalMsg || type == QtFatalMsg) warnings() << msg;
    if (previousHandler()) previousHandler()(type, ctx, msg);
}

inline void collectWarnings(bool on) {
    if (on) previousHandler() = qInstallMessageHandler(collectWarning);
    else qInstallMessageHandler(previousHandler());
}

// The collected warnings that come from the app's own QML (qrc:/qml/…): a test that shows pages
// fails on any of them.
inline QStringList qmlWarnings() {
    QStringList out;
    for (const QString& w : warnings())
        if (w.contains(QLatin1String("qrc:/qml/"))) out << w;
    return out;
}

// Grabs `window`, after 400 ms for layouts, images and text to settle, into $HEARTH_SHOTS_DIR (else
// the build's screenshots folder) as `name`: the file's path, or "" when nothing could be saved.
inline QString saveWindowShot(QQuickWindow* window, const QString& name) {
    QTest::qWait(400);
    const QImage img = window->grabWindow();
    const QString outDir = qEnvironmentVariable("HEARTH_SHOTS_DIR", QStringLiteral(HEARTH_TEST_OUTPUT_DIR "/screenshots"));
    QDir().mkpath(outDir);
    const QString path = QDir(outDir).filePath(name);
    if (img.isNull() || !img.save(path)) return {};
    qInfo("screenshot: %s (%dx%d)", qPrintable(path), img.width(), img.height());
    return path;
}

// The app's objects over `dir` (data/ and settings.ini), with the models folder dir/models.
inline std::unique_ptr<AppContext> makeAppContext(const QString& dir, const QString& language, const QString& theme,
                                                  const QRect& geometry) {
    AppContext::Options opt;
    opt.dataDir = dir + QStringLiteral("/data");
    opt.settingsFile = dir + QStringLiteral("/settings.ini");
    opt.logToFile = false;
    auto context = std::make_unique<AppContext>(opt);
    context->settings()->setModelsFolder(dir + QStringLiteral("/models"));
    context->settings()->setLanguage(language);
    context->settings()->setTheme(theme);
    context->settings()->setWindowGeometry(geometry);
    return context;
}

// Loads qrc:/qml/Main.qml into `engine` and waits until its window is exposed; null on failure.
inline QQuickWindow* loadMainWindow(AppContext& context, std::unique_ptr<QQmlApplicationEngine>& engine) {
    engine = std::make_unique<QQmlApplicationEngine>();
    context.registerQml(engine.get());
    engine->load(QUrl(QStringLiteral("qrc:/qml/Main.qml")));
    if (engine->rootObjects().isEmpty()) return nullptr;
    auto* window = qobject_cast<QQuickWindow*>(engine->rootObjects().first());
    if (!window || !QTest::qWaitForWindowExposed(window)) return nullptr;
    return window;
}

}  // namespace hearth::app::test
