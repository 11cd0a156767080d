// Small services QML has no API for: the clipboard, turning a file:// URL from a dialog into a path,
// human-readable sizes, and saving exported text. Exposed to QML as the `Desktop` singleton.
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
};

QString formatBytesText(double bytes);
QString formatCountText(double n);

}  // namespace hearth::app
