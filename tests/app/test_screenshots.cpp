// Screenshots of the main window with a conversation (Markdown, a code block, folded reasoning),
// in English and in Chinese, written as PNG files next to the test binary (screenshots/, or
// $HEARTH_SHOTS_DIR). Also the pages issue #11 fixed: a model that cannot be used (its card and the
// picker), the context-length warning with "Reload now", the Image page. Checks that every page
// loads without QML warnings.
#include <QDir>
#include <QGuiApplication>
#include <QQmlApplicationEngine>
#include <QQuickWindow>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/app_context.h"
#include "app/controllers/chat_controller.h"
#include "app/settings/app_settings.h"
#include "tests/app/app_window.h"
#include "tests/app/quick_find.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;

class ScreenshotTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    bool unusableModel_ = false;  // the unknown-pre-tokenizer model was written (needs the shared test data)
    std::unique_ptr<AppContext> context_;
    std::unique_ptr<QQmlApplicationEngine> engine_;
    QQuickWindow* window_ = nullptr;
    qint64 english_ = 0, chinese_ = 0;
    QString model_;

    qint64 addConversation(const QString& system, const QList<QPair<QString, QString>>& messages) {
        ChatStore* store = context_->store();
        auto id = store->createConversation(QString(), system);
        if (!id.ok()) return 0;
        for (const auto& m : messages) (void)store->addMessage(*id, m.first, m.second);
        return *id;
    }

    QString shoot(const QString& name) { return test::saveWindowShot(window_, name); }

