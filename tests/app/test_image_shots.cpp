// Screenshots of the Image tab (issue #15), in English and Chinese, light and dark: empty (a model
// chosen, no picture yet), during a run with its live preview, and with a gallery; plus the Models
// page with the image model listed, an answer's "Send to Image" / "Write a prompt" actions, and
// the warning that the chat and image models may not fit in memory together. Clicks Send to Image
// and Write a prompt on an answer (the tab opens; the prompt arrives through the chat model). PNGs
// go to $HEARTH_SHOTS_DIR (else screenshots/ beside the test binary). Fails on any QML warning.
// Skipped without the shared tiny SD 1.5 pipeline.
#include <QDir>
#include <QQmlApplicationEngine>
#include <QQuickWindow>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/app_context.h"
#include "app/controllers/chat_controller.h"
#include "app/controllers/image_controller.h"
#include "app/settings/app_settings.h"
#include "tests/app/add_image_model.h"
#include "tests/app/app_window.h"
#include "tests/app/quick_find.h"
#include "tests/app/tiny_model.h"
#include "tests/engine/single_file_writer.h"

using namespace hearth::app;

class ImageShotsTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    std::unique_ptr<AppContext> context_;
    std::unique_ptr<QQmlApplicationEngine> engine_;
    QQuickWindow* window_ = nullptr;

    ImageController* images() { return context_->images(); }

    QString shoot(const QString& name) { return test::saveWindowShot(window_, name); }

    // One shot per language and theme: <stem>_<lang>_<theme>.png.
    bool shootAll(const QString& stem) {
        for (const char* lang : {"en", "zh_CN"})
            for (const char* theme : {"light", "dark"}) {
                context_->settings()->setLanguage(QString::fromLatin1(lang));
                context_->settings()->setTheme(QString::fromLatin1(theme));
                if (shoot(QStringLiteral("%1_%2_%3.png").arg(stem, QString::fromLatin1(lang), QString::fromLatin1(theme))).isEmpty())
                    return false;
            }
        context_->settings()->setLanguage(QStringLiteral("en"));
        context_->settings()->setTheme(QStringLiteral("light"));
        return true;
    }

    bool run(const QString& prompt, const QString& seed, int steps = 4) {
        images()->setPrompt(prompt);
        images()->setSeed(seed);
        images()->setSteps(steps);
        QSignalSpy finished(images(), &ImageController::runFinished);
        return images()->generate() && finished.wait(60000) && finished.first().at(0).toLongLong() > 0;
    }

