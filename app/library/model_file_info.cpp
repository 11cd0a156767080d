#include "app/library/model_file_info.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <algorithm>

#include "engine/embed/bert_encoder.h"
#include "engine/gguf/gguf.h"
#include "engine/model/hparams.h"
#include "engine/model/placement.h"
#include "engine/session/model_info.h"
#include "engine/tokenizer/tokenizer.h"

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

// The session's batch (PlacementOptions::n_batch) and KV type: the footprint is the one it places.
constexpr int kBatch = PlacementOptions{}.n_batch;
constexpr GgmlType kKvType = PlacementOptions{}.kv_type;

uint64_t kvBytes(const ModelFootprint& with, const ModelFootprint& without) {
    uint64_t n = 0;
    for (size_t i = 0; i < with.layers.size() && i < without.layers.size(); ++i) n += with.layers[i] - without.layers[i];
    return n;
}

uint64_t layerBytes(const ModelFootprint& fp) {
    uint64_t n = fp.input + fp.output;
    for (uint64_t b : fp.layers) n += b;
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

    ModelHParams hp;
    bool haveHParams = false;
    for (int i = 0; i < info.parts.size(); ++i) {
        auto f = gguf::File::open(info.parts[i].toStdString());
        if (!f.ok()) return f.status();
        info.fileSize += (*f)->file_size();
        info.nParams += countParams(**f);
        if (haveHParams) {
            // Later parts of a split model hold more tensors (n_ctx 0: no KV cache counted twice).
            const ModelFootprint fp = model_footprint(**f, hp, 0, kKvType, kBatch);
            info.weightBytes += layerBytes(fp);
            info.scratchBytes = std::max(info.scratchBytes, fp.scratch);
        }
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
        info.contextLength = int(intKey(g, *arch + ".context_length"));
        auto tmpl = g.get_string("tokenizer.chat_template", "");
        info.thinkTemplate = tmpl.ok() && tmpl->find("<think>") != std::string::npos;

        if (embed::is_encoder_architecture(*arch)) {
            // An embedding model: checked as the API server will open it, and marked as what it is
            // (it does not chat; Settings → Local API server offers it for /v1/embeddings).
            auto bh = embed::read_bert_hparams(g);
            auto tok = bh.ok() ? tokenizer::Tokenizer::from_gguf(g) : Result<std::unique_ptr<tokenizer::Tokenizer>>(bh.status());
            info.problem = !bh.ok() ? ModelProblem::Architecture : !tok.ok() ? ModelProblem::Vocabulary : ModelProblem::EmbeddingModel;
            if (!bh.ok()) info.error = qs(bh.message());
            else if (!tok.ok()) info.error = qs(tok.message());
            else info.contextLength = bh->n_ctx;
            continue;
        }
        // What the session checks before it loads weights: the hyperparameters, then the vocabulary.
        auto h = read_hparams(g);
        if (!h.ok()) {
            info.problem = ModelProblem::Architecture;
            info.error = qs(h.message());
            continue;
        }
        hp = *h;
        haveHParams = true;
        info.expertCount = hp.n_expert;
        info.expertsUsed = hp.n_expert_used;
        const ModelFootprint none = model_footprint(g, hp, 0, kKvType, kBatch);
        const ModelFootprint block = model_footprint(g, hp, kKvBlockTokens, kKvType, kBatch);
        info.weightBytes = layerBytes(none);
        info.scratchBytes = none.scratch;
        info.kvBytesPerBlock = kvBytes(block, none);
        auto tok = tokenizer::Tokenizer::from_gguf(g);
        if (!tok.ok()) {
            info.problem = ModelProblem::Vocabulary;
            info.error = qs(tok.message());
        }
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
            // A split model whose parts are not all there, or a file that is not a GGUF language model.
            bad.problem = parseSplitName(name, nullptr, nullptr, nullptr) && bad.error.contains(QLatin1String(" is missing ("))
                              ? ModelProblem::MissingPart : ModelProblem::NotAModel;
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
    // The session's context: the setting, clamped to the training context (Session::open).
    const int ctx = info.contextLength > 0 && (nCtx <= 0 || nCtx > info.contextLength) ? info.contextLength : std::max(nCtx, 0);
    const uint64_t blocks = uint64_t((ctx + kKvBlockTokens - 1) / kKvBlockTokens);
    e.weightBytes = info.weightBytes;
    e.kvBytes = blocks * info.kvBytesPerBlock;
    e.overheadBytes = info.scratchBytes;
    return e;
}

}  // namespace hearth::app
