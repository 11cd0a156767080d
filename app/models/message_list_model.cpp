#include "app/models/message_list_model.h"

#include "app/chat/message_blocks.h"

namespace hearth::app {

MessageListModel::MessageListModel(QObject* parent) : QAbstractListModel(parent) {}

int MessageListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

QVariant MessageListModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const Row& r = rows_[size_t(index.row())];
    switch (role) {
        case Qt::DisplayRole:
        case ContentRole: return r.msg.content;
        case IdRole: return QVariant::fromValue<qint64>(r.msg.id);
        case RoleRole: return r.msg.role;
        case BlocksRole: return r.blocks;
        case AnswerRole: return r.answer;
        case InContextRole: return r.msg.inContext;
        case StreamingRole: return r.streaming;
        case TokenCountRole: return r.msg.tokenCount;
        case CreatedAtRole: return QVariant::fromValue<qint64>(r.msg.createdAt);
        case StatusRole: return r.msg.status;
        case AltIndexRole: return r.msg.altIndex;
        case AltCountRole: return r.msg.altCount;
        default: return {};
    }
}

QHash<int, QByteArray> MessageListModel::roleNames() const {
    return {{IdRole, "messageId"},       {RoleRole, "role"},           {ContentRole, "content"},
            {BlocksRole, "blocks"},      {AnswerRole, "answer"},       {InContextRole, "inContext"},
            {StreamingRole, "streaming"}, {TokenCountRole, "tokenCount"}, {CreatedAtRole, "createdAt"},
            {StatusRole, "status"},        {AltIndexRole, "altIndex"},   {AltCountRole, "altCount"}};
}

void MessageListModel::refresh(Row& r) {
    r.blocks = messageBlocksForQml(r.msg.content);
    r.answer = stripThinking(r.msg.content);
}

void MessageListModel::setMessages(const std::vector<MessageRecord>& messages) {
    beginResetModel();
    rows_.clear();
    for (const auto& m : messages) {
        Row r{m, {}, {}, false};
        refresh(r);
        rows_.push_back(std::move(r));
    }
    endResetModel();
    emit countChanged();
}

void MessageListModel::append(const MessageRecord& m, bool streaming) {
    const int row = int(rows_.size());
    beginInsertRows({}, row, row);
    Row r{m, {}, {}, streaming};
    refresh(r);
    rows_.push_back(std::move(r));
    endInsertRows();
    emit countChanged();
}

void MessageListModel::appendText(int row, const QString& text) {
    if (row < 0 || row >= int(rows_.size()) || text.isEmpty()) return;
    Row& r = rows_[size_t(row)];
    r.msg.content += text;
    refresh(r);
    emit dataChanged(index(row), index(row), {ContentRole, BlocksRole, AnswerRole});
}

void MessageListModel::setContent(int row, const QString& content, int tokenCount) {
    if (row < 0 || row >= int(rows_.size())) return;
    Row& r = rows_[size_t(row)];
    r.msg.content = content;
    if (tokenCount >= 0) r.msg.tokenCount = tokenCount;
    refresh(r);
    emit dataChanged(index(row), index(row), {ContentRole, BlocksRole, AnswerRole, TokenCountRole});
}

void MessageListModel::setStreaming(int row, bool streaming) {
    if (row < 0 || row >= int(rows_.size()) || rows_[size_t(row)].streaming == streaming) return;
    rows_[size_t(row)].streaming = streaming;
    emit dataChanged(index(row), index(row), {StreamingRole});
}

void MessageListModel::setStatus(int row, const QString& status) {
    if (row < 0 || row >= int(rows_.size()) || rows_[size_t(row)].msg.status == status) return;
    rows_[size_t(row)].msg.status = status;
    emit dataChanged(index(row), index(row), {StatusRole});
}

void MessageListModel::setRecord(int row, const MessageRecord& m) {
    if (row < 0 || row >= int(rows_.size())) return;
    Row& r = rows_[size_t(row)];
    r.msg = m;
    refresh(r);
    emit dataChanged(index(row), index(row));
}

void MessageListModel::removeFrom(int row) {
    if (row < 0 || row >= int(rows_.size())) return;
    beginRemoveRows({}, row, int(rows_.size()) - 1);
    rows_.erase(rows_.begin() + row, rows_.end());
    endRemoveRows();
    emit countChanged();
}

void MessageListModel::setContextStart(int64_t firstInContextId) {
    for (size_t i = 0; i < rows_.size(); ++i) {
        MessageRecord& m = rows_[i].msg;
        const bool in = m.id >= firstInContextId || m.role == QLatin1String("system");
        if (m.inContext != in) {
            m.inContext = in;
            emit dataChanged(index(int(i)), index(int(i)), {InContextRole});
        }
    }
}

int MessageListModel::rowOfId(qint64 id) const {
    for (size_t i = 0; i < rows_.size(); ++i)
        if (rows_[i].msg.id == id) return int(i);
    return -1;
}

std::vector<MessageRecord> MessageListModel::records() const {
    std::vector<MessageRecord> out;
    out.reserve(rows_.size());
    for (const auto& r : rows_) out.push_back(r.msg);
    return out;
}

}  // namespace hearth::app
