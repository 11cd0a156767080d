// Every dialog the app has, opened offscreen against the real QML (Main.qml and its pages): each
// must become visible without a QML warning or error — a Qt module the dialog needs and the system
// lacks ("module "Qt.labs.folderlistmodel" is not installed", which made Import… crash) fails here,
// not on a user's machine. Dialogs are found by type, so one added later is opened too. Each is
// shot to PNG (light, dark, Chinese) for review. Also: Export as Markdown starts in Documents, says
// Save, and saves on a click of that button after a name is typed.
#include <QDir>
#include <QGuiApplication>
#include <QQmlApplicationEngine>
#include <QQuickItem>
#include <QQuickWindow>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/app_context.h"
#include "app/controllers/chat_controller.h"
#include "app/controllers/model_wizard.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "tests/app/app_window.h"
#include "tests/app/file_size_limit.h"
#include "tests/app/quick_find.h"
#include "tests/app/tiny_model.h"
#include "tests/engine/fake_hub.h"

using namespace hearth::app;

namespace {
// Controls' Dialog (a Popup) or a QtQuick.Dialogs dialog (FileDialog, FolderDialog…).
bool isDialog(const QObject* o) {
    return test::inheritsClass(o, "QQuickDialog") || test::inheritsClass(o, "QQuickAbstractDialog");
}

// Warnings that are about QML (ours or Qt's own dialog implementations), not the offscreen platform.
QStringList qmlWarnings() {
    QStringList out;
    for (const QString& w : test::warnings())
        if (w.contains(QLatin1String(".qml")) || w.contains(QLatin1String("QML")) || w.contains(QLatin1String("module")) ||
            w.contains(QLatin1String("qrc:")))
            out << w;
    return out;
}

}  // namespace

class DialogsTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    std::unique_ptr<AppContext> context_;
    std::unique_ptr<QQmlApplicationEngine> engine_;
    QQuickWindow* window_ = nullptr;
    qint64 conversation_ = 0;
    QString model_;
    QString shotsDir_;

    QList<QObject*> dialogs() const {
        QList<QObject*> out;
        for (QObject* o : engine_->rootObjects().first()->findChildren<QObject*>())
            if (isDialog(o) && !o->objectName().isEmpty()) out << o;
        return out;
    }

    // A Popup (`popup` with an `opened` property): shot once its opening transition has ended and a
    // frame has followed; otherwise (the file and folder dialogs, wizard pages changing inside the
    // open wizard) after a fixed 300 ms.
    void shoot(const QString& name, QObject* popup = nullptr) {
        if (popup && popup->metaObject()->indexOfProperty("opened") >= 0) {
            QTRY_VERIFY_WITH_TIMEOUT(popup->property("opened").toBool(), 5000);
            QTest::qWait(50);
        } else {
            QTest::qWait(300);  // let the page's transition and layouts settle
        }
        const QImage img = window_->grabWindow();
        QVERIFY(!img.isNull());
        QVERIFY(img.save(QDir(shotsDir_).filePath(name)));
    }

