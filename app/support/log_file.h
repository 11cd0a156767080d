// The rotating log file in the app's data folder (logs/hearth.log, 1 MiB, three old files kept):
// every qDebug/qInfo/qWarning of the app goes there as well as to stderr, so a user can send it with
// a bug report. Conversation text is never logged.
#pragma once

#include <QString>

namespace hearth::app {

// Installs the Qt message handler writing to `<dir>/hearth.log`. Safe from any thread.
void installLogFile(const QString& dir, qint64 maxBytes = 1 << 20, int keep = 3);
QString logFilePath();  // empty before installLogFile

}  // namespace hearth::app
