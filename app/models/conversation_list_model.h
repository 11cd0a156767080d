// The sidebar's list: conversations newest first, or the hits of a search. Changes are applied
// row by row (insert, move to top, rename, remove) so the view keeps its selection and scroll.
#pragma once

#include <QAbstractListModel>
#include <vector>

#include "app/store/records.h"

namespace hearth::app {

class ConversationListModel : public QAbstractListModel {
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)
public:
    enum Roles { IdRole = Qt::UserRole + 1, TitleRole, UpdatedAtRole, ModelRole, SnippetRole };

    explicit ConversationListModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;
    int count() const { return int(rows_.size()); }

    struct Row {
        int64_t id = 0;
        QString title;
        int64_t updatedAt = 0;
        QString model;
        QString snippet;
    };

    void setConversations(const std::vector<ConversationRecord>& list);
    void setSearchHits(const std::vector<SearchHit>& hits);
    // Inserts or updates a conversation; a newer updated_at moves it to the top.
    void upsert(const ConversationRecord& c);
    void remove(int64_t id);
    Q_INVOKABLE int rowOf(qint64 id) const;
    Q_INVOKABLE qint64 idAt(int row) const;

signals:
    void countChanged();

private:
    std::vector<Row> rows_;
};

}  // namespace hearth::app
