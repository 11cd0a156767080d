#include "app/models/adapter_list_model.h"

#include <QFileInfo>

namespace hearth::app {

AdapterListModel::AdapterListModel(QObject* parent) : QAbstractListModel(parent) {}

int AdapterListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : count(); }

QVariant AdapterListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() < 0 || index.row() >= count()) return {};
    const AdapterEntry& e = rows_[size_t(index.row())];
    switch (role) {
        case PathRole: return e.record.path;
        case Qt::DisplayRole:
        case NameRole: return displayName(e.record.path);
        case ScaleRole: return e.record.scale;
        case EnabledRole: return e.record.enabled;
        case MissingRole: return e.missing;
        case IsFolderRole: return !e.record.path.endsWith(QLatin1String(".gguf"), Qt::CaseInsensitive);
        default: return {};
    }
}

QHash<int, QByteArray> AdapterListModel::roleNames() const {
    // Not "scale" or "enabled": a delegate's required properties of those names would be its own
    // Item.scale and Item.enabled.
    return {{PathRole, "path"},          {NameRole, "name"},       {ScaleRole, "adapterScale"},
            {EnabledRole, "switchedOn"}, {MissingRole, "missing"}, {IsFolderRole, "isFolder"}};
}

void AdapterListModel::setEntries(const std::vector<AdapterEntry>& entries) {
    bool samePaths = entries.size() == rows_.size();
    for (size_t i = 0; samePaths && i < rows_.size(); ++i) samePaths = rows_[i].record.path == entries[i].record.path;
    if (!samePaths) {
        const bool countChanges = entries.size() != rows_.size();
        beginResetModel();
        rows_ = entries;
        endResetModel();
        if (countChanges) emit countChanged();
        return;
    }
    for (size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i] == entries[i]) continue;
        rows_[i] = entries[i];
        emit dataChanged(index(int(i)), index(int(i)));
    }
}

QString AdapterListModel::displayName(const QString& path) {
    QString p = path;
    while (p.size() > 1 && p.endsWith(QLatin1Char('/'))) p.chop(1);
    const QFileInfo fi(p);
    if (fi.suffix().compare(QLatin1String("gguf"), Qt::CaseInsensitive) == 0) return fi.completeBaseName();
    return fi.fileName();
}

}  // namespace hearth::app
