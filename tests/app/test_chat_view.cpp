// The chat view draws what the message rows say (the real window: Main.qml through AppContext,
// offscreen): an answer that ended early carries its note, a regenerated one its ‹ n/m › switcher,
// a poem keeps its lines, and links take the theme's link colour. Screenshots in both themes go to
// screenshots/ next to the binary, and to $HEARTH_SHOTS_DIR when set.
#include <QDir>
#include <QGuiApplication>
#include <QQmlApplicationEngine>
#include <QQuickItem>
#include <QQuickWindow>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/app_context.h"
#include "app/controllers/chat_controller.h"
#include "app/settings/app_settings.h"
#include "tests/app/app_window.h"
#include "tests/app/quick_find.h"

using namespace hearth::app;

namespace {
// Items that are shown: visible themselves and all the way up.
QList<QQuickItem*> shownItems(QQuickWindow* w, const QString& name) {
    QList<QQuickItem*> all, out;
    test::findItems(w->contentItem(), name, &all);
    for (QQuickItem* it : all)
        if (it->isVisible()) out << it;
    return out;
}

const QString kPoem = QStringLiteral("Here is a short poem:\n\nThe kettle sings,\nthe window fogs,\nthe morning waits.");

MessageRecord record(int64_t id, const char* role, const QString& content, const char* status = "", int altIndex = 0,
                     int altCount = 1) {
    MessageRecord m;
    m.id = id;
    m.conversationId = 1;
    m.role = QString::fromLatin1(role);
    m.content = content;
    m.status = QString::fromLatin1(status);
    m.altIndex = altIndex;
    m.altCount = altCount;
    return m;
}
}  // namespace

class ChatViewTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    std::unique_ptr<AppContext> context_;
    std::unique_ptr<QQmlApplicationEngine> engine_;
    QQuickWindow* window_ = nullptr;

    QImage shoot(const QString& name) {
        QTest::qWait(400);  // let layouts and text settle
        const QImage img = window_->grabWindow();
        QStringList dirs{QStringLiteral(HEARTH_TEST_OUTPUT_DIR "/screenshots")};
        if (qEnvironmentVariableIsSet("HEARTH_SHOTS_DIR")) dirs << qEnvironmentVariable("HEARTH_SHOTS_DIR");
        for (const QString& d : dirs) {
            QDir().mkpath(d);
            if (img.save(QDir(d).filePath(name))) qInfo("screenshot: %s", qPrintable(QDir(d).filePath(name)));
        }
        return img;
    }

    // How many pixels of `img` inside `item` are close to `color`.
    static int pixelsNear(const QImage& img, QQuickItem* item, const QColor& color) {
        const QRectF r = item->mapRectToScene(QRectF(0, 0, item->width(), item->height()));
        const qreal dpr = img.devicePixelRatio();
        int n = 0;
        for (int y = int(r.top() * dpr); y < int(r.bottom() * dpr) && y < img.height(); ++y)
            for (int x = int(r.left() * dpr); x < int(r.right() * dpr) && x < img.width(); ++x) {
                const QColor c = img.pixelColor(x, y);
                if (std::abs(c.red() - color.red()) + std::abs(c.green() - color.green()) +
                        std::abs(c.blue() - color.blue()) < 40)
                    ++n;
            }
        return n;
    }

