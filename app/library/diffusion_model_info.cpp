#include "app/library/diffusion_model_info.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>

#include "engine/diffusion/pipeline.h"

namespace hearth::app {

namespace {
QJsonObject readJsonObject(const QString& file, QString* error) {
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QCoreApplication::translate("DiffusionModelInfo", "%1 is missing").arg(QFileInfo(file).fileName());
        return {};
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(f.read(4 << 20), &pe);  // configs are a few KB
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        *error = QCoreApplication::translate("DiffusionModelInfo", "%1 is not valid JSON").arg(QFileInfo(file).fileName());
        return {};
    }
    return doc.object();
}
}  // namespace

bool isDiffusionFolder(const QString& dir) { return QFileInfo(QDir(dir).filePath(QStringLiteral("model_index.json"))).isFile(); }

DiffusionModelInfo readDiffusionModelInfo(const QString& dir) {
    DiffusionModelInfo info;
    const QDir d(dir);
    info.path = QDir::cleanPath(d.absolutePath());
    info.name = d.dirName();
    const QJsonObject index = readJsonObject(d.filePath(QStringLiteral("model_index.json")), &info.error);
    if (!info.error.isEmpty()) return info;
    info.kind = index.value(QStringLiteral("_class_name")).toString();
    for (const char* part : {"text_encoder", "tokenizer", "unet", "vae", "scheduler"}) {
        if (!d.exists(QLatin1String(part))) {
            info.error = QCoreApplication::translate("DiffusionModelInfo", "the %1 folder is missing").arg(QLatin1String(part));
            return info;
        }
    }
    // The family from the text encoder: SD 1.x uses OpenAI's CLIP ViT-L (quick-GELU), SD 2.x
    // OpenCLIP ViT-H (GELU); the UNet's cross-attention width (768 / 1024) when the config has no
    // activation. SD-Turbo is SD 2.1 distilled, known by its name.
    QString configError;
    const QJsonObject text = readJsonObject(d.filePath(QStringLiteral("text_encoder/config.json")), &configError);
    const QJsonObject unet = readJsonObject(d.filePath(QStringLiteral("unet/config.json")), &configError);
    if (!configError.isEmpty()) {
        info.error = configError;
        return info;
    }
    const QString act = text.value(QStringLiteral("hidden_act")).toString();
    const int cross = unet.value(QStringLiteral("cross_attention_dim")).toInt();
    if (info.name.contains(QLatin1String("turbo"), Qt::CaseInsensitive)) info.kind = QStringLiteral("SD-Turbo");
    else if (act == QLatin1String("quick_gelu") || cross == 768) info.kind = QStringLiteral("Stable Diffusion 1.x");
    else if (act == QLatin1String("gelu") || cross == 1024) info.kind = QStringLiteral("Stable Diffusion 2.x");
    // The weights the pipeline loads: each part's safetensors (an .fp16 variant and a full file side
    // by side count once, the larger: an upper bound).
    for (const char* part : {"text_encoder", "unet", "vae"}) {
        uint64_t largest = 0;
        for (const QFileInfo& f : QDir(d.filePath(QLatin1String(part))).entryInfoList({QStringLiteral("*.safetensors")}, QDir::Files))
            largest = std::max<uint64_t>(largest, uint64_t(f.size()));
        if (largest == 0) {
            info.error = QCoreApplication::translate("DiffusionModelInfo", "the %1 folder has no .safetensors weights").arg(QLatin1String(part));
            return info;
        }
        info.weightBytes += largest;
    }
    return info;
}

bool isCheckpointFile(const QString& path) {
    const QFileInfo f(path);
    return f.isFile() && f.suffix().compare(QLatin1String("safetensors"), Qt::CaseInsensitive) == 0;
}

bool checkpointHasTokenizer(const QString& file) {
    return diffusion::has_clip_tokenizer(diffusion::checkpoint_tokenizer_dir(file.toStdString()));
}

DiffusionModelInfo readCheckpointInfo(const QString& file, const QString& configDir) {
    DiffusionModelInfo info;
    const QFileInfo f(file);
    info.path = QDir::cleanPath(f.absoluteFilePath());
    info.configDir = configDir.isEmpty() ? QString() : QDir::cleanPath(QDir(configDir).absolutePath());
    info.singleFile = true;
    info.name = f.completeBaseName();
    if (!f.isFile()) {
        info.error = QCoreApplication::translate("DiffusionModelInfo", "the file is missing");
        return info;
    }
    info.weightBytes = uint64_t(f.size());
    // The engine's own checks before any weight is read, so the list says what opening would.
    auto check = diffusion::Pipeline::check_single_file(info.path.toStdString(), info.configDir.toStdString());
    if (!check.ok()) {
        // The engine's message starts with the path, which the list shows beside it already.
        QString m = QString::fromStdString(check.message());
        if (m.startsWith(info.path + QLatin1String(": "))) m = m.mid(info.path.size() + 2);
        info.error = m;
        return info;
    }
    info.kind = check->sd2 ? QStringLiteral("Stable Diffusion 2.x") : QStringLiteral("Stable Diffusion 1.x");  // the page adds "single file"
    return info;
}

std::vector<DiffusionModelInfo> scanDiffusionModels(const QString& folder) {
    std::vector<DiffusionModelInfo> out;
    if (folder.isEmpty()) return out;
    for (const QFileInfo& sub : QDir(folder).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
        if (isDiffusionFolder(sub.absoluteFilePath())) out.push_back(readDiffusionModelInfo(sub.absoluteFilePath()));
    return out;
}

}  // namespace hearth::app
