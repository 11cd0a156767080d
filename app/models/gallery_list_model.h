// The Image tab's gallery: generated images newest first, each with its file (as a URL for QML's
// Image) and the settings that made it. Rows are inserted at the top and removed one by one, so the
// view keeps its scroll position.
#pragma once

#include <QAbstractListModel>
#include <vector>

#include "app/store/image_gallery.h"

namespace hearth::app {

class GalleryListModel : public QAbstractListModel {
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)
public:
    enum Roles {
        IdRole = Qt::UserRole + 1, FileRole, UrlRole, PromptRole, NegativeRole, SeedRole, WidthRole, HeightRole,
        StepsRole, GuidanceRole, SamplerRole, ModelRole, SecondsRole, CreatedAtRole,
    };

    explicit GalleryListModel(QObject* parent = nullptr) : QAbstractListModel(parent) {}
    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;
    int count() const { return int(rows_.size()); }

    void setImages(std::vector<ImageRecord> rows);
    void prepend(const ImageRecord& r);
    void remove(int64_t id);
    const ImageRecord* find(int64_t id) const;

signals:
    void countChanged();

private:
    std::vector<ImageRecord> rows_;
};

}  // namespace hearth::app
