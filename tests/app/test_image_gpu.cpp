// The Image tab on a GPU backend (issue #15): with Settings' device at vulkan:0 (lavapipe here; any
// Vulkan device 0 elsewhere) a 64×64, 2-step tiny SD 1.5 run is drawn there, the page names the
// device ("Draws on Vulkan: <name>", and in Chinese), and screenshots of the tab after it are taken
// in English and Chinese ($HEARTH_SHOTS_DIR, else screenshots/ beside the binary). The memory
// warning compares the chat model and the pipeline with the GPU's memory when both are on it, and
// says nothing when the chat runs elsewhere. With Settings at auto and a CUDA device (the simulator in
// ctest's app_test_image_gpu_sim, or a real GPU), the page names it; when HEARTH_CUDA_MAX_MEMORY leaves
// too little for the weights, the run is drawn on the CPU and the page says so and why (shots too).
// Each part is skipped without its device; everything without the shared test data.
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
#include "engine/backend/backend.h"
#include "tests/app/add_image_model.h"
#include "tests/app/app_window.h"
#include "tests/app/quick_find.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;

class ImageGpuTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    std::unique_ptr<AppContext> context_;
    std::unique_ptr<QQmlApplicationEngine> engine_;
    QQuickWindow* window_ = nullptr;
    QString vulkanName_, chatModel_;
    bool haveVulkan_ = false;

    ImageController* images() { return context_->images(); }

    QString pageText(const char* objectName) {
        QQuickItem* item = test::findVisibleItem(window_->contentItem(), QString::fromLatin1(objectName));
        return item ? item->property("text").toString() : QString();
    }

