// The Models page's list: one row per model file (or split set) in the models folder, with the
// metadata read by model_file_info.h and a memory estimate at the current context length.
#pragma once

#include <QAbstractListModel>
#include <vector>

#include "app/library/model_file_info.h"

namespace hearth::app {

class ModelFileListModel : public QAbstractListModel {
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)
public:
    enum Roles {
        PathRole = Qt::UserRole + 1, FileNameRole, NameRole, ArchitectureRole, ParametersRole, QuantizationRole,
        FileSizeRole, ContextLengthRole, ErrorRole, ThinkRole, PartsRole, MemoryRole, FitsRole,
    };

    explicit ModelFileListModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;
    int count() const { return int(rows_.size()); }

    void setModels(std::vector<ModelFileInfo> models);
    // Recomputes the memory column for a new context length / free memory figure.
    void setMemoryContext(int nCtx, uint64_t availableBytes);
    const ModelFileInfo* find(const QString& path) const;
    const std::vector<ModelFileInfo>& models() const { return rows_; }

signals:
    void countChanged();

private:
    std::vector<ModelFileInfo> rows_;
    int nCtx_ = 4096;
    uint64_t available_ = 0;
};

}  // namespace hearth::app
