#include "app/library/model_file_list_model.h"

#include "app/library/model_library.h"
#include "app/support/desktop_helper.h"

namespace hearth::app {

ModelFileListModel::ModelFileListModel(QObject* parent) : QAbstractListModel(parent) {}

int ModelFileListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

QVariant ModelFileListModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const ModelFileInfo& m = rows_[size_t(index.row())];
    switch (role) {
        case Qt::DisplayRole:
        case NameRole: return m.name;
        case PathRole: return m.path;
        case FileNameRole: return m.fileName;
        case ArchitectureRole: return m.architecture;
        case ParametersRole: return m.nParams ? formatCountText(double(m.nParams)) : QString();
        case QuantizationRole: return m.quantization;
        case FileSizeRole: return double(m.fileSize);
        case ContextLengthRole: return m.contextLength;
        case ErrorRole: return m.error;
        case ThinkRole: return m.thinkTemplate;
        case ExpertCountRole: return m.expertCount;
        case ExpertsUsedRole: return m.expertsUsed;
        case PartsRole: return int(m.parts.size());
        case MemoryRole: return m.usable() ? double(estimateMemory(m, nCtx_).total()) : 0.0;
        case FitsRole: return available_ == 0 || !m.usable() || estimateMemory(m, nCtx_).total() <= available_;
        case ProblemTextRole: return ModelLibrary::problemText(m.problem, m.architecture);
        case UsableRole: return m.usable();
        case EmbeddingRole: return m.embeddingModel();
        case LabelRole: {
            // "Qwen2.5 7B Instruct · Q4_K_M · qwen2.5-7b-instruct-q4_k_m.gguf"
            QStringList parts{m.name};
            if (!m.quantization.isEmpty()) parts << m.quantization;
            parts << m.fileName;
            return parts.join(QStringLiteral(" · "));
        }
        default: return {};
    }
}

QHash<int, QByteArray> ModelFileListModel::roleNames() const {
    return {{PathRole, "path"},          {FileNameRole, "fileName"},       {NameRole, "name"},
            {ArchitectureRole, "architecture"}, {ParametersRole, "parameters"}, {QuantizationRole, "quantization"},
            {FileSizeRole, "fileSize"},  {ContextLengthRole, "contextLength"}, {ErrorRole, "error"},
            {ThinkRole, "think"},        {PartsRole, "parts"},             {MemoryRole, "memory"},
            {FitsRole, "fits"},          {UsableRole, "usable"},
            {LabelRole, "label"},        {ProblemTextRole, "problemText"}, {EmbeddingRole, "embedding"},
            {ExpertCountRole, "expertCount"}, {ExpertsUsedRole, "expertsUsed"}};
}

void ModelFileListModel::setModels(std::vector<ModelFileInfo> models) {
    beginResetModel();
    rows_ = std::move(models);
    endResetModel();
    emit countChanged();
}

void ModelFileListModel::setMemoryContext(int nCtx, uint64_t availableBytes) {
    if (nCtx == nCtx_ && availableBytes == available_) return;
    nCtx_ = nCtx;
    available_ = availableBytes;
    if (!rows_.empty()) emit dataChanged(index(0), index(int(rows_.size()) - 1), {MemoryRole, FitsRole});
}

void ModelFileListModel::retranslate() {
    if (!rows_.empty()) emit dataChanged(index(0), index(int(rows_.size()) - 1), {ProblemTextRole});
}

const ModelFileInfo* ModelFileListModel::find(const QString& path) const {
    for (const auto& m : rows_)
        if (m.path == path || m.parts.contains(path)) return &m;
    return nullptr;
}

}  // namespace hearth::app
