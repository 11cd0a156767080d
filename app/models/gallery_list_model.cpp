#include "app/models/gallery_list_model.h"

#include <QUrl>

namespace hearth::app {

int GalleryListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

QVariant GalleryListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() < 0 || index.row() >= int(rows_.size())) return {};
    const ImageRecord& r = rows_[size_t(index.row())];
    switch (role) {
        case IdRole: return QVariant::fromValue(qint64(r.id));
        case FileRole: return r.file;
        case UrlRole: return QUrl::fromLocalFile(r.file);
        case PromptRole: return r.prompt;
        case NegativeRole: return r.negative;
        case SeedRole: return QString::number(r.seed);  // as text: QML numbers lose 64-bit seeds
        case WidthRole: return r.width;
        case HeightRole: return r.height;
        case StepsRole: return r.steps;
        case GuidanceRole: return r.guidance;
        case SamplerRole: return r.sampler;
        case ModelRole: return r.model;
        case SecondsRole: return r.seconds;
        case CreatedAtRole: return QVariant::fromValue(qint64(r.createdAt));
        default: return {};
    }
}

QHash<int, QByteArray> GalleryListModel::roleNames() const {
    return {{IdRole, "imageId"}, {FileRole, "file"}, {UrlRole, "url"}, {PromptRole, "prompt"}, {NegativeRole, "negative"},
            {SeedRole, "seed"}, {WidthRole, "imageWidth"}, {HeightRole, "imageHeight"}, {StepsRole, "steps"},
            {GuidanceRole, "guidance"}, {SamplerRole, "sampler"}, {ModelRole, "model"}, {SecondsRole, "seconds"},
            {CreatedAtRole, "createdAt"}};
}

void GalleryListModel::setImages(std::vector<ImageRecord> rows) {
    beginResetModel();
    rows_ = std::move(rows);
    endResetModel();
    emit countChanged();
}

void GalleryListModel::prepend(const ImageRecord& r) {
    beginInsertRows({}, 0, 0);
    rows_.insert(rows_.begin(), r);
    endInsertRows();
    emit countChanged();
}

void GalleryListModel::remove(int64_t id) {
    for (size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i].id != id) continue;
        beginRemoveRows({}, int(i), int(i));
        rows_.erase(rows_.begin() + long(i));
        endRemoveRows();
        emit countChanged();
        return;
    }
}

const ImageRecord* GalleryListModel::find(int64_t id) const {
    for (const ImageRecord& r : rows_)
        if (r.id == id) return &r;
    return nullptr;
}

}  // namespace hearth::app
