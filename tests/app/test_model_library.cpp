// The Models page's library: metadata read without loading weights, split files as one model,
// import (validate, copy with progress, or use in place), delete, the memory estimate (the engine's
// placement footprint), a model whose vocabulary the engine cannot load marked "cannot be used" and
// refused, and the refusal of a model that cannot fit in host memory (only when it runs there).
#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/hparams.h"
#include "engine/model/placement.h"
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
        QVERIFY(info->nParams > 100000);
        QCOMPARE(qint64(info->fileSize), QFileInfo(source_).size());
        QVERIFY2(info->usable(), qPrintable(info->error));
        // KV cache: 2 (K,V) × layers × context × kv heads × head dim × 2 bytes (F16).
        QCOMPARE(estimateMemory(*info, 1024).kvBytes, uint64_t(2) * 2 * 1024 * 2 * 16 * 2);
        // A context above the training context is clamped as the session clamps it.
        QCOMPARE(estimateMemory(*info, 1 << 20).kvBytes, estimateMemory(*info, 4096).kvBytes);
        // One estimate: the engine's placement footprint, whatever the context.
        auto f = hearth::gguf::File::open(source_.toStdString());
        QVERIFY(f.ok());
        auto hp = hearth::read_hparams(**f);
        QVERIFY(hp.ok());
        for (int ctx : {100, 512, 2048, 4096}) {
            const hearth::ModelFootprint fp = hearth::model_footprint(**f, *hp, ctx, hearth::GgmlType::F16, 256);
            uint64_t total = fp.input + fp.output + fp.scratch;
            for (uint64_t b : fp.layers) total += b;
            QCOMPARE(estimateMemory(*info, ctx).total(), total);
        }
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
        // Both parts are there; what is missing is a model (no hyperparameters, no vocabulary).
        QCOMPARE(int(models[0].problem), int(ModelProblem::Architecture));

        QVERIFY(QFile::remove(QDir(splitDir).filePath("big-00002-of-00002.gguf")));
        models = scanModelsFolder(splitDir);
        QCOMPARE(int(models.size()), 1);
        QVERIFY2(models[0].error.contains("part 2 of 2 is missing"), qPrintable(models[0].error));
        QCOMPARE(int(models[0].problem), int(ModelProblem::MissingPart));
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
        // Not in the list (a failed import is never listed): left to the engine's own check.
        QVERIFY(lib.refuseReason(dir_.filePath("downloads/notes.gguf"), 4096).isEmpty());

        // Deleting a copied model removes the file.
        QVERIFY(lib.deleteModel(copied));
        QVERIFY(!QFile::exists(copied));
        QTRY_COMPARE_WITH_TIMEOUT(lib.list()->count(), 0, 10000);
    }

    void importAndDeleteShowAtOnceWhileAScanRuns() {
        // The list shows an imported model when `imported` is emitted (the wizard names it then), and
        // drops a deleted one at once; a scan that started before either is out of date when it ends
        // and must not put the old list back. Rounds of scan + import and scan + delete, each scan
        // made slow enough to overlap by a folder of a few models.
        const QString folder = dir_.filePath("racing");
        for (int i = 0; i < 6; ++i)
            QVERIFY(!test::writeTinyModel(folder, QStringLiteral("tiny-%1.gguf").arg(i)).isEmpty());
        AppSettings settings(dir_.filePath("racing.ini"));
        settings.setModelsFolder(folder);
        ModelLibrary lib(&settings);
        QAbstractItemModelTester tester(lib.list(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy imported(&lib, &ModelLibrary::imported);
        enum { No, Yes, Either } shouldList = No;  // Either: while the import runs
        QString wrong;
        // Every list the view is given agrees with what was last done.
        connect(lib.list(), &QAbstractItemModel::modelReset, this, [&] {
            if (shouldList != Either && (lib.list()->find(source_) != nullptr) != (shouldList == Yes) && wrong.isEmpty())
                wrong = shouldList ? QStringLiteral("a scan that started before the import dropped the model")
                                   : QStringLiteral("a scan that started before the deletion listed the model again");
        });
        connect(&lib, &ModelLibrary::imported, this, [&](const QString& path) {
            if (!lib.list()->find(path) && wrong.isEmpty()) wrong = QStringLiteral("imported, but not in the list yet");
        });
        for (int round = 0; round < 5; ++round) {
            lib.refresh();
            shouldList = Either;
            lib.importPath(source_, false);
            QVERIFY(imported.wait(30000));
            shouldList = Yes;
            QVERIFY2(wrong.isEmpty(), qPrintable(wrong));
            QTRY_VERIFY_WITH_TIMEOUT(!lib.scanning(), 10000);
            QVERIFY2(wrong.isEmpty(), qPrintable(wrong));
            QCOMPARE(lib.list()->count(), 7);

            lib.refresh();
            shouldList = No;
            QVERIFY(lib.deleteModel(source_));
            QVERIFY2(!lib.list()->find(source_), "deleted, but still in the list");
            QTRY_VERIFY_WITH_TIMEOUT(!lib.scanning(), 10000);
            QVERIFY2(wrong.isEmpty(), qPrintable(wrong));
            QCOMPARE(lib.list()->count(), 6);
        }
        // The external model goes after the folder's; a copy into the folder takes its place by name.
        lib.importPath(source_, false);
        QVERIFY(imported.wait(30000));
        QCOMPARE(lib.list()->index(6).data(ModelFileListModel::PathRole).toString(), source_);
        QVERIFY(lib.deleteModel(source_));
    }

    void unknownPreTokenizerCannotBeUsed() {
        // A BPE vocabulary (GPT-2's) whose tokenizer.ggml.pre names a pre-tokenizer nobody knows,
        // in an otherwise good model: the engine cannot load it, so the library must say so.
        const QString gpt2 = test::testdataFile("vocab/ggml-vocab-gpt-2.gguf");
        if (!QFileInfo::exists(gpt2)) QSKIP(qPrintable(gpt2 + " is not there (the shared test data)"));
        const QString folder = dir_.filePath("unknown-pre");
        QString err;
        const QString path = test::writeUnknownPreModel(folder, "unknown-pre.gguf", gpt2, &err);
        QVERIFY2(!path.isEmpty(), qPrintable(err));

        auto info = readModelFileInfo(path);
        QVERIFY2(info.ok(), info.message().c_str());  // its metadata is readable…
        QVERIFY(!info->usable());                     // …but it cannot be used
        QCOMPARE(int(info->problem), int(ModelProblem::Vocabulary));
        QVERIFY2(info->error.contains("nobody-knows-this-one"), qPrintable(info->error));

        // Scanned: listed with a plain reason and the technical text; not "fits".
        AppSettings settings(dir_.filePath("pre.ini"));
        settings.setModelsFolder(folder);
        ModelLibrary lib(&settings);
        lib.refresh();
        QTRY_COMPARE_WITH_TIMEOUT(lib.list()->count(), 1, 10000);
        const QModelIndex row = lib.list()->index(0);
        QCOMPARE(row.data(ModelFileListModel::UsableRole).toBool(), false);
        QCOMPARE(row.data(ModelFileListModel::ProblemTextRole).toString(), ModelLibrary::problemText(ModelProblem::Vocabulary, "llama"));
        QVERIFY(row.data(ModelFileListModel::ProblemTextRole).toString().contains("vocabulary"));
        QVERIFY(row.data(ModelFileListModel::ErrorRole).toString().contains("pre-tokenizer"));
        QVERIFY(lib.estimate(path, 2048).isEmpty());
        // Loading it is refused from the scan's result, in words a user understands, with the details.
        const QString why = lib.refuseReason(path, 2048, "cpu");
        QVERIFY2(why.contains("cannot be used") && why.contains("nobody-knows-this-one"), qPrintable(why));

        // Importing it is refused before anything is copied.
        AppSettings other(dir_.filePath("pre2.ini"));
        other.setModelsFolder(dir_.filePath("pre-models"));
        ModelLibrary lib2(&other);
        QSignalSpy failed(&lib2, &ModelLibrary::importFailed);
        lib2.importPath(path, true);
        QVERIFY(failed.wait(30000));
        QVERIFY2(failed.last().at(0).toString().contains("vocabulary"), qPrintable(failed.last().at(0).toString()));
        QVERIFY(failed.last().at(1).toString().contains("nobody-knows-this-one"));
        QVERIFY(!QFile::exists(QDir(dir_.filePath("pre-models")).filePath("unknown-pre.gguf")));
    }

    void labelsTellCopiesApart() {
        // Two copies of one model: the picker's label carries the quantization and the file name.
        const QString folder = dir_.filePath("copies");
        QVERIFY(!test::writeTinyModel(folder, "tiny-a.gguf").isEmpty());
        QVERIFY(!test::writeTinyModel(folder, "tiny-b.gguf").isEmpty());
        AppSettings settings(dir_.filePath("copies.ini"));
        settings.setModelsFolder(folder);
        ModelLibrary lib(&settings);
        lib.refresh();
        QTRY_COMPARE_WITH_TIMEOUT(lib.list()->count(), 2, 10000);
        const QString a = lib.list()->index(0).data(ModelFileListModel::LabelRole).toString();
        const QString b = lib.list()->index(1).data(ModelFileListModel::LabelRole).toString();
        QVERIFY(a != b);
        QVERIFY2(a.contains("F32") && (a.contains("tiny-a.gguf") || a.contains("tiny-b.gguf")), qPrintable(a));
    }

    void killedCopyLeftoverIsRemoved() {
        // A copy killed mid-way leaves NAME.gguf.part: the next scan frees it once it has not been
        // written for a minute; a .part still being written (fresh) is left alone.
        const QString folder = dir_.filePath("leftovers");
        QVERIFY(!test::writeTinyModel(folder, "tiny.gguf").isEmpty());
        const QString stale = QDir(folder).filePath("killed.gguf.part");
        const QString fresh = QDir(folder).filePath("copying.gguf.part");
        for (const QString& p : {stale, fresh}) {
            QFile f(p);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray(4096, 'x'));
        }
        {
            QFile f(stale);
            QVERIFY(f.open(QIODevice::ReadWrite));
            QVERIFY(f.setFileTime(QDateTime::currentDateTime().addSecs(-3600), QFileDevice::FileModificationTime));
        }
        AppSettings settings(dir_.filePath("leftovers.ini"));
        settings.setModelsFolder(folder);
        ModelLibrary lib(&settings);
        lib.refresh();
        QTRY_COMPARE_WITH_TIMEOUT(lib.list()->count(), 1, 10000);
        QVERIFY(!QFile::exists(stale));
        QVERIFY(QFile::exists(fresh));
    }

    void cannotFitIsRefused() {
        // A model whose KV cache at its full context needs more than any machine has: 2 layers ×
        // 2 (K,V) × 32 × 2 bytes = 256 bytes a token, × 2^30 tokens = 256 GiB.
        test::TinyModelSpec spec;
        spec.nCtxTrain = 1 << 30;
        const QString folder = dir_.filePath("huge");
        const QString path = test::writeTinyModel(folder, "huge.gguf", spec);
        QVERIFY(!path.isEmpty());
        AppSettings settings(dir_.filePath("huge.ini"));
        settings.setModelsFolder(folder);
        ModelLibrary lib(&settings);
        lib.refresh();
        QTRY_COMPARE_WITH_TIMEOUT(lib.list()->count(), 1, 10000);
        const QString why = lib.refuseReason(path, 1 << 30, "cpu");
        QVERIFY2(why.contains("only") && why.contains("free"), qPrintable(why));
        // On a GPU the placement sizes the layer split from the device's memory: host RAM is not checked.
        QVERIFY(lib.refuseReason(path, 1 << 30, "vulkan:0").isEmpty());
        QVERIFY(lib.refuseReason(path, 1 << 30, "cuda:0").isEmpty());
    }

    void devicesProbedOffTheCallingThread() {
        AppSettings settings(dir_.filePath("dev.ini"));
        ModelLibrary lib(&settings);
        QCOMPARE(lib.devices().size(), 2);  // "auto" and "cpu" before the probe
        QVERIFY(!lib.devicesProbed());
        QSignalSpy changed(&lib, &ModelLibrary::devicesChanged);
        lib.probeDevices();
        QVERIFY(!lib.devicesProbed());  // returned at once; the enumeration runs on a pool thread
        QTRY_VERIFY_WITH_TIMEOUT(lib.devicesProbed(), 60000);
        // Every GPU the engine lists (not a CPU implementation of Vulkan) is offered after the two.
        int gpus = 0;
        for (const hearth::DeviceInfo& d : hearth::list_devices().devices)
            if ((d.backend == "vulkan" || d.backend == "cuda") && d.type != "cpu-implementation") ++gpus;
        QCOMPARE(lib.devices().size(), 2 + gpus);
    }
};

QTEST_GUILESS_MAIN(ModelLibraryTest)
#include "test_model_library.moc"
