// The settings' device key ("auto", "cpu", "vulkan:1", "cuda:0"; AppSettings::isValidDeviceKey) as
// the engine's create_backend takes it: a backend name and a device index. The chat and the image
// workers both read it here.
#pragma once

#include <QString>
#include <QStringList>
#include <string>

namespace hearth::app {

struct DeviceChoice {
    std::string backend = "auto";
    int index = 0;
};

inline DeviceChoice parseDeviceKey(const QString& key) {
    const QStringList parts = key.split(QLatin1Char(':'));
    DeviceChoice c;
    if (!parts.value(0).isEmpty()) c.backend = parts[0].toStdString();
    c.index = parts.size() > 1 ? parts[1].toInt() : 0;
    return c;
}

}  // namespace hearth::app
