// The chat's Documents (engine/docs through DocumentsController and the DocumentIndexer's thread),
// in the real app window: without an embedding model adding a file says how to get one; with the
// tiny BERT fixture as the embedding model, a Markdown file, a GB18030 text and a three-page PDF are
// indexed and a PDF cut short is refused by name; a question is answered with the passages found (stored with the question, sent
// to the model — its prompt is longer by them — and listed under the question); a regenerated answer
// is given the same passages; switched-off documents are not searched; after a restart the stored
// passages are searched again; removing a document removes its passages. Screenshots in English and
// Chinese, with no QML warning.
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QQmlApplicationEngine>
#include <QQuickWindow>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include "app/controllers/app_context.h"
#include "app/controllers/chat_controller.h"
#include "app/controllers/documents_controller.h"
#include "app/controllers/model_wizard.h"
#include "app/settings/app_settings.h"
#include "app/store/chat_store.h"
#include "app/worker/inference_worker.h"
#include "engine/docs/passage_search.h"
#include "engine/convert/convert.h"
#include "tests/app/app_window.h"
#include "tests/app/quick_find.h"
#include "tests/app/tiny_model.h"

using namespace hearth::app;

namespace {

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes);
}

}  // namespace

class DocumentsTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    std::unique_ptr<AppContext> context_;
    std::unique_ptr<QQmlApplicationEngine> engine_;
    QQuickWindow* window_ = nullptr;
    QString model_, embedder_, notes_, gbText_, pdf_, realPdf_;
    qint64 conversation_ = 0;
    int groundedPromptTokens_ = 0;

    ChatController* chat() { return context_->chat(); }
    DocumentsController* documents() { return context_->chat()->documents(); }
    AppSettings* settings() { return context_->settings(); }

    void startApp(const QString& language) {
        engine_.reset();
        context_.reset();
        context_ = test::makeAppContext(dir_.path(), language, "light", QRect(0, 0, 1100, 760));
        settings()->setDefaultModel(model_);
        settings()->setTemperature(0);
        settings()->setThreads(1);
        settings()->setDevice("cpu");
        settings()->setMaxNewTokens(6);
        window_ = test::loadMainWindow(*context_, engine_);
        QVERIFY(window_);
    }

    // Sends `text`; returns the prompt tokens of its request (0 on failure) once the answer ended.
    int ask(const QString& text) {
        QSignalSpy window(chat()->worker(), &InferenceWorker::windowChosen);
        QSignalSpy finished(chat(), &ChatController::answerFinished);
        if (!chat()->send(text)) return 0;
        if (!finished.wait(60000) || window.isEmpty()) return 0;
        return window.last().at(2).toInt();
    }

    QVariantMap item(int i) { return documents()->items().value(i).toMap(); }

    const MessageRecord* lastQuestion() {
        const auto& recs = chat()->messages()->records();
        for (auto it = recs.rbegin(); it != recs.rend(); ++it)
            if (it->role == QLatin1String("user")) return &*it;
        return nullptr;
    }

