// Writing a file a person chose (an exported conversation, a picture saved elsewhere) without ever
// losing what was there: the bytes go to a temporary file beside it, which takes the file's place
// only once all of them are written (QSaveFile). A full disk, a file-size limit or a cut write
// leaves the old file as it was and no half-written one.
#pragma once

#include <QByteArray>
#include <QString>

namespace hearth::app {

// "" when `path` now holds `bytes`; otherwise what went wrong, in words, and `path` is unchanged.
QString replaceFile(const QString& path, const QByteArray& bytes);

// As replaceFile with the bytes of the file `from` (a small file: it is read whole).
QString replaceFileWithCopy(const QString& path, const QString& from);

}  // namespace hearth::app
