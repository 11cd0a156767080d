#include "app/models/message_block_model.h"

namespace hearth::app {

namespace {
QString kindName(MessageBlock::Kind k) {
    switch (k) {
        case MessageBlock::Code: return QStringLiteral("code");
        case MessageBlock::Think: return QStringLiteral("think");
        case MessageBlock::Text: break;
    }
    return QStringLiteral("text");
}
}  // namespace

MessageBlockModel::MessageBlockModel(QObject* parent) : QAbstractListModel(parent) {}

int MessageBlockModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(blocks_.size()); }

QVariant MessageBlockModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const MessageBlock& b = blocks_[size_t(index.row())];
    switch (role) {
        case KindRole: return kindName(b.kind);
        case Qt::DisplayRole:
        case BodyRole: return b.text;
        case LanguageRole: return b.language;
        case OpenRole: return b.open;
        default: return {};
    }
}

QHash<int, QByteArray> MessageBlockModel::roleNames() const {
    return {{KindRole, "kind"}, {BodyRole, "body"}, {LanguageRole, "language"}, {OpenRole, "open"}};
}

void MessageBlockModel::setContent(const QString& content) {
    std::vector<MessageBlock> next = displayBlocks(content);
    // Rows keep their delegate while their kind stays; from the first row whose kind changed (a
    // "``" that became a code fence), the old rows go and the new ones come.
    size_t same = 0;
    while (same < blocks_.size() && same < next.size() && blocks_[same].kind == next[same].kind) ++same;
    for (size_t i = 0; i < same; ++i) {
        QList<int> roles;
        if (blocks_[i].text != next[i].text) roles << BodyRole << Qt::DisplayRole;
        if (blocks_[i].language != next[i].language) roles << LanguageRole;
        if (blocks_[i].open != next[i].open) roles << OpenRole;
        if (roles.isEmpty()) continue;
        blocks_[i] = next[i];
        emit dataChanged(index(int(i)), index(int(i)), roles);
    }
    if (same < blocks_.size()) {
        beginRemoveRows({}, int(same), int(blocks_.size()) - 1);
        blocks_.resize(same);
        endRemoveRows();
    }
    if (same < next.size()) {
        beginInsertRows({}, int(same), int(next.size()) - 1);
        blocks_.insert(blocks_.end(), std::make_move_iterator(next.begin() + long(same)),
                       std::make_move_iterator(next.end()));
        endInsertRows();
    }
}

}  // namespace hearth::app
