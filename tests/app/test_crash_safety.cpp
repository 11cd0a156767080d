// Crash safety at scale: a kill loop. A child process (this binary with --child) runs the real
// ChatStore, ModelLibrary and ChatController on a tiny model, answering question after question
// greedily (every third turn a regenerate, so alternatives are written too) and printing each
// streamed piece with a timestamp, each answer it starts and each answer whose end is committed.
// The harness kills it with SIGKILL at a random moment — while it starts, streams and saves
// (most kills), while it imports a model, or while it migrates a version-2 database (slowed by
// HEARTH_TEST_SLOW_MIGRATION_MS so the kill lands inside the migration) — then reopens the
// database as the app would and checks: PRAGMA integrity_check; every answer ever reported finished
// still has its exact text and status; the answer in flight holds a prefix of what was streamed,
// and how old the oldest lost text was when the kill came (the save interval is one second).
// Imports must never leave a truncated .gguf. HEARTH_KILL_LOOP_KILLS sets the number of kills
// (ctest: 20; tests/kill_loop.sh: 200), HEARTH_KILL_LOOP_SEED the random seed.
#include <QCryptographicHash>
#include <QDateTime>
#include <QDirIterator>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>
#include <algorithm>
#include <cstdio>
#include <map>

#include "app/controllers/chat_controller.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "app/store/schema.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;
using hearth::Status;

