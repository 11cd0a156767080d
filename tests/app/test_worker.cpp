// The InferenceWorker through the ChatController, on tiny random models written by the project's
// GGUF writer: generate (streamed, saved), stop, an error on a corrupt file, the coalescing of
// pieces (≤ ~30 UI updates a second) and the sliding context window past n_ctx.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/chat_controller.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;

class WorkerTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString model_;
    QString slowModel_;  // about 100 tokens/s on one thread: answers take seconds, as real ones do
    std::unique_ptr<AppSettings> settings_;
    std::unique_ptr<ChatStore> store_;
    std::unique_ptr<ModelLibrary> library_;
    std::unique_ptr<ChatController> chat_;

    void makeController(const QString& dbName) {
        chat_.reset();
        library_.reset();
        store_ = std::make_unique<ChatStore>();
        QVERIFY(store_->open(dir_.filePath(dbName)).ok());
        library_ = std::make_unique<ModelLibrary>(settings_.get());
        chat_ = std::make_unique<ChatController>(store_.get(), settings_.get(), library_.get());
    }

    bool waitLoaded(int ms = 60000) {
        QTest::qWaitFor([&] { return chat_->modelState() != QLatin1String("loading"); }, ms);
        return chat_->modelState() == QLatin1String("ready");
    }

