// AdapterController (QML singleton `Adapters`): the LoRA adapters of the conversation shown, behind
// the Adapters dialog. Every change (add, switch on/off, rescale, remove) is first tried on the
// loaded model by the worker (InferenceWorker::checkLoras, Session::set_loras semantics: opened
// and checked on the worker's thread, all or nothing) and only then shown and stored; a refused
// change leaves the list, the store and the model's set as they were and says why in `message`.
// With no model loaded nothing can be checked: the change is kept and the set is checked when the
// model answers (a misfit then fails that answer with the engine's message). Adapters whose file
// is gone are shown as missing and left out, with a warning in the chat's banner: the
// conversation keeps answering without them. "Save merged model…" runs a LoraMergeJob.
//
// ChatController owns this object and tells it which conversation is shown; what it holds is the
// truth for the shown conversation's adapters (ConversationRecord::adapters is only what was read).
#pragma once

#include <QObject>
#include <QString>
#include <QUrl>
#include <vector>

#include "app/models/adapter_list_model.h"
#include "app/worker/lora_merge_job.h"
#include "engine/lora/lora_spec.h"

namespace hearth::app {

class ChatController;
class ChatStore;
class InferenceWorker;

class AdapterController : public QObject {
    Q_OBJECT
    Q_PROPERTY(hearth::app::AdapterListModel* list READ list CONSTANT)
    Q_PROPERTY(bool checking READ checking NOTIFY checkingChanged)
    Q_PROPERTY(QString message READ message NOTIFY messageChanged)
    Q_PROPERTY(QString summary READ summary NOTIFY activeChanged)
    Q_PROPERTY(int activeCount READ activeCount NOTIFY activeChanged)
    Q_PROPERTY(bool merging READ merging NOTIFY mergingChanged)
    Q_PROPERTY(double mergeProgress READ mergeProgress NOTIFY mergeProgressChanged)
    Q_PROPERTY(QString mergeMessage READ mergeMessage NOTIFY mergingChanged)
    Q_PROPERTY(bool mergeFailed READ mergeFailed NOTIFY mergingChanged)

public:
    static constexpr double kMaxScale = 2.0;

    AdapterController(ChatStore* store, InferenceWorker* worker, ChatController* chat);

    AdapterListModel* list() { return &list_; }
    bool checking() const { return checkId_ != 0; }
    QString message() const { return message_; }
    // The adapters in use, for the status line: "qv-r16 ×1.00, mlp-r8 ×0.50" (empty: none).
    QString summary() const;
    int activeCount() const;
    bool merging() const { return merge_.running(); }
    double mergeProgress() const { return mergeProgress_; }
    QString mergeMessage() const { return mergeMessage_; }
    bool mergeFailed() const { return mergeFailed_; }

    // ---- ChatController's side
    // The conversation shown (0: a new one, not stored yet) and its stored adapters. Files that are
    // gone are marked missing, with a warning when one of them was switched on.
    void setConversation(int64_t id, const std::vector<AdapterRecord>& adapters);
    // The new conversation got its id: the adapters chosen before its first message are stored.
    void conversationCreated(int64_t id);
    // The set an answer uses: the adapters switched on whose files exist (looked for again now;
    // one that went missing is marked and warned about, one that came back is used again).
    std::vector<LoraSpec> activeSpecs();

    // ---- the dialog (false: refused at once, `message` says why; true: applied or being checked)
    Q_INVOKABLE bool add(const QString& pathOrUrl);
    Q_INVOKABLE bool setEnabled(int row, bool on);
    Q_INVOKABLE bool setScale(int row, double scale);
    Q_INVOKABLE bool remove(int row);
    Q_INVOKABLE void dismissMessage();
    // A file name for the merged model: "<model>-<adapter>-<adapter>.gguf".
    Q_INVOKABLE QString suggestedMergedName() const;
    // Merges the conversation's model with the adapters in use (at their scales) into `out`.
    Q_INVOKABLE bool saveMerged(const QUrl& out);
    Q_INVOKABLE void cancelMerge();

signals:
    void checkingChanged();
    void messageChanged();
    void activeChanged();
    void mergingChanged();
    void mergeProgressChanged();
    // A change was checked: applied (error empty) or refused (tests wait on it).
    void changeChecked(const QString& error);
    void mergeFinished(const QString& error, bool cancelled);

private:
    bool propose(std::vector<AdapterEntry> next);
    void commit(const std::vector<AdapterEntry>& next);
    void onChecked(quint64 checkId, const QString& error, bool checked);
    void onMergeFinished(const QString& out, const QString& error, bool cancelled);
    void setMessage(const QString& m);
    // Marks entries whose files are gone (and clears the mark of those that are back); returns
    // the paths of adapters switched on that are newly missing.
    QStringList refreshMissing(std::vector<AdapterEntry>& entries) const;
    void warnMissing(const QStringList& paths);  // in the chat's banner
    static std::vector<LoraSpec> specsOf(const std::vector<AdapterEntry>& entries);

    ChatStore* store_;
    InferenceWorker* worker_;
    ChatController* chat_;
    AdapterListModel list_;
    int64_t conversationId_ = 0;
    QString message_;

    // The change being checked by the worker (its id; 0: none) and the list it leads to.
    quint64 nextCheck_ = 1;
    quint64 checkId_ = 0;
    std::vector<AdapterEntry> pending_;

    LoraMergeJob merge_;
    double mergeProgress_ = 0;
    QString mergeMessage_;
    bool mergeFailed_ = false;
};

}  // namespace hearth::app
