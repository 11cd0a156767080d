#include "app/models/message_list_model.h"

#include <QQmlEngine>

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
        case BlocksRole: return QVariant::fromValue(static_cast<QObject*>(r.blocks));
        case AnswerRole: return r.answer;
        case InContextRole: return r.msg.inContext;
        case StreamingRole: return r.streaming;
        case TokenCountRole: return r.msg.tokenCount;
        case CreatedAtRole: return QVariant::fromValue<qint64>(r.msg.createdAt);
        case StatusRole: return r.msg.status;
        case AltIndexRole: return r.msg.altIndex;
        case AltCountRole: return r.msg.altCount;
        case SourcesRole: return r.msg.sources.toVariantList();
        default: return {};
    }
}

QHash<int, QByteArray> MessageListModel::roleNames() const {
    return {{IdRole, "messageId"},       {RoleRole, "role"},           {ContentRole, "content"},
            {BlocksRole, "blocks"},      {AnswerRole, "answer"},       {InContextRole, "inContext"},
            {StreamingRole, "streaming"}, {TokenCountRole, "tokenCount"}, {CreatedAtRole, "createdAt"},
            {StatusRole, "status"},        {AltIndexRole, "altIndex"},   {AltCountRole, "altCount"},
            {SourcesRole, "sources"}};
}

MessageListModel::Row MessageListModel::makeRow(const MessageRecord& m, bool streaming) {
    Row r{m, new MessageBlockModel(this), {}, streaming};
    QQmlEngine::setObjectOwnership(r.blocks, QQmlEngine::CppOwnership);  // QML only borrows it
    refresh(r);
    return r;
}

void MessageListModel::refresh(Row& r) {
    r.blocks->setContent(r.msg.content);
    r.answer = stripThinking(r.msg.content);
}

// A removed row's block model may still be read by a delegate the view has yet to destroy.
void MessageListModel::dropRows(std::vector<Row>::iterator from, std::vector<Row>::iterator to) {
    for (auto it = from; it != to; ++it) it->blocks->deleteLater();
}

void MessageListModel::setMessages(const std::vector<MessageRecord>& messages) {
    beginResetModel();
    dropRows(rows_.begin(), rows_.end());
    rows_.clear();
    for (const auto& m : messages) rows_.push_back(makeRow(m, false));
    endResetModel();
    emit countChanged();
}

void MessageListModel::append(const MessageRecord& m, bool streaming) {
    const int row = int(rows_.size());
    beginInsertRows({}, row, row);
    rows_.push_back(makeRow(m, streaming));
    endInsertRows();
    emit countChanged();
}

void MessageListModel::appendText(int row, const QString& text) {
    if (row < 0 || row >= int(rows_.size()) || text.isEmpty()) return;
    Row& r = rows_[size_t(row)];
    r.msg.content += text;
    refresh(r);
    emit dataChanged(index(row), index(row), {ContentRole, AnswerRole});
}

void MessageListModel::setContent(int row, const QString& content, int tokenCount) {
    if (row < 0 || row >= int(rows_.size())) return;
    Row& r = rows_[size_t(row)];
    r.msg.content = content;
    if (tokenCount >= 0) r.msg.tokenCount = tokenCount;
    refresh(r);
    emit dataChanged(index(row), index(row), {ContentRole, AnswerRole, TokenCountRole});
}

void MessageListModel::setGrounding(int row, const QString& prompt, const QJsonArray& sources) {
    if (row < 0 || row >= int(rows_.size())) return;
    Row& r = rows_[size_t(row)];
    r.msg.prompt = prompt;
    r.msg.sources = sources;
    emit dataChanged(index(row), index(row), {SourcesRole});
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
    dropRows(rows_.begin() + row, rows_.end());
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