namespace {

void say(const QByteArray& line) {
    std::fwrite(line.constData(), 1, size_t(line.size()), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

QByteArray sha1(const QString& text) {
    return QCryptographicHash::hash(text.toUtf8(), QCryptographicHash::Sha1).toHex();
}

// The child: answer questions until killed. Lines: ANSWER <id>, PIECE <ms> <utf8 hex>,
// DONE <id> <sha1> <status>, IMPORTING, ERROR <text>. MIGRATING <version> comes on stderr from
// the store's test hook.
int runChild(const QString& dir, const QString& model, const QString& dbName, const QString& importFrom) {
    AppSettings settings(QDir(dir).filePath("child.ini"));
    settings.setContextLength(512);
    settings.setTemperature(0);
    settings.setThreads(1);
    settings.setModelsFolder(QDir(dir).filePath("library"));
    ChatStore store;
    const Status opened = store.open(QDir(dir).filePath(dbName));
    if (!opened.ok()) {
        say("ERROR " + QByteArray::fromStdString(opened.message()));
        return 2;
    }
    ModelLibrary library(&settings);
    ChatController chat(&store, &settings, &library);
    QObject::connect(chat.worker(), &InferenceWorker::piece, &chat, [](quint64, const QString& text) {
        say("PIECE " + QByteArray::number(nowMs()) + ' ' + text.toUtf8().toHex());
    });
    QObject::connect(&chat, &ChatController::generatingChanged, [&] {
        if (chat.generating() && chat.messages()->count() > 0)
            say("ANSWER " + QByteArray::number(chat.messages()->at(chat.messages()->count() - 1).id));
    });
    // The text of each answer as it ended (a regenerate may take its row before the end is committed).
    std::map<qint64, QString> ended;
    QObject::connect(&chat, &ChatController::answerFinished, [&] {
        const int last = chat.messages()->count() - 1;
        if (last >= 0) ended[chat.messages()->at(last).id] = chat.messages()->at(last).content;
    });
    QObject::connect(&chat, &ChatController::answerSaved, [&](qint64 id, const QString& status) {
        const auto it = ended.find(id);
        if (it != ended.end()) say("DONE " + QByteArray::number(id) + ' ' + sha1(it->second) + ' ' + status.toUtf8());
    });
    QObject::connect(&chat, &ChatController::errorChanged, [&] {
        if (!chat.errorText().isEmpty()) say("ERROR " + chat.errorText().toUtf8());
    });
    int turn = 0;
    auto next = [&] {
        ++turn;
        // Short answers (many finished ones to check) alternate with long ones (in flight for
        // seconds, through several streaming saves).
        settings.setMaxNewTokens(turn % 2 ? 40 : 4000);
        if (turn % 3 == 0) chat.regenerate();
        else chat.send(QStringLiteral("Question %1: tell me a story about the number %1.").arg(turn));
    };
    QObject::connect(&chat, &ChatController::answerFinished, [&] { QTimer::singleShot(0, &chat, next); });
    bool started = false;
    QObject::connect(&chat, &ChatController::modelChanged, [&] {
        if (started || chat.modelState() != QLatin1String("ready")) return;
        started = true;
        next();
        if (!importFrom.isEmpty()) library.importPath(importFrom, true);
    });
    bool importing = false;
    QObject::connect(&library, &ModelLibrary::importChanged, [&] {
        if (library.importing() && !importing) say("IMPORTING");
        importing = library.importing();
    });
    chat.useModel(model);
    return QCoreApplication::exec();
}

// What the harness learns from the child's output.
struct ChildLog {
    struct Piece {
        qint64 at = 0;  // when the child showed it (ms since the epoch)
        int end = 0;    // the answer's length once it was appended
    };
    qint64 answerId = 0;  // the answer in flight (0: none)
    QString text;         // its text as streamed
    std::vector<Piece> pieces;
    qint64 migratingAt = 0, importingAt = 0;
    QStringList errors;

    void parse(const QByteArray& raw, std::map<qint64, QByteArray>& finished) {
        const QByteArray line = raw.trimmed();
        const QList<QByteArray> f = line.split(' ');
        if (line.startsWith("ANSWER ")) {
            answerId = f.value(1).toLongLong();
            text.clear();
            pieces.clear();
        } else if (line.startsWith("PIECE ") && answerId) {
            text += QString::fromUtf8(QByteArray::fromHex(f.value(2)));
            pieces.push_back({f.value(1).toLongLong(), int(text.size())});
        } else if (line.startsWith("DONE ")) {
            const qint64 id = f.value(1).toLongLong();
            finished[id] = f.value(2) + ' ' + f.value(3);
            if (id == answerId) answerId = 0;
        } else if (line.startsWith("MIGRATING")) {
            if (!migratingAt) migratingAt = nowMs();
        } else if (line.startsWith("IMPORTING")) {
            if (!importingAt) importingAt = nowMs();
        } else if (line.startsWith("ERROR ")) {
            errors << QString::fromUtf8(line.mid(6));
        }
    }
};

QString integrity(SqliteDb& db) {
    auto s = db.prepare("PRAGMA integrity_check");
    QStringList out;
    while (s.step()) out << s.text(0);
    return s.ok() ? out.join("; ") : QString::fromStdString(s.status().message());
}

}  // namespace

class CrashSafetyTest : public QObject {
    Q_OBJECT
private slots:
    void killLoop() {
        bool ok = false;
        int kills = qEnvironmentVariableIntValue("HEARTH_KILL_LOOP_KILLS", &ok);
        if (!ok || kills <= 0) kills = 20;
        quint32 seed = quint32(qEnvironmentVariableIntValue("HEARTH_KILL_LOOP_SEED", &ok));
        if (!ok) seed = quint32(QDateTime::currentMSecsSinceEpoch());
        QRandomGenerator rng(seed);
        constexpr int kSlowMigrationMs = 800;

        QTemporaryDir dir;
        QString err;
        // About 100 tokens/s on one thread: answers stream for a while, as real ones do.
        const QString model = test::writeTinyModel(dir.filePath("models"), "small.gguf", test::slowSpec(), &err);
        QVERIFY2(!model.isEmpty(), qPrintable(err));
        // A bigger file to import (about 50 MB): copying it takes long enough to be killed in.
        test::TinyModelSpec big = test::slowSpec();
        big.nEmbd = 384;
        big.nLayer = 6;
        big.nHead = 6;
        big.nKvHead = 2;
        big.nFf = 1024;
        big.nVocab = 4096;
        big.name = "Import Me";
        const QString bigModel = test::writeTinyModel(dir.filePath("import-src"), "import-me.gguf", big, &err);
        QVERIFY2(!bigModel.isEmpty(), qPrintable(err));
        const qint64 bigSize = QFileInfo(bigModel).size();

        // What the v2 fixture must hold after any migration, killed or not.
        const QString fixture = QStringLiteral(HEARTH_TEST_SOURCE_DIR "/fixtures/v2.db");
        std::vector<QString> fixtureTexts;
        {
            QTemporaryDir fdir;
            QVERIFY(QFile::copy(fixture, fdir.filePath("f.db")));
            QFile(fdir.filePath("f.db")).setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
            ChatStore f;
            QVERIFY(f.open(fdir.filePath("f.db")).ok());
            for (int64_t c : {1, 2}) {
                const auto msgs = f.messages(c);  // a named Result: the loop below reads into it
                QVERIFY(msgs.ok());
                for (const MessageRecord& m : *msgs) fixtureTexts.push_back(m.content);
            }
        }
        QCOMPARE(int(fixtureTexts.size()), 6);

        std::map<qint64, QByteArray> finished;  // answer id -> "sha1 status", from every run so far
        int streamKills = 0, importKills = 0, migrationKills = 0, killsInsideMigration = 0, killsInsideImport = 0;
        int integrityFailures = 0, damagedFinished = 0, damagedInFlight = 0, damagedImports = 0, damagedFixture = 0;
        int partLeftovers = 0, inFlight = 0, markersMissing = 0;
        std::vector<qint64> lostMs;
        std::vector<int> lostChars;
        QStringList childErrors;
        QElapsedTimer total;
        total.start();

        for (int k = 0; k < kills; ++k) {
            const bool migrate = k % 10 == 3, import = k % 10 == 7;
            const QString dbName = migrate ? QStringLiteral("migrate.db") : QStringLiteral("crash.db");
            if (migrate) {
                for (const char* suffix : {"", "-wal", "-shm"}) QFile::remove(dir.filePath(dbName + suffix));
                QVERIFY(QFile::copy(fixture, dir.filePath(dbName)));
                QFile(dir.filePath(dbName)).setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
            }
            QProcess child;
            child.setProcessChannelMode(QProcess::MergedChannels);
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            if (migrate) env.insert("HEARTH_TEST_SLOW_MIGRATION_MS", QString::number(kSlowMigrationMs));
            child.setProcessEnvironment(env);
            QStringList args{"--child", dir.path(), model, dbName};
            if (import) args << bigModel;
            child.start(QCoreApplication::applicationFilePath(), args);
            QVERIFY(child.waitForStarted());
            const qint64 startedAt = nowMs();
            // When to kill: at a random moment of the run, or inside the migration or the import.
            // (From the v2 fixture every later step is slowed: the kill may land in any of them.)
            const qint64 delay = migrate  ? rng.bounded(kSlowMigrationMs * (schema::kCurrentVersion - 2) + 100)
                                 : import ? rng.bounded(400)
                                          : 200 + rng.bounded(3000);
            ChildLog log;
            // Answers finished in a migrated copy are not in crash.db: they go elsewhere.
            std::map<qint64, QByteArray> finishedElsewhere;
            std::map<qint64, QByteArray>& finishedHere = migrate ? finishedElsewhere : finished;
            auto drain = [&] {
                while (child.canReadLine()) log.parse(child.readLine(), finishedHere);
            };
            qint64 killAt = 0;
            while (!killAt) {
                child.waitForReadyRead(5);
                drain();
                const qint64 anchor = migrate ? log.migratingAt : import ? log.importingAt : startedAt;
                if (child.state() != QProcess::Running) break;
                if (anchor && nowMs() >= anchor + delay) killAt = nowMs();
                if (nowMs() - startedAt > 30000) killAt = nowMs();  // a marker never came: kill anyway
            }
            QVERIFY2(killAt, qPrintable("the child ended by itself: " + log.errors.join("; ")));
            child.kill();  // SIGKILL: no destructor, no final save
            QVERIFY(child.waitForFinished(10000));
            drain();
            if (child.bytesAvailable()) log.parse(child.readAll(), finishedHere);
            childErrors << log.errors;
            (migrate ? migrationKills : import ? importKills : streamKills)++;
            // A migrating or importing child that never said so was killed on the 30 s fallback:
            // the path this kill was for never ran.
            if ((migrate && !log.migratingAt) || (import && !log.importingAt)) {
                qWarning("kill %d: the child never reported its %s", k, migrate ? "migration" : "import");
                ++markersMissing;
            }

            // Before the app reopens it: a killed migration left the previous version whole.
            if (migrate) {
                SqliteDb raw;
                QVERIFY(raw.open(dir.filePath(dbName)).ok());
                const int64_t version = *raw.scalarInt("PRAGMA user_version");
                // What each step adds: v3 the status column, v4 the adapters table, v5 the downloads
                // queue, v6 the image gallery. A version has all of its steps' additions and none of the later ones'.
                const int64_t hasStatus = *raw.scalarInt("SELECT count(*) FROM pragma_table_info('messages') WHERE name = 'status'");
                const int64_t hasAdapters =
                    *raw.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'conversation_adapters'");
                const int64_t hasDownloads = *raw.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'downloads'");
                const int64_t hasImages = *raw.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'images'");
                if (version < schema::kCurrentVersion && log.migratingAt) ++killsInsideMigration;
                if (version < 2 || version > schema::kCurrentVersion || hasStatus != (version >= 3 ? 1 : 0) ||
                    hasAdapters != (version >= 4 ? 1 : 0) || hasDownloads != (version >= 5 ? 1 : 0) ||
                    hasImages != (version >= 6 ? 1 : 0)) {
                    qWarning("kill %d: half-migrated database (version %lld, status column %lld, adapters table %lld, "
                             "downloads table %lld, images table %lld)", k, (long long)version, (long long)hasStatus,
                             (long long)hasAdapters, (long long)hasDownloads, (long long)hasImages);
                    ++damagedFixture;
                }
            }

            // Reopen as the app does (migrates, recovers interrupted answers), then check.
            ChatStore store;
            const Status opened = store.open(dir.filePath(dbName));
            if (!opened.ok()) {
                qWarning("kill %d: cannot reopen: %s", k, opened.message().c_str());
                ++integrityFailures;
                continue;
            }
            const QString check = integrity(store.db());
            if (check != QLatin1String("ok")) {
                qWarning("kill %d: integrity_check: %s", k, qPrintable(check));
                ++integrityFailures;
            }
            if (!store.db().exec("INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')").ok()) {
                qWarning("kill %d: the search index does not match the messages", k);
                ++integrityFailures;
            }
            auto readMessage = [&](qint64 id, QString* content, QString* status) {
                auto s = store.db().prepare("SELECT content, status FROM messages WHERE id = ?");
                s.bind(1, int64_t(id));
                if (!s.step()) return false;
                *content = s.text(0);
                *status = s.text(1);
                return true;
            };
            if (!migrate) {
                for (const auto& [id, expected] : finished) {
                    QString content, status;
                    const bool found = readMessage(id, &content, &status);
                    if (!found || sha1(content) + ' ' + status.toUtf8() != expected) {
                        qWarning("kill %d: finished answer %lld %s", k, (long long)id, found ? "changed" : "is gone");
                        ++damagedFinished;
                    }
                }
                if (log.answerId && !log.pieces.empty()) {
                    ++inFlight;
                    QString content, status;
                    if (!readMessage(log.answerId, &content, &status)) content.clear();  // its INSERT was lost too
                    if (!log.text.startsWith(content) ||
                        (!status.isEmpty() && status != QLatin1String("interrupted") && content != log.text)) {
                        qWarning("kill %d: answer %lld in flight holds %d characters not streamed so (status '%s')", k,
                                 (long long)log.answerId, int(content.size()), qPrintable(status));
                        ++damagedInFlight;
                    }
                    const auto firstLost = std::find_if(log.pieces.begin(), log.pieces.end(),
                                                        [&](const ChildLog::Piece& p) { return p.end > content.size(); });
                    lostChars.push_back(int(log.text.size() - std::min(log.text.size(), content.size())));
                    lostMs.push_back(firstLost == log.pieces.end() ? 0 : std::max<qint64>(0, killAt - firstLost->at));
                }
            } else {
                std::vector<QString> texts;
                for (int64_t c : {1, 2}) {
                    const auto msgs = store.messages(c);
                    if (msgs.ok())
                        for (const MessageRecord& m : *msgs) texts.push_back(m.content);
                }
                if (texts.size() < fixtureTexts.size() || !std::equal(fixtureTexts.begin(), fixtureTexts.end(), texts.begin())) {
                    qWarning("kill %d: the migrated fixture lost or changed messages", k);
                    ++damagedFixture;
                }
                if (*store.db().scalarInt("PRAGMA user_version") != schema::kCurrentVersion) ++damagedFixture;
            }
            store.close();
            if (import) {
                if (log.importingAt) ++killsInsideImport;
                QDirIterator it(dir.filePath("library"), QDir::Files);
                while (it.hasNext()) {
                    const QFileInfo fi(it.next());
                    if (fi.fileName().endsWith(".part")) {
                        ++partLeftovers;
                        QFile::remove(fi.filePath());
                    } else if (fi.fileName().endsWith(".gguf") && fi.size() != bigSize) {
                        qWarning("kill %d: truncated import %s (%lld of %lld bytes)", k, qPrintable(fi.fileName()),
                                 (long long)fi.size(), (long long)bigSize);
                        ++damagedImports;
                    }
                    if (fi.fileName().endsWith(".gguf")) QFile::remove(fi.filePath());  // import afresh next time
                }
            }
        }

        std::vector<qint64> sorted = lostMs;
        std::sort(sorted.begin(), sorted.end());
        const qint64 maxLost = sorted.empty() ? 0 : sorted.back();
        const qint64 medianLost = sorted.empty() ? 0 : sorted[sorted.size() / 2];
        const int maxLostChars = lostChars.empty() ? 0 : *std::max_element(lostChars.begin(), lostChars.end());
        qInfo("kill loop (seed %u, %.0f s): %d kills (%d streaming/saving, %d importing (%d after the import began), "
              "%d migrating of which %d inside the migration)",
              seed, double(total.elapsed()) / 1000.0, kills, streamKills, importKills, killsInsideImport, migrationKills,
              killsInsideMigration);
        qInfo("integrity failures %d; finished answers checked %d, damaged %d; answers in flight %d, damaged %d; "
              "migrated fixtures damaged %d; truncated imports %d (.part files left by killed copies: %d)",
              integrityFailures, int(finished.size()), damagedFinished, inFlight, damagedInFlight, damagedFixture,
              damagedImports, partLeftovers);
        qInfo("text lost from the answer in flight: max %lld ms, median %lld ms (max %d characters)", (long long)maxLost,
              (long long)medianLost, maxLostChars);
        if (!childErrors.isEmpty()) qInfo("child errors: %s", qPrintable(childErrors.join(" | ")));

        QCOMPARE(integrityFailures, 0);
        QCOMPARE(damagedFinished, 0);
        QCOMPARE(damagedInFlight, 0);
        QCOMPARE(damagedFixture, 0);
        QCOMPARE(damagedImports, 0);
        QCOMPARE(markersMissing, 0);
        QVERIFY2(childErrors.isEmpty(), qPrintable(childErrors.join(" | ")));
        QVERIFY2(!finished.empty() && inFlight > 0, "the children never finished or streamed an answer");
        // One second between saves, plus a piece interval and the writer's latency on a busy machine.
        QVERIFY2(maxLost <= 1500, qPrintable(QStringLiteral("lost %1 ms of streamed text").arg(maxLost)));
    }
};

int main(int argc, char** argv) {
    if (argc >= 5 && qstrcmp(argv[1], "--child") == 0) {
        QCoreApplication app(argc, argv);
        return runChild(QString::fromLocal8Bit(argv[2]), QString::fromLocal8Bit(argv[3]), QString::fromLocal8Bit(argv[4]),
                        argc >= 6 ? QString::fromLocal8Bit(argv[5]) : QString());
    }
    QCoreApplication app(argc, argv);
    CrashSafetyTest t;
    return QTest::qExec(&t, argc, argv);
}

#include "test_crash_safety.moc"
