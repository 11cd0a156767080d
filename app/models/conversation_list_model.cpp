#include "app/models/conversation_list_model.h"

namespace hearth::app {

namespace {
ConversationListModel::Row rowFrom(const ConversationRecord& c) { return {c.id, c.title, c.updatedAt, c.model, {}}; }
}  // namespace

ConversationListModel::ConversationListModel(QObject* parent) : QAbstractListModel(parent) {}

int ConversationListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

QVariant ConversationListModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const Row& r = rows_[size_t(index.row())];
    switch (role) {
        case Qt::DisplayRole:
        case TitleRole: return r.title;
        case IdRole: return QVariant::fromValue<qint64>(r.id);
        case UpdatedAtRole: return QVariant::fromValue<qint64>(r.updatedAt);
        case ModelRole: return r.model;
        case SnippetRole: return r.snippet;
        default: return {};
    }
}

QHash<int, QByteArray> ConversationListModel::roleNames() const {
    return {{IdRole, "conversationId"}, {TitleRole, "title"}, {UpdatedAtRole, "updatedAt"},
            {ModelRole, "model"},       {SnippetRole, "snippet"}};
}

void ConversationListModel::setConversations(const std::vector<ConversationRecord>& list) {
    beginResetModel();
    rows_.clear();
    for (const auto& c : list) rows_.push_back(rowFrom(c));
    endResetModel();
    emit countChanged();
}

void ConversationListModel::setSearchHits(const std::vector<SearchHit>& hits) {
    beginResetModel();
    rows_.clear();
    for (const auto& h : hits) rows_.push_back({h.conversationId, h.title, h.updatedAt, {}, h.snippet});
    endResetModel();
    emit countChanged();
}

int ConversationListModel::rowOf(qint64 id) const {
    for (size_t i = 0; i < rows_.size(); ++i)
        if (rows_[i].id == id) return int(i);
    return -1;
}

qint64 ConversationListModel::idAt(int row) const {
    return row >= 0 && row < int(rows_.size()) ? rows_[size_t(row)].id : 0;
}

void ConversationListModel::upsert(const ConversationRecord& c) {
    const int at = rowOf(c.id);
    // Where it belongs: before the first row that is older.
    int target = 0;
    while (target < int(rows_.size()) && (rows_[size_t(target)].id == c.id || rows_[size_t(target)].updatedAt > c.updatedAt))
        ++target;
    if (at < 0) {
        beginInsertRows({}, target, target);
        rows_.insert(rows_.begin() + target, rowFrom(c));
        endInsertRows();
        emit countChanged();
        return;
    }
    Row updated = rowFrom(c);
    updated.snippet = rows_[size_t(at)].snippet;
    // `target` counted the row itself as skipped when it lies before it; convert to a final index.
    int finalRow = target > at ? target - 1 : target;
    if (finalRow != at) {
        // beginMoveRows takes the destination before the move (one past when moving down).
        const int dest = finalRow > at ? finalRow + 1 : finalRow;
        beginMoveRows({}, at, at, {}, dest);
        rows_.erase(rows_.begin() + at);
        rows_.insert(rows_.begin() + finalRow, updated);
        endMoveRows();
    } else {
        rows_[size_t(at)] = updated;
    }
    const QModelIndex idx = index(finalRow);
    emit dataChanged(idx, idx);
}

void ConversationListModel::remove(int64_t id) {
    const int at = rowOf(id);
    if (at < 0) return;
    beginRemoveRows({}, at, at);
    rows_.erase(rows_.begin() + at);
    endRemoveRows();
    emit countChanged();
}

}  // namespace hearth::app
