// Adds an image model through ImageController the way the Models page does (read off the UI thread)
// and waits for the answer: true when it was added (and selected), false when errorText says why not.
#pragma once

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QtTest>

#include "app/controllers/image_controller.h"

namespace hearth::app::test {

// A diffusers folder, or (checkpoint = true) a single-file checkpoint with its config folder.
inline bool addImageModel(ImageController* images, const QString& path, const QString& configDir = QString(), bool checkpoint = false) {
    QSignalSpy added(images, &ImageController::modelAdded);
    if (checkpoint) images->addCheckpointPath(path, configDir);
    else images->addModelPath(path);
    QElapsedTimer t;
    t.start();
    while (added.isEmpty() && images->errorText().isEmpty() && t.elapsed() < 20000) QTest::qWait(5);
    return !added.isEmpty();
}

}  // namespace hearth::app::test
