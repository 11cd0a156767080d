#include "app/support/system_memory.h"

#include <QFile>

namespace hearth::app {

SystemMemory readSystemMemory() {
    SystemMemory m;
    QFile f(QStringLiteral("/proc/meminfo"));
    if (!f.open(QIODevice::ReadOnly)) return m;
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (const QByteArray& line : lines) {
        const QList<QByteArray> parts = line.simplified().split(' ');
        if (parts.size() < 2) continue;
        const uint64_t kib = parts[1].toULongLong();
        if (parts[0] == "MemTotal:") m.totalBytes = kib * 1024;
        else if (parts[0] == "MemAvailable:") m.availableBytes = kib * 1024;
    }
    return m;
}

}  // namespace hearth::app
