// ChatController (QML singleton `Chat`): the main-thread side of chatting. It owns the two list
// models and the InferenceWorker's thread and uses the conversation store; it turns user actions
// (send, stop, regenerate, switch alternative, edit, rename, delete, search, export) into queued
// store writes and worker calls, and worker signals into list-model updates and streaming saves
// (the new text, at least once a second). Its own copies of the open conversation and its messages
// are the truth while it runs: it never reads back what it just wrote.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QThread>
#include <QUrl>
#include <QVariantMap>

#include "app/models/conversation_list_model.h"
#include "app/models/message_list_model.h"
#include "app/store/chat_store.h"
#include "app/worker/inference_worker.h"

namespace hearth::app {

class AdapterController;
class AppSettings;
class DocumentsController;
class ModelLibrary;

class ChatController : public QObject {
    Q_OBJECT
    Q_PROPERTY(hearth::app::ConversationListModel* conversations READ conversations CONSTANT)
    Q_PROPERTY(hearth::app::MessageListModel* messages READ messages CONSTANT)
    Q_PROPERTY(qint64 conversationId READ conversationId NOTIFY conversationChanged)
    Q_PROPERTY(QString title READ title NOTIFY conversationChanged)
    Q_PROPERTY(QString systemPrompt READ systemPrompt WRITE setSystemPrompt NOTIFY conversationChanged)
    Q_PROPERTY(QString conversationModel READ conversationModel NOTIFY conversationChanged)
    Q_PROPERTY(bool think READ think WRITE setThink NOTIFY conversationChanged)
    Q_PROPERTY(bool thinkAvailable READ thinkAvailable NOTIFY modelChanged)
    Q_PROPERTY(QString searchQuery READ searchQuery WRITE setSearchQuery NOTIFY searchQueryChanged)
    // An answer is being written, or the documents searched for the question before it.
    Q_PROPERTY(bool generating READ generating NOTIFY generatingChanged)
    Q_PROPERTY(bool searchingDocuments READ searchingDocuments NOTIFY generatingChanged)
    // Model state: "none" | "loading" | "ready"
    Q_PROPERTY(QString modelState READ modelState NOTIFY modelChanged)
    Q_PROPERTY(double loadProgress READ loadProgress NOTIFY loadProgressChanged)
    Q_PROPERTY(QString modelName READ modelName NOTIFY modelChanged)
    Q_PROPERTY(QString modelPath READ modelPath NOTIFY modelChanged)
    Q_PROPERTY(QString backendDescription READ backendDescription NOTIFY modelChanged)
    Q_PROPERTY(QString errorText READ errorText NOTIFY errorChanged)
    Q_PROPERTY(QVariantMap stats READ stats NOTIFY statsChanged)
    Q_PROPERTY(QString storeError READ storeError NOTIFY storeErrorChanged)

public:
    // The store must already be open (or failed: storeError says why and nothing is saved).
    ChatController(ChatStore* store, AppSettings* settings, ModelLibrary* library, QObject* parent = nullptr);
    ~ChatController() override;

    ConversationListModel* conversations() { return &conversations_; }
    MessageListModel* messages() { return &messages_; }
    qint64 conversationId() const { return conv_.id; }
    QString title() const { return conv_.title; }
    QString systemPrompt() const { return conv_.systemPrompt; }
    QString conversationModel() const { return conv_.model; }
    bool think() const;
    bool thinkAvailable() const { return loadedThink_; }
    QString searchQuery() const { return searchQuery_; }
    bool generating() const { return currentRequest_ != 0 || searchRequest_ != 0; }
    bool searchingDocuments() const { return searchRequest_ != 0; }
    QString modelState() const { return modelState_; }
    double loadProgress() const { return loadProgress_; }
    QString modelName() const { return loadedName_; }
    QString modelPath() const { return loadedPath_; }
    QString backendDescription() const { return backend_; }
    QString errorText() const { return errorText_; }
    QVariantMap stats() const { return stats_; }
    QString storeError() const;
    void retranslate();  // re-emits the texts made in C++ (storeError) after a language switch
    // The shown conversation's LoRA adapters (QML singleton `Adapters`).
    AdapterController* adapters() const { return adapters_; }
    // The shown conversation's documents (QML singleton `Documents`).
    DocumentsController* documents() const { return documents_; }
    // The shown conversation's id, storing it first when it is new (documents need one); 0 on failure.
    qint64 ensureStoredConversation();
    // The model this conversation answers with (the base of a merge): its own model when the file
    // exists, else the loaded one, else the default.
    QString adapterBaseModel() const { return effectiveModel(); }
    // A warning in the banner (the adapters' missing files, failed saves).
    void showWarning(const QString& message) { showError(message); }

    void setSystemPrompt(const QString& prompt);
    void setThink(bool on);
    void setSearchQuery(const QString& q);

    Q_INVOKABLE void reloadConversations();
    Q_INVOKABLE void newConversation();
    Q_INVOKABLE void openConversation(qint64 id);
    // At start-up: the last conversation, or a new one when it is gone (no error for that).
    Q_INVOKABLE void reopenLast();
    Q_INVOKABLE void renameConversation(qint64 id, const QString& title);
    Q_INVOKABLE void deleteConversation(qint64 id);
    Q_INVOKABLE bool exportConversation(qint64 id, const QUrl& file, const QString& format);  // "markdown" | "json"
    Q_INVOKABLE QString suggestedExportName(qint64 id, const QString& format) const;

