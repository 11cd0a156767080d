// Settings → Local API server (issue #16, the app side), through the real app wiring (AppContext,
// Main.qml offscreen) and a real HTTP client (cpp-httplib's) on 127.0.0.1:
//   - on with no model: it waits; a loaded model is served, and /v1/models and a streamed
//     /v1/chat/completions answer while the chat writes an answer through the same scheduler: both
//     finish, and the active-request count of the status line goes up to 2 and back to 0;
//   - the key is enforced (401 without it, 200 with it);
//   - a port another program holds is said on the page (no crash), and a free one works again;
//   - Stop in the chat cancels its request in the scheduler; a new key restarts only the HTTP side;
//   - off frees the port, and the chat answers through its Session again.
// Screenshots of the Settings section and of the status line, in English and Chinese, go to
// $HEARTH_SHOTS_DIR (default: screenshots/ next to the test binary).
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QDir>
#include <QFileInfo>
#include <QQmlApplicationEngine>
#include <QQuickWindow>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <thread>

#include "app/controllers/api_server_controller.h"
#include "app/controllers/app_context.h"
#include "app/library/model_library.h"
#include "app/controllers/chat_controller.h"
#include "app/settings/app_settings.h"
#include "app/worker/inference_worker.h"
#include "engine/convert/convert.h"
#include "engine/util/json.h"
#include "tests/app/app_window.h"
#include "tests/app/quick_find.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;

namespace {

// A port nothing listens on now (the kernel's choice, released again).
int freePort() {
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0)) return 0;
    return probe.serverPort();
}

// Nothing listens on `port` (a connection is refused), and a server may listen on it again as the
// app's does, with SO_REUSEADDR (the server's side of the test's closed connections is in TIME_WAIT).
// The probe is a plain socket, closed at once: an httplib::Server bound but never run keeps its
// listening socket open when destroyed (cpp-httplib 0.11), and with SO_REUSEPORT (its default) it
// would have shared the port with the app's next server.
bool portIsFree(int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(1, 0);
    if (c.Get("/health")) return false;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 1) == 0;
    ::close(fd);
    return free;
}

struct StreamResult {
    int status = 0;
    std::string body;
    bool done() const { return body.find("data: [DONE]") != std::string::npos; }
};

// `leave`: set to hang up mid-stream (the server frees the request's slot at once).
StreamResult postStream(int port, const std::string& key, const std::string& body, const std::atomic<bool>* leave = nullptr) {
    StreamResult out;
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = body;
    req.set_header("Content-Type", "application/json");
    if (!key.empty()) req.set_header("Authorization", "Bearer " + key);
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        out.body.append(data, n);
        return !(leave && leave->load());
    };
    if (auto r = c.send(req)) out.status = r->status;
    return out;
}

int postJson(int port, const std::string& key, const std::string& path, const std::string& json, std::string* body = nullptr) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    httplib::Headers h;
    if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
    auto r = c.Post(path.c_str(), h, json, "application/json");
    if (!r) return 0;
    if (body) *body = r->body;
    return r->status;
}

int getStatus(int port, const std::string& path, const std::string& key, std::string* body = nullptr) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    httplib::Headers h;
    if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
    auto r = c.Get(path.c_str(), h);
    if (!r) return 0;
    if (body) *body = r->body;
    return r->status;
}

}  // namespace

class ApiServerTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    std::unique_ptr<AppContext> context_;
    std::unique_ptr<QQmlApplicationEngine> engine_;
    QQuickWindow* window_ = nullptr;
    QString model_;
    int port_ = 0;
    int maxActive_ = 0;

    ChatController* chat() { return context_->chat(); }
    ApiServerController* api() { return context_->apiServer(); }
    AppSettings* settings() { return context_->settings(); }

    QString shoot(const QString& name) { return test::saveWindowShot(window_, name); }

    // The Settings page scrolled so that its "Local API server" section is in view.
    void showServerSection() {
        window_->setProperty("page", QStringLiteral("settings"));
        QQuickItem* sw = test::findNamed(window_->contentItem(), "apiServerSwitch");
        QVERIFY(sw);
        QTest::qWait(200);
        // The ScrollView's Flickable: the first ancestor with contentY.
        for (QQuickItem* p = sw->parentItem(); p; p = p->parentItem()) {
            if (p->property("contentY").isValid() && p->property("contentHeight").isValid()) {
                const QPointF inP = sw->mapToItem(p->property("contentItem").value<QQuickItem*>(), QPointF(0, 0));
                p->setProperty("contentY", std::max(0.0, inP.y() - 120));
                break;
            }
        }
    }

private slots:
    void initTestCase() {
        test::collectWarnings(true);
        QString err;
        // Twice slowSpec's layers: a few hundred tokens a second here, so an answer of up to 4,000
        // tokens runs for seconds and the test stops it (it never depends on the answer's pace).
        test::TinyModelSpec spec = test::slowSpec();
        spec.nLayer = 8;
        model_ = test::writeTinyModel(dir_.filePath("models"), "slow.gguf", spec, &err);
        QVERIFY2(!model_.isEmpty(), qPrintable(err));
        context_ = test::makeAppContext(dir_.path(), "en", "light", QRect(0, 0, 1100, 760));
        settings()->setDefaultModel(model_);
        settings()->setContextLength(4096);
        settings()->setTemperature(0);
        settings()->setRepeatPenalty(1.0);
        settings()->setThreads(1);
        settings()->setMaxNewTokens(-1);  // until stopped (or the context is full)
        connect(api(), &ApiServerController::activeRequestsChanged, this,
                [this] { maxActive_ = std::max(maxActive_, api()->activeRequests()); });
        window_ = test::loadMainWindow(*context_, engine_);
        QVERIFY(window_);
    }

    void offByDefault() {
        QVERIFY(!settings()->apiServerEnabled());
        QCOMPARE(settings()->apiServerPort(), 8080);
        QVERIFY(!api()->running());
        QCOMPARE(api()->address(), QStringLiteral("http://127.0.0.1:8080/v1"));
        QQuickItem* line = test::findNamed(window_->contentItem(), "apiServerStatusLine");
        QVERIFY(line);
        QVERIFY(!line->isVisible());
    }

    void waitsForAModel() {
        port_ = freePort();
        QVERIFY(port_ > 0);
        settings()->setApiServerPort(port_);
        settings()->setApiServerKey("test-key-123");
        settings()->setApiServerEnabled(true);
        QTRY_VERIFY_WITH_TIMEOUT(api()->waiting(), 10000);
        QVERIFY(!api()->running());
        QVERIFY(api()->errorText().isEmpty());
    }

    void servesTheLoadedModelBesideTheChat() {
        chat()->loadModel(model_);
        QTRY_VERIFY_WITH_TIMEOUT(chat()->modelState() == QLatin1String("ready"), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(api()->running(), 10000);
        QCOMPARE(api()->port(), port_);
        QCOMPARE(api()->address(), QStringLiteral("http://127.0.0.1:%1/v1").arg(port_));
        QVERIFY(!api()->waiting());

        // The key is enforced.
        QCOMPARE(getStatus(port_, "/v1/models", ""), 401);
        QCOMPARE(getStatus(port_, "/v1/models", "wrong"), 401);
        std::string models;
        QCOMPARE(getStatus(port_, "/v1/models", "test-key-123", &models), 200);
        QVERIFY2(models.find("slow") != std::string::npos, models.c_str());

        // A chat answer runs; while it is written, a script streams its own answer from the server.
        QSignalSpy finished(chat(), &ChatController::answerFinished);
        maxActive_ = 0;
        QVERIFY(chat()->send("Tell me a long story"));
        QTRY_VERIFY_WITH_TIMEOUT(api()->activeRequests() >= 1, 10000);
        std::atomic<bool> apiDone{false};
        StreamResult streamed;
        std::thread client([&] {
            streamed = postStream(port_, "test-key-123",
                                  R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":300,"temperature":0,"stream":true})");
            apiDone = true;
        });
        QTRY_VERIFY_WITH_TIMEOUT(apiDone.load(), 60000);
        client.join();
        QCOMPARE(streamed.status, 200);
        QVERIFY2(streamed.done(), streamed.body.c_str());
        // The chat went on meanwhile (neither waited for the other), and still does.
        QVERIFY2(maxActive_ >= 2, qPrintable(QString::number(maxActive_)));
        QVERIFY(chat()->generating());
        QTRY_VERIFY_WITH_TIMEOUT(api()->activeRequests() == 1, 5000);
        chat()->stop();
        QVERIFY(finished.count() == 1 || finished.wait(10000));
        QCOMPARE(finished.at(0).at(0).toString(), QStringLiteral("cancelled"));
        QVERIFY2(chat()->errorText().isEmpty(), qPrintable(chat()->errorText()));
        const MessageRecord& answer = chat()->messages()->at(chat()->messages()->count() - 1);
        QCOMPARE(answer.role, QStringLiteral("assistant"));
        QVERIFY(!answer.content.isEmpty());
        QVERIFY(answer.tokenCount > 0);
        QCOMPARE(chat()->stats().value("server").toBool(), true);  // answered through the scheduler
        QTRY_COMPARE_WITH_TIMEOUT(api()->activeRequests(), 0, 5000);
    }

    void stopCancelsTheChatRequest() {
        // Stop reaches the scheduler at once (the request is cancelled, its slot freed).
        QSignalSpy finished(chat(), &ChatController::answerFinished);
        QVERIFY(chat()->send("Another long story"));
        QTRY_VERIFY_WITH_TIMEOUT(api()->activeRequests() == 1, 10000);
        QTest::qWait(300);
        QVERIFY(chat()->generating());
        QElapsedTimer t;
        t.start();
        chat()->stop();
        QVERIFY(finished.count() == 1 || finished.wait(10000));
        QCOMPARE(finished.at(0).at(0).toString(), QStringLiteral("cancelled"));
        QVERIFY2(t.elapsed() < 2000, qPrintable(QString::number(t.elapsed())));
        QTRY_COMPARE_WITH_TIMEOUT(api()->activeRequests(), 0, 5000);
    }

    void newKeyLeavesTheChatRunning() {
        // Changing the key (or the port) restarts only the HTTP server: the chat's answer goes on.
        QSignalSpy finished(chat(), &ChatController::answerFinished);
        QVERIFY(chat()->send("One more story"));
        QTRY_VERIFY_WITH_TIMEOUT(api()->activeRequests() == 1, 10000);
        settings()->setApiServerKey("second-key");
        QTRY_VERIFY_WITH_TIMEOUT(getStatus(port_, "/v1/models", "second-key") == 200, 10000);
        QCOMPARE(getStatus(port_, "/v1/models", "test-key-123"), 401);
        QTest::qWait(300);
        QVERIFY(chat()->generating());
        QCOMPARE(finished.count(), 0);
        chat()->stop();
        QVERIFY(finished.count() == 1 || finished.wait(10000));
        settings()->setApiServerKey("test-key-123");
        QTRY_VERIFY_WITH_TIMEOUT(getStatus(port_, "/v1/models", "test-key-123") == 200, 10000);
    }

    void servesAnEmbeddingModel() {
        // A BERT embedding model in the models folder (the tiny sentence-transformers fixture,
        // converted as the wizard would): listed as one, offered in Settings, and then answering
        // /v1/embeddings while the chat model keeps serving chat.
        hearth::convert::ConvertOptions co;
        co.hf_dir = HEARTH_TEST_SOURCE_DIR "/../engine/data/tiny-bert";
        co.out_path = dir_.filePath("models/tiny-bert.gguf").toStdString();
        co.type = "F32";
        auto rep = hearth::convert::convert_hf_to_gguf(co);
        QVERIFY2(rep.ok(), rep.message().c_str());
        const QString path = QString::fromStdString(co.out_path);
        context_->library()->refresh();
        QTRY_VERIFY_WITH_TIMEOUT(context_->library()->embeddingModels().size() == 1, 10000);
        QCOMPARE(context_->library()->embeddingModels().at(0).toMap().value("path").toString(), path);
        QVERIFY(!context_->library()->refuseReason(model_, 4096).contains(QLatin1String("embedding")));
        QVERIFY(context_->library()->refuseReason(path, 4096).contains(QLatin1String("embedding model")));
        settings()->setApiEmbeddingModel(path);
        std::string body;
        int status = 0;
        QTRY_VERIFY_WITH_TIMEOUT((status = postJson(port_, "test-key-123", "/v1/embeddings", R"({"input": "A cat sits on the mat."})", &body)) == 200 &&
                                     body.find("\"tiny-bert\"") != std::string::npos,
                                 20000);
        auto j = hearth::json::parse(body);
        QVERIFY(j.ok());
        QCOMPARE(int((*j)["data"].as_array()[0]["embedding"].size()), 32);
        QVERIFY2(api()->errorText().isEmpty(), qPrintable(api()->errorText()));
        std::string models;
        QCOMPARE(getStatus(port_, "/v1/models", "test-key-123", &models), 200);
        QVERIFY(models.find("\"tiny-bert\"") != std::string::npos);
        window_->setProperty("page", QStringLiteral("models"));
        QVERIFY(!shoot(QStringLiteral("models_embedding_en.png")).isEmpty());
        // The chat model still answers chat.
        QCOMPARE(postJson(port_, "test-key-123", "/v1/chat/completions",
                          R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":4})"),
                 200);
    }

    void screenshots() {
        // The status line while an answer is written, and the Settings section, in both languages.
        for (const char* lang : {"en", "zh_CN"}) {
            settings()->setLanguage(QString::fromLatin1(lang));
            window_->setProperty("page", QStringLiteral("chat"));
            QSignalSpy finished(chat(), &ChatController::answerFinished);
            QVERIFY(chat()->send("A story, please"));
            // A script's long streamed answer beside the chat's: the line counts both.
            std::atomic<bool> leave{false};
            std::thread client([&] {
                (void)postStream(port_, "test-key-123",
                                 R"({"messages":[{"role":"user","content":"Go on"}],"max_tokens":3000,"stream":true})", &leave);
            });
            QTRY_VERIFY_WITH_TIMEOUT(api()->activeRequests() == 2, 10000);
            QQuickItem* line = test::findNamed(window_->contentItem(), "apiServerStatusLine");
            QVERIFY(line && line->isVisible());
            const QString shot = shoot(QStringLiteral("api_status_line_%1.png").arg(QString::fromLatin1(lang)));
            leave = true;
            client.join();
            QVERIFY(!shot.isEmpty());
            chat()->stop();
            QVERIFY(finished.count() == 1 || finished.wait(10000));
            showServerSection();
            QVERIFY(!shoot(QStringLiteral("api_settings_%1.png").arg(QString::fromLatin1(lang))).isEmpty());
        }
        settings()->setLanguage("en");
    }

    void portInUseIsSaidOnThePage() {
        QTcpServer squatter;
        QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
        const int taken = squatter.serverPort();
        settings()->setApiServerPort(taken);
        QTRY_VERIFY_WITH_TIMEOUT(!api()->running() && !api()->errorText().isEmpty(), 10000);
        QVERIFY2(api()->errorText().contains(QString::number(taken)), qPrintable(api()->errorText()));
        QVERIFY2(api()->errorText().contains("in use"), qPrintable(api()->errorText()));
        showServerSection();
        QQuickItem* status = test::findNamed(window_->contentItem(), "apiServerStatus");
        QVERIFY(status);
        QCOMPARE(status->property("text").toString(), api()->errorText());
        QVERIFY(!shoot("api_settings_port_in_use_en.png").isEmpty());
        // The chat still answers (through the scheduler; only the listening failed).
        QSignalSpy finished(chat(), &ChatController::answerFinished);
        settings()->setMaxNewTokens(8);
        QVERIFY(chat()->send("Short one"));
        QVERIFY(finished.wait(30000));
        QVERIFY2(chat()->errorText().isEmpty(), qPrintable(chat()->errorText()));
        QCOMPARE(chat()->stats().value("server").toBool(), true);
        // A free port again: it listens.
        settings()->setApiServerPort(port_);
        QTRY_VERIFY_WITH_TIMEOUT(api()->running() && api()->errorText().isEmpty(), 10000);
        QCOMPARE(getStatus(port_, "/v1/models", "test-key-123"), 200);
    }

    void offFreesThePort() {
        settings()->setApiServerEnabled(false);
        QTRY_VERIFY_WITH_TIMEOUT(!api()->running(), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(portIsFree(port_), 5000);
        QQuickItem* line = test::findNamed(window_->contentItem(), "apiServerStatusLine");
        QVERIFY(line && !line->isVisible());
        // The chat answers through its Session again.
        QSignalSpy finished(chat(), &ChatController::answerFinished);
        QVERIFY(chat()->send("And now?"));
        QVERIFY(finished.wait(30000));
        QVERIFY2(chat()->errorText().isEmpty(), qPrintable(chat()->errorText()));
        QVERIFY(!chat()->stats().value("server").toBool());
    }

    void unloadingStopsIt() {
        settings()->setApiServerEnabled(true);
        QTRY_VERIFY_WITH_TIMEOUT(api()->running(), 30000);
        chat()->unloadModel();
        QTRY_VERIFY_WITH_TIMEOUT(!api()->running() && api()->waiting(), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(portIsFree(port_), 5000);
    }

    // With the server on, the chat's adapters go with its requests (ServeRequest::loras): the same
    // greedy answer as the Session gives with them, unlike the answer without; an adapter that does
    // not fit the model fails the answer with a message. Worker level, on the shared hf-models fixtures.
    void adaptersGoWithTheChatsRequests() {
        const QString base = test::testdataFile("hf-models/tiny-llama/base-f32.gguf");
        const QString qv = test::testdataFile("hf-models/tiny-llama/lora/qv-r16.gguf");
        const QString wrong = test::testdataFile("hf-models/tiny-qwen2/lora/all-r8.gguf");
        if (!QFileInfo::exists(base) || !QFileInfo::exists(qv) || !QFileInfo::exists(wrong))
            QSKIP("the shared test data's hf-models are absent (HEARTH_TESTDATA)");
        // The worker on its own thread, ended and deleted however the test leaves.
        struct OwnWorker {
            QThread thread;
            InferenceWorker* w = new InferenceWorker;
            OwnWorker() { w->moveToThread(&thread), thread.start(); }
            ~OwnWorker() { thread.quit(), thread.wait(), delete w; }
        } own;
        InferenceWorker* w = own.w;
        quint64 ids = 0;
        auto answer = [&](bool server, const QString& lora, QString* error) {
            ServerConfig c;
            c.enabled = server;
            c.port = 0;  // any free port
            QMetaObject::invokeMethod(w, [w, c] { w->configureServer(c); }, Qt::QueuedConnection);
            LoadRequest lr;
            lr.id = ++ids;
            lr.path = base;
            lr.nCtx = 256;
            lr.threads = 1;
            QSignalSpy loaded(w, &InferenceWorker::loaded);
            QMetaObject::invokeMethod(w, [w, lr] { w->load(lr); }, Qt::QueuedConnection);
            if (!loaded.wait(30000)) return QStringLiteral("(not loaded)");
            GenerateRequest g;
            g.id = ++ids;
            g.modelPath = base;
            g.messages.push_back({0, QStringLiteral("user"), QStringLiteral("Hello, who are you?")});
            g.sampling.temperature = 0;
            g.sampling.repeatPenalty = 1.0;
            g.sampling.maxNewTokens = 12;
            g.think = false;
            if (!lora.isEmpty()) g.loras.push_back({lora.toStdString(), 1.0f});
            QString text;
            bool done = false;
            QVariantMap stats;
            QObject scope;
            connect(w, &InferenceWorker::piece, &scope, [&](quint64, const QString& t) { text += t; });
            connect(w, &InferenceWorker::finished, &scope, [&](quint64, const QVariantMap& s) { stats = s, done = true; });
            connect(w, &InferenceWorker::failed, &scope, [&](quint64, const QString& m) { *error = m, done = true; });
            QMetaObject::invokeMethod(w, [w, g] { w->generate(g); }, Qt::QueuedConnection);
            if (!QTest::qWaitFor([&] { return done; }, 30000)) return QStringLiteral("(no answer)");
            if (error->isEmpty() && stats.value("server").toBool() != server) *error = QStringLiteral("answered by the wrong path");
            return text;
        };
        QString e1, e2, e3, e4;
        const QString sessionWith = answer(false, qv, &e1);
        const QString servedWith = answer(true, qv, &e2);
        const QString servedWithout = answer(true, QString(), &e3);
        QVERIFY2(e1.isEmpty() && e2.isEmpty() && e3.isEmpty(), qPrintable(e1 + e2 + e3));
        QVERIFY(!servedWith.isEmpty());
        qInfo("with the adapter: Session \"%s\", scheduler \"%s\"; scheduler without: \"%s\"", qPrintable(sessionWith),
              qPrintable(servedWith), qPrintable(servedWithout));
        // Greedy text, F32 weights and LoRA terms: batched and single-sequence evaluation agree to float
        // rounding (context.h), far below the gap between two tokens' logits on 12 tokens of this model.
        QCOMPARE(servedWith, sessionWith);
        QVERIFY(servedWith != servedWithout);
        (void)answer(true, wrong, &e4);
        QVERIFY2(!e4.isEmpty(), "an adapter of another model was accepted");
        qInfo("wrong adapter: %s", qPrintable(e4));
        // The Adapters dialog's check, served: refused with the reason before any answer.
        auto check = [&](const QString& lora) {
            QSignalSpy checked(w, &InferenceWorker::lorasChecked);
            const quint64 id = ++ids;
            std::vector<hearth::LoraSpec> specs{{lora.toStdString(), 1.0f}};
            QMetaObject::invokeMethod(w, [w, id, specs] { w->checkLoras(id, specs); }, Qt::QueuedConnection);
            if (!checked.wait(30000)) return QStringLiteral("(no answer)");
            if (checked.at(0).at(0).toULongLong() != id || !checked.at(0).at(2).toBool()) return QStringLiteral("(not checked)");
            return checked.at(0).at(1).toString();
        };
        QCOMPARE(check(qv), QString());
        const QString refused = check(wrong);
        QVERIFY2(refused.contains("qwen2"), qPrintable(refused));
    }

    void cleanupTestCase() {
        engine_.reset();
        context_.reset();
        test::collectWarnings(false);
        // Only the warnings the tests caused on purpose (the port in use, the wrong adapter): no QML
        // binding errors, no timer stopped from the wrong thread.
        QStringList unexpected;
        for (const QString& m : test::warnings()) {
            qInfo("warning seen: %s", qPrintable(m));
            if (!m.startsWith(QLatin1String("api server:")) && !m.startsWith(QLatin1String("generation failed:")) &&
                !m.startsWith(QLatin1String("adapter refused:")))
                unexpected << m;
        }
        QVERIFY2(unexpected.isEmpty(), qPrintable(unexpected.join(QLatin1Char('\n'))));
    }
};

QTEST_MAIN(ApiServerTest)
#include "test_api_server.moc"
