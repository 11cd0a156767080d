// Qt Quick Test runner for tests/app/quick/tst_*.qml: the QML sees the same `Hearth` singletons as
// the app (AppContext::registerQml), over a temporary data folder holding a tiny model.
#include <QQmlContext>
#include <QQmlEngine>
#include <QTemporaryDir>
#include <QtQuickTest>

#include "app/controllers/app_context.h"
#include "app/settings/app_settings.h"
#include "tests/app/tiny_model.h"

class Setup : public QObject {
    Q_OBJECT
public slots:
    void qmlEngineAvailable(QQmlEngine* engine) {
        QString err;
        const QString model = hearth::app::test::writeTinyModel(dir_.filePath("models"), "slow.gguf",
                                                                        hearth::app::test::slowSpec(), &err);
        if (model.isEmpty()) qFatal("cannot write the tiny model: %s", qPrintable(err));
        hearth::app::AppContext::Options opt;
        opt.dataDir = dir_.filePath("data");
        opt.settingsFile = dir_.filePath("settings.ini");
        opt.logToFile = false;
        context_ = std::make_unique<hearth::app::AppContext>(opt);
        auto* s = context_->settings();
        s->setModelsFolder(dir_.filePath("models"));
        s->setDefaultModel(model);
        s->setContextLength(512);
        s->setMaxNewTokens(-1);  // streams until Esc
        s->setTemperature(0);
        s->setThreads(1);
        s->setLanguage(QStringLiteral("en"));
        context_->registerQml(engine);
        engine->rootContext()->setContextProperty(QStringLiteral("tinyModelPath"), model);
    }
    void cleanupTestCase() { context_.reset(); }

private:
    QTemporaryDir dir_;
    std::unique_ptr<hearth::app::AppContext> context_;
};

QUICK_TEST_MAIN_WITH_SETUP(hearth_app_quick, Setup)
#include "test_quick.moc"
