// The Adapters dialog's logic (AdapterController through the ChatController and the real worker),
// on the shared tiny-llama fixtures (HEARTH_TESTDATA/hf-models; skipped with a message without
// them): add, switch, rescale, remove, each checked against the loaded model first; an adapter for
// another base (tiny-qwen2's all-r8) refused with the engine's message and the previous set kept;
// the set stored per conversation, switched with the conversation and restored after a restart;
// a missing file warned about while the conversation still answers (and, in the real window, in the
// banner from the first frame); "Save merged model…" never claims a merge that did not happen.
#include <QFile>
#include <QJsonArray>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/adapter_controller.h"
#include "app/controllers/app_context.h"
#include "app/controllers/chat_controller.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "tests/app/app_window.h"
#include "tests/app/quick_find.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;

namespace {
QString fixture(const char* relative) { return test::testdataFile(QStringLiteral("hf-models/") + QLatin1String(relative)); }
}  // namespace

class AdaptersTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString base_, qv_, mlp_, wrongBase_;
    std::unique_ptr<AppSettings> settings_;
    std::unique_ptr<ChatStore> store_;
    std::unique_ptr<ModelLibrary> library_;
    std::unique_ptr<ChatController> chat_;

    AdapterController* adapters() { return chat_->adapters(); }

    // A controller over `dbName` (kept across calls: a second call is an app restart).
    void start(const QString& dbName) {
        chat_.reset();
        library_.reset();
        store_ = std::make_unique<ChatStore>();
        QVERIFY(store_->open(dir_.filePath(dbName)).ok());
        library_ = std::make_unique<ModelLibrary>(settings_.get());
        chat_ = std::make_unique<ChatController>(store_.get(), settings_.get(), library_.get());
    }

    bool loadBase() {
        chat_->useModel(base_);
        (void)QTest::qWaitFor([&] { return chat_->modelState() != QLatin1String("loading"); }, 60000);
        return chat_->modelState() == QLatin1String("ready");
    }

    // Runs a change and waits until the worker has checked it; returns the refusal ("" = applied).
    QString change(const std::function<bool()>& act) {
        QSignalSpy checked(adapters(), &AdapterController::changeChecked);
        if (!act()) return QStringLiteral("refused at once: ") + adapters()->message();
        if (checked.isEmpty() && !checked.wait(30000)) return QStringLiteral("no answer from the worker");
        return checked.first().first().toString();
    }

    // Sends a question and waits for the answer; returns how it ended ("eog", "max-tokens", "error"…).
    QString ask(const QString& text) {
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        if (!chat_->send(text)) return QStringLiteral("not sent");
        if (!finished.wait(60000)) return QStringLiteral("timeout");
        return finished.first().first().toString();
    }

    const MessageRecord& lastAnswer() { return chat_->messages()->records().back(); }

    std::vector<AdapterRecord> stored(qint64 conversation) {
        auto c = store_->conversation(conversation);
        return c.ok() ? c->adapters : std::vector<AdapterRecord>{};
    }

    std::vector<AdapterRecord> shown() {
        std::vector<AdapterRecord> out;
        for (const AdapterEntry& e : adapters()->list()->entries()) out.push_back(e.record);
        return out;
    }

