#include "app/library/model_file_info.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <algorithm>

#include "engine/gguf/gguf.h"
#include "engine/session/model_info.h"

namespace hearth::app {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

int64_t intKey(const gguf::File& f, const std::string& key, int64_t fallback = 0) {
    auto v = f.get_int(key, fallback);
    return v.ok() ? *v : fallback;
}

uint64_t countParams(const gguf::File& f) {
    uint64_t n = 0;
    for (const auto& t : f.tensors()) n += uint64_t(t.n_elements());
    return n;
}

}  // namespace

bool parseSplitName(const QString& fileName, QString* prefix, int* index, int* count) {
    static const QRegularExpression re(QStringLiteral("^(.*)-(\\d{5})-of-(\\d{5})\\.gguf$"),
                                       QRegularExpression::CaseInsensitiveOption);
    const auto m = re.match(fileName);
    if (!m.hasMatch()) return false;
    if (prefix) *prefix = m.captured(1);
    if (index) *index = m.captured(2).toInt();
    if (count) *count = m.captured(3).toInt();
    return true;
}

Result<ModelFileInfo> readModelFileInfo(const QString& path) {
    const QFileInfo fi(path);
    ModelFileInfo info;
    QString prefix;
    int index = 0, count = 0;
    if (parseSplitName(fi.fileName(), &prefix, &index, &count)) {
        if (count < 1 || index < 1 || index > count)
            return make_error(fi.fileName().toStdString() + ": split numbering is inconsistent");
        for (int i = 1; i <= count; ++i) {
            const QString part = fi.dir().filePath(QStringLiteral("%1-%2-of-%3.gguf")
                                                       .arg(prefix).arg(i, 5, 10, QLatin1Char('0')).arg(count, 5, 10, QLatin1Char('0')));
            if (!QFileInfo::exists(part))
                return make_error(fi.fileName().toStdString() + ": part " + std::to_string(i) + " of " +
                                  std::to_string(count) + " is missing (" + QFileInfo(part).fileName().toStdString() + ")");
            info.parts << part;
        }
        info.path = info.parts.first();
        info.fileName = prefix + QStringLiteral(".gguf");
    } else {
        info.path = fi.absoluteFilePath();
        info.parts << info.path;
        info.fileName = fi.fileName();
    }

    for (int i = 0; i < info.parts.size(); ++i) {
        auto f = gguf::File::open(info.parts[i].toStdString());
        if (!f.ok()) return f.status();
        info.fileSize += (*f)->file_size();
        info.nParams += countParams(**f);
        if (i != 0) continue;
        const gguf::File& g = **f;
        info.name = qs(model_display_name(g));
        if (parseSplitName(QFileInfo(info.path).fileName(), nullptr, nullptr, nullptr) && !g.find("general.name"))
            info.name = prefix;
        auto arch = g.get_string("general.architecture", "");
        if (!arch.ok()) return arch.status();
        if (arch->empty()) return make_error(info.path.toStdString() + ": general.architecture is missing; not a language model file");
        info.architecture = qs(*arch);
        info.quantization = qs(describe_file_type(g));
        const std::string a = *arch;
        info.contextLength = int(intKey(g, a + ".context_length"));
        info.nLayer = int(intKey(g, a + ".block_count"));
        info.nEmbd = int(intKey(g, a + ".embedding_length"));
        info.nHead = int(intKey(g, a + ".attention.head_count"));
        info.nKvHead = int(intKey(g, a + ".attention.head_count_kv", info.nHead));
        info.headDim = int(intKey(g, a + ".attention.key_length", info.nHead > 0 ? info.nEmbd / info.nHead : 0));
        auto tmpl = g.get_string("tokenizer.chat_template", "");
        info.thinkTemplate = tmpl.ok() && tmpl->find("<think>") != std::string::npos;
    }
    return info;
}

std::vector<ModelFileInfo> scanModelsFolder(const QString& folder) {
    std::vector<ModelFileInfo> out;
    const QDir dir(folder);
    const QStringList files = dir.entryList({QStringLiteral("*.gguf"), QStringLiteral("*.GGUF")}, QDir::Files, QDir::Name);
    for (const QString& name : files) {
        int index = 0;
        if (parseSplitName(name, nullptr, &index, nullptr) && index != 1) continue;  // listed with part 1
        auto info = readModelFileInfo(dir.filePath(name));
        if (info.ok()) {
            out.push_back(std::move(*info));
        } else {
            ModelFileInfo bad;
            bad.path = dir.filePath(name);
            bad.parts << bad.path;
            bad.fileName = name;
            bad.name = QFileInfo(name).completeBaseName();
            bad.fileSize = uint64_t(QFileInfo(bad.path).size());
            bad.error = QString::fromStdString(info.message());
            out.push_back(std::move(bad));
        }
    }
    std::sort(out.begin(), out.end(), [](const ModelFileInfo& a, const ModelFileInfo& b) {
        return a.name.compare(b.name, Qt::CaseInsensitive) < 0;
    });
    return out;
}

MemoryEstimate estimateMemory(const ModelFileInfo& info, int nCtx) {
    MemoryEstimate e;
    e.weightBytes = info.fileSize;
    const int ctx = info.contextLength > 0 ? std::min(nCtx, info.contextLength) : nCtx;
    e.kvBytes = uint64_t(2) * uint64_t(info.nLayer) * uint64_t(std::max(ctx, 0)) * uint64_t(info.nKvHead) *
                uint64_t(info.headDim) * 2u;
    // Activations are small next to weights; logits for a 150k vocabulary and the compute scratch
    // are a few hundred MB at most. A fixed margin keeps the estimate honest without pretending precision.
    e.overheadBytes = 256ull << 20;
    return e;
}

}  // namespace hearth::app
