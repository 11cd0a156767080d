#include "app/support/desktop_helper.h"

#include <QClipboard>
#include <QDesktopServices>
#include <QFileInfo>
#include <QGuiApplication>
#include <QImage>
#include <QUrl>

namespace hearth::app {

QString formatBytesText(double bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000.0 && u < 4) {
        bytes /= 1000.0;
        ++u;
    }
    return QString::number(bytes, 'f', u == 0 ? 0 : (bytes < 10 ? 2 : 1)) + QLatin1Char(' ') + QLatin1String(units[u]);
}

QString formatCountText(double n) {
    if (n >= 1e9) return QString::number(n / 1e9, 'f', n < 1e10 ? 1 : 0) + QLatin1Char('B');
    if (n >= 1e6) return QString::number(n / 1e6, 'f', n < 1e7 ? 1 : 0) + QLatin1Char('M');
    if (n >= 1e3) return QString::number(n / 1e3, 'f', 0) + QLatin1Char('K');
    return QString::number(n, 'f', 0);
}

void DesktopHelper::copyText(const QString& text) const {
    if (auto* cb = QGuiApplication::clipboard()) cb->setText(text);
}

QString DesktopHelper::clipboardText() const {
    auto* cb = QGuiApplication::clipboard();
    return cb ? cb->text() : QString();
}

QString localFilePath(const QUrl& url) { return url.isLocalFile() ? url.toLocalFile() : url.toString(); }
QString DesktopHelper::urlToPath(const QUrl& url) const { return localFilePath(url); }
QUrl DesktopHelper::pathToUrl(const QString& path) const { return QUrl::fromLocalFile(path); }
QString DesktopHelper::formatBytes(double bytes) const { return formatBytesText(bytes); }
QString DesktopHelper::formatCount(double n) const { return formatCountText(n); }

bool DesktopHelper::openLocalFile(const QString& path) {
    return QFileInfo(path).isFile() && QDesktopServices::openUrl(QUrl::fromLocalFile(path));
}

bool DesktopHelper::copyImageToClipboard(const QString& path) {
    auto* cb = QGuiApplication::clipboard();
    const QImage img(path);
    if (!cb || img.isNull()) return false;
    cb->setImage(img);
    return true;
}

}  // namespace hearth::app
