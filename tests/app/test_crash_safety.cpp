// Crash safety: a child process streams an answer through the real ChatController (tiny model,
// streaming saves every second) and is killed with SIGKILL mid-answer. The database it leaves
// must pass PRAGMA integrity_check and hold the partial answer saved before the kill.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <cstdio>

#include "app/controllers/chat_controller.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;

namespace {

// The child: stream until killed, printing "SAVED <chars>" after each streaming save.
int runChild(const QString& dir, const QString& model) {
    AppSettings settings(QDir(dir).filePath("child.ini"));
    settings.setContextLength(256);
    settings.setMaxNewTokens(-1);  // never ends by itself; the context shifts when full
    settings.setTemperature(0);
    settings.setThreads(1);
    ChatStore store;
    if (!store.open(QDir(dir).filePath("crash.db")).ok()) return 2;
    ModelLibrary library(&settings);
    ChatController chat(&store, &settings, &library);
    QObject::connect(&chat, &ChatController::streamingSaved, [](qint64, int chars) {
        std::printf("SAVED %d\n", chars);
        std::fflush(stdout);
    });
    QObject::connect(&chat, &ChatController::errorChanged, [&] {
        std::printf("ERROR %s\n", qPrintable(chat.errorText()));
        std::fflush(stdout);
    });
    QObject::connect(&chat, &ChatController::answerFinished, [](const QString& reason) {
        std::printf("FINISHED %s\n", qPrintable(reason));
        std::fflush(stdout);
    });
    QObject::connect(&chat, &ChatController::modelChanged, [&] {
        if (chat.modelState() == QLatin1String("ready") && !chat.generating()) chat.send("Stream until you are killed");
    });
    chat.useModel(model);
    return QCoreApplication::exec();
}

}  // namespace

class CrashSafetyTest : public QObject {
    Q_OBJECT
private slots:
    void killedWhileStreaming() {
        QTemporaryDir dir;
        QString err;
        // Slow enough per token (about 100 tokens/s on one thread) that the answer is still
        // streaming after several one-second saves.
        const QString model = test::writeTinyModel(dir.filePath("models"), "small.gguf", test::slowSpec(), &err);
        QVERIFY2(!model.isEmpty(), qPrintable(err));

        QProcess child;
        child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        child.start(QCoreApplication::applicationFilePath(), {"--child", dir.path(), model});
        QVERIFY(child.waitForStarted());
        int saves = 0, lastSaved = 0;
        QElapsedTimer t;
        t.start();
        while (saves < 3 && t.elapsed() < 90000) {
            if (!child.waitForReadyRead(1000)) {
                QVERIFY2(child.state() == QProcess::Running, "the child ended before it was killed");
                continue;
            }
            while (child.canReadLine()) {
                const QByteArray line = child.readLine().trimmed();
                if (line.startsWith("ERROR") || line.startsWith("FINISHED")) QFAIL(line.constData());
                if (line.startsWith("SAVED ")) {
                    ++saves;
                    lastSaved = line.mid(6).toInt();
                }
            }
        }
        QVERIFY2(saves >= 3, "the child did not stream");
        child.kill();  // SIGKILL: no destructor, no final save
        QVERIFY(child.waitForFinished(10000));
        QCOMPARE(child.exitStatus(), QProcess::CrashExit);

        ChatStore store;
        QVERIFY(store.open(dir.filePath("crash.db")).ok());
        {
            auto check = store.db().prepare("PRAGMA integrity_check");
            QVERIFY(check.step());
            QCOMPARE(check.text(0), QStringLiteral("ok"));
        }
        auto convs = store.conversations();
        QVERIFY(convs.ok());
        QCOMPARE(int(convs->size()), 1);
        auto msgs = store.messages(convs->at(0).id);
        QVERIFY(msgs.ok());
        QCOMPARE(int(msgs->size()), 2);
        QCOMPARE(msgs->at(0).content, QStringLiteral("Stream until you are killed"));
        const QString partial = msgs->at(1).content;
        qInfo("after SIGKILL: integrity ok, partial answer of %d characters (last reported save: %d)",
              int(partial.size()), lastSaved);
        QVERIFY(partial.size() >= lastSaved);
        QVERIFY(lastSaved > 0);
    }
};

int main(int argc, char** argv) {
    if (argc == 4 && qstrcmp(argv[1], "--child") == 0) {
        QCoreApplication app(argc, argv);
        return runChild(QString::fromLocal8Bit(argv[2]), QString::fromLocal8Bit(argv[3]));
    }
    QCoreApplication app(argc, argv);
    CrashSafetyTest t;
    return QTest::qExec(&t, argc, argv);
}

#include "test_crash_safety.moc"
