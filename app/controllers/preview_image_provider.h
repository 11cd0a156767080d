// Serves the Image tab's live preview to QML as image://hearthpreview/<serial>: the serial changes
// with every step (ImageController::previewSerial), so the Image element asks again; the id itself
// is ignored and the latest preview is returned.
#pragma once

#include <QPointer>
#include <QQuickImageProvider>

#include "app/controllers/image_controller.h"

namespace hearth::app {

class PreviewImageProvider : public QQuickImageProvider {
public:
    explicit PreviewImageProvider(ImageController* images) : QQuickImageProvider(QQuickImageProvider::Image), images_(images) {}
    QImage requestImage(const QString&, QSize* size, const QSize& requested) override {
        QImage img = images_ ? images_->preview() : QImage();
        if (img.isNull()) img = QImage(8, 8, QImage::Format_RGB888), img.fill(Qt::black);
        if (size) *size = img.size();
        return requested.isValid() ? img.scaled(requested, Qt::KeepAspectRatio, Qt::FastTransformation) : img;
    }

private:
    QPointer<ImageController> images_;
};

}  // namespace hearth::app
