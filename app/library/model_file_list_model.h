// The Models page's list: one row per model file (or split set) in the models folder, with the
// metadata read by model_file_info.h, whether it can be used (and why not), and a memory estimate at
// the current context length. `label` tells two copies of one model apart in the chat's picker.
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
        UsableRole, LabelRole, ProblemTextRole, EmbeddingRole, ExpertCountRole, ExpertsUsedRole,
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
    void retranslate();  // the problem sentences, after a language switch
    const std::vector<ModelFileInfo>& models() const { return rows_; }

signals:
    void countChanged();

private:
    std::vector<ModelFileInfo> rows_;
    int nCtx_ = 4096;
    uint64_t available_ = 0;
};

}  // namespace hearth::app
