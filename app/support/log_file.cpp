#include "app/support/log_file.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QMutex>
#include <cstdio>

namespace hearth::app {

namespace {

struct LogState {
    QMutex mutex;
    QString path;
    qint64 maxBytes = 1 << 20;
    int keep = 3;
    QFile file;
};

LogState& state() {
    static LogState s;
    return s;
}

// hearth.log → hearth.log.1 → … → hearth.log.<keep>; the oldest is dropped.
void rotate(LogState& s) {
    s.file.close();
    QFile::remove(s.path + QLatin1Char('.') + QString::number(s.keep));
    for (int i = s.keep - 1; i >= 1; --i)
        QFile::rename(s.path + QLatin1Char('.') + QString::number(i), s.path + QLatin1Char('.') + QString::number(i + 1));
    QFile::rename(s.path, s.path + QStringLiteral(".1"));
    s.file.setFileName(s.path);
    s.file.open(QIODevice::Append | QIODevice::Text);
}

const char* levelName(QtMsgType t) {
    switch (t) {
        case QtDebugMsg: return "debug";
        case QtInfoMsg: return "info";
        case QtWarningMsg: return "warning";
        case QtCriticalMsg: return "error";
        case QtFatalMsg: return "fatal";
    }
    return "?";
}

void handler(QtMsgType type, const QMessageLogContext& ctx, const QString& msg) {
    const QByteArray line = (QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs) + QLatin1Char(' ') +
                             QLatin1String(levelName(type)) + QLatin1Char(' ') +
                             (ctx.category && qstrcmp(ctx.category, "default") != 0 ? QLatin1String(ctx.category) + QLatin1String(": ") : QString()) +
                             msg + QLatin1Char('\n')).toUtf8();
    fwrite(line.constData(), 1, size_t(line.size()), stderr);
    LogState& s = state();
    QMutexLocker lock(&s.mutex);
    if (!s.file.isOpen()) return;
    if (s.file.size() + line.size() > s.maxBytes) rotate(s);
    s.file.write(line);
    s.file.flush();
}

}  // namespace

void installLogFile(const QString& dir, qint64 maxBytes, int keep) {
    LogState& s = state();
    {
        QMutexLocker lock(&s.mutex);
        QDir().mkpath(dir);
        s.path = QDir(dir).filePath(QStringLiteral("hearth.log"));
        s.maxBytes = maxBytes;
        s.keep = std::max(1, keep);
        s.file.close();
        s.file.setFileName(s.path);
        s.file.open(QIODevice::Append | QIODevice::Text);
    }
    qInstallMessageHandler(handler);
}

QString logFilePath() {
    QMutexLocker lock(&state().mutex);
    return state().path;
}

}  // namespace hearth::app