private slots:
    void initTestCase() {
        base_ = fixture("tiny-llama/base-f32.gguf");
        qv_ = fixture("tiny-llama/lora/qv-r16.gguf");
        mlp_ = fixture("tiny-llama/lora/mlp-r8.gguf");
        wrongBase_ = fixture("tiny-qwen2/lora/all-r8.gguf");
        for (const QString& f : {base_, qv_, mlp_, wrongBase_})
            if (!QFile::exists(f)) QSKIP(qPrintable(f + " is absent (the shared test data's hf-models): skipping the adapter tests"));
        settings_ = std::make_unique<AppSettings>(dir_.filePath("settings.ini"));
        settings_->setModelsFolder(dir_.filePath("models"));
        settings_->setContextLength(512);
        settings_->setTemperature(0);  // greedy: the same text every run
        settings_->setRepeatPenalty(1.0);
        settings_->setMaxNewTokens(12);
        settings_->setThreads(1);
    }

    void addSwitchRescaleRemove() {
        start("logic.db");
        QVERIFY2(loadBase(), qPrintable(chat_->errorText()));
        chat_->newConversation();
        AdapterController* a = adapters();

        QCOMPARE(change([&] { return a->add(QUrl::fromLocalFile(qv_).toString()); }), QString());  // a file: URL, as the dialog gives
        QCOMPARE(a->list()->count(), 1);
        QCOMPARE(a->summary(), QStringLiteral("qv-r16 ×1.00"));
        QCOMPARE(change([&] { return a->add(mlp_); }), QString());
        QCOMPARE(a->summary(), QStringLiteral("qv-r16 ×1.00, mlp-r8 ×1.00"));
        QCOMPARE(a->activeCount(), 2);
        const std::vector<AdapterRecord> two = shown();

        // The same one twice: refused at once.
        QVERIFY(!a->add(qv_));
        QVERIFY2(a->message().contains("already"), qPrintable(a->message()));

        // Another base model's adapter: refused by the model with the engine's message (naming the
        // adapter), and nothing changes.
        const QString refusal = change([&] { return a->add(wrongBase_); });
        QVERIFY2(!refusal.isEmpty(), "tiny-qwen2's adapter was accepted by tiny-llama");
        QVERIFY2(refusal.contains("all-r8"), qPrintable(refusal));
        QVERIFY2(a->message().contains(refusal), qPrintable(a->message()));
        QVERIFY(shown() == two);
        QCOMPARE(a->activeCount(), 2);

        // Off, rescaled (clamped to 0–2, hundredths), on, removed.
        QCOMPARE(change([&] { return a->setEnabled(0, false); }), QString());
        QVERIFY(a->message().isEmpty());  // the refusal is forgotten once a change goes through
        QCOMPARE(a->summary(), QStringLiteral("mlp-r8 ×1.00"));
        QCOMPARE(change([&] { return a->setScale(1, 0.5); }), QString());
        QCOMPARE(a->summary(), QStringLiteral("mlp-r8 ×0.50"));
        QCOMPARE(change([&] { return a->setScale(1, 7.0); }), QString());
        QCOMPARE(a->list()->entries()[1].record.scale, 2.0);
        QCOMPARE(change([&] { return a->setScale(1, 0.7500001); }), QString());
        QCOMPARE(a->list()->entries()[1].record.scale, 0.75);
        QCOMPARE(change([&] { return a->setEnabled(0, true); }), QString());
        QCOMPARE(a->summary(), QStringLiteral("qv-r16 ×1.00, mlp-r8 ×0.75"));
        QCOMPARE(change([&] { return a->remove(0); }), QString());
        QCOMPARE(a->summary(), QStringLiteral("mlp-r8 ×0.75"));
        QVERIFY(!a->setEnabled(5, true));
        QVERIFY(!a->remove(-1));

        // The new conversation is stored with its first message, its adapters with it, and the
        // answer records the set that wrote it.
        QCOMPARE(ask("Hello"), QStringLiteral("max-tokens"));
        QVERIFY(chat_->conversationId() > 0);
        QVERIFY(store_->flush().ok());
        QVERIFY(stored(chat_->conversationId()) == shown());
        const QJsonArray loras = lastAnswer().genSettings.value("loras").toArray();
        QCOMPARE(loras.size(), 1);
        QCOMPARE(loras[0].toObject().value("path").toString(), mlp_);
        QCOMPARE(loras[0].toObject().value("scale").toDouble(), 0.75);
    }

    // Adapters change the answer (the worker attaches them), and switching them off gives the base
    // model's answer back.
    void adaptersChangeTheAnswer() {
        start("answers.db");
        QVERIFY2(loadBase(), qPrintable(chat_->errorText()));
        chat_->newConversation();
        QCOMPARE(ask("Tell me a story"), QStringLiteral("max-tokens"));
        const QString plain = lastAnswer().content;
        chat_->newConversation();
        QCOMPARE(change([&] { return adapters()->add(qv_); }), QString());
        QCOMPARE(change([&] { return adapters()->add(mlp_); }), QString());
        QCOMPARE(ask("Tell me a story"), QStringLiteral("max-tokens"));
        const QString adapted = lastAnswer().content;
        QVERIFY2(adapted != plain, qPrintable("the same answer with and without adapters: " + plain));
        chat_->newConversation();
        QCOMPARE(ask("Tell me a story"), QStringLiteral("max-tokens"));
        QCOMPARE(lastAnswer().content, plain);
    }

    void perConversationRestore() {
        start("restore.db");
        QVERIFY2(loadBase(), qPrintable(chat_->errorText()));
        chat_->newConversation();
        QCOMPARE(change([&] { return adapters()->add(qv_); }), QString());
        QCOMPARE(ask("First conversation"), QStringLiteral("max-tokens"));
        const qint64 a = chat_->conversationId();
        const QString answerA = lastAnswer().content;

        chat_->newConversation();
        QCOMPARE(adapters()->list()->count(), 0);  // a new conversation starts without adapters
        QCOMPARE(change([&] { return adapters()->add(mlp_); }), QString());
        QCOMPARE(change([&] { return adapters()->setScale(0, 0.5); }), QString());
        QCOMPARE(ask("Second conversation"), QStringLiteral("max-tokens"));
        const qint64 b = chat_->conversationId();
        QVERIFY(a != b);

        // Switching conversations switches the set (and the answers use it).
        chat_->openConversation(a);
        QCOMPARE(adapters()->summary(), QStringLiteral("qv-r16 ×1.00"));
        chat_->openConversation(b);
        QCOMPARE(adapters()->summary(), QStringLiteral("mlp-r8 ×0.50"));
        chat_->openConversation(a);
        chat_->regenerate();
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        QVERIFY(finished.wait(60000));
        QCOMPARE(lastAnswer().content, answerA);  // the same set, greedy: the same answer
        QCOMPARE(lastAnswer().genSettings.value("loras").toArray().size(), 1);

        // After a restart: the last conversation comes back with its set, the other keeps its own.
        start("restore.db");
        chat_->reopenLast();
        QCOMPARE(chat_->conversationId(), a);
        QCOMPARE(adapters()->summary(), QStringLiteral("qv-r16 ×1.00"));
        chat_->openConversation(b);
        QCOMPARE(adapters()->summary(), QStringLiteral("mlp-r8 ×0.50"));
        QVERIFY(chat_->errorText().isEmpty());

        // Deleting a conversation deletes its adapters.
        chat_->deleteConversation(b);
        QVERIFY(store_->flush().ok());
        const QByteArray count = "SELECT count(*) FROM conversation_adapters WHERE conversation_id = " + QByteArray::number(b);
        QCOMPARE(*store_->db().scalarInt(count.constData()), int64_t(0));
        QCOMPARE(adapters()->list()->count(), 0);
    }

    void missingFileWarnsAndTheConversationAnswers() {
        const QString copy = dir_.filePath("adapters/my-adapter.gguf");
        QDir().mkpath(dir_.filePath("adapters"));
        QVERIFY(QFile::copy(qv_, copy));
        QFile(copy).setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        start("missing.db");
        QVERIFY2(loadBase(), qPrintable(chat_->errorText()));
        chat_->newConversation();
        QCOMPARE(change([&] { return adapters()->add(copy); }), QString());
        QCOMPARE(ask("Hello"), QStringLiteral("max-tokens"));
        const qint64 id = chat_->conversationId();

        QVERIFY(QFile::remove(copy));
        start("missing.db");
        chat_->openConversation(id);
        QVERIFY2(chat_->errorText().contains("my-adapter") && chat_->errorText().contains(copy), qPrintable(chat_->errorText()));
        QCOMPARE(adapters()->list()->count(), 1);
        QVERIFY(adapters()->list()->entries()[0].missing);
        QVERIFY(adapters()->list()->entries()[0].record.enabled);  // kept on: it works again once the file is back
        QCOMPARE(adapters()->summary(), QString());
        chat_->dismissError();
        QVERIFY2(loadBase(), qPrintable(chat_->errorText()));
        QCOMPARE(ask("Are you there?"), QStringLiteral("max-tokens"));
        QVERIFY(!lastAnswer().content.isEmpty());
        QVERIFY(!lastAnswer().genSettings.contains("loras"));
        QVERIFY2(chat_->errorText().isEmpty(), qPrintable(chat_->errorText()));
        const std::vector<AdapterRecord> kept = {AdapterRecord{copy, 1.0, true}};
        QVERIFY(stored(id) == kept);  // the choice is kept

        // Back again: used again.
        QVERIFY(QFile::copy(qv_, copy));
        QCOMPARE(ask("And now?"), QStringLiteral("max-tokens"));
        QCOMPARE(lastAnswer().genSettings.value("loras").toArray().size(), 1);
        QVERIFY(!adapters()->list()->entries()[0].missing);
    }

    // The real window, reopening a conversation whose adapter is gone: the warning shows in the
    // banner above the page from the first frame (Qt 6.4's layout once left it out, 0 wide).
    void missingAdapterWarnsInTheWindowAtStartup() {
        QTemporaryDir home;
        auto context = test::makeAppContext(home.path(), "en", "light", QRect(0, 0, 1100, 760));
        ChatStore* store = context->store();
        const qint64 id = *store->createConversation(base_, QString());
        QVERIFY(store->setConversationAdapters(id, {{home.filePath("gone/legal-r16.gguf"), 1.0, true}}).ok());
        context->settings()->setLastConversationId(id);
        context->chat()->reloadConversations();
        std::unique_ptr<QQmlApplicationEngine> engine;
        QQuickWindow* window = test::loadMainWindow(*context, engine);
        QVERIFY(window);
        QVERIFY2(context->chat()->errorText().contains("legal-r16"), qPrintable(context->chat()->errorText()));
        QQuickItem* label = test::findVisibleItem(window->contentItem(), "errorText");
        QVERIFY(label);
        QTRY_VERIFY2(label->width() > 100 && label->height() > 10, "the banner's text has no room");
        QVERIFY(label->mapToScene(QPointF(0, 0)).y() < 40);  // at the top, above the chat page
        engine.reset();
    }

    // With no model loaded nothing can be checked: the choice is kept, and a misfit fails the answer
    // with the engine's message (naming the adapter) until it is switched off.
    void uncheckedAdapterIsCheckedWhenTheModelAnswers() {
        start("unchecked.db");
        settings_->setDefaultModel(base_);
        chat_->newConversation();
        QCOMPARE(chat_->modelState(), QStringLiteral("none"));
        QCOMPARE(change([&] { return adapters()->add(wrongBase_); }), QString());
        QCOMPARE(ask("Hello"), QStringLiteral("error"));
        QVERIFY2(chat_->errorText().contains("all-r8"), qPrintable(chat_->errorText()));
        QCOMPARE(chat_->modelState(), QStringLiteral("ready"));
        // Now checked against the loaded model: switching it off goes through; the question is answered.
        QCOMPARE(change([&] { return adapters()->setEnabled(0, false); }), QString());
        chat_->dismissError();
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        chat_->regenerate();
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.first().first().toString(), QStringLiteral("max-tokens"));
        // Switching it on again is refused by the model now, and it stays off.
        QVERIFY(!change([&] { return adapters()->setEnabled(0, true); }).isEmpty());
        QVERIFY(!adapters()->list()->entries()[0].record.enabled);
    }

    // "Save merged model…": a merge that did not write the file is never reported as saved.
    void saveMergedReportsWhatHappened() {
        start("merge.db");
        QVERIFY2(loadBase(), qPrintable(chat_->errorText()));
        chat_->newConversation();
        AdapterController* a = adapters();
        QVERIFY(!a->saveMerged(QUrl::fromLocalFile(dir_.filePath("none.gguf"))));  // no adapter in use
        QVERIFY(a->mergeFailed());
        QCOMPARE(change([&] { return a->add(qv_); }), QString());
        QVERIFY(!a->saveMerged(QUrl::fromLocalFile(base_)));  // never over its own base
        QCOMPARE(a->suggestedMergedName(), QStringLiteral("base-f32-qv-r16.gguf"));
        const QString out = dir_.filePath("merged.gguf");
        QSignalSpy done(a, &AdapterController::mergeFinished);
        QVERIFY(a->saveMerged(QUrl::fromLocalFile(out)));
        QVERIFY(a->merging());
        QVERIFY(done.wait(120000));
        QVERIFY(!a->merging());
        const QString error = done.first().first().toString();
        QVERIFY2(error.isEmpty(), qPrintable(error));  // the engine's merge_lora (engine/lora/lora_merge.h)
        QVERIFY2(QFile::exists(out), "the merge said it saved a file that is not there");
        QVERIFY(!QFile::exists(out + ".part"));
        QVERIFY(!a->mergeFailed());
        QVERIFY(a->mergeMessage().contains(out));
    }

    void cleanupTestCase() {
        chat_.reset();
        library_.reset();
        store_.reset();
    }
};

QTEST_MAIN(AdaptersTest)
#include "test_adapters.moc"
