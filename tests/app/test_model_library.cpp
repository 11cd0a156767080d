// The Models page's library: metadata read without loading weights, split files as one model,
// import (validate, copy with progress, or use in place), delete, the memory estimate and the
// refusal of a model that cannot fit.
#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "engine/gguf/gguf.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;

class ModelLibraryTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString source_;

private slots:
    void initTestCase() {
        QString err;
        source_ = test::writeTinyModel(dir_.filePath("downloads"), "tiny-q.gguf", {}, &err);
        QVERIFY2(!source_.isEmpty(), qPrintable(err));
    }

    void metadata() {
        auto info = readModelFileInfo(source_);
        QVERIFY2(info.ok(), info.message().c_str());
        QCOMPARE(info->name, QStringLiteral("Tiny Test Model"));
        QCOMPARE(info->architecture, QStringLiteral("llama"));
        QCOMPARE(info->quantization, QStringLiteral("F32"));
        QCOMPARE(info->contextLength, 4096);
        QCOMPARE(info->nLayer, 2);
        QCOMPARE(info->nKvHead, 2);
        QCOMPARE(info->headDim, 16);
        QVERIFY(info->nParams > 100000);
        QCOMPARE(qint64(info->fileSize), QFileInfo(source_).size());
        // KV cache: 2 (K,V) × layers × context × kv heads × head dim × 2 bytes (F16).
        QCOMPARE(estimateMemory(*info, 1024).kvBytes, uint64_t(2) * 2 * 1024 * 2 * 16 * 2);
        QVERIFY(!readModelFileInfo(dir_.filePath("missing.gguf")).ok());
    }

    void splitFiles() {
        const QString splitDir = dir_.filePath("split");
        QDir().mkpath(splitDir);
        // Part 1: metadata and one tensor; part 2: another tensor.
        std::vector<float> w(64, 0.5f);
        hearth::gguf::Writer p1;
        p1.set_string("general.architecture", "llama");
        p1.set_string("general.name", "Split Model");
        p1.set_u32("llama.context_length", 2048);
        p1.set_u32("split.count", 2);
        QVERIFY(p1.add_tensor("a", hearth::GgmlType::F32, {64}, w.data(), w.size() * 4).ok());
        QVERIFY(p1.write(QDir(splitDir).filePath("big-00001-of-00002.gguf").toStdString()).ok());
        hearth::gguf::Writer p2;
        p2.set_u32("split.count", 2);
        QVERIFY(p2.add_tensor("b", hearth::GgmlType::F32, {32}, w.data(), 32 * 4).ok());
        QVERIFY(p2.write(QDir(splitDir).filePath("big-00002-of-00002.gguf").toStdString()).ok());

        QString prefix;
        int index = 0, count = 0;
        QVERIFY(parseSplitName("big-00002-of-00002.gguf", &prefix, &index, &count));
        QCOMPARE(prefix, QStringLiteral("big"));
        QCOMPARE(index, 2);
        QVERIFY(!parseSplitName("big.gguf", nullptr, nullptr, nullptr));

        auto models = scanModelsFolder(splitDir);
        QCOMPARE(int(models.size()), 1);  // one entry for both parts
        QCOMPARE(models[0].parts.size(), 2);
        QCOMPARE(models[0].nParams, uint64_t(96));
        QCOMPARE(models[0].name, QStringLiteral("Split Model"));
        QVERIFY(models[0].error.isEmpty());

        QVERIFY(QFile::remove(QDir(splitDir).filePath("big-00002-of-00002.gguf")));
        models = scanModelsFolder(splitDir);
        QCOMPARE(int(models.size()), 1);
        QVERIFY2(models[0].error.contains("part 2 of 2 is missing"), qPrintable(models[0].error));
    }

    void importCopyUseInPlaceDelete() {
        AppSettings settings(dir_.filePath("lib.ini"));
        settings.setModelsFolder(dir_.filePath("models"));
        ModelLibrary lib(&settings);
        QAbstractItemModelTester tester(lib.list(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy imported(&lib, &ModelLibrary::imported);
        QSignalSpy failed(&lib, &ModelLibrary::importFailed);
        QSignalSpy progress(&lib, &ModelLibrary::importChanged);

        // Copy into the folder.
        lib.importPath(source_, true);
        QVERIFY(lib.importing());
        QVERIFY(imported.wait(30000));
        const QString copied = imported.last().at(0).toString();
        QCOMPARE(copied, QDir(dir_.filePath("models")).filePath("tiny-q.gguf"));
        QVERIFY(QFile::exists(copied));
        QVERIFY(!QFile::exists(copied + ".part"));
        QVERIFY(progress.count() >= 2);  // started, finished (and progress in between for big files)
        QTRY_COMPARE_WITH_TIMEOUT(lib.list()->count(), 1, 10000);

        // Importing it again is refused (same name), not overwritten.
        lib.importPath(source_, true);
        QVERIFY(failed.wait(30000));
        QVERIFY(failed.last().at(0).toString().contains("already"));

        // A file that is not a model is refused before anything is copied.
        const QString bogus = dir_.filePath("downloads/notes.gguf");
        QFile b(bogus);
        QVERIFY(b.open(QIODevice::WriteOnly));
        b.write("hello");
        b.close();
        lib.importPath(bogus, true);
        QVERIFY(failed.wait(30000));
        QVERIFY(!QFile::exists(QDir(dir_.filePath("models")).filePath("notes.gguf")));

        // Use in place: listed, not copied; deleting forgets it and keeps the file.
        lib.importPath(source_, false);
        QVERIFY(imported.wait(30000));
        QCOMPARE(imported.last().at(0).toString(), source_);
        QVERIFY(lib.externalModels().contains(source_));
        QTRY_COMPARE_WITH_TIMEOUT(lib.list()->count(), 2, 10000);
        QVERIFY(lib.deleteModel(source_));
        QVERIFY(QFile::exists(source_));
        QTRY_COMPARE_WITH_TIMEOUT(lib.list()->count(), 1, 10000);

        // Memory estimate and the refusal of a model that cannot fit.
        const QVariantMap est = lib.estimate(copied, 2048);
        QVERIFY(est.value("total").toDouble() > est.value("weights").toDouble());
        QVERIFY(est.value("fits").toBool());
        QVERIFY(lib.refuseReason(copied, 4096).isEmpty());
        QVERIFY(!lib.refuseReason(dir_.filePath("downloads/notes.gguf"), 4096).isEmpty());

        // Deleting a copied model removes the file.
        QVERIFY(lib.deleteModel(copied));
        QVERIFY(!QFile::exists(copied));
        QTRY_COMPARE_WITH_TIMEOUT(lib.list()->count(), 0, 10000);
    }

    void cannotFitIsRefused() {
        // A model whose KV cache alone at its full context needs more than any machine has.
        const QString path = dir_.filePath("huge/huge.gguf");
        QDir().mkpath(dir_.filePath("huge"));
        hearth::gguf::Writer w;
        w.set_string("general.architecture", "llama");
        w.set_u32("llama.context_length", 1u << 30);
        w.set_u32("llama.block_count", 4096);
        w.set_u32("llama.embedding_length", 65536);
        w.set_u32("llama.attention.head_count", 64);
        w.set_u32("llama.attention.head_count_kv", 64);
        QVERIFY(w.write(path.toStdString()).ok());
        AppSettings settings(dir_.filePath("huge.ini"));
        ModelLibrary lib(&settings);
        const QString why = lib.refuseReason(path, 1 << 20);
        QVERIFY2(why.contains("only") && why.contains("free"), qPrintable(why));
    }
};

QTEST_GUILESS_MAIN(ModelLibraryTest)
#include "test_model_library.moc"
