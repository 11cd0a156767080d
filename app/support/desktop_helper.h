// Small services QML has no API for: the clipboard, turning a file:// URL from a dialog into a path,
// human-readable sizes, saving exported text, and opening a file in the system's own viewer. Exposed to QML as the `Desktop` singleton.
#pragma once

#include <QObject>
#include <QString>
#include <QUrl>

namespace hearth::app {

class DesktopHelper : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    Q_INVOKABLE void copyText(const QString& text) const;
    Q_INVOKABLE QString clipboardText() const;
    Q_INVOKABLE QString urlToPath(const QUrl& url) const;
    Q_INVOKABLE QUrl pathToUrl(const QString& path) const;
    Q_INVOKABLE QString formatBytes(double bytes) const;
    Q_INVOKABLE QString formatCount(double n) const;  // 1.5B, 350M
    Q_INVOKABLE bool openFile(const QString& path) const { return openLocalFile(path); }
    Q_INVOKABLE bool copyImageFile(const QString& path) const { return copyImageToClipboard(path); }

    // Opens a local file with the desktop's default application (a picture: its image viewer).
    static bool openLocalFile(const QString& path);
    // Puts the picture in `path` on the clipboard as an image (false when it cannot be read).
    static bool copyImageToClipboard(const QString& path);
};

QString formatBytesText(double bytes);
// A dialog's file:// URL as a path (other URLs as they are; an empty one empty): what urlToPath gives QML.
QString localFilePath(const QUrl& url);
QString formatCountText(double n);

}  // namespace hearth::app