private slots:
    void initTestCase() {
        test::collectWarnings(true);
        QString err;
        model_ = test::writeTinyModel(dir_.filePath("models"), "chat.gguf", {}, &err);
        QVERIFY2(!model_.isEmpty(), qPrintable(err));
        notes_ = dir_.filePath("refund-policy.md");
        writeFile(notes_,
                  "# Refund policy\n\nCustomers may return a product within thirty days of delivery for a full refund.\n\n"
                  "## Shipping\n\nOrders ship from the warehouse in two business days. Express delivery costs extra.\n\n"
                  "## Warranty\n\nThe warranty covers manufacturing defects for two years. Water damage is not covered.\n");
        gbText_ = dir_.filePath("规定.txt");
        // "第一章 总则\n本文件规定了数据的本地处理。" as a Chinese Windows editor saves it (GB18030).
        writeFile(gbText_, QByteArray("\xB5\xDA\xD2\xBB\xD5\xC2\x20\xD7\xDC\xD4\xF2\x0A\xB1\xBE\xCE\xC4\xBC\xFE\xB9\xE6\xB6\xA8"
                                      "\xC1\xCB\xCA\xFD\xBE\xDD\xB5\xC4\xB1\xBE\xB5\xD8\xB4\xA6\xC0\xED\xA1\xA3"));
        pdf_ = dir_.filePath("report.pdf");  // a PDF cut short before its pages
        writeFile(pdf_, "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<<>>\nendobj\n");
        realPdf_ = dir_.filePath("policy.pdf");  // three pages written by reportlab
        QVERIFY(QFile::copy(HEARTH_TEST_SOURCE_DIR "/../engine/data/pdf/reportlab-latin.pdf", realPdf_));
        startApp("en");
    }

    void withoutAnEmbeddingModelItSaysHow() {
        QVERIFY(documents()->embeddingModelName().isEmpty());
        QVERIFY(!documents()->addPaths({notes_}));
        QVERIFY2(documents()->message().contains(QLatin1String("embedding model")), qPrintable(documents()->message()));
        QVERIFY(documents()->items().isEmpty());
        QCOMPARE(chat()->conversationId(), qint64(0));  // nothing stored for a refused add
        // The bar, opened from the header, says why.
        QQuickItem* button = test::findNamed(window_->contentItem(), "documentsButton");
        QVERIFY(button);
        button->setProperty("checked", true);
        QQuickItem* note = test::findNamed(window_->contentItem(), "documentsNote");
        QVERIFY(note && note->isVisible());
        QVERIFY(note->property("text").toString().contains(QLatin1String("embedding model")));
        QVERIFY(!test::saveWindowShot(window_, "documents_no_model_en.png").isEmpty());
        // "Get an embedding model…" opens the wizard on all-MiniLM-L6-v2. The hub here is a local
        // server that answers 404 to everything: the listing fails at once, nothing leaves the machine.
        QTcpServer hub;
        QVERIFY(hub.listen(QHostAddress::LocalHost));
        connect(&hub, &QTcpServer::newConnection, &hub, [&hub] {
            QTcpSocket* s = hub.nextPendingConnection();
            connect(s, &QTcpSocket::readyRead, s, [s] {
                s->readAll();
                s->write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                s->disconnectFromHost();
            });
        });
        settings()->setHubEndpoint(QStringLiteral("http://127.0.0.1:%1").arg(hub.serverPort()));
        QQuickItem* get = test::findNamed(window_->contentItem(), "getEmbeddingModelButton");
        QVERIFY(get && get->isVisible());
        QMetaObject::invokeMethod(get, "clicked");
        QTRY_COMPARE_WITH_TIMEOUT(context_->wizard()->repo(), QStringLiteral("sentence-transformers/all-MiniLM-L6-v2"), 5000);
        QObject* wizard = engine_->rootObjects().first()->findChild<QObject*>("modelWizard");
        QVERIFY(wizard && wizard->property("visible").toBool());
        QTRY_VERIFY_WITH_TIMEOUT(!context_->wizard()->busy(), 10000);
        QVERIFY(!context_->wizard()->error().isEmpty());
        context_->wizard()->reset();
        QMetaObject::invokeMethod(wizard, "close");
        QTRY_VERIFY(!wizard->property("visible").toBool());
        button->setProperty("checked", false);
        documents()->dismissMessage();
    }

    void indexesTheFilesItCanRead() {
        hearth::convert::ConvertOptions co;
        co.hf_dir = HEARTH_TEST_SOURCE_DIR "/../engine/data/tiny-bert";
        co.out_path = dir_.filePath("models/tiny-bert.gguf").toStdString();
        co.type = "F32";
        auto rep = hearth::convert::convert_hf_to_gguf(co);
        QVERIFY2(rep.ok(), rep.message().c_str());
        embedder_ = QString::fromStdString(co.out_path);
        settings()->setApiEmbeddingModel(embedder_);
        QVERIFY(!documents()->embeddingModelName().isEmpty());

        QSignalSpy finished(documents(), &DocumentsController::documentFinished);
        QVERIFY(documents()->addPaths({notes_, gbText_, pdf_, realPdf_, dir_.filePath("missing.txt")}));
        QVERIFY2(documents()->message().contains(QLatin1String("missing.txt is not a file")), qPrintable(documents()->message()));
        conversation_ = chat()->conversationId();
        QVERIFY(conversation_ > 0);  // stored so the documents have a conversation
        QCOMPARE(documents()->items().size(), 4);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 4, 60000);
        QCOMPARE(item(0).value("state").toString(), QStringLiteral("ready"));
        QVERIFY(item(0).value("passages").toInt() >= 1);
        QCOMPARE(item(1).value("name").toString(), QStringLiteral("规定.txt"));
        QCOMPARE(item(1).value("state").toString(), QStringLiteral("ready"));
        QCOMPARE(item(2).value("state").toString(), QStringLiteral("failed"));
        QVERIFY2(item(2).value("error").toString().startsWith(QLatin1String("report.pdf is not a readable PDF")),
                 qPrintable(item(2).value("error").toString()));
        QCOMPARE(item(3).value("state").toString(), QStringLiteral("ready"));
        QVERIFY(item(3).value("passages").toInt() >= 3);  // its three pages
        QCOMPARE(documents()->searchableCount(), 3);

        // Stored: the states and every passage with its vector.
        ChatStore* store = context_->store();
        QVERIFY(store->flush().ok());
        auto n = store->db().scalarInt("SELECT count(*) FROM document_passages WHERE length(vector) = 32 * 4");
        QVERIFY(n.ok());
        QCOMPARE(int(*n), item(0).value("passages").toInt() + item(1).value("passages").toInt() + item(3).value("passages").toInt());
        auto failed = store->db().scalarInt("SELECT count(*) FROM documents WHERE state = 'failed' AND error LIKE 'report.pdf%'");
        QCOMPARE(int(*failed), 1);
        QVERIFY(!test::saveWindowShot(window_, "documents_bar_en.png").isEmpty());
    }

    void answersFromThePassagesFound() {
        chat()->loadModel(model_);
        QTRY_VERIFY_WITH_TIMEOUT(chat()->modelState() == QLatin1String("ready"), 60000);
        groundedPromptTokens_ = ask("How long do customers have to return a product?");
        QVERIFY(groundedPromptTokens_ > 0);
        const MessageRecord* q = lastQuestion();
        QVERIFY(q);
        QCOMPARE(q->content, QStringLiteral("How long do customers have to return a product?"));
        QVERIFY(!q->sources.isEmpty());
        QVERIFY(q->sources.size() <= int(hearth::docs::kPassagesPerQuestion));
        QVERIFY2(q->prompt.startsWith(QLatin1String("Answer the question at the end using these excerpts")), qPrintable(q->prompt));
        QVERIFY2(q->prompt.contains(QLatin1String("\n\n[1] ")), qPrintable(q->prompt));
        QVERIFY(q->prompt.endsWith(QLatin1String("Question: How long do customers have to return a product?")));
        for (const QJsonValue& s : q->sources) {
            const QString name = s.toObject().value("name").toString();
            QVERIFY2(name == QLatin1String("refund-policy.md") || name == QLatin1String("规定.txt") || name == QLatin1String("policy.pdf"),
                     qPrintable(name));
            QVERIFY(q->prompt.contains(s.toObject().value("text").toString()));
        }
        // Stored with the question.
        QVERIFY(context_->store()->flush().ok());
        auto stored = context_->store()->messages(conversation_);
        QVERIFY(stored.ok());
        QCOMPARE(stored->at(stored->size() - 2).prompt, q->prompt);
        QCOMPARE(stored->at(stored->size() - 2).sources, q->sources);

        // The model was given them: the same question in a conversation without documents is shorter.
        chat()->newConversation();
        QVERIFY(documents()->items().isEmpty());
        const int plain = ask("How long do customers have to return a product?");
        QVERIFY(plain > 0);
        QVERIFY2(groundedPromptTokens_ > plain + 40, qPrintable(QStringLiteral("%1 vs %2").arg(groundedPromptTokens_).arg(plain)));
        QVERIFY(lastQuestion()->sources.isEmpty());
        QVERIFY(lastQuestion()->prompt.isEmpty());
        chat()->openConversation(conversation_);
        QCOMPARE(documents()->items().size(), 4);
    }

    void aRegeneratedAnswerIsGivenTheSamePassages() {
        QSignalSpy window(chat()->worker(), &InferenceWorker::windowChosen);
        QSignalSpy finished(chat(), &ChatController::answerFinished);
        chat()->regenerate();
        QVERIFY(finished.wait(60000));
        QVERIFY(!window.isEmpty());
        QCOMPARE(window.last().at(2).toInt(), groundedPromptTokens_);
    }

    // Stop while the documents are searched: nothing is answered, the question stays (Regenerate
    // searches and answers it), and a search answered after the Stop is ignored.
    void stopWhileSearching() {
        QSignalSpy window(chat()->worker(), &InferenceWorker::windowChosen);
        QVERIFY(chat()->send("Where does the warehouse ship from?"));
        QVERIFY(chat()->searchingDocuments());
        QVERIFY(chat()->generating());
        chat()->stop();
        QVERIFY(!chat()->searchingDocuments());
        QVERIFY(!chat()->generating());
        QTest::qWait(300);  // the indexer's answer arrives and is ignored
        QVERIFY(window.isEmpty());
        QCOMPARE(chat()->messages()->records().back().content, QStringLiteral("Where does the warehouse ship from?"));
        QVERIFY(chat()->messages()->records().back().sources.isEmpty());
        QSignalSpy finished(chat(), &ChatController::answerFinished);
        chat()->regenerate();  // the question without an answer: searched and answered now
        QVERIFY(finished.wait(60000));
        const auto& recs = chat()->messages()->records();
        QCOMPARE(recs.back().role, QStringLiteral("assistant"));
        QVERIFY(!recs[recs.size() - 2].sources.isEmpty());
    }

    void switchedOffDocumentsAreNotSearched() {
        for (const QVariant& v : documents()->items()) documents()->setEnabled(v.toMap().value("id").toLongLong(), false);
        QCOMPARE(documents()->searchableCount(), 0);
        QVERIFY(ask("And what about shipping?") > 0);
        QVERIFY(lastQuestion()->sources.isEmpty());
        QVERIFY(lastQuestion()->prompt.isEmpty());
        documents()->setEnabled(item(0).value("id").toLongLong(), true);
        QCOMPARE(documents()->searchableCount(), 1);
    }

    void aRestartSearchesTheStoredPassages() {
        const int passages = item(0).value("passages").toInt();
        startApp("zh_CN");  // the same data folder: the app restarts on the last conversation
        QCOMPARE(chat()->conversationId(), conversation_);
        QCOMPARE(documents()->items().size(), 4);
        QCOMPARE(item(0).value("state").toString(), QStringLiteral("ready"));
        QCOMPARE(item(0).value("passages").toInt(), passages);
        QVERIFY(item(0).value("enabled").toBool());
        QVERIFY(!item(1).value("enabled").toBool());  // the switch is kept
        chat()->loadModel(model_);
        QTRY_VERIFY_WITH_TIMEOUT(chat()->modelState() == QLatin1String("ready"), 60000);
        QVERIFY(ask("What does the warranty cover?") > 0);
        const MessageRecord* q = lastQuestion();
        QVERIFY(!q->sources.isEmpty());
        for (const QJsonValue& s : q->sources) QCOMPARE(s.toObject().value("name").toString(), QStringLiteral("refund-policy.md"));

        // The passages under the question, opened, in Chinese.
        QList<QQuickItem*> toggles;
        test::findItems(window_->contentItem(), QStringLiteral("sourcesToggle"), &toggles);
        QQuickItem* toggle = nullptr;
        for (QQuickItem* t : toggles)
            if (t->isVisible()) toggle = t;  // the last question's
        QVERIFY(toggle);
        QMetaObject::invokeMethod(toggle, "clicked");
        QVERIFY(!test::saveWindowShot(window_, "documents_sources_zh_CN.png").isEmpty());
    }

    // A file edited after it was indexed says so when the conversation is opened; Re-index reads it
    // again (its new text is searched), and a file that is gone keeps its passages.
    void aChangedFileSaysSoAndIsIndexedAgain() {
        {
            QFile f(notes_);
            QVERIFY(f.open(QIODevice::Append));
            f.write("\n## Returns by post\n\nParcels go to the returns desk in Lyon.\n");
            // A minute later than it was: the test may run within the clock's resolution of the first write.
            QVERIFY(f.setFileTime(QDateTime::currentDateTime().addSecs(60), QFileDevice::FileModificationTime));
        }
        chat()->newConversation();
        chat()->openConversation(conversation_);
        QCOMPARE(item(0).value("file").toString(), QStringLiteral("changed"));
        QCOMPARE(item(1).value("file").toString(), QString());
        QSignalSpy finished(documents(), &DocumentsController::documentFinished);
        documents()->retry(item(0).value("id").toLongLong());
        QVERIFY(finished.wait(30000));
        QCOMPARE(item(0).value("state").toString(), QStringLiteral("ready"));
        QCOMPARE(item(0).value("file").toString(), QString());
        QVERIFY(context_->store()->flush().ok());
        auto lyon = context_->store()->db().scalarInt(
            QStringLiteral("SELECT count(*) FROM document_passages WHERE document_id = %1 AND text LIKE '%Lyon%'")
                .arg(item(0).value("id").toLongLong()).toUtf8().constData());
        QCOMPARE(int(*lyon), 1);  // the new text is stored (and the indexer's copy replaced)
        // Gone: the chip says so when the conversation is opened again; the passages stay.
        const QString moved = notes_ + ".moved";
        QVERIFY(QFile::rename(notes_, moved));
        chat()->newConversation();
        chat()->openConversation(conversation_);
        QCOMPARE(item(0).value("file").toString(), QStringLiteral("missing"));
        QCOMPARE(item(0).value("state").toString(), QStringLiteral("ready"));
        settings()->setTheme("dark");
        QVERIFY(!test::saveWindowShot(window_, "documents_states_zh_CN_dark.png").isEmpty());
        settings()->setTheme("light");
        QVERIFY(QFile::rename(moved, notes_));
    }

    void removingADocumentRemovesItsPassages() {
        const qint64 id = item(0).value("id").toLongLong();
        documents()->remove(id);
        QCOMPARE(documents()->items().size(), 3);
        QVERIFY(context_->store()->flush().ok());
        auto n = context_->store()->db().scalarInt(
            QStringLiteral("SELECT count(*) FROM document_passages WHERE document_id = %1").arg(id).toUtf8().constData());
        QCOMPARE(int(*n), 0);
        // Retrying the PDF fails the same way, by name.
        QSignalSpy finished(documents(), &DocumentsController::documentFinished);
        documents()->retry(item(1).value("id").toLongLong());
        QVERIFY(finished.wait(30000));
        QCOMPARE(item(1).value("state").toString(), QStringLiteral("failed"));
    }

    // Real models, when given: HEARTH_DOCS_CHAT_MODEL (a chat GGUF, e.g. SmolLM2-135M-Instruct) and
    // HEARTH_MINILM_DIR (sentence-transformers/all-MiniLM-L6-v2's folder, converted here). The
    // three-page policy PDF is attached to a new conversation; the passage that answers the question
    // must come first, and the answer is printed and shot (a 135M model's wording is not asserted).
    void realModelsAnswerFromAPdf() {
        const QString chatModel = qEnvironmentVariable("HEARTH_DOCS_CHAT_MODEL");
        const QString minilm = qEnvironmentVariable("HEARTH_MINILM_DIR");
        if (chatModel.isEmpty() || minilm.isEmpty() || !QFileInfo::exists(chatModel))
            QSKIP("set HEARTH_DOCS_CHAT_MODEL (a chat GGUF) and HEARTH_MINILM_DIR (all-MiniLM-L6-v2's folder) for the real-model case");
        hearth::convert::ConvertOptions co;
        co.hf_dir = minilm.toStdString();
        co.out_path = dir_.filePath("models/all-MiniLM-L6-v2.gguf").toStdString();
        co.type = "F16";
        auto rep = hearth::convert::convert_hf_to_gguf(co);
        QVERIFY2(rep.ok(), rep.message().c_str());
        // A mixture of experts beside the real models, for its card on the Models page.
        test::TinyModelSpec moe;
        moe.name = "Qwen3 30B A3B (random test weights)";
        moe.nExpert = 128;
        moe.nExpertUsed = 8;
        moe.nFf = 32;
        QString err;
        QVERIFY2(!test::writeTinyModel(dir_.filePath("models"), "qwen3-30b-a3b-test.gguf", moe, &err).isEmpty(), qPrintable(err));
        startApp("en");
        settings()->setApiEmbeddingModel(QString::fromStdString(co.out_path));
        settings()->setMaxNewTokens(120);
        settings()->setDefaultModel(chatModel);
        chat()->newConversation();
        QSignalSpy finished(documents(), &DocumentsController::documentFinished);
        QVERIFY(documents()->addPaths({realPdf_}));
        QVERIFY(finished.wait(60000));
        QCOMPARE(item(0).value("state").toString(), QStringLiteral("ready"));
        chat()->loadModel(chatModel);
        QTRY_VERIFY_WITH_TIMEOUT(chat()->modelState() == QLatin1String("ready"), 120000);
        QVERIFY(ask("How many days do I have to return a product?") > 0);
        const MessageRecord* q = lastQuestion();
        QVERIFY(q && !q->sources.isEmpty());
        const QJsonObject top = q->sources.first().toObject();
        qInfo("top passage (%.3f, line %d): %s", top.value("score").toDouble(), top.value("line").toInt(),
              qPrintable(top.value("text").toString()));
        QVERIFY2(top.value("text").toString().contains(QLatin1String("within thirty days")), qPrintable(top.value("text").toString()));
        qInfo("answer: %s", qPrintable(chat()->messages()->records().back().content));
        QList<QQuickItem*> toggles;
        test::findItems(window_->contentItem(), QStringLiteral("sourcesToggle"), &toggles);
        for (QQuickItem* t : toggles)
            if (t->isVisible()) QMetaObject::invokeMethod(t, "clicked");
        QVERIFY(!test::saveWindowShot(window_, "documents_real_models_en.png").isEmpty());
        // The Models page with the real chat model loaded: its card, the embedding model's, the MoE's.
        window_->setProperty("page", QStringLiteral("models"));
        QTest::qWait(300);
        QVERIFY(!test::saveWindowShot(window_, "models_real_en.png").isEmpty());
    }

    void cleanupTestCase() {
        engine_.reset();
        context_.reset();
        test::collectWarnings(false);
        const QStringList qml = test::qmlWarnings();
        for (const QString& w : qml) qWarning("QML warning: %s", qPrintable(w));
        QVERIFY(qml.isEmpty());
    }
};

QTEST_MAIN(DocumentsTest)
#include "test_documents.moc"
