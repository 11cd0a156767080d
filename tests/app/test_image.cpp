// The Image tab's logic through ImageController (issue #15, "App"): a real generation with the
// shared tiny SD 1.5 pipeline (progress per step with a preview, the PNG written and readable, its
// gallery row with the settings), Stop in the middle (no file, no row), delete, "use these settings
// again", the gallery after a restart, a folder that is not a pipeline, the form's checks, the
// memory warning and "unload the chat model for this run", and the hand-off from the chat: Send to
// Image, and Write a prompt through the chat's inference worker with the tiny chat model (the
// request path, not the words: the model has random weights). Skipped without the shared test data
// (HEARTH_TESTDATA/diffusion/tiny-sd15).
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/app_context.h"
#include "app/controllers/chat_controller.h"
#include "app/controllers/image_controller.h"
#include "app/settings/app_settings.h"
#include "app/store/image_gallery.h"
#include "engine/util/png_file.h"
#include "tests/app/add_image_model.h"
#include "tests/app/app_window.h"
#include "tests/app/file_size_limit.h"
#include "tests/app/tiny_model.h"
#include "tests/engine/single_file_writer.h"

using namespace hearth::app;

class ImageTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString pipeline_;
    std::unique_ptr<AppContext> context_;

    ImageController* images() { return context_->images(); }

    void start() {
        context_.reset();
        context_ = test::makeAppContext(dir_.path(), "en", "light", QRect(0, 0, 1200, 800));
        context_->settings()->setThreads(2);
        QTRY_VERIFY_WITH_TIMEOUT(images()->models().size() >= 1, 10000);  // the folder added earlier, or none
    }

    // The form for a quick 64×64 run with a fixed seed.
    void quickForm(int steps = 4) {
        images()->setPrompt(QStringLiteral("a red fox in the snow"));
        images()->setNegative(QStringLiteral("blurry"));
        images()->setWidth(64);
        images()->setHeight(64);
        images()->setSteps(steps);
        images()->setGuidance(7.5);
        images()->setSampler(QStringLiteral("euler"));
        images()->setRandomSeed(false);
        images()->setSeed(QStringLiteral("3"));
    }

    QStringList pngsOnDisk() { return QDir(images()->imagesDir()).entryList({QStringLiteral("*.png")}, QDir::Files); }

    std::vector<ImageRecord> rows() {
        ImageGallery g(context_->store());
        auto all = g.all();
        return all.ok() ? *all : std::vector<ImageRecord>{};
    }