private slots:
    void initTestCase() {
        const QString pipeline = test::testdataFile(QStringLiteral("diffusion/tiny-sd15"));
        if (!QFile::exists(pipeline + QStringLiteral("/model_index.json")))
            QSKIP(qPrintable(pipeline + " is absent (the shared test data): no Image tab screenshots"));
        test::collectWarnings(true);
        context_ = test::makeAppContext(dir_.path(), "en", "light", QRect(0, 0, 1200, 800));
        context_->settings()->setThreads(2);
        QString err;
        const QString chatModel = test::writeTinyModel(dir_.filePath("models"), "tiny-chat.gguf", {}, &err);
        QVERIFY2(!chatModel.isEmpty(), qPrintable(err));
        context_->settings()->setDefaultModel(chatModel);  // no first-start wizard over the shots
        auto conv = context_->store()->createConversation(QString(), QString());
        QVERIFY(conv.ok());
        (void)context_->store()->addMessage(*conv, "user", "Describe a picture of Kyoto in autumn");
        (void)context_->store()->addMessage(*conv, "assistant",
                                            "A quiet temple garden in Kyoto in late autumn: red maple leaves over a moss "
                                            "path, a wooden pavilion, soft evening light.");
        context_->settings()->setLastConversationId(*conv);
        context_->chat()->reloadConversations();
        QVERIFY2(test::addImageModel(images(), pipeline), qPrintable(images()->errorText()));
        window_ = test::loadMainWindow(*context_, engine_);
        QVERIFY(window_);
    }

    void handOffAndModels() {
        window_->setProperty("page", QStringLiteral("chat"));
        QTRY_VERIFY_WITH_TIMEOUT(test::findVisibleItem(window_->contentItem(), QStringLiteral("sendToImageButton")), 5000);
        QVERIFY(!shoot(QStringLiteral("chat_handoff_en_light.png")).isEmpty());
        // Send to Image switches to the tab with the answer as the prompt.
        QQuickItem* send = test::findVisibleItem(window_->contentItem(), QStringLiteral("sendToImageButton"));
        QTest::mouseClick(window_, Qt::LeftButton, {}, send->mapToScene(QPointF(send->width() / 2, send->height() / 2)).toPoint());
        QTRY_COMPARE_WITH_TIMEOUT(window_->property("page").toString(), QStringLiteral("image"), 2000);
        QVERIFY(images()->prompt().startsWith(QLatin1String("A quiet temple garden")));
        QVERIFY(!shoot(QStringLiteral("image_handoff_en_light.png")).isEmpty());
        window_->setProperty("page", QStringLiteral("models"));
        QTRY_VERIFY_WITH_TIMEOUT(test::findVisibleItem(window_->contentItem(), QStringLiteral("imageModelCard")), 5000);
        QVERIFY(shootAll(QStringLiteral("models_with_image_model")));

        // "Add checkpoint…": the tiny pipeline as one file (its configs from the folder), listed
        // beside the folder; and the dialog that asks for that folder when no tokenizer is beside it.
        const QString pipeline = test::testdataFile(QStringLiteral("diffusion/tiny-sd15"));
        const QString file = dir_.filePath(QStringLiteral("tiny-sd15-single.safetensors"));
        const std::string written = hearth::test::write_single_file_checkpoint(hearth::test::kSd15File, pipeline.toStdString(),
                                                                               file.toStdString());
        QVERIFY2(written.empty(), written.c_str());
        QSignalSpy added(images(), &ImageController::modelAdded);
        images()->addCheckpointPath(file, pipeline);
        QVERIFY(added.wait(10000));
        QTRY_COMPARE_WITH_TIMEOUT(window_->property("page").toString(), QStringLiteral("image"), 2000);  // it goes to the Image page
        window_->setProperty("page", QStringLiteral("models"));
        QTRY_VERIFY_WITH_TIMEOUT(test::findVisibleItem(window_->contentItem(), QStringLiteral("addImageFileButton")), 5000);
        QVERIFY(shootAll(QStringLiteral("models_with_checkpoint")));
        QObject* choice = nullptr;
        for (QObject* root : engine_->rootObjects())
            if (!choice) choice = root->findChild<QObject*>(QStringLiteral("imageConfigChoice"));
        QVERIFY(choice);
        for (const char* lang : {"en", "zh_CN"}) {
            context_->settings()->setLanguage(QString::fromLatin1(lang));
            QVERIFY(QMetaObject::invokeMethod(choice, "openFor", Q_ARG(QVariant, QVariant(QUrl::fromLocalFile(file)))));
            QTRY_VERIFY_WITH_TIMEOUT(choice->property("opened").toBool(), 2000);
            QVERIFY(!shoot(QStringLiteral("checkpoint_config_choice_%1_light.png").arg(QString::fromLatin1(lang))).isEmpty());
            QVERIFY(QMetaObject::invokeMethod(choice, "close"));
            QTRY_VERIFY_WITH_TIMEOUT(!choice->property("visible").toBool(), 2000);
        }
        context_->settings()->setLanguage(QStringLiteral("en"));
        images()->setModelPath(QDir::cleanPath(pipeline));
        images()->forgetModelFolder(file);
    }

    void writePromptFromTheChat() {
        // The answer's "Write a prompt" button: the Image tab opens and the loaded chat model's
        // answer lands in the prompt field (or an empty answer says so in the banner).
        ChatController* chat = context_->chat();
        chat->loadModel(context_->settings()->defaultModel());
        QTRY_VERIFY_WITH_TIMEOUT(chat->modelState() == QLatin1String("ready"), 30000);
        window_->setProperty("page", QStringLiteral("chat"));
        QQuickItem* write = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((write = test::findVisibleItem(window_->contentItem(), QStringLiteral("writePromptButton"))) &&
                                     write->isEnabled(), 5000);
        QSignalSpy written(chat, &ChatController::oneOffFinished);
        QTest::mouseClick(window_, Qt::LeftButton, {}, write->mapToScene(QPointF(write->width() / 2, write->height() / 2)).toPoint());
        QTRY_COMPARE_WITH_TIMEOUT(window_->property("page").toString(), QStringLiteral("image"), 2000);
        QTRY_COMPARE_WITH_TIMEOUT(written.count(), 1, 60000);
        QTRY_VERIFY_WITH_TIMEOUT(!images()->writingPrompt(), 5000);
        QCOMPARE(written.first().at(2).toString(), QString());
        images()->dismissError();
        chat->unloadModel();
        QTRY_COMPARE_WITH_TIMEOUT(chat->modelState(), QStringLiteral("none"), 10000);
    }

    void empty() {
        window_->setProperty("page", QStringLiteral("image"));
        images()->setPrompt(QString());
        QVERIFY(shootAll(QStringLiteral("image_empty")));
    }

    void duringARun() {
        images()->setPrompt(QStringLiteral("a lighthouse on a cliff at dusk, oil painting"));
        images()->setWidth(128);
        images()->setHeight(128);
        images()->setSteps(150);
        images()->setRandomSeed(false);
        images()->setSeed(QStringLiteral("42"));
        QVERIFY(images()->generate());
        QTRY_VERIFY_WITH_TIMEOUT(images()->step() >= 3, 30000);
        QVERIFY(shootAll(QStringLiteral("image_running")));
        QSignalSpy finished(images(), &ImageController::runFinished);
        images()->stop();
        QVERIFY(finished.wait(30000));
    }

    void withAGallery() {
        images()->setWidth(64);
        images()->setHeight(64);
        QVERIFY(run(QStringLiteral("a red fox in the snow"), QStringLiteral("1")));
        QVERIFY(run(QStringLiteral("a bowl of ramen, studio photo"), QStringLiteral("2")));
        QVERIFY(run(QStringLiteral("a castle in the clouds, watercolor"), QStringLiteral("3")));
        QVERIFY(run(QStringLiteral("a robot reading a book"), QStringLiteral("4")));
        QVERIFY(run(QStringLiteral("a lighthouse on a cliff at dusk, oil painting"), QStringLiteral("5"), 8));
        QCOMPARE(images()->gallery()->count(), 5);
        QVERIFY(shootAll(QStringLiteral("image_gallery")));
        // The smallest window the app allows.
        const QSize size = window_->size();
        window_->resize(window_->minimumSize());
        QVERIFY(!shoot(QStringLiteral("image_gallery_narrow_en_light.png")).isEmpty());
        window_->resize(size);
    }

    void memoryWarning() {
        // The chat model loaded and (pretend) too little free memory for both: the warning and its button.
        ChatController* chat = context_->chat();
        chat->loadModel(context_->settings()->defaultModel());
        QTRY_VERIFY_WITH_TIMEOUT(chat->modelState() == QLatin1String("ready"), 30000);
        images()->setAvailableMemoryForTest(1024);
        QTRY_VERIFY_WITH_TIMEOUT(test::findVisibleItem(window_->contentItem(), QStringLiteral("unloadChatButton")), 5000);
        QVERIFY(shootAll(QStringLiteral("image_memory")));
        images()->setAvailableMemoryForTest(0);

        const QStringList qmlWarnings = test::qmlWarnings();
        QVERIFY2(qmlWarnings.isEmpty(), qPrintable(qmlWarnings.join(QLatin1Char('\n'))));
    }

    void cleanupTestCase() {
        engine_.reset();
        context_.reset();
        test::collectWarnings(false);
    }
};

QTEST_MAIN(ImageShotsTest)
#include "test_image_shots.moc"