private slots:
    void initTestCase() {
        test::collectWarnings(true);
        context_ = test::makeAppContext(dir_.path(), "en", "dark", QRect(0, 0, 1000, 1500));
        auto conv = context_->store()->createConversation(QString(), QString());
        QVERIFY(conv.ok());
        QVERIFY(context_->store()->addMessage(*conv, "user", "Write me a poem").ok());
        context_->settings()->setLastConversationId(*conv);
        context_->chat()->reloadConversations();

        window_ = test::loadMainWindow(*context_, engine_);
        QVERIFY(window_);

        // The rows as the store hands them over: how each answer ended, and its alternatives.
        context_->chat()->messages()->setMessages({
            record(1, "user", "Write me a poem"),
            record(2, "assistant", kPoem + QStringLiteral("\n\nMore in [the anthology](https://example.org/poems)."), "", 1, 2),
            record(3, "user", "And a long story?"),
            record(4, "assistant", QStringLiteral("Once upon a time, in a village by the sea"), "stopped"),
            record(5, "user", "Go on, at length"),
            record(6, "assistant", QStringLiteral("The fisherman's daughter had"), "length"),
            record(7, "user", "Once more"),
            record(8, "assistant", QStringLiteral("She walked to the"), "interrupted"),
            record(9, "user", "And again"),
            record(10, "assistant", QStringLiteral("The"), "error"),
        });
        QTest::qWait(300);
    }

    void endNotes() {
        QStringList notes;
        int regenerate = 0;
        for (QQuickItem* row : shownItems(window_, QStringLiteral("endNote")))
            for (QQuickItem* child : row->childItems()) {
                if (!child->isVisible()) continue;
                const QString text = child->property("text").toString();
                if (text == QLatin1String("Regenerate")) ++regenerate;
                else notes << text;
            }
        notes.sort();
        QCOMPARE(notes, (QStringList{"Cut off at the length limit", "Interrupted — the app closed while writing this answer",
                                     "Stopped", "Stopped by an error"}));
        QCOMPARE(regenerate, 1);  // by the last answer only
    }

    void alternatives() {
        const auto switchers = shownItems(window_, QStringLiteral("alternatives"));
        QCOMPARE(switchers.size(), 1);
        QList<QQuickItem*> prev, next;
        test::findItems(switchers[0], QStringLiteral("previousAlternative"), &prev);
        test::findItems(switchers[0], QStringLiteral("nextAlternative"), &next);
        QCOMPARE(prev.size(), 1);
        QCOMPARE(next.size(), 1);
        QVERIFY(prev[0]->isEnabled());    // showing 2 of 2: back is possible
        QVERIFY(!next[0]->isEnabled());   // forward is not
    }

    void poemKeepsItsLines() {
        QList<QQuickItem*> blocks;
        test::findItems(window_->contentItem(), QStringLiteral("textBlock"), &blocks);
        QQuickItem* poem = nullptr;
        for (QQuickItem* b : blocks)
            if (b->property("text").toString().startsWith(QLatin1String("The kettle"))) poem = b;
        QVERIFY(poem);
        QCOMPARE(poem->property("lineCount").toInt(), 3);  // one line per verse line, not one run-on line
    }

    void linksAndScreenshots() {
        QList<QQuickItem*> blocks;
        test::findItems(window_->contentItem(), QStringLiteral("textBlock"), &blocks);
        QQuickItem* linkBlock = nullptr;
        for (QQuickItem* b : blocks)
            if (b->property("text").toString().contains(QLatin1String("anthology"))) linkBlock = b;
        QVERIFY(linkBlock);

        QImage dark = shoot("chat_view_dark.png");
        QCOMPARE(context_->linkColor(), QColor("#8ab4f8"));
        QVERIFY2(pixelsNear(dark, linkBlock, QColor("#8ab4f8")) > 20, "the link is not drawn in the dark theme's link colour");
        QCOMPARE(pixelsNear(dark, linkBlock, QColor("#0000ff")), 0);

        context_->settings()->setTheme("light");
        QImage light = shoot("chat_view_light.png");
        QCOMPARE(context_->linkColor(), QColor("#1a5fb4"));
        QVERIFY2(pixelsNear(light, linkBlock, QColor("#1a5fb4")) > 20, "the link is not drawn in the light theme's link colour");

        context_->settings()->setLanguage("zh_CN");
        QVERIFY(!shoot("chat_view_light_zh_CN.png").isNull());
        context_->settings()->setLanguage("en");

        const QStringList qmlWarnings = test::qmlWarnings();
        QVERIFY2(qmlWarnings.isEmpty(), qPrintable(qmlWarnings.join(QLatin1Char('\n'))));
    }

    void unansweredQuestionOffersAnswer() {
        // Only answers ended, so no question asks for an answer; a trailing question (its model
        // failed to load, say) gets the Answer button.
        QCOMPARE(shownItems(window_, QStringLiteral("retryButton")).size(), 0);
        MessageListModel* list = context_->chat()->messages();
        list->append(record(11, "user", "A question the model never answered"));
        QTRY_COMPARE(shownItems(window_, QStringLiteral("retryButton")).size(), 1);
        list->removeFrom(list->count() - 1);
        QTRY_COMPARE(shownItems(window_, QStringLiteral("retryButton")).size(), 0);
    }

    // Keys go to the page in view: a Switch clicked on Settings keeps no focus once the Chat page is
    // shown (a space typed there toggled the hidden Switch), and the composer takes the keys.
    void keysFollowThePage() {
        window_->setProperty("page", QStringLiteral("settings"));
        QQuickItem* sw = nullptr;
        QTRY_VERIFY((sw = test::findVisibleItem(window_->contentItem(), QStringLiteral("recommendedSwitch"))));
        const bool before = context_->settings()->recommendedSampling();
        const QPointF c = sw->mapToScene(QPointF(sw->width() / 2, sw->height() / 2));
        QTest::mouseClick(window_, Qt::LeftButton, {}, c.toPoint());
        QTRY_COMPARE(context_->settings()->recommendedSampling(), !before);
        QVERIFY(sw->hasActiveFocus());

        window_->setProperty("page", QStringLiteral("chat"));
        QQuickItem* composer = nullptr;
        QTRY_VERIFY((composer = test::findVisibleItem(window_->contentItem(), QStringLiteral("composer"))));
        QTRY_VERIFY(composer->hasActiveFocus());
        QTest::keyClick(window_, Qt::Key_Space);
        QTest::keyClick(window_, Qt::Key_A);
        QTest::qWait(100);
        QCOMPARE(context_->settings()->recommendedSampling(), !before);  // the hidden Switch did not toggle
        QCOMPARE(composer->property("text").toString(), QStringLiteral(" a"));
        composer->setProperty("text", QString());
        context_->settings()->setRecommendedSampling(before);
    }

    // The Image page reached from the Chat page lays out its form (with Qt 6.4 a width bound to the
    // hidden page's width once left it 0 wide: a page with no prompt and no Generate).
    void imageFormShownAfterChat() {
        window_->setProperty("page", QStringLiteral("chat"));
        QTest::qWait(100);
        window_->setProperty("page", QStringLiteral("image"));
        QQuickItem* form = nullptr;
        QTRY_VERIFY((form = test::findVisibleItem(window_->contentItem(), QStringLiteral("imageForm"))));
        QTRY_VERIFY2(form->width() >= 240, qPrintable(QString::number(form->width())));
        window_->setProperty("page", QStringLiteral("chat"));
    }

    void cleanupTestCase() {
        engine_.reset();
        context_.reset();
        test::collectWarnings(false);
    }
};

QTEST_MAIN(ChatViewTest)
#include "test_chat_view.moc"
