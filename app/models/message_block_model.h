// The display blocks of one message (prose paragraphs, code, reasoning: message_blocks.h) as a list
// model with stable rows. When an answer grows, setContent() re-splits it and reports only what
// changed: usually one dataChanged on the last row, or a row inserted when a new block starts. The
// view's delegates for earlier blocks are therefore never recreated and their Markdown never
// re-parsed while the answer streams.
#pragma once

#include <QAbstractListModel>
#include <vector>

#include "app/chat/message_blocks.h"

namespace hearth::app {

class MessageBlockModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Roles {
        KindRole = Qt::UserRole + 1,  // "text" | "code" | "think"
        BodyRole,                     // Markdown for text (soft breaks made hard), raw code, the reasoning
        LanguageRole,                 // code: the fence's info string, may be empty
        OpenRole,                     // code/think still streaming (no closing fence/tag yet)
    };

    explicit MessageBlockModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    void setContent(const QString& content);

private:
    std::vector<MessageBlock> blocks_;
};

}  // namespace hearth::app
