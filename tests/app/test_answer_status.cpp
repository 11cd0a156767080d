// How answers end and regenerate's alternatives, through the real ChatController, worker and store
// on a tiny random model: a stopped answer is marked "stopped" and one cut by the length limit
// "length" (on screen and on disk); regenerate keeps the old answer as an alternative of the same
// slot; showAlternative switches which one is shown, stored and sent back as history; reopening the
// conversation shows the chosen one; edit-and-resend still removes the answers after the question.
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/chat_controller.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;

class AnswerStatusTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString model_, slowModel_;
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

    bool waitLoaded() {
        (void)QTest::qWaitFor([&] { return chat_->modelState() != QLatin1String("loading"); }, 60000);
        return chat_->modelState() == QLatin1String("ready");
    }

    MessageRecord stored(qint64 id) {
        const auto alts = store_->alternatives(id);  // named: the loop reads into it
        if (alts.ok())
            for (const MessageRecord& m : *alts)
                if (m.id == id) return m;
        return {};
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
        settings_->setTemperature(0);
        settings_->setThreads(1);
    }

    void stoppedAndLengthAreMarked() {
        makeController("status.db");
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        QSignalSpy saved(chat_.get(), &ChatController::answerSaved);
        chat_->useModel(slowModel_);
        QVERIFY2(waitLoaded(), qPrintable(chat_->errorText()));

        settings_->setMaxNewTokens(-1);
        QSignalSpy pieces(chat_->worker(), &InferenceWorker::piece);
        QVERIFY(chat_->send("Count forever"));
        QCOMPARE(chat_->messages()->at(1).status, QStringLiteral("streaming"));
        QVERIFY(pieces.wait(60000));
        chat_->stop();
        QVERIFY(finished.wait(30000));
        QVERIFY(saved.count() == 1 || saved.wait(10000));
        const MessageRecord stopped = chat_->messages()->at(1);
        QCOMPARE(stopped.status, QStringLiteral("stopped"));
        QVERIFY(!stopped.content.isEmpty());
        QCOMPARE(stored(stopped.id).status, QStringLiteral("stopped"));
        QCOMPARE(stored(stopped.id).content, stopped.content);

        settings_->setMaxNewTokens(5);
        QVERIFY(chat_->send("Five tokens only"));
        QVERIFY(finished.wait(60000));
        QVERIFY(saved.count() == 2 || saved.wait(10000));
        const MessageRecord cut = chat_->messages()->at(3);
        QCOMPARE(finished.last().at(0).toString(), QStringLiteral("max-tokens"));
        QCOMPARE(cut.status, QStringLiteral("length"));
        QCOMPARE(stored(cut.id).status, QStringLiteral("length"));
        QCOMPARE(stored(cut.id).tokenCount, 5);
    }

    void regenerateKeepsAlternatives() {
        makeController("alternatives.db");
        settings_->setMaxNewTokens(12);
        QSignalSpy finished(chat_.get(), &ChatController::answerFinished);
        chat_->useModel(model_);
        QVERIFY2(waitLoaded(), qPrintable(chat_->errorText()));
        QVERIFY(chat_->send("Hello there"));
        QVERIFY(finished.wait(60000));
        const MessageRecord first = chat_->messages()->at(1);

        // A different sampling seed makes a different second answer likely; what matters is
        // that both are kept.
        settings_->setTemperature(1.5);
        settings_->setSeed(7);
        chat_->regenerate();
        QVERIFY(finished.wait(60000));
        QCOMPARE(chat_->messages()->count(), 2);
        const MessageRecord second = chat_->messages()->at(1);
        QVERIFY(second.id != first.id);
        QCOMPARE(second.altIndex, 1);
        QCOMPARE(second.altCount, 2);
        QVERIFY(store_->flush().ok());
        QCOMPARE(int(store_->alternatives(second.id)->size()), 2);

        // Back to the first: shown, stored as shown, and the history of the next question.
        chat_->showAlternative(second.id, -1);
        QCOMPARE(chat_->messages()->at(1).id, first.id);
        QCOMPARE(chat_->messages()->at(1).content, first.content);
        QCOMPARE(chat_->messages()->at(1).altIndex, 0);
        QCOMPARE(chat_->messages()->at(1).altCount, 2);
        chat_->showAlternative(first.id, -1);  // no alternative before the first: nothing changes
        QCOMPARE(chat_->messages()->at(1).id, first.id);
        auto onDisk = *store_->messages(chat_->conversationId());
        QCOMPARE(int(onDisk.size()), 2);
        QCOMPARE(onDisk[1].id, first.id);

        // Reopening the conversation shows the chosen alternative.
        const qint64 conv = chat_->conversationId();
        chat_->newConversation();
        chat_->openConversation(conv);
        QCOMPARE(chat_->messages()->at(1).id, first.id);
        QCOMPARE(chat_->messages()->at(1).altCount, 2);
        chat_->showAlternative(first.id, +1);
        QCOMPARE(chat_->messages()->at(1).id, second.id);

        // Edit-and-resend removes the question and every alternative after it.
        settings_->setTemperature(0);
        chat_->editAndResend(chat_->messages()->at(0).id, "Hello again");
        QVERIFY(finished.wait(60000));
        QCOMPARE(chat_->messages()->count(), 2);
        QCOMPARE(chat_->messages()->at(1).altCount, 1);
        QVERIFY(store_->flush().ok());
        QCOMPARE(*store_->db().scalarInt("SELECT count(*) FROM messages"), int64_t(2));
    }
};

QTEST_MAIN(AnswerStatusTest)
#include "test_answer_status.moc"