    Q_INVOKABLE bool send(const QString& text);
    Q_INVOKABLE void stop();
    Q_INVOKABLE void regenerate();  // the old answer stays as an alternative of the same slot
    // Shows the previous (delta -1) or next (+1) alternative of an answer; it becomes the history too.
    Q_INVOKABLE void showAlternative(qint64 messageId, int delta);
    Q_INVOKABLE void editAndResend(qint64 messageId, const QString& text);

    Q_INVOKABLE void useModel(const QString& path);   // for this conversation (and new ones), loads it
    Q_INVOKABLE void loadModel(const QString& path);
    Q_INVOKABLE void cancelLoad();
    // Loads the loaded model again with the current settings (context length, threads, device): now
    // when idle, or right after the answer being written ends.
    Q_INVOKABLE void reloadModel();
    Q_INVOKABLE void unloadModel();
    Q_INVOKABLE void dismissError();
    Q_INVOKABLE QString diagnostics() const;

    // A one-off answer from the loaded model that is not part of any conversation (nothing is stored,
    // the chat view does not change): the Image tab's "Write a prompt". Queued behind a running
    // answer. Returns the request id (0 when no model is loaded); oneOffFinished answers it.
    quint64 askOnce(const QString& systemPrompt, const QString& userText, int maxNewTokens = 200);
    void stopOneOff(quint64 requestId);

    // Tests: the interval between streaming saves, and the worker (to observe its signals).
    void setSaveIntervalMs(int ms) { saveIntervalMs_ = ms; }
    InferenceWorker* worker() { return worker_; }

signals:
    void conversationChanged();
    void storeErrorChanged();
    void searchQueryChanged();
    void generatingChanged();
    void modelChanged();
    void loadProgressChanged();
    void errorChanged();
    void statsChanged();
    void answerFinished(const QString& stopReason);
    // The first `chars` characters of the answer are on disk (emitted once they are committed).
    void streamingSaved(qint64 messageId, int chars);
    // The ended answer (all its text, how it ended, its search index entry) is committed.
    void answerSaved(qint64 messageId, const QString& status);
    // An askOnce() answer (its reasoning removed); error is empty when it succeeded.
    void oneOffFinished(quint64 requestId, const QString& text, const QString& error);

private:
    void showError(const QString& message);
    void setModelState(const QString& state);
    void ensureConversation();
    void startGeneration();
    // A question was stored: its documents are searched first when it has some, then it is answered
    // (the model loaded first when it is not).
    void answerQuestion(const MessageRecord& question);
    void answerWhenLoaded();
    void onSearched(quint64 requestId, const QJsonArray& sources, const QString& error);
    void saveStreaming();
    void finishStreaming(const QString& status, int tokenCount);
    void finishRequest();
    void noteMessageAdded(const MessageRecord& m);
    void resetConversationStats();
    void onLoaded(quint64 loadId, const QVariantMap& info);
    void onLoadFailed(quint64 loadId, const QString& path, const QString& message, bool cancelled);
    void forgetLoadedModel();
    void onWindow(quint64 requestId, qint64 firstMessageId, int promptTokens, int nCtx);
    void onPiece(quint64 requestId, const QString& text);
    void onFinished(quint64 requestId, const QVariantMap& stats);
    void onFailed(quint64 requestId, const QString& message);
    QString effectiveModel() const;

    ChatStore* store_;
    AppSettings* settings_;
    QPointer<ModelLibrary> library_;
    ConversationListModel conversations_;
    MessageListModel messages_;
    ConversationRecord conv_;
    QString searchQuery_;

    QThread thread_;
    InferenceWorker* worker_ = nullptr;
    AdapterController* adapters_ = nullptr;  // a child of this object
    DocumentsController* documents_ = nullptr;  // a child of this object
    quint64 searchRequest_ = 0;    // the documents' search for the question being answered; 0: none
    qint64 searchQuestionId_ = 0;  // that question's message id
    QString modelState_ = QStringLiteral("none");
    double loadProgress_ = 0;
    QString loadingPath_, loadedPath_, loadedName_, backend_;
    bool loadedThink_ = false;
    bool generateAfterLoad_ = false;
    bool reloadAfterAnswer_ = false;
    // Load requests: only the latest one's outcome counts (an older one was cancelled by it).
    quint64 nextLoad_ = 1;
    quint64 currentLoad_ = 0;  // the load whose outcome is awaited; 0: none

    quint64 nextRequest_ = 1;
    quint64 currentRequest_ = 0;
    // Regenerate: the answer the next generation becomes an alternative of (id 0: a new answer).
    MessageRecord regenerateOf_;
    // The answer being generated: its message, conversation and text (kept here, not in the list
    // model, which shows another conversation once the user switches away).
    qint64 streamingMessageId_ = 0;
    qint64 streamingConversationId_ = 0;
    QString streamingText_;
    QElapsedTimer sinceSave_;
    int saveIntervalMs_ = 1000;
    int savedChars_ = 0;
    QJsonObject currentGenSettings_;

    QString errorText_;
    QVariantMap stats_;
    // askOnce() requests still running, with their text so far.
    QHash<quint64, QString> oneOff_;
};

}  // namespace hearth::app
