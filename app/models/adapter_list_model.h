// The Adapters dialog's list: the LoRA adapters of the conversation shown, in the order they were
// added, each with its scale, its switch, and whether its file is missing. Plain data: the
// AdapterController decides what goes in (after the model has accepted it) and writes it to the store.
#pragma once

#include <QAbstractListModel>
#include <vector>

#include "app/store/records.h"

namespace hearth::app {

struct AdapterEntry {
    AdapterRecord record;
    bool missing = false;  // the file or folder was not found when last looked for

    bool active() const { return record.enabled && !missing; }
    bool operator==(const AdapterEntry&) const = default;
};

class AdapterListModel : public QAbstractListModel {
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)
public:
    enum Roles { PathRole = Qt::UserRole + 1, NameRole, ScaleRole, EnabledRole, MissingRole, IsFolderRole };

    explicit AdapterListModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;
    int count() const { return int(rows_.size()); }

    const std::vector<AdapterEntry>& entries() const { return rows_; }
    // Replaces the list; rows that only changed in place are updated without a reset, so a
    // slider or switch the user is holding keeps its delegate.
    void setEntries(const std::vector<AdapterEntry>& entries);

    // What a person calls an adapter: its file name without ".gguf", or its folder's name.
    static QString displayName(const QString& path);

signals:
    void countChanged();

private:
    std::vector<AdapterEntry> rows_;
};

}  // namespace hearth::app
