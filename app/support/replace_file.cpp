#include "app/support/replace_file.h"

#include <QDir>
#include <QFile>
#include <QObject>
#include <QSaveFile>

namespace hearth::app {

// QObject::tr: the texts of the model import's copy (model_library.cpp), translated there already.
QString replaceFile(const QString& path, const QByteArray& bytes) {
    const QString shown = QDir::toNativeSeparators(path);
    QSaveFile out(path);
    // Unbuffered: Qt 6.4's QSaveFile commits a buffered file whose flush was cut short (a write of
    // 5,000 bytes under a 100-byte file-size limit committed 100 bytes). Written directly, every
    // short write is seen here, and writing on after it gives the system's reason (disk full…).
    if (!out.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        return QObject::tr("Cannot write %1: %2").arg(shown, out.errorString());
    for (qint64 done = 0; done < bytes.size();) {
        const qint64 n = out.write(bytes.constData() + done, bytes.size() - done);
        if (n <= 0) {
            const QString why = out.errorString();
            out.cancelWriting();
            return QObject::tr("Cannot write %1 (is the disk full?): %2").arg(shown, why);
        }
        done += n;
    }
    if (!out.commit()) return QObject::tr("Cannot write %1 (is the disk full?): %2").arg(shown, out.errorString());
    return {};
}

QString replaceFileWithCopy(const QString& path, const QString& from) {
    QFile in(from);
    if (!in.open(QIODevice::ReadOnly)) return QObject::tr("Cannot read %1: %2").arg(QDir::toNativeSeparators(from), in.errorString());
    const QByteArray bytes = in.readAll();
    if (in.error() != QFileDevice::NoError)
        return QObject::tr("Cannot read %1: %2").arg(QDir::toNativeSeparators(from), in.errorString());
    return replaceFile(path, bytes);
}

}  // namespace hearth::app