private slots:
    void initTestCase() {
        test::collectWarnings(true);
        // A home of our own: the export dialog starts in its Documents folder.
        QDir().mkpath(dir_.filePath("home/Documents"));
        qputenv("HOME", dir_.filePath("home").toUtf8());
        shotsDir_ = qEnvironmentVariable("HEARTH_SHOTS_DIR", QStringLiteral(HEARTH_TEST_OUTPUT_DIR "/screenshots/dialogs"));
        QDir().mkpath(shotsDir_);

        context_ = test::makeAppContext(dir_.path(), "en", "light", QRect(0, 0, 1100, 760));
        AppSettings* s = context_->settings();
        QString err;
        model_ = test::writeTinyModel(dir_.filePath("models"), "tiny.gguf", {}, &err);
        QVERIFY2(!model_.isEmpty(), qPrintable(err));
        s->setDefaultModel(model_);
        auto id = context_->store()->createConversation(QString(), QString());
        QVERIFY(id.ok());
        conversation_ = *id;
        (void)context_->store()->addMessage(conversation_, "user", "Describe the city of Rome.");
        (void)context_->store()->addMessage(conversation_, "assistant", "Rome is the capital of Italy.");
        (void)context_->store()->renameConversation(conversation_, "Describe the city of Rome.");
        s->setLastConversationId(conversation_);
        context_->chat()->reloadConversations();

        window_ = test::loadMainWindow(*context_, engine_);
        QVERIFY(window_);
        // The window itself loads without a QML warning (the dialogs' own ones are checked below).
        const QStringList atLoad = qmlWarnings();
        QVERIFY2(atLoad.isEmpty(), qPrintable(atLoad.join(QLatin1Char('\n'))));
    }

    void everyDialogOpens_data() {
        QTest::addColumn<QString>("language");
        QTest::addColumn<QString>("theme");
        QTest::newRow("en-light") << "en" << "light";
        QTest::newRow("en-dark") << "en" << "dark";
        QTest::newRow("zh_CN-light") << "zh_CN" << "light";
    }

    void everyDialogOpens() {
        QFETCH(QString, language);
        QFETCH(QString, theme);
        context_->settings()->setLanguage(language);
        context_->settings()->setTheme(theme);
        QTest::qWait(100);  // the language change reaches the dialogs' buttons (a posted LanguageChange event)
        test::warnings().clear();

        const QList<QObject*> found = dialogs();
        QStringList names;
        for (QObject* d : found) names << d->objectName();
        // The dialogs this test was written with are all still there (found by type, not by this list).
        for (const char* expected : {"importDialog", "importChoiceDialog", "deleteModelDialog", "importErrorDialog",
                                     "renameDialog", "deleteConversationDialog", "switchConversationDialog",
                                     "exportDialog", "modelsFolderDialog", "adaptersDialog", "adapterFileDialog",
                                     "adapterFolderDialog", "mergeOutputDialog", "modelWizard", "wizardFileDialog",
                                     "wizardFolderDialog", "imatrixDialog", "imageFolderDialog", "saveImageDialog",
                                     "deleteImageDialog"})
            QVERIFY2(names.contains(QLatin1String(expected)), expected);

        for (QObject* d : found) {
            const QString name = d->objectName();
            // Dialogs of a page show over that page.
            window_->setProperty("page", name == "imageFolderDialog" ? "models"
                                         : name.endsWith("ImageDialog") ? "image"
                                         : name.contains("model", Qt::CaseInsensitive) || name.startsWith("import")
                                             ? (name == "modelsFolderDialog" ? "settings" : "models") : "chat");
            // Opened the way the app opens them (with their content), or plainly when the app has no helper.
            const QVariant title = QStringLiteral("Describe the city of Rome.");
            bool ok = false;
            if (name == "exportDialog" || name == "mergeOutputDialog")
                ok = name == "mergeOutputDialog"
                         ? QMetaObject::invokeMethod(d, "start")
                         : QMetaObject::invokeMethod(d, "start", Q_ARG(QVariant, conversation_), Q_ARG(QVariant, "markdown"));
            else if (name == "renameDialog" || name == "deleteConversationDialog")
                ok = QMetaObject::invokeMethod(d, "openFor", Q_ARG(QVariant, conversation_), Q_ARG(QVariant, title));
            else if (name == "switchConversationDialog")
                ok = QMetaObject::invokeMethod(d, "openFor", Q_ARG(QVariant, 0));
            else if (name == "deleteModelDialog")
                ok = QMetaObject::invokeMethod(d, "openFor", Q_ARG(QVariant, model_), Q_ARG(QVariant, "Tiny Test Model"));
            else if (name == "importChoiceDialog")
                ok = QMetaObject::invokeMethod(d, "openFor", Q_ARG(QVariant, QUrl::fromLocalFile(model_)));
            else if (name == "importErrorDialog") {
                ok = QMetaObject::invokeMethod(d, "show", Q_ARG(QVariant, ModelLibrary::problemText(ModelProblem::Vocabulary, "llama")),
                                               Q_ARG(QVariant, "unknown-pre.gguf: vocabulary: unsupported pre-tokenizer 'smollm'"));
                d->setProperty("showDetails", true);
            } else
                ok = QMetaObject::invokeMethod(d, "open");
            QVERIFY2(ok, qPrintable(name));
            QTRY_VERIFY2_WITH_TIMEOUT(d->property("visible").toBool(), qPrintable(name + " did not become visible"), 5000);
            shoot(QStringLiteral("%1_%2_%3.png").arg(name, language, theme), d);
            QVERIFY(QMetaObject::invokeMethod(d, "close"));
            QTRY_VERIFY_WITH_TIMEOUT(!d->property("visible").toBool(), 5000);
            const QStringList warnings = qmlWarnings();
            QVERIFY2(warnings.isEmpty(), qPrintable(name + ":\n" + warnings.join(QLatin1Char('\n'))));
        }
    }

    // The model wizard's every page, reached through the real steps (a fake hub on 127.0.0.1, the
    // shared tiny-llama checkpoint for Convert and Quality), each shot and free of QML warnings.
    void everyWizardPageOpens_data() { everyDialogOpens_data(); }

    void everyWizardPageOpens() {
        QFETCH(QString, language);
        QFETCH(QString, theme);
        qunsetenv("HF_ENDPOINT");
        context_->settings()->setLanguage(language);
        context_->settings()->setTheme(theme);
        QTest::qWait(100);
        test::warnings().clear();
        hearth::test::FakeHub hub;
        QString err;
        const QString served = test::writeTinyModel(dir_.filePath("served"), "served.gguf", test::slowSpec(), &err);
        QVERIFY2(!served.isEmpty(), qPrintable(err));
        QFile f(served);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const std::string bytes = f.readAll().toStdString();
        // The catalog's first model, served with a file per quantization (the Q4_K_M one a real tiny model).
        auto catalog = hearth::hub::builtin_catalog();
        QVERIFY(catalog.ok());
        const hearth::hub::CatalogEntry& entry = catalog->models.front();
        hub.repo = entry.gguf_repo;
        const std::string stem = "wizard-" + language.toStdString() + "-" + theme.toStdString();
        hub.files = {{stem + "-Q4_K_M.gguf", bytes, true}, {stem + "-Q5_K_M.gguf", bytes + "5", true},
                     {stem + "-Q6_K.gguf", bytes + "66", true}, {stem + "-Q8_0.gguf", bytes + bytes, true},
                     {"README.md", "# card\n", false}};
        context_->settings()->setHubEndpoint(QString::fromStdString(hub.endpoint()));

        ModelWizard* w = context_->wizard();
        QObject* d = engine_->rootObjects().first()->findChild<QObject*>("modelWizard");
        QVERIFY(d);
        window_->setProperty("page", "models");
        QVERIFY(QMetaObject::invokeMethod(d, "openAt", Q_ARG(QVariant, "source")));
        QTRY_VERIFY_WITH_TIMEOUT(d->property("visible").toBool(), 5000);
        const QString suffix = language + "_" + theme;
        shoot(QStringLiteral("wizard_1_source_%1.png").arg(suffix));

        // A failure shows its cause and what to do.
        hub.fail_status = 403;
        hub.fail_code = "GatedRepo";
        w->chooseRepo("org/model");
        QTRY_VERIFY_WITH_TIMEOUT(!w->busy() && !w->error().isEmpty(), 10000);
        shoot(QStringLiteral("wizard_1_source_error_%1.png").arg(suffix));
        hub.fail_status = 0;

        w->chooseCatalog(QString::fromStdString(entry.id), "Q4_K_M");
        QTRY_COMPARE_WITH_TIMEOUT(w->page(), QStringLiteral("files"), 10000);
        QCOMPARE(w->quants().size(), qsizetype(entry.quants.size()));
        shoot(QStringLiteral("wizard_2_files_%1.png").arg(suffix));

        hub.chunk_delay_ms = 40;
        w->startDownload();
        QTRY_VERIFY_WITH_TIMEOUT(w->download().value("speed").toDouble() > 0, 20000);  // speed and time left shown
        shoot(QStringLiteral("wizard_3_download_%1.png").arg(suffix));
        w->pauseDownload();
        QTRY_COMPARE_WITH_TIMEOUT(w->download().value("state").toString(), QStringLiteral("paused"), 10000);
        shoot(QStringLiteral("wizard_3_download_paused_%1.png").arg(suffix));
        hub.chunk_delay_ms = 0;
        w->resumeDownload();
        QTRY_COMPARE_WITH_TIMEOUT(w->page(), QStringLiteral("done"), 20000);
        shoot(QStringLiteral("wizard_6_done_%1.png").arg(suffix));

        const QString hf = test::testdataFile("hf-models/tiny-llama/hf");
        if (QFileInfo::exists(hf + "/config.json")) {
            w->chooseLocalPath(hf);
            QTRY_COMPARE_WITH_TIMEOUT(w->page(), QStringLiteral("convert"), 5000);
            shoot(QStringLiteral("wizard_4_convert_%1.png").arg(suffix));
            w->startBuild("Q4_0");
            QTRY_COMPARE_WITH_TIMEOUT(w->page(), QStringLiteral("quality"), 60000);
            shoot(QStringLiteral("wizard_5_quality_%1.png").arg(suffix));
            w->runQuality();
            QTRY_VERIFY_WITH_TIMEOUT(!w->busy(), 120000);
            QVERIFY2(w->error().isEmpty(), qPrintable(w->error()));
            shoot(QStringLiteral("wizard_5_quality_measured_%1.png").arg(suffix));
            w->skipQuality();
            QCOMPARE(w->page(), QStringLiteral("done"));
        } else {
            qWarning("shared test data (hf-models/tiny-llama) not found: the Convert and Quality pages are not shot");
        }
        // An embedding model (the tiny sentence-transformers fixture in the repository): its quality
        // page compares vectors, and its last page offers it to the local API.
        w->chooseLocalPath(QStringLiteral(HEARTH_TEST_SOURCE_DIR "/../engine/data/tiny-bert"));
        QTRY_COMPARE_WITH_TIMEOUT(w->page(), QStringLiteral("convert"), 5000);
        w->startBuild("Q4_0");
        QTRY_COMPARE_WITH_TIMEOUT(w->page(), QStringLiteral("quality"), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(w->resultEmbedding(), 10000);
        w->runQuality();
        QTRY_VERIFY_WITH_TIMEOUT(!w->busy(), 60000);
        QVERIFY2(w->error().isEmpty(), qPrintable(w->error()));
        shoot(QStringLiteral("wizard_5_quality_embedding_%1.png").arg(suffix));
        w->skipQuality();
        QCOMPARE(w->page(), QStringLiteral("done"));
        shoot(QStringLiteral("wizard_6_done_embedding_%1.png").arg(suffix));
        QVERIFY(QMetaObject::invokeMethod(d, "close"));
        QTRY_VERIFY_WITH_TIMEOUT(!d->property("visible").toBool(), 5000);
        w->reset();
        const QStringList warnings = qmlWarnings();
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(QLatin1Char('\n'))));
    }

    void exportSavesOnClick() {
        context_->settings()->setLanguage("en");
        context_->settings()->setTheme("light");
        QTest::qWait(100);  // the language change reaches the dialogs' buttons (a posted LanguageChange event)
        QCOMPARE(context_->chat()->suggestedExportName(conversation_, "markdown"), QStringLiteral("Describe-the-city-of-Rome.md"));
        window_->setProperty("page", "chat");
        QObject* d = engine_->rootObjects().first()->findChild<QObject*>("exportDialog");
        QVERIFY(d);
        QVERIFY(QMetaObject::invokeMethod(d, "start", Q_ARG(QVariant, conversation_), Q_ARG(QVariant, "markdown")));
        QTRY_VERIFY_WITH_TIMEOUT(d->property("visible").toBool(), 5000);
        // Starts in Documents.
        QCOMPARE(d->property("currentFolder").toUrl().toLocalFile(), dir_.filePath("home/Documents"));
        QQuickItem* nameField = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((nameField = test::findVisibleItem(window_->contentItem(), "fileNameTextField")), 5000);
        // Type a name of one's own, then click Save (not Enter).
        nameField->forceActiveFocus();
        QTRY_VERIFY(nameField->hasActiveFocus());
        QMetaObject::invokeMethod(nameField, "selectAll");
        for (const char c : QByteArray("my-export.md")) QTest::keyClick(window_, c);
        QQuickItem* save = test::findVisibleButton(window_->contentItem(), "Save");
        if (!save) {
            QStringList texts;
            std::function<void(QQuickItem*)> walk = [&](QQuickItem* i) {
                if (test::inheritsClass(i, "QQuickAbstractButton") && i->isVisible()) texts << i->property("text").toString();
                for (QQuickItem* c : i->childItems()) walk(c);
            };
            walk(window_->contentItem());
            QFAIL(qPrintable("the file dialog has no Save button; buttons: " + texts.join(", ")));
        }
        const QPointF centre = save->mapToScene(QPointF(save->width() / 2, save->height() / 2));
        QTest::mouseClick(window_, Qt::LeftButton, {}, centre.toPoint());
        const QString saved = dir_.filePath("home/Documents/my-export.md");
        QTRY_VERIFY2_WITH_TIMEOUT(QFile::exists(saved), "clicking Save did not save", 5000);
        QFile f(saved);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY(f.readAll().contains("Rome is the capital of Italy."));
        QTRY_VERIFY_WITH_TIMEOUT(!d->property("visible").toBool(), 5000);
    }

    // Export over an existing file onto a full disk: an error that says so, and the file that was
    // there keeps its contents (it used to be truncated before the write that failed).
    void exportOnAFullDiskKeepsTheOldFile() {
        const QString path = dir_.filePath("home/Documents/kept.md");
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("an earlier export, to be kept\n");
        }
        ChatController* chat = context_->chat();
        chat->dismissError();
        {
            test::FileSizeLimit full(8);
            QVERIFY(full.ok());
            QVERIFY(!chat->exportConversation(conversation_, QUrl::fromLocalFile(path), "markdown"));
        }
        QVERIFY2(chat->errorText().contains("disk full"), qPrintable(chat->errorText()));
        QFile kept(path);
        QVERIFY(kept.open(QIODevice::ReadOnly));
        QCOMPARE(kept.readAll(), QByteArray("an earlier export, to be kept\n"));
        kept.close();
        const QStringList beside = QDir(dir_.filePath("home/Documents")).entryList({"kept.md*"}, QDir::Files | QDir::Hidden);
        QCOMPARE(beside, QStringList{"kept.md"});
        chat->dismissError();
        // With room again it is replaced.
        QVERIFY(chat->exportConversation(conversation_, QUrl::fromLocalFile(path), "markdown"));
        QVERIFY(kept.open(QIODevice::ReadOnly));
        QVERIFY(kept.readAll().contains("Rome is the capital of Italy."));
    }

    void cleanupTestCase() {
        engine_.reset();
        context_.reset();
        test::collectWarnings(false);
    }
};

QTEST_MAIN(DialogsTest)
#include "test_dialogs.moc"