private slots:
    void initTestCase() {
        const QString pipeline = test::testdataFile(QStringLiteral("diffusion/tiny-sd15"));
        if (!QFile::exists(pipeline + QStringLiteral("/model_index.json")))
            QSKIP(qPrintable(pipeline + " is absent (the shared test data): no Image tab GPU test"));
        {
            auto vk = hearth::create_backend("vulkan", 0, hearth::BackendOptions{});
            haveVulkan_ = vk.ok();
            if (vk.ok()) vulkanName_ = QString::fromStdString((*vk)->device().name);
            else qInfo("no Vulkan device: %s", vk.message().c_str());
        }
        test::collectWarnings(true);
        context_ = test::makeAppContext(dir_.path(), "en", "light", QRect(0, 0, 1200, 880));  // the device lines in view
        context_->settings()->setThreads(2);
        context_->settings()->setDevice(QStringLiteral("vulkan:0"));
        QString err;
        chatModel_ = test::writeTinyModel(dir_.filePath("models"), "tiny-chat.gguf", {}, &err);
        QVERIFY2(!chatModel_.isEmpty(), qPrintable(err));
        context_->settings()->setDefaultModel(chatModel_);  // no first-start wizard over the shots
        QVERIFY2(test::addImageModel(images(), pipeline), qPrintable(images()->errorText()));
        window_ = test::loadMainWindow(*context_, engine_);
        QVERIFY(window_);
        window_->setProperty("page", QStringLiteral("image"));
    }

    void drawsOnVulkanAndSaysSo() {
        if (!haveVulkan_) QSKIP("no Vulkan device");
        // Before the first run the worker has looked the device up (on its own thread).
        const QString says = QStringLiteral("Draws on Vulkan: ") + vulkanName_;
        QTRY_COMPARE_WITH_TIMEOUT(images()->deviceText(), says, 10000);
        images()->setPrompt(QStringLiteral("a red fox in the snow"));
        images()->setWidth(64);
        images()->setHeight(64);
        images()->setSteps(2);
        images()->setRandomSeed(false);
        images()->setSeed(QStringLiteral("3"));
        QSignalSpy finished(images(), &ImageController::runFinished);
        QElapsedTimer t;
        t.start();
        QVERIFY2(images()->generate(), qPrintable(images()->errorText()));
        QVERIFY(finished.wait(120000));
        qInfo("64×64, 2 steps on Vulkan (%s): %.1f s", qPrintable(vulkanName_), double(t.elapsed()) / 1000.0);
        QVERIFY2(finished.first().at(0).toLongLong() > 0, qPrintable(images()->errorText()));
        QVERIFY(QFile::exists(images()->currentImageFile()));
        QCOMPARE(images()->device().backend, QStringLiteral("vulkan"));
        QVERIFY(images()->device().opened);
        QCOMPARE(images()->deviceNote(), QString());  // named outright: nothing passed over
        QTRY_COMPARE_WITH_TIMEOUT(pageText("deviceLabel"), says, 5000);
        QVERIFY(!test::saveWindowShot(window_, QStringLiteral("image_vulkan_en_light.png")).isEmpty());
        context_->settings()->setLanguage(QStringLiteral("zh_CN"));
        QTRY_VERIFY_WITH_TIMEOUT(pageText("deviceLabel").contains(QStringLiteral("使用 Vulkan")), 5000);
        QVERIFY(pageText("deviceLabel").contains(vulkanName_));
        QVERIFY(!test::saveWindowShot(window_, QStringLiteral("image_vulkan_zh_CN_light.png")).isEmpty());
        context_->settings()->setTheme(QStringLiteral("dark"));
        QVERIFY(!test::saveWindowShot(window_, QStringLiteral("image_vulkan_zh_CN_dark.png")).isEmpty());
        context_->settings()->setLanguage(QStringLiteral("en"));
        context_->settings()->setTheme(QStringLiteral("light"));
    }

    void memoryCheckUsesTheSharedGpu() {
        if (!haveVulkan_) QSKIP("no Vulkan device");
        // The chat on the same Vulkan device: (pretend) too little free there for both → the warning names the device.
        ChatController* chat = context_->chat();
        chat->loadModel(chatModel_);
        QTRY_VERIFY_WITH_TIMEOUT(chat->modelState() == QLatin1String("ready"), 60000);
        QVERIFY2(chat->backendDescription().startsWith(QStringLiteral("Vulkan: ") + vulkanName_), qPrintable(chat->backendDescription()));
        images()->setAvailableMemoryForTest(1024);
        QTRY_VERIFY_WITH_TIMEOUT(images()->memoryWarning().contains(QStringLiteral("memory of Vulkan: ") + vulkanName_), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(test::findVisibleItem(window_->contentItem(), QStringLiteral("unloadChatButton")), 5000);
        images()->setAvailableMemoryForTest(0);  // lavapipe's real report: both fit
        QTRY_COMPARE_WITH_TIMEOUT(images()->memoryWarning(), QString(), 5000);
        chat->unloadModel();
        QTRY_COMPARE_WITH_TIMEOUT(chat->modelState(), QStringLiteral("none"), 10000);

        // The chat on the CPU, the images on Vulkan: they do not compete, whatever is free.
        context_->settings()->setDevice(QStringLiteral("cpu"));
        chat->loadModel(chatModel_);
        QTRY_VERIFY_WITH_TIMEOUT(chat->modelState() == QLatin1String("ready"), 60000);
        QVERIFY2(chat->backendDescription().startsWith(QStringLiteral("CPU: ")), qPrintable(chat->backendDescription()));
        context_->settings()->setDevice(QStringLiteral("vulkan:0"));
        QTRY_COMPARE_WITH_TIMEOUT(images()->device().backend, QStringLiteral("vulkan"), 10000);
        images()->setAvailableMemoryForTest(1024);
        QTest::qWait(200);
        QCOMPARE(images()->memoryWarning(), QString());
        // The images on the CPU as well: the host check again.
        context_->settings()->setDevice(QStringLiteral("cpu"));
        QTRY_COMPARE_WITH_TIMEOUT(images()->deviceText(), QStringLiteral("Draws on the CPU"), 10000);
        QTRY_VERIFY2_WITH_TIMEOUT(images()->memoryWarning().contains(QLatin1String("may not fit in memory together")),
                                  qPrintable(images()->memoryWarning() + " / chat: " + chat->modelState() + " on " + chat->backendDescription()), 5000);
        images()->setAvailableMemoryForTest(0);
        chat->unloadModel();
        QTRY_COMPARE_WITH_TIMEOUT(chat->modelState(), QStringLiteral("none"), 10000);

        const QStringList qmlWarnings = test::qmlWarnings();
        QVERIFY2(qmlWarnings.isEmpty(), qPrintable(qmlWarnings.join(QLatin1Char('\n'))));
    }

    void autoOnCudaFallsBackAndSaysWhy() {
        auto cu = hearth::create_backend("cuda", 0, hearth::BackendOptions{});
        if (!cu.ok()) QSKIP(qPrintable("no CUDA device (app_test_image_gpu_sim gives it the simulator): " + QString::fromStdString(cu.message())));
        const QString cudaName = QString::fromStdString((*cu)->device().name);
        cu->reset();
        context_->settings()->setDevice(QStringLiteral("auto"));
        QTRY_COMPARE_WITH_TIMEOUT(images()->deviceText(), QStringLiteral("Draws on CUDA: ") + cudaName, 10000);
        images()->setPrompt(QStringLiteral("a red fox in the snow"));
        images()->setWidth(64);
        images()->setHeight(64);
        images()->setSteps(1);
        images()->setRandomSeed(false);
        images()->setSeed(QStringLiteral("3"));
        {  // on the GPU auto chose
            QSignalSpy finished(images(), &ImageController::runFinished);
            QVERIFY2(images()->generate(), qPrintable(images()->errorText()));
            QVERIFY(finished.wait(120000));
            QVERIFY2(finished.first().at(0).toLongLong() > 0, qPrintable(images()->errorText()));
            QCOMPARE(images()->device().backend, QStringLiteral("cuda"));
            QCOMPARE(images()->deviceNote(), QString());
        }
        // A device too small for the weights: reopened (another device setting) on the CPU, and said.
        qputenv("HEARTH_CUDA_MAX_MEMORY", "1000000");
        context_->settings()->setDevice(QStringLiteral("cpu"));
        context_->settings()->setDevice(QStringLiteral("auto"));
        QTRY_COMPARE_WITH_TIMEOUT(images()->deviceText(), QStringLiteral("Draws on CUDA: ") + cudaName, 10000);
        QSignalSpy finished(images(), &ImageController::runFinished);
        QVERIFY2(images()->generate(), qPrintable(images()->errorText()));
        QVERIFY(finished.wait(120000));
        qunsetenv("HEARTH_CUDA_MAX_MEMORY");
        QVERIFY2(finished.first().at(0).toLongLong() > 0, qPrintable(images()->errorText()));
        QCOMPARE(images()->device().backend, QStringLiteral("cpu"));
        QCOMPARE(images()->deviceText(), QStringLiteral("Draws on the CPU"));
        QVERIFY2(images()->deviceNote().startsWith(QStringLiteral("The automatic choice passed over a GPU, so the CPU draws: CUDA: ") + cudaName),
                 qPrintable(images()->deviceNote()));
        QVERIFY(images()->deviceNote().contains(QLatin1String("out of GPU memory")));
        QTRY_VERIFY_WITH_TIMEOUT(pageText("deviceNote").contains(QLatin1String("out of GPU memory")), 5000);
        QVERIFY(!test::saveWindowShot(window_, QStringLiteral("image_auto_fallback_en_light.png")).isEmpty());
        context_->settings()->setLanguage(QStringLiteral("zh_CN"));
        QTRY_VERIFY_WITH_TIMEOUT(pageText("deviceNote").startsWith(QStringLiteral("自动选择跳过了 GPU")), 5000);
        QVERIFY(!test::saveWindowShot(window_, QStringLiteral("image_auto_fallback_zh_CN_light.png")).isEmpty());
        context_->settings()->setLanguage(QStringLiteral("en"));
        const QStringList qmlWarnings = test::qmlWarnings();
        QVERIFY2(qmlWarnings.isEmpty(), qPrintable(qmlWarnings.join(QLatin1Char('\n'))));
    }

    void cleanupTestCase() {
        engine_.reset();
        context_.reset();
        test::collectWarnings(false);
    }
};

QTEST_MAIN(ImageGpuTest)
#include "test_image_gpu.moc"
