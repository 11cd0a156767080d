// The chat view's list: the messages of the open conversation. The answer being generated grows by
// appendText() (one dataChanged per coalesced piece, for its text roles only). Each row owns a
// MessageBlockModel with its display blocks (prose paragraphs, code, reasoning), updated in place,
// so the view's block delegates stay put while an answer streams.
#pragma once

#include <QAbstractListModel>
#include <QColor>
#include <vector>

#include "app/models/message_block_model.h"
#include "app/store/records.h"

namespace hearth::app {

class MessageListModel : public QAbstractListModel {
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)
public:
    enum Roles {
        IdRole = Qt::UserRole + 1,
        RoleRole,          // "user" | "assistant" | "system"
        ContentRole,       // full text, as stored
        BlocksRole,        // the row's MessageBlockModel (a QObject*; same object for the row's lifetime)
        AnswerRole,        // content without the reasoning (for Copy)
        InContextRole,     // false: out of the sliding window
        StreamingRole,     // the answer being generated
        TokenCountRole,
        CreatedAtRole,
        StatusRole,        // MessageRecord::status: "" | "streaming" | "stopped" | "length" | "interrupted" | "error"
        AltIndexRole,      // which alternative answer this is (0-based)
        AltCountRole,      // how many alternatives the slot has (1: never regenerated)
        SourcesRole,       // a question answered from documents: the passages found (QVariantList of maps)
    };

    explicit MessageListModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;
    int count() const { return int(rows_.size()); }

    void setMessages(const std::vector<MessageRecord>& messages);
    void clear() { setMessages({}); }
    void append(const MessageRecord& m, bool streaming = false);
    void appendText(int row, const QString& text);
    void setContent(int row, const QString& content, int tokenCount = -1);
    void setStreaming(int row, bool streaming);
    void setStatus(int row, const QString& status);         // how the answer ended
    void setGrounding(int row, const QString& prompt, const QJsonArray& sources);  // MessageRecord::prompt, sources
    void setRecord(int row, const MessageRecord& m);        // another alternative shown in this row
    void removeFrom(int row);                     // rows row..end
    void setContextStart(int64_t firstInContextId);  // earlier non-system messages: out of the window

    const MessageRecord& at(int row) const { return rows_[size_t(row)].msg; }
    Q_INVOKABLE int rowOfId(qint64 id) const;
    std::vector<MessageRecord> records() const;

signals:
    void countChanged();

private:
    struct Row {
        MessageRecord msg;
        MessageBlockModel* blocks = nullptr;  // child of this model; deleted (later) with its row
        QString answer;
        bool streaming = false;
    };
    Row makeRow(const MessageRecord& m, bool streaming);
    static void refresh(Row& r);
    static void dropRows(std::vector<Row>::iterator from, std::vector<Row>::iterator to);
    std::vector<Row> rows_;
};

}  // namespace hearth::app