private slots:
    void initTestCase() {
        QString err;
        model_ = test::writeTinyModel(dir_.filePath("models"), "tiny.gguf", {}, &err);
        QVERIFY2(!model_.isEmpty(), qPrintable(err));
        slowModel_ = test::writeTinyModel(dir_.filePath("models"), "slow.gguf", test::slowSpec(), &err);
        QVERIFY2(!slowModel_.isEmpty(), qPrintable(err));
        settings_ = std::make_unique<AppSettings>(dir_.filePath("settings.ini"));
        settings_->setModelsFolder(dir_.filePath("models"));
        settings_->setContextLength(512);
        settings_->setTemperature(0);  // greedy: the same text every run
        settings_->setRepeatPenalty(1.0);
        settings_->setThreads(1);
    }

    void generateStreamsAndSaves() {
        makeController("generate.db");
        settings_->setMaxNewTokens(24);
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        chat_->useModel(model_);
        QVERIFY2(waitLoaded(), qPrintable(chat_->errorText()));
        QVERIFY(chat_->send("Hello there"));
        QVERIFY(chat_->generating());
        QVERIFY(finished.wait(60000));
        QVERIFY2(chat_->errorText().isEmpty(), qPrintable(chat_->errorText()));
        QCOMPARE(chat_->messages()->count(), 2);
        const MessageRecord& answer = chat_->messages()->at(1);
        QCOMPARE(answer.role, QStringLiteral("assistant"));
        QVERIFY(!answer.content.isEmpty());
        QVERIFY(answer.tokenCount > 0 && answer.tokenCount <= 24);
        // Saved to the store with its generation settings.
        auto stored = store_->messages(chat_->conversationId());
        QVERIFY(stored.ok());
        QCOMPARE(int(stored->size()), 2);
        QCOMPARE(stored->at(1).content, answer.content);
        QCOMPARE(stored->at(1).genSettings.value("temperature").toDouble(), 0.0);
        QCOMPARE(store_->conversation(chat_->conversationId())->title, QStringLiteral("Hello there"));
        QVERIFY(chat_->stats().value("generated").toInt() > 0);
        qInfo("answer: %d tokens, %.1f tok/s generation, %.1f tok/s prompt, context %d/%d",
              chat_->stats().value("generated").toInt(), chat_->stats().value("genTps").toDouble(),
              chat_->stats().value("promptTps").toDouble(), chat_->stats().value("ctxUsed").toInt(),
              chat_->stats().value("nCtx").toInt());

        // Regenerate replaces the last answer; edit-and-resend replaces the question and what follows.
        chat_->regenerate();
        QVERIFY(finished.wait(60000));
        QCOMPARE(chat_->messages()->count(), 2);
        const qint64 questionId = chat_->messages()->at(0).id;
        chat_->editAndResend(questionId, "Hello again");
        QVERIFY(finished.wait(60000));
        QCOMPARE(chat_->messages()->count(), 2);
        QCOMPARE(chat_->messages()->at(0).content, QStringLiteral("Hello again"));
        QCOMPARE(int(store_->messages(chat_->conversationId())->size()), 2);
    }

    void piecesAreCoalesced() {
        makeController("coalesce.db");
        settings_->setMaxNewTokens(200);
        QSignalSpy pieces(chat_->worker(), &InferenceWorker::piece);
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        chat_->useModel(slowModel_);
        QVERIFY(waitLoaded());
        QElapsedTimer t;
        t.start();
        QVERIFY(chat_->send("Tell me a long story"));
        QVERIFY(finished.wait(120000));
        const double seconds = double(t.elapsed()) / 1000.0;
        const int generated = chat_->stats().value("generated").toInt();
        qInfo("%d tokens arrived in %d UI updates over %.2f s (%.1f updates/s)", generated, int(pieces.count()), seconds,
              pieces.count() / seconds);
        // The coalescing interval is 33 ms: at most one update per interval, plus the final flush.
        QVERIFY(pieces.count() <= int(seconds * 1000.0 / InferenceWorker::kPieceIntervalMs) + 2);
        if (generated > 50) QVERIFY(pieces.count() < generated);
    }

    void stopEndsGeneration() {
        makeController("stop.db");
        settings_->setMaxNewTokens(-1);  // until stopped: the context shifts by itself when full
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        QSignalSpy pieces(chat_->worker(), &InferenceWorker::piece);
        chat_->useModel(slowModel_);
        QVERIFY(waitLoaded());
        QVERIFY(chat_->send("Count forever"));
        QVERIFY(pieces.wait(60000));
        chat_->stop();
        QVERIFY(finished.wait(30000));
        QCOMPARE(finished.last().at(0).toString(), QStringLiteral("cancelled"));
        QVERIFY(!chat_->generating());
        // The partial answer is kept and saved.
        const MessageRecord& answer = chat_->messages()->at(1);
        QVERIFY(!answer.content.isEmpty());
        QCOMPARE(store_->messages(chat_->conversationId())->at(1).content, answer.content);
    }

    void corruptFileIsAnError() {
        makeController("corrupt.db");
        // A truncated copy of a good model, and a file of garbage.
        QFile good(model_);
        QVERIFY(good.open(QIODevice::ReadOnly));
        const QByteArray bytes = good.readAll();
        const QString truncated = dir_.filePath("truncated.gguf");
        QFile t(truncated);
        QVERIFY(t.open(QIODevice::WriteOnly));
        t.write(bytes.left(bytes.size() / 2));
        t.close();
        const QString garbage = dir_.filePath("garbage.gguf");
        QFile g(garbage);
        QVERIFY(g.open(QIODevice::WriteOnly));
        g.write(QByteArray(4096, 'x'));
        g.close();

        // Valid metadata but no weights: passes the Models page's metadata check, fails in the engine.
        const QString noWeights = dir_.filePath("noweights.gguf");
        {
            hearth::gguf::Writer w;
            w.set_string("general.architecture", "llama");
            w.set_string("general.name", "No Weights");
            w.set_u32("llama.block_count", 2);
            w.set_u32("llama.embedding_length", 64);
            w.set_u32("llama.attention.head_count", 4);
            w.set_u32("llama.context_length", 512);
            QVERIFY(w.write(noWeights.toStdString()).ok());
        }

        for (const QString& path : {truncated, garbage, noWeights}) {
            chat_->dismissError();
            chat_->loadModel(path);
            QTRY_VERIFY_WITH_TIMEOUT(!chat_->errorText().isEmpty(), 30000);
            qInfo("%s -> %s", qPrintable(QFileInfo(path).fileName()), qPrintable(chat_->errorText()));
            QCOMPARE(chat_->modelState(), QStringLiteral("none"));
        }
        // Sending without a usable model is an error message, not a crash; the question is kept.
        chat_->dismissError();
        chat_->useModel(garbage);
        QTRY_VERIFY_WITH_TIMEOUT(!chat_->errorText().isEmpty(), 30000);
        // And a good model still loads afterwards.
        chat_->dismissError();
        chat_->useModel(model_);
        QVERIFY(waitLoaded());
    }

    void slidingWindowPastContext() {
        makeController("window.db");
        settings_->setContextLength(256);
        settings_->setMaxNewTokens(40);
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        chat_->useModel(model_);
        QVERIFY(waitLoaded());
        const QString question = QStringLiteral("Please describe the weather in a few words, turn %1, thanks.");
        int turns = 0;
        bool slid = false;
        for (; turns < 12 && !slid; ++turns) {
            QVERIFY(chat_->send(question.arg(turns)));
            QVERIFY(finished.wait(60000));
            QVERIFY2(chat_->errorText().isEmpty(), qPrintable(chat_->errorText()));
            auto msgs = *store_->messages(chat_->conversationId());
            slid = !msgs.front().inContext;
        }
        QVERIFY2(slid, "the conversation never outgrew the 256-token window");
        // Keep going: generation continues with the window sliding.
        for (int i = 0; i < 3; ++i) {
            QVERIFY(chat_->send(question.arg(100 + i)));
            QVERIFY(finished.wait(60000));
            QVERIFY2(chat_->errorText().isEmpty(), qPrintable(chat_->errorText()));
            QVERIFY(!chat_->messages()->at(chat_->messages()->count() - 1).content.isEmpty());
        }
        auto msgs = *store_->messages(chat_->conversationId());
        // Out-of-window messages form a prefix; the newest question and answer are inside.
        int firstIn = -1;
        for (int i = 0; i < int(msgs.size()); ++i) {
            if (msgs[size_t(i)].inContext && firstIn < 0) firstIn = i;
            if (firstIn >= 0) QVERIFY2(msgs[size_t(i)].inContext, "in_context must be a suffix");
        }
        QVERIFY(firstIn > 0);
        QCOMPARE(msgs[size_t(firstIn)].role, QStringLiteral("user"));  // the window starts at a question
        QVERIFY(chat_->stats().value("ctxUsed").toInt() <= 256);
        // The list model agrees with the store.
        for (int i = 0; i < chat_->messages()->count(); ++i)
            QCOMPARE(chat_->messages()->at(i).inContext, msgs[size_t(i)].inContext);
        qInfo("after %d turns: %d of %d messages out of the window; context %d/%d; reused %d prompt tokens",
              turns + 3, firstIn, int(msgs.size()), chat_->stats().value("ctxUsed").toInt(),
              chat_->stats().value("nCtx").toInt(), chat_->stats().value("reusedTokens").toInt());
    }

    void messageLongerThanContext() {
        makeController("toolong.db");
        settings_->setContextLength(256);
        settings_->setMaxNewTokens(16);
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        chat_->useModel(model_);
        QVERIFY(waitLoaded());
        QString huge;
        for (int i = 0; i < 300; ++i) huge += QStringLiteral("word%1 中文 ").arg(i);
        QVERIFY(chat_->send(huge));
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.last().at(0).toString(), QStringLiteral("error"));
        QVERIFY2(chat_->errorText().contains("context window"), qPrintable(chat_->errorText()));
        // The question stays (so it can be edited), no empty answer is left behind.
        QCOMPARE(chat_->messages()->count(), 1);
        QCOMPARE(chat_->messages()->at(0).content, huge.trimmed());
    }

    void deviceSettingsAreValidated() {
        AppSettings s(dir_.filePath("devices.ini"));
        QCOMPARE(s.device(), QStringLiteral("auto"));
        QCOMPARE(s.gpuLayers(), -1);
        for (const char* ok : {"cpu", "vulkan:0", "vulkan:3", "cuda:1", "auto"}) {
            s.setDevice(QString::fromLatin1(ok));
            QCOMPARE(s.device(), QString::fromLatin1(ok));
        }
        for (const char* bad : {"gpu", "vulkan", "vulkan:-1", "cuda:x", "metal:0", ""}) {
            s.setDevice(QStringLiteral("cpu"));
            s.setDevice(QString::fromLatin1(bad));
            QCOMPARE(s.device(), QStringLiteral("auto"));
        }
        s.setGpuLayers(12);
        QCOMPARE(s.gpuLayers(), 12);
        s.setGpuLayers(-7);
        QCOMPARE(s.gpuLayers(), -1);
        // The offered devices start with Automatic and CPU; every key is one the settings accept.
        ModelLibrary lib(&s);
        const QVariantList devices = lib.computeDevices();
        QVERIFY(devices.size() >= 2);
        QCOMPARE(devices[0].toMap().value("key").toString(), QStringLiteral("auto"));
        QCOMPARE(devices[1].toMap().value("key").toString(), QStringLiteral("cpu"));
        for (const QVariant& d : devices) QVERIFY(AppSettings::isValidDeviceKey(d.toMap().value("key").toString()));
    }

    void layerSplitOnVulkan() {
        // The first layer on Vulkan device 0 (lavapipe here), the rest on the CPU, through the app.
        bool have_vulkan = false;
        for (const auto& d : hearth::list_devices().devices) have_vulkan |= d.backend == "vulkan";
        if (!have_vulkan) QSKIP("no Vulkan device (or the Vulkan backend is not built)");
        makeController("split.db");
        settings_->setDevice(QStringLiteral("vulkan:0"));
        settings_->setGpuLayers(1);
        settings_->setMaxNewTokens(8);
        chat_->useModel(model_);
        const bool loaded = waitLoaded();
        settings_->setDevice(QStringLiteral("auto"));
        settings_->setGpuLayers(-1);
        QVERIFY2(loaded, qPrintable(chat_->errorText()));
        QVERIFY2(chat_->backendDescription().contains(QStringLiteral("Vulkan")), qPrintable(chat_->backendDescription()));
        QVERIFY2(chat_->backendDescription().contains(QStringLiteral("1/")), qPrintable(chat_->backendDescription()));
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        QVERIFY(chat_->send("Hello there"));
        QVERIFY(finished.wait(60000));
        QVERIFY2(chat_->errorText().isEmpty(), qPrintable(chat_->errorText()));
        QVERIFY(!chat_->messages()->at(1).content.isEmpty());
        qInfo("%s", qPrintable(chat_->backendDescription()));
    }

    void cleanupTestCase() {
        chat_.reset();
        library_.reset();
    }
};

QTEST_GUILESS_MAIN(WorkerTest)
#include "test_worker.moc"