private slots:
    void initTestCase() {
        test::collectWarnings(true);
        context_ = test::makeAppContext(dir_.path(), "en", "light", QRect(0, 0, 1200, 800));
        QString err;
        test::TinyModelSpec spec;
        spec.name = "Qwen2.5 0.5B Instruct (random test weights)";
        model_ = test::writeTinyModel(dir_.filePath("models"), "qwen2.5-0.5b-instruct-test.gguf", spec, &err);
        QVERIFY2(!model_.isEmpty(), qPrintable(err));
        context_->settings()->setDefaultModel(model_);
        // A mixture of experts, for its card ("8 of 128 experts per token").
        test::TinyModelSpec moe;
        moe.name = "Qwen3 30B A3B (random test weights)";
        moe.nExpert = 128;
        moe.nExpertUsed = 8;
        moe.nFf = 32;
        QVERIFY2(!test::writeTinyModel(dir_.filePath("models"), "qwen3-30b-a3b-test.gguf", moe, &err).isEmpty(), qPrintable(err));
        // A model the engine cannot use, for its card and the picker (needs the shared test data).
        const QString gpt2 = test::testdataFile("vocab/ggml-vocab-gpt-2.gguf");
        unusableModel_ = QFileInfo::exists(gpt2);
        if (unusableModel_)
            QVERIFY2(!test::writeUnknownPreModel(dir_.filePath("models"), "unknown-pre.gguf", gpt2, &err).isEmpty(), qPrintable(err));
        else
            qWarning("%s is not there (the shared test data): no unusable-model card in the shots", qPrintable(gpt2));

        english_ = addConversation(
            "You are a concise assistant.",
            {{"user", "How do I reverse a list in Python?"},
             {"assistant",
              "<think>\nThe user wants the idiomatic ways. Mention slicing and reverse().\n</think>\n\n"
              "There are two **idiomatic** ways:\n\n1. `reversed_list = items[::-1]` makes a copy.\n"
              "2. `items.reverse()` reverses *in place*.\n\n```python\nitems = [1, 2, 3]\nitems.reverse()\n"
              "print(items)  # [3, 2, 1]\n```\n\nUse the first when you need to keep the original."},
             {"user", "And in C++?"},
             {"assistant", "Use `std::reverse` from `<algorithm>`:\n\n```cpp\nstd::vector<int> v{1, 2, 3};\n"
                           "std::reverse(v.begin(), v.end());\n```"}});
        (void)addConversation({}, {{"user", "Plan a three-day trip to Kyoto"}, {"assistant", "Day 1: Fushimi Inari…"}});
        chinese_ = addConversation(
            "你是一个简洁的助手。",
            {{"user", "用 Python 怎么反转一个列表？"},
             {"assistant",
              "<think>\n用户想知道常用写法：切片和 reverse()。\n</think>\n\n有两种**常用**写法：\n\n"
              "1. `items[::-1]` 返回一个新列表。\n2. `items.reverse()` 原地反转。\n\n```python\nitems = [1, 2, 3]\n"
              "items.reverse()\nprint(items)  # [3, 2, 1]\n```\n\n需要保留原列表时用第一种。"}});
        QVERIFY(english_ && chinese_);
        context_->settings()->setLastConversationId(english_);
        context_->chat()->reloadConversations();

        window_ = test::loadMainWindow(*context_, engine_);
        QVERIFY(window_);
    }

    void english() {
        QCOMPARE(context_->chat()->conversationId(), english_);
        // A loaded model, for the status line.
        context_->chat()->loadModel(model_);
        QTRY_VERIFY_WITH_TIMEOUT(context_->chat()->modelState() == QLatin1String("ready"), 30000);
        const QString path = shoot("hearth_en.png");
        QVERIFY(!path.isEmpty());
    }

    void chinese() {
        context_->settings()->setLanguage("zh_CN");
        QCOMPARE(context_->uiLanguage(), QStringLiteral("zh_CN"));
        context_->chat()->openConversation(chinese_);
        const QString path = shoot("hearth_zh_CN.png");
        QVERIFY(!path.isEmpty());
        QCOMPARE(window_->title(), QStringLiteral("用 Python 怎么反转一个列表？ — Hearth"));
    }

    void otherPages() {
        // Every page renders (dark theme for the Settings shot) without QML warnings.
        for (const char* page : {"models", "image", "settings"}) {
            window_->setProperty("page", QString::fromLatin1(page));
            if (QByteArray(page) == "settings") context_->settings()->setTheme("dark");
            QVERIFY(!shoot(QStringLiteral("hearth_zh_CN_%1.png").arg(QString::fromLatin1(page))).isEmpty());
        }
        context_->settings()->setLanguage("en");
        QVERIFY(!shoot(QStringLiteral("hearth_en_settings_dark.png")).isEmpty());
        window_->setProperty("page", QStringLiteral("models"));
        context_->settings()->setTheme("light");
        QVERIFY(!shoot(QStringLiteral("hearth_en_models.png")).isEmpty());
        context_->settings()->setContextLength(2048);
        context_->chat()->loadModel(model_);
        QTRY_VERIFY_WITH_TIMEOUT(context_->chat()->modelState() == QLatin1String("ready") &&
                                     context_->chat()->stats().value("nCtx").toInt() == 2048, 30000);
        context_->settings()->setContextLength(8192);
        // The fixed pages, in both themes and in Chinese.
        for (const char* lang : {"en", "zh_CN"}) {
            context_->settings()->setLanguage(QString::fromLatin1(lang));
            for (const char* theme : {"light", "dark"}) {
                if (QByteArray(lang) == "zh_CN" && QByteArray(theme) == "dark") continue;
                context_->settings()->setTheme(QString::fromLatin1(theme));
                const QString suffix = QStringLiteral("%1_%2").arg(QString::fromLatin1(lang), QString::fromLatin1(theme));
                window_->setProperty("page", QStringLiteral("models"));
                QTest::qWait(100);
                // The unusable model's card with its details open.
                const bool en = QByteArray(lang) == "en";
                if (unusableModel_) {
                    // Closed, it offers Details; opened by an earlier shot, it offers Hide details.
                    QQuickItem* root = window_->contentItem();
                    QQuickItem* show = test::findVisibleButton(root, en ? QStringLiteral("Details") : QStringLiteral("详细信息"));
                    QVERIFY2(show || test::findVisibleButton(root, en ? QStringLiteral("Hide details") : QStringLiteral("隐藏详细信息")),
                             "the unusable model's card has no Details button");
                    if (show)
                        QTest::mouseClick(window_, Qt::LeftButton, {},
                                          show->mapToScene(QPointF(show->width() / 2, show->height() / 2)).toPoint());
                }
                QVERIFY(!shoot(QStringLiteral("models_unusable_%1.png").arg(suffix)).isEmpty());
                // The chat's model picker, open.
                window_->setProperty("page", QStringLiteral("chat"));
                QQuickItem* picker = test::findVisibleItem(window_->contentItem(), QStringLiteral("modelBox"));
                QVERIFY(picker);
                QObject* popup = picker->property("popup").value<QObject*>();
                QVERIFY(popup && QMetaObject::invokeMethod(popup, "open"));
                QVERIFY(!shoot(QStringLiteral("picker_%1.png").arg(suffix)).isEmpty());
                QVERIFY(QMetaObject::invokeMethod(popup, "close"));
                // Settings: above the trained context, and a context that differs from the loaded one.
                window_->setProperty("page", QStringLiteral("settings"));
                QVERIFY(!shoot(QStringLiteral("settings_context_%1.png").arg(suffix)).isEmpty());
                // Settings: the model downloads section (hub endpoint, masked token) scrolled into view.
                if (QQuickItem* hub = test::findVisibleItem(window_->contentItem(), QStringLiteral("hubEndpointBox"))) {
                    QQuickItem* flick = hub->parentItem();
                    while (flick && !test::inheritsClass(flick, "QQuickFlickable")) flick = flick->parentItem();
                    QVERIFY(flick);
                    QQuickItem* content = flick->property("contentItem").value<QQuickItem*>();
                    QVERIFY(content);
                    context_->settings()->setHubToken(QStringLiteral("hf_screenshotExampleToken1234"));
                    flick->setProperty("contentY", hub->mapToItem(content, QPointF(0, 0)).y() - 60);
                    QVERIFY(!shoot(QStringLiteral("settings_hub_%1.png").arg(suffix)).isEmpty());
                    flick->setProperty("contentY", 0);
                    context_->settings()->setHubToken(QString());
                } else {
                    QFAIL("the Settings page has no hub endpoint box");
                }
                window_->setProperty("page", QStringLiteral("image"));
                QVERIFY(!shoot(QStringLiteral("image_%1.png").arg(suffix)).isEmpty());
            }
        }
        context_->settings()->setLanguage("en");

        const QStringList qmlWarnings = test::qmlWarnings();
        QVERIFY2(qmlWarnings.isEmpty(), qPrintable(qmlWarnings.join(QLatin1Char('\n'))));
    }

    // A damaged conversation database: the app starts, its banner says why and where in the
    // language of the moment (made when read: the store opens before the translator is installed),
    // and the file is left byte for byte as it was.
    void damagedDatabase() {
        engine_.reset();
        context_.reset();
        window_ = nullptr;
        QTemporaryDir other;
        QVERIFY(QDir().mkpath(other.filePath("data")));
        const QString db = other.filePath("data/hearth.db");
        QByteArray garbage(8192, '\0');
        for (int i = 0; i < garbage.size(); ++i) garbage[i] = char((i * 131 + 7) & 0xff);
        {
            QFile f(db);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(garbage);
        }
        context_ = test::makeAppContext(other.path(), "zh_CN", "light", QRect(0, 0, 1200, 800));
        window_ = test::loadMainWindow(*context_, engine_);
        QVERIFY(window_);
        QSignalSpy changed(context_->chat(), &ChatController::storeErrorChanged);
        const QString zh = context_->chat()->storeError();
        QVERIFY2(zh.contains(QStringLiteral("无法打开对话数据库")) && zh.contains(db) && zh.contains("not a database"), qPrintable(zh));
        QVERIFY(!shoot("damaged_database_zh_CN.png").isEmpty());
        context_->settings()->setLanguage("en");
        QVERIFY(changed.count() >= 1);
        const QString en = context_->chat()->storeError();
        QVERIFY2(en.startsWith("The conversation database could not be opened") && en.contains(db), qPrintable(en));
        QVERIFY(!shoot("damaged_database_en.png").isEmpty());
        engine_.reset();
        context_.reset();
        QFile f(db);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY2(f.readAll() == garbage, "the damaged database was changed");
    }

    void cleanupTestCase() {
        engine_.reset();
        context_.reset();
        test::collectWarnings(false);
    }
};

QTEST_MAIN(ScreenshotTest)
#include "test_screenshots.moc"