private slots:
    void initTestCase() {
        pipeline_ = test::testdataFile(QStringLiteral("diffusion/tiny-sd15"));
        if (!QFile::exists(pipeline_ + QStringLiteral("/model_index.json")))
            QSKIP(qPrintable(pipeline_ + " is absent (the shared test data): skipping the Image tab tests"));
        context_ = test::makeAppContext(dir_.path(), "en", "light", QRect(0, 0, 1200, 800));
        context_->settings()->setThreads(2);
        QVERIFY2(test::addImageModel(images(), pipeline_), qPrintable(images()->errorText()));
        QCOMPARE(images()->modelPath(), QDir::cleanPath(pipeline_));
        const QVariantMap m = images()->models().first().toMap();
        QCOMPARE(m.value("kind").toString(), QStringLiteral("Stable Diffusion 1.x"));
        QVERIFY(m.value("usable").toBool());
        QVERIFY(m.value("bytes").toDouble() > 1e6);
    }

    void notAPipelineIsRefused() {
        QTemporaryDir other;
        QVERIFY(!test::addImageModel(images(), other.path()));
        QVERIFY(images()->errorText().contains(QLatin1String("model_index.json")));
        images()->dismissError();
        // A model_index.json without the parts.
        QFile f(other.filePath("model_index.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"_class_name\": \"StableDiffusionPipeline\"}");
        f.close();
        QVERIFY(!test::addImageModel(images(), other.path()));
        QVERIFY2(images()->errorText().contains(QLatin1String("text_encoder")), qPrintable(images()->errorText()));
        images()->dismissError();
        QCOMPARE(images()->models().size(), 1);
    }

    // An add or a removal that lands while a scan started before it is still running: the list never
    // shows that scan's out-of-date view (it did: the model just added vanished until the next scan,
    // and the page said "Choose an image model first"; a removed one came back for a moment).
    void addAndRemoveWhileAScanRuns() {
        const QString path = QDir::cleanPath(pipeline_);
        const auto listed = [&] {
            for (const QVariant& v : images()->models())
                if (v.toMap().value("path").toString() == path) return true;
            return false;
        };
        bool removed = false, added = false, cameBack = false, vanished = false;
        const auto watch = connect(images(), &ImageController::modelsChanged, this, [&] {
            if (removed && listed()) cameBack = true;
            if (added && !listed()) vanished = true;
        });
        const auto onAdded = connect(images(), &ImageController::modelAdded, this, [&] {
            added = true;
            if (!listed()) vanished = true;
        });
        for (int i = 0; i < 10 && !cameBack && !vanished; ++i) {
            added = false;
            images()->refreshModels();  // a scan that still finds it
            images()->forgetModelFolder(path);
            removed = true;
            QTest::qWait(60);
            removed = false;
            images()->refreshModels();  // a scan that does not
            QSignalSpy answered(images(), &ImageController::modelAdded);
            images()->addModelPath(path);
            QTRY_VERIFY_WITH_TIMEOUT(!answered.isEmpty(), 10000);
            QTest::qWait(60);
        }
        disconnect(watch);
        disconnect(onAdded);
        QVERIFY2(!cameBack, "a scan that started before the removal listed the model again");
        QVERIFY2(!vanished, "a scan that started before the add dropped the model just added");
        QVERIFY(listed());
        QCOMPARE(images()->models().size(), 1);
        QCOMPARE(images()->modelPath(), path);
    }

    void formChecks() {
        quickForm();
        images()->setWidth(100);
        QVERIFY(!images()->generate());
        QVERIFY2(images()->errorText().contains(QLatin1String("multiples of 8")), qPrintable(images()->errorText()));
        images()->setWidth(64);
        images()->setPrompt(QStringLiteral("   "));
        QVERIFY(!images()->generate());
        images()->setPrompt(QStringLiteral("a fox"));
        images()->setSteps(0);
        QVERIFY(!images()->generate());
        images()->setSteps(4);
        images()->setSeed(QStringLiteral("twelve"));
        QVERIFY(!images()->generate());
        QVERIFY(!images()->running());
        images()->dismissError();
    }

    void generateSavesPngAndRow() {
        quickForm(4);
        QSignalSpy finished(images(), &ImageController::runFinished);
        QList<int> steps;
        int previews = 0;
        auto c1 = connect(images(), &ImageController::runChanged, this, [&] {
            if (images()->running() && images()->step() > 0 && (steps.isEmpty() || steps.last() != images()->step()))
                steps << images()->step();
        });
        auto c2 = connect(images(), &ImageController::previewChanged, this, [&] {
            if (images()->previewSerial() > 0 && !images()->preview().isNull()) ++previews;
        });
        QVERIFY2(images()->generate(), qPrintable(images()->errorText()));
        QVERIFY(images()->running());
        QVERIFY(finished.wait(60000));
        disconnect(c1);
        disconnect(c2);
        QCOMPARE(finished.first().at(1).toBool(), false);
        const qint64 id = finished.first().at(0).toLongLong();
        QVERIFY2(id > 0, qPrintable(images()->errorText()));
        QCOMPARE(steps, (QList<int>{1, 2, 3, 4}));   // one progress event per step, in order
        QCOMPARE(previews, 4);                       // and a preview with each
        QCOMPARE(images()->preview().size(), QSize(64, 64));  // 8×8 latents drawn 8× larger
        QCOMPARE(images()->currentImageId(), id);

        // The PNG: in <data>/images/, readable, 64×64, the settings in its text chunks.
        const QString file = images()->currentImageFile();
        QVERIFY(file.startsWith(images()->imagesDir()));
        auto png = hearth::read_png_rgb(file.toStdString());
        QVERIFY2(png.ok(), png.ok() ? "" : png.message().c_str());
        QCOMPARE(png->width, 64);
        QCOMPARE(png->height, 64);
        bool promptChunk = false;
        for (const auto& [k, v] : png->text) promptChunk |= (k == "prompt" && v == "a red fox in the snow");
        QVERIFY(promptChunk);

        // The gallery row, as stored.
        QVERIFY(context_->store()->flush().ok());
        const auto all = rows();
        QCOMPARE(int(all.size()), 1);
        const ImageRecord& r = all.front();
        QCOMPARE(r.id, id);
        QCOMPARE(r.file, file);
        QCOMPARE(r.prompt, QStringLiteral("a red fox in the snow"));
        QCOMPARE(r.negative, QStringLiteral("blurry"));
        QCOMPARE(r.seed, uint64_t(3));
        QCOMPARE(r.width, 64);
        QCOMPARE(r.height, 64);
        QCOMPARE(r.steps, 4);
        QCOMPARE(r.guidance, 7.5);
        QCOMPARE(r.sampler, QStringLiteral("euler"));
        QCOMPARE(r.model, QDir::cleanPath(pipeline_));
        QVERIFY(r.seconds > 0);
        QVERIFY(r.createdAt > 0);
        QCOMPARE(images()->gallery()->count(), 1);
    }

    void sameSeedSameImage() {
        // The pipeline stays open between runs; a fixed seed draws the same picture.
        const QString first = images()->currentImageFile();
        quickForm(4);
        QSignalSpy finished(images(), &ImageController::runFinished);
        QSignalSpy opened(images(), &ImageController::runChanged);
        QVERIFY(images()->generate());
        QVERIFY(finished.wait(60000));
        QVERIFY(finished.first().at(0).toLongLong() > 0);
        QVERIFY(!images()->opening());
        auto a = hearth::read_png_rgb(first.toStdString());
        auto b = hearth::read_png_rgb(images()->currentImageFile().toStdString());
        QVERIFY(a.ok() && b.ok());
        QVERIFY(a->rgb == b->rgb);
        QCOMPARE(images()->gallery()->count(), 2);
    }

    void stopMidRunLeavesNothing() {
        quickForm(150);  // long enough to stop in the middle (the most the form allows)
        const QStringList before = pngsOnDisk();
        const int rowsBefore = int(rows().size());
        QSignalSpy finished(images(), &ImageController::runFinished);
        auto c = connect(images(), &ImageController::runChanged, this, [&] {
            if (images()->running() && images()->step() == 2) images()->stop();
        });
        QVERIFY(images()->generate());
        QVERIFY(finished.wait(60000));
        disconnect(c);
        QCOMPARE(finished.first().at(0).toLongLong(), qint64(0));
        QCOMPARE(finished.first().at(1).toBool(), true);
        QVERIFY(images()->step() < 150);
        QVERIFY(images()->errorText().isEmpty());  // a stop is no error
        QCOMPARE(pngsOnDisk(), before);
        QVERIFY(context_->store()->flush().ok());
        QCOMPARE(int(rows().size()), rowsBefore);
        QCOMPARE(images()->gallery()->count(), rowsBefore);
        QVERIFY(QDir(images()->imagesDir()).entryList({QStringLiteral("*.part")}, QDir::Files).isEmpty());
    }

    void reuseSettingsFillsTheForm() {
        const qint64 id = images()->gallery()->data(images()->gallery()->index(0), GalleryListModel::IdRole).toLongLong();
        images()->setPrompt(QStringLiteral("something else"));
        images()->setNegative(QString());
        images()->setWidth(512);
        images()->setSteps(30);
        images()->setGuidance(2);
        images()->setSampler(QStringLiteral("ddim"));
        images()->setRandomSeed(true);
        images()->reuseSettings(id);
        QCOMPARE(images()->prompt(), QStringLiteral("a red fox in the snow"));
        QCOMPARE(images()->negative(), QStringLiteral("blurry"));
        QCOMPARE(images()->width(), 64);
        QCOMPARE(images()->height(), 64);
        QCOMPARE(images()->steps(), 4);
        QCOMPARE(images()->guidance(), 7.5);
        QCOMPARE(images()->sampler(), QStringLiteral("euler"));
        QCOMPARE(images()->randomSeed(), false);
        QCOMPARE(images()->seed(), QStringLiteral("3"));
        QCOMPARE(images()->modelPath(), QDir::cleanPath(pipeline_));
    }

    void galleryAfterRestart() {
        const int count = images()->gallery()->count();
        QVERIFY(count >= 2);
        start();  // a new AppContext over the same data folder and settings
        QCOMPARE(images()->gallery()->count(), count);
        QTRY_COMPARE_WITH_TIMEOUT(images()->modelPath(), QDir::cleanPath(pipeline_), 5000);  // the added folder is remembered
    }

    void deleteRemovesFileAndRow() {
        const int count = images()->gallery()->count();
        const qint64 id = images()->gallery()->data(images()->gallery()->index(0), GalleryListModel::IdRole).toLongLong();
        const QString file = images()->gallery()->data(images()->gallery()->index(0), GalleryListModel::FileRole).toString();
        QVERIFY(QFile::exists(file));
        images()->showImage(id);
        QVERIFY(images()->deleteImage(id));
        QVERIFY(!QFile::exists(file));
        QCOMPARE(images()->gallery()->count(), count - 1);
        QCOMPARE(images()->currentImageId(), qint64(0));
        QVERIFY(context_->store()->flush().ok());
        QCOMPARE(int(rows().size()), count - 1);
        for (const ImageRecord& r : rows()) QVERIFY(r.id != id);
    }

    void saveAsCopiesThePng() {
        const qint64 id = images()->gallery()->data(images()->gallery()->index(0), GalleryListModel::IdRole).toLongLong();
        const QString to = dir_.filePath("saved/fox.png");
        QDir().mkpath(dir_.filePath("saved"));
        QVERIFY(images()->saveImageAs(id, QUrl::fromLocalFile(to)));
        QVERIFY(hearth::read_png_rgb(to.toStdString()).ok());
        QCOMPARE(images()->suggestedFileName(id), QStringLiteral("a-red-fox-in-the-snow.png"));

        // Saved again over it onto a full disk: an error, and the picture that was there stays whole
        // (it used to be removed before the copy was tried), with no half-written file beside it.
        QFile before(to);
        QVERIFY(before.open(QIODevice::ReadOnly));
        const QByteArray was = before.readAll();
        before.close();
        QVERIFY(was.size() > 200);
        images()->dismissError();
        {
            test::FileSizeLimit full(100);
            QVERIFY(full.ok());
            QVERIFY(!images()->saveImageAs(id, QUrl::fromLocalFile(to)));
        }
        QVERIFY2(images()->errorText().contains("fox.png"), qPrintable(images()->errorText()));
        QVERIFY2(images()->errorText().contains("disk full"), qPrintable(images()->errorText()));
        QFile after(to);
        QVERIFY(after.open(QIODevice::ReadOnly));
        QCOMPARE(after.readAll(), was);
        QCOMPARE(QDir(dir_.filePath("saved")).entryList(QDir::Files), QStringList{"fox.png"});
        images()->dismissError();
    }

    void nonSquareAndTurbo() {
        // 128×64 with the F16 SD 1.5 pipeline, then SD-Turbo (F32 weights, SD 2.x family): one step
        // without guidance, as it is meant to run.
        quickForm(2);
        images()->setWidth(128);
        QSignalSpy finished(images(), &ImageController::runFinished);
        QVERIFY(images()->generate());
        QVERIFY(finished.wait(60000));
        QVERIFY2(finished.first().at(0).toLongLong() > 0, qPrintable(images()->errorText()));
        auto wide = hearth::read_png_rgb(images()->currentImageFile().toStdString());
        QVERIFY(wide.ok());
        QCOMPARE(wide->width, 128);
        QCOMPARE(wide->height, 64);

        const QString turbo = test::testdataFile(QStringLiteral("diffusion/tiny-sd-turbo"));
        if (!QFile::exists(turbo + QStringLiteral("/model_index.json"))) QSKIP("tiny-sd-turbo is absent");
        QVERIFY2(test::addImageModel(images(), turbo), qPrintable(images()->errorText()));
        QCOMPARE(images()->modelPath(), QDir::cleanPath(turbo));
        bool listed = false;
        for (const QVariant& v : images()->models())
            listed |= v.toMap().value("path").toString() == QDir::cleanPath(turbo) && v.toMap().value("kind").toString() == "SD-Turbo";
        QVERIFY(listed);
        quickForm(1);
        images()->setGuidance(0);
        finished.clear();
        QVERIFY(images()->generate());
        QVERIFY(images()->running());
        QVERIFY(finished.wait(60000));
        QVERIFY2(finished.first().at(0).toLongLong() > 0, qPrintable(images()->errorText()));
        QVERIFY(context_->store()->flush().ok());
        QCOMPARE(rows().front().model, QDir::cleanPath(turbo));
        QCOMPARE(rows().front().guidance, 0.0);
        // Back to SD 1.5 for the tests below (the pipeline is opened again for it).
        images()->setModelPath(QDir::cleanPath(pipeline_));
        images()->forgetModelFolder(turbo);
        QCOMPARE(images()->models().size(), 1);
    }

    void singleFileCheckpoint() {
        // "Add checkpoint…": the tiny SD 1.5 pipeline written as one original-layout .safetensors
        // (tests/engine/single_file_writer.h), no tokenizer beside it. Refused without a config
        // folder and with one of the other family; with the pipeline's folder it is listed, selected,
        // draws exactly the folder's picture, and is remembered after a restart.
        const QString file = dir_.filePath(QStringLiteral("tiny-sd15-single.safetensors"));
        const std::string written = hearth::test::write_single_file_checkpoint(hearth::test::kSd15File, pipeline_.toStdString(),
                                                                               file.toStdString());
        QVERIFY2(written.empty(), written.c_str());
        QVERIFY(images()->checkpointNeedsConfigFolder(QUrl::fromLocalFile(file)));
        QVERIFY(!images()->checkpointNeedsConfigFolder(QUrl::fromLocalFile(pipeline_ + QStringLiteral("/beside-its-tokenizer.safetensors"))));

        QSignalSpy added(images(), &ImageController::modelAdded);
        images()->addCheckpointPath(file, QString());
        QTRY_VERIFY_WITH_TIMEOUT(images()->errorText().contains(QLatin1String("carries no tokenizer")), 10000);
        const QString turbo = test::testdataFile(QStringLiteral("diffusion/tiny-sd-turbo"));
        if (QFile::exists(turbo + QStringLiteral("/model_index.json"))) {
            images()->addCheckpointPath(file, turbo);
            QTRY_VERIFY_WITH_TIMEOUT(images()->errorText().contains(QLatin1String("an SD 1.x checkpoint")), 10000);
        }
        images()->addCheckpointPath(dir_.filePath(QStringLiteral("nothing.safetensors")), pipeline_);
        QTRY_VERIFY_WITH_TIMEOUT(images()->errorText().contains(QLatin1String("not a .safetensors file")), 10000);
        QCOMPARE(added.count(), 0);
        QCOMPARE(images()->models().size(), 1);

        // The folder's picture first, then the checkpoint's with the same settings.
        quickForm(2);
        QSignalSpy finished(images(), &ImageController::runFinished);
        QVERIFY(images()->generate());
        QVERIFY(finished.wait(60000));
        QVERIFY2(finished.first().at(0).toLongLong() > 0, qPrintable(images()->errorText()));
        const QString folderImage = images()->currentImageFile();

        images()->addCheckpointPath(file, pipeline_);
        QVERIFY(added.wait(10000));
        QCOMPARE(images()->errorText(), QString());
        QCOMPARE(images()->modelPath(), QDir::cleanPath(file));
        QCOMPARE(images()->models().size(), 2);
        QVariantMap entry;
        for (const QVariant& v : images()->models())
            if (v.toMap().value("path").toString() == QDir::cleanPath(file)) entry = v.toMap();
        QCOMPARE(entry.value("kind").toString(), QStringLiteral("Stable Diffusion 1.x"));
        QVERIFY(entry.value("singleFile").toBool());
        QVERIFY(entry.value("usable").toBool());
        QCOMPARE(entry.value("configDir").toString(), QDir::cleanPath(pipeline_));
        QCOMPARE(entry.value("bytes").toDouble(), double(QFileInfo(file).size()));

        quickForm(2);
        finished.clear();
        QVERIFY(images()->generate());
        QVERIFY(finished.wait(60000));
        QVERIFY2(finished.first().at(0).toLongLong() > 0, qPrintable(images()->errorText()));
        auto a = hearth::read_png_rgb(folderImage.toStdString());
        auto b = hearth::read_png_rgb(images()->currentImageFile().toStdString());
        QVERIFY(a.ok() && b.ok());
        QVERIFY(a->rgb == b->rgb);  // the same weights and arithmetic: the same picture
        QVERIFY(context_->store()->flush().ok());
        QCOMPARE(rows().front().model, QDir::cleanPath(file));

        // Remembered with its config folder; removed from the list on request.
        start();
        QTRY_VERIFY_WITH_TIMEOUT(images()->models().size() == 2, 10000);
        bool remembered = false;
        for (const QVariant& v : images()->models())
            remembered |= v.toMap().value("path").toString() == QDir::cleanPath(file) &&
                          v.toMap().value("configDir").toString() == QDir::cleanPath(pipeline_) && v.toMap().value("usable").toBool();
        QVERIFY(remembered);
        images()->setModelPath(QDir::cleanPath(pipeline_));
        images()->forgetModelFolder(file);
        QCOMPARE(images()->models().size(), 1);
        start();
        QCOMPARE(images()->models().size(), 1);
    }

    void engineErrorInTheBanner() {
        // A folder that looks like a pipeline but whose UNet weights are not safetensors: the
        // engine's refusal is shown in the banner, and nothing is written.
        QTemporaryDir broken;
        for (const char* part : {"text_encoder", "tokenizer", "unet", "vae", "scheduler"}) {
            QDir().mkpath(broken.filePath(part));
            for (const QFileInfo& f : QDir(pipeline_ + "/" + part).entryInfoList(QDir::Files))
                QVERIFY(QFile::copy(f.absoluteFilePath(), broken.filePath(QString::fromLatin1(part) + "/" + f.fileName())));
        }
        QVERIFY(QFile::copy(pipeline_ + "/model_index.json", broken.filePath("model_index.json")));
        {
            QFile unet(broken.filePath("unet/diffusion_pytorch_model.safetensors"));
            QVERIFY(unet.open(QIODevice::WriteOnly | QIODevice::Truncate));
            unet.write("this is not a safetensors file");
        }
        QVERIFY2(test::addImageModel(images(), broken.path()), qPrintable(images()->errorText()));
        quickForm(2);
        const int before = images()->gallery()->count();
        const QStringList pngs = pngsOnDisk();
        QSignalSpy finished(images(), &ImageController::runFinished);
        QVERIFY(images()->generate());
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.first().at(0).toLongLong(), qint64(0));
        QCOMPARE(finished.first().at(1).toBool(), false);
        QVERIFY2(images()->errorText().startsWith(QLatin1String("The picture could not be made:")), qPrintable(images()->errorText()));
        QVERIFY2(images()->errorText().contains(QLatin1String("unet")), qPrintable(images()->errorText()));
        QCOMPARE(images()->gallery()->count(), before);
        QCOMPARE(pngsOnDisk(), pngs);
        images()->dismissError();
        images()->forgetModelFolder(broken.path());
        images()->setModelPath(QDir::cleanPath(pipeline_));
        QCOMPARE(images()->models().size(), 1);
    }

    void sendToImage() {
        QSignalSpy page(images(), &ImageController::pageRequested);
        images()->sendToImage(QStringLiteral("<think>\nThey want a cat.\n</think>\n\nA grey cat asleep on a windowsill"));
        QCOMPARE(page.count(), 1);
        QCOMPARE(images()->prompt(), QStringLiteral("A grey cat asleep on a windowsill"));
    }

    void memoryWarningAndUnloadForTheRun() {
        QVERIFY(ImageController::fitsTogether(1000, 2000, 3000));
        QVERIFY(!ImageController::fitsTogether(1000, 2001, 3000));
        QVERIFY(ImageController::fitsTogether(1000, 2001, 0));  // unknown free memory: no warning

        QString err;
        const QString chatModel = test::writeTinyModel(dir_.filePath("models"), "tiny-chat.gguf", {}, &err);
        QVERIFY2(!chatModel.isEmpty(), qPrintable(err));
        context_->settings()->setContextLength(2048);
        ChatController* chat = context_->chat();
        chat->loadModel(chatModel);
        QTRY_VERIFY_WITH_TIMEOUT(chat->modelState() == QLatin1String("ready"), 30000);
        images()->setAvailableMemoryForTest(1024);  // 1 KB free: nothing fits
        QVERIFY(!images()->memoryWarning().isEmpty());
        QVERIFY(images()->memoryWarning().contains(QLatin1String("tiny-sd15")));
        images()->setAvailableMemoryForTest(uint64_t(1) << 40);
        QVERIFY(images()->memoryWarning().isEmpty());
        images()->setAvailableMemoryForTest(1024);

        // Unloaded for the run, loaded again when it ends.
        images()->unloadChatForRun();
        QTRY_COMPARE_WITH_TIMEOUT(chat->modelState(), QStringLiteral("none"), 10000);
        QVERIFY(images()->memoryWarning().isEmpty());
        quickForm(2);
        QSignalSpy finished(images(), &ImageController::runFinished);
        QVERIFY(images()->generate());
        QVERIFY(finished.wait(60000));
        QTRY_VERIFY_WITH_TIMEOUT(chat->modelState() == QLatin1String("ready"), 30000);
        QCOMPARE(chat->modelPath(), chatModel);
        images()->setAvailableMemoryForTest(0);
    }

    void writePromptGoesThroughTheChatModel() {
        ChatController* chat = context_->chat();
        QVERIFY(chat->modelState() == QLatin1String("ready"));  // from the test above
        context_->settings()->setMaxNewTokens(1024);
        // A conversation that must not change.
        chat->newConversation();
        QVERIFY(chat->send(QStringLiteral("Describe a winter scene")));
        QTRY_VERIFY_WITH_TIMEOUT(!chat->generating(), 60000);
        const qint64 conv = chat->conversationId();
        const int shown = chat->messages()->count();
        QVERIFY(context_->store()->flush().ok());
        const qint64 storedBefore = *context_->store()->db().scalarInt("SELECT count(*) FROM messages");

        // The request reaches the inference worker and its answer comes back to the Image tab.
        // The worker's own signal, heard on this thread (it is emitted on the worker's).
        QList<QPair<quint64, QString>> workerDone;
        auto c = connect(chat->worker(), &InferenceWorker::finished, this, [&](quint64 id, const QVariantMap& stats) {
            workerDone.append({id, stats.value("model").toString()});
        }, Qt::QueuedConnection);
        QSignalSpy oneOff(chat, &ChatController::oneOffFinished);
        QSignalSpy page(images(), &ImageController::pageRequested);
        QVERIFY(images()->writePrompt(QStringLiteral("<think>想一想</think>雪地里的一只红狐狸，黄昏，油画风格")));
        QCOMPARE(page.count(), 1);
        QVERIFY(images()->writingPrompt());
        QVERIFY(oneOff.wait(60000));
        QVERIFY(!images()->writingPrompt());
        QCOMPARE(oneOff.first().at(2).toString(), QString());  // no error
        QTRY_COMPARE_WITH_TIMEOUT(workerDone.size(), 1, 5000);
        disconnect(c);
        QCOMPARE(workerDone.first().first, oneOff.first().at(0).value<quint64>());  // the same request id
        QCOMPARE(workerDone.first().second, chat->modelPath());
        // The words are the random model's; they land in the prompt field (or an empty answer says so).
        const QString answer = oneOff.first().at(1).toString();
        if (answer.simplified().isEmpty()) QVERIFY(images()->errorText().contains(QLatin1String("empty")));
        else QVERIFY(!images()->prompt().isEmpty());
        images()->dismissError();

        // Nothing was stored or shown in the conversation.
        QCOMPARE(chat->conversationId(), conv);
        QCOMPARE(chat->messages()->count(), shown);
        QVERIFY(context_->store()->flush().ok());
        QCOMPARE(*context_->store()->db().scalarInt("SELECT count(*) FROM messages"), storedBefore);
        QVERIFY(chat->errorText().isEmpty());

        // The instruction asks for English and for translation.
        QVERIFY(ImageController::promptInstruction().contains(QLatin1String("English")));
        QVERIFY(ImageController::promptInstruction().contains(QLatin1String("Chinese")));

        // Without a chat model it says so.
        chat->unloadModel();
        QTRY_COMPARE_WITH_TIMEOUT(chat->modelState(), QStringLiteral("none"), 10000);
        QVERIFY(!images()->writePrompt(QStringLiteral("a cat")));
        QVERIFY(images()->errorText().contains(QLatin1String("chat model")));
        images()->dismissError();
    }

    void cleanupTestCase() { context_.reset(); }
};

QTEST_MAIN(ImageTest)
#include "test_image.moc"
