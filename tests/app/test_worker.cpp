// The InferenceWorker through the ChatController, on tiny random models written by the project's
// GGUF writer: generate (streamed, saved), stop, an error on a corrupt file, the coalescing of
// pieces (≤ ~30 UI updates a second), the sliding context window past n_ctx, and load control:
// a cancel that reaches a load still in the queue, a new load cancelling the one in flight, and
// an answer stored under the model that wrote it.
#include <QFile>
#include <QSemaphore>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/chat_controller.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "tests/app/tiny_model.h"

#include <atomic>

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

    // What the worker reports about loads, recorded on this (the main) thread.
    struct LoadLog {
        QList<quint64> started;
        QStringList loaded;                  // paths
        QList<QPair<QString, bool>> failed;  // path, cancelled
    };
    // Connections to a test's locals use a local `scope` object as context, so they end with it.
    void logLoads(LoadLog* log, QObject* scope) {
        InferenceWorker* w = chat_->worker();
        connect(w, &InferenceWorker::loadStarted, scope, [log](quint64 id, const QString&) { log->started << id; });
        connect(w, &InferenceWorker::loaded, scope,
                [log](quint64, const QVariantMap& info) { log->loaded << info.value("path").toString(); });
        connect(w, &InferenceWorker::loadFailed, scope,
                [log](quint64, const QString& path, const QString&, bool cancelled) { log->failed.append({path, cancelled}); });
    }
    // Every model the controller calls loaded, in order.
    void logShown(QStringList* shown, QObject* scope) {
        connect(chat_.get(), &ChatController::modelChanged, scope, [this, shown] {
            if (chat_->modelState() == QLatin1String("ready")) *shown << chat_->modelPath();
        });
    }

    // Holds the worker's thread at the start of loading `path` (inside load(), after it began)
    // until release() or the end of the test: so the test can act while that load is in flight.
    class LoadGate {
    public:
        LoadGate(InferenceWorker* w, const QString& path) {
            conn_ = QObject::connect(
                w, &InferenceWorker::loadStarted, w,
                [this, path](quint64, const QString& p) {
                    if (p != path) return;
                    holding_ = true;
                    open_.acquire();
                },
                Qt::DirectConnection);
        }
        ~LoadGate() {
            QObject::disconnect(conn_);
            open_.release(100);  // never leave the worker's thread waiting, whatever the test did
        }
        bool holding() const { return holding_; }
        void release() { open_.release(); }

    private:
        QSemaphore open_;
        std::atomic<bool> holding_{false};
        QMetaObject::Connection conn_;
    };

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

    // A cancel sent while the load still waits in the worker's queue is not lost (it used to be:
    // load() cleared the flag when it began).
    void cancelReachesAQueuedLoad() {
        makeController("cancel-queued.db");
        QObject scope;
        LoadLog log;
        logLoads(&log, &scope);
        QStringList shown;
        logShown(&shown, &scope);
        // Keep the worker busy so the load is still queued when the cancel comes.
        QMetaObject::invokeMethod(chat_->worker(), [] { QThread::msleep(300); }, Qt::QueuedConnection);
        chat_->loadModel(model_);
        QCOMPARE(chat_->modelState(), QStringLiteral("loading"));
        chat_->cancelLoad();
        QCOMPARE(chat_->modelState(), QStringLiteral("none"));  // at once, without waiting for the worker
        QTRY_COMPARE_WITH_TIMEOUT(log.failed.size(), 1, 10000);
        QCOMPARE(log.failed[0].first, model_);
        QVERIFY(log.failed[0].second);  // cancelled, not failed
        QVERIFY(log.started.isEmpty());  // it never began
        QTest::qWait(200);
        QVERIFY(log.loaded.isEmpty());
        QVERIFY(shown.isEmpty());
        QCOMPARE(chat_->modelState(), QStringLiteral("none"));
        QVERIFY2(chat_->errorText().isEmpty(), qPrintable(chat_->errorText()));  // a cancel is not an error
        // The cancel was for that load only: the next one loads.
        chat_->loadModel(model_);
        QVERIFY2(waitLoaded(), qPrintable(chat_->errorText()));
        QCOMPARE(chat_->modelPath(), model_);
    }

    // Loading another model while one loads cancels the first (its progress callback says stop)
    // and the controller never calls it loaded.
    void newLoadCancelsTheLoadInFlight() {
        makeController("load-twice.db");
        QObject scope;
        LoadLog log;
        logLoads(&log, &scope);
        QStringList shown;
        logShown(&shown, &scope);
        LoadGate gate(chat_->worker(), model_);
        chat_->loadModel(model_);
        QTRY_VERIFY_WITH_TIMEOUT(gate.holding(), 10000);  // the first load has begun
        chat_->loadModel(slowModel_);
        gate.release();
        QVERIFY2(waitLoaded(), qPrintable(chat_->errorText()));
        QCOMPARE(chat_->modelPath(), slowModel_);
        QCOMPARE(shown, QStringList{slowModel_});
        QTRY_COMPARE_WITH_TIMEOUT(log.failed.size(), 1, 10000);
        QCOMPARE(log.failed[0].first, model_);
        QVERIFY(log.failed[0].second);
        QCOMPARE(log.loaded, QStringList{slowModel_});
        QCOMPARE(log.started.size(), 2);
        QVERIFY2(chat_->errorText().isEmpty(), qPrintable(chat_->errorText()));
    }

    // A question asked while model A loads, then the conversation switched to B before A is ready:
    // B answers, and the answer is stored under B (it used to be generated by B and stored as A).
    void answerIsStoredUnderTheModelThatWroteIt() {
        makeController("which-model.db");
        settings_->setMaxNewTokens(8);
        settings_->setDefaultModel(model_);
        chat_->newConversation();
        QCOMPARE(chat_->conversationModel(), model_);
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        LoadGate gate(chat_->worker(), model_);
        QVERIFY(chat_->send("Which model answers?"));  // loads A, then answers
        QTRY_VERIFY_WITH_TIMEOUT(gate.holding(), 10000);
        chat_->useModel(slowModel_);
        gate.release();
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.last().at(0).toString(), QStringLiteral("max-tokens"));
        QCOMPARE(chat_->modelPath(), slowModel_);
        QCOMPARE(chat_->stats().value("model").toString(), slowModel_);  // the model that generated it
        auto stored = store_->messages(chat_->conversationId());
        QVERIFY(stored.ok());
        QCOMPARE(int(stored->size()), 2);
        QCOMPARE(stored->at(1).role, QStringLiteral("assistant"));
        QCOMPARE(stored->at(1).model, slowModel_);
        QVERIFY(!stored->at(1).content.isEmpty());
        QCOMPARE(finished.count(), 1);  // one answer, not one per load
    }

    // The worker itself refuses a request made for another model than the loaded one.
    void workerRefusesARequestForAnotherModel() {
        makeController("refuse.db");
        chat_->useModel(model_);
        QVERIFY(waitLoaded());
        QObject scope;
        QString failure;
        quint64 failedId = 0;
        connect(chat_->worker(), &InferenceWorker::failed, &scope, [&](quint64 id, const QString& message) {
            failedId = id;
            failure = message;
        });
        GenerateRequest req;
        req.id = 1000000;  // beyond the controller's ids: it ignores this request's signals
        req.modelPath = slowModel_;
        req.messages.push_back({0, QStringLiteral("user"), QStringLiteral("Hello")});
        QMetaObject::invokeMethod(chat_->worker(), [w = chat_->worker(), req] { w->generate(req); }, Qt::QueuedConnection);
        QTRY_COMPARE_WITH_TIMEOUT(failedId, quint64(1000000), 10000);
        QVERIFY2(failure.contains(QFileInfo(slowModel_).fileName()) && failure.contains(QFileInfo(model_).fileName()),
                 qPrintable(failure));
        // The same request for the loaded model is answered.
        bool done = false;
        connect(chat_->worker(), &InferenceWorker::finished, &scope, [&](quint64 id, const QVariantMap& stats) {
            if (id == 1000001) done = stats.value("model").toString() == model_;
        });
        req.id = 1000001;
        req.modelPath = model_;
        req.sampling.maxNewTokens = 4;
        QMetaObject::invokeMethod(chat_->worker(), [w = chat_->worker(), req] { w->generate(req); }, Qt::QueuedConnection);
        QTRY_VERIFY_WITH_TIMEOUT(done, 30000);
    }

    // stop(id) is for that request and earlier ones: a Stop that comes late for an earlier answer
    // leaves the one now running alone.
    void lateStopForAnEarlierAnswerIsIgnored() {
        makeController("late-stop.db");
        chat_->useModel(slowModel_);
        QVERIFY(waitLoaded());
        QObject scope;
        QString reason;
        bool gotPiece = false;
        connect(chat_->worker(), &InferenceWorker::piece, &scope, [&](quint64 id, const QString&) { gotPiece |= id == 2000002; });
        connect(chat_->worker(), &InferenceWorker::finished, &scope, [&](quint64 id, const QVariantMap& stats) {
            if (id == 2000002) reason = stats.value("stopReason").toString();
        });
        GenerateRequest req;
        req.id = 2000002;  // beyond the controller's ids
        req.modelPath = slowModel_;
        req.sampling.temperature = 0;
        req.sampling.maxNewTokens = 1500;  // seconds on a loaded machine: the Stop lands while it runs
        req.messages.push_back({0, QStringLiteral("user"), QStringLiteral("Tell me a story")});
        QMetaObject::invokeMethod(chat_->worker(), [w = chat_->worker(), req] { w->generate(req); }, Qt::QueuedConnection);
        QTRY_VERIFY_WITH_TIMEOUT(gotPiece, 30000);
        chat_->worker()->requestStop(2000001);
        QTRY_VERIFY_WITH_TIMEOUT(!reason.isEmpty(), 60000);
        QVERIFY2(reason != QLatin1String("cancelled"), qPrintable(reason));
        // Its own Stop still works on the next request.
        reason.clear();
        gotPiece = false;
        req.id = 2000003;
        connect(chat_->worker(), &InferenceWorker::piece, &scope, [&](quint64 id, const QString&) { gotPiece |= id == 2000003; });
        connect(chat_->worker(), &InferenceWorker::finished, &scope, [&](quint64 id, const QVariantMap& stats) {
            if (id == 2000003) reason = stats.value("stopReason").toString();
        });
        req.sampling.maxNewTokens = -1;
        QMetaObject::invokeMethod(chat_->worker(), [w = chat_->worker(), req] { w->generate(req); }, Qt::QueuedConnection);
        QTRY_VERIFY_WITH_TIMEOUT(gotPiece, 30000);
        chat_->worker()->requestStop(2000003);
        QTRY_VERIFY_WITH_TIMEOUT(!reason.isEmpty(), 30000);
        QCOMPARE(reason, QStringLiteral("cancelled"));
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
        lib.probeDevices();
        QTRY_VERIFY_WITH_TIMEOUT(lib.devicesProbed(), 60000);
        const QVariantList devices = lib.devices();
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
