#include "app/worker/model_build_job.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QtConcurrent/QtConcurrentRun>

#include "engine/backend/backend.h"
#include "engine/convert/convert.h"
#include "engine/embed/agreement.h"
#include "engine/embed/bert_encoder.h"
#include "engine/embed/text_embedder.h"
#include "engine/eval/imatrix.h"
#include "engine/eval/perplexity.h"
#include "engine/quant/quantize_model.h"
#include "engine/session/session.h"

namespace hearth::app {

ModelBuildJob::ModelBuildJob(QObject* parent) : QObject(parent) {}

ModelBuildJob::~ModelBuildJob() {
    cancel_.store(true);
    future_.waitForFinished();
}

void ModelBuildJob::cancel() { cancel_.store(true); }

void ModelBuildJob::report(const QString& stage, double fraction) {
    // At most ~20 signals a second (and always the end of a stage).
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (fraction < 1.0 && now - lastReportMs_.load() < 50) return;
    lastReportMs_.store(now);
    QMetaObject::invokeMethod(this, [this, stage, fraction] { emit progress(stage, fraction); }, Qt::QueuedConnection);
}

bool ModelBuildJob::startBuild(const Build& b) {
    if (running_) return false;
    running_ = true;
    cancel_.store(false);
    future_ = QtConcurrent::run([this, b] {
        QString error, source = b.sourceGguf;
        auto preset = quant::preset_from_name(b.preset.toStdString());
        if (!preset) error = tr("unknown quantization %1").arg(b.preset);
        // A checkpoint is converted first: to Q8_0 directly when that is the goal, else to F16
        // (the quantizer's input and the "before" of the quality step).
        if (error.isEmpty() && !b.hfDir.isEmpty()) {
            convert::ConvertOptions co;
            co.hf_dir = b.hfDir.toStdString();
            co.out_path = b.convertedPath.toStdString();
            co.type = b.preset.compare(QLatin1String("Q8_0"), Qt::CaseInsensitive) == 0 ? "Q8_0" : "F16";
            auto r = convert::convert_hf_to_gguf(co, [this](float f) {
                report(QStringLiteral("convert"), double(f));
                return !cancel_.load();
            });
            if (!r.ok()) error = QString::fromStdString(r.message());
            source = b.convertedPath;
        }
        if (error.isEmpty() && !cancel_.load()) {
            const bool directQ8 = !b.hfDir.isEmpty() && b.preset.compare(QLatin1String("Q8_0"), Qt::CaseInsensitive) == 0;
            if (directQ8) {
                // The conversion already wrote Q8_0: it is the result.
                QFile::remove(b.outPath);
                if (!QFile::rename(source, b.outPath)) error = tr("cannot move %1 to %2").arg(source, b.outPath);
                source.clear();
            } else {
                quant::ImportanceMap importance;
                if (!b.imatrixPath.isEmpty()) {
                    auto im = eval::read_imatrix(b.imatrixPath.toStdString());
                    if (!im.ok()) error = QString::fromStdString(im.message());
                    else importance = std::move(*im);
                }
                if (error.isEmpty()) {
                    quant::QuantizeOptions qo;
                    qo.preset = *preset;
                    qo.threads = std::max(1, b.threads);
                    qo.cancel = &cancel_;
                    qo.importance = b.imatrixPath.isEmpty() ? nullptr : &importance;
                    qo.progress = [this](const quant::TensorPlan&, int, int, size_t done, size_t total) {
                        report(QStringLiteral("quantize"), total ? double(done) / double(total) : 1.0);
                    };
                    auto r = quant::quantize_model(source.toStdString(), b.outPath.toStdString(), qo);
                    if (!r.ok()) error = QString::fromStdString(r.message());
                }
            }
        }
        const bool cancelled = cancel_.load() && (!error.isEmpty() || !QFile::exists(b.outPath));
        if (cancelled && error.isEmpty()) error = tr("cancelled");
        // A conversion made for a quantization that did not happen is of no use to anyone.
        if (!error.isEmpty() && !b.hfDir.isEmpty()) {
            QFile::remove(b.convertedPath);
            source.clear();
        }
        QMetaObject::invokeMethod(this, [this, out = b.outPath, source, error, cancelled] {
            running_ = false;
            emit buildFinished(out, source, error, cancelled);
        }, Qt::QueuedConnection);
    });
    return true;
}

bool ModelBuildJob::startQuality(const Quality& q) {
    if (running_) return false;
    running_ = true;
    cancel_.store(false);
    future_ = QtConcurrent::run([this, q] {
        QVariantMap result;
        QString error;
        // An embedding model has no perplexity: its figure is how far its vectors moved.
        if (embed::is_encoder_file(q.before.toStdString())) embeddingQuality(q, &result, &error);
        else perplexityQuality(q, &result, &error);
        result.insert("beforeBytes", double(QFileInfo(q.before).size()));
        result.insert("afterBytes", double(QFileInfo(q.after).size()));
        const bool cancelled = cancel_.load();
        QMetaObject::invokeMethod(this, [this, result, error, cancelled] {
            running_ = false;
            emit qualityFinished(result, error, cancelled);
        }, Qt::QueuedConnection);
    });
    return true;
}

void ModelBuildJob::perplexityQuality(const Quality& q, QVariantMap* resultOut, QString* errorOut) {
    QVariantMap& result = *resultOut;
    QString& error = *errorOut;
    auto open = [&](const QString& path) {
        ModelOptions opt;
        opt.path = path.toStdString();
        opt.backend = "cpu";  // the figure compares files, not devices; the CPU is always there
        opt.n_ctx = q.nCtx;
        opt.n_threads = q.threads;
        return Session::open(opt);
    };
    auto before = open(q.before);
    if (!before.ok()) error = QString::fromStdString(before.message());
    auto after = error.isEmpty() ? open(q.after) : Result<std::unique_ptr<Session>>(make_error("skipped"));
    if (error.isEmpty() && !after.ok()) error = QString::fromStdString(after.message());
    const int nTexts = int(q.texts.size());
    for (int i = 0; error.isEmpty() && i < nTexts && !cancel_.load(); ++i) {
        QFile f(q.texts[i]);
        if (!f.open(QIODevice::ReadOnly)) {
            error = tr("cannot read %1").arg(q.texts[i]);
            break;
        }
        const std::string text = f.readAll().toStdString();
        eval::PerplexityOptions po;
        po.n_ctx = q.nCtx;
        po.cancel = &cancel_;
        double half = 0;  // the "before" pass is the first half of this text's share
        po.progress = [&](int done, int total, double) {
            report(QStringLiteral("quality"), (double(i) + half + 0.5 * double(done) / double(std::max(total, 1))) / double(nTexts));
        };
        QElapsedTimer clock;
        clock.start();
        auto pb = eval::perplexity(**before, text, po);
        const double beforeS = double(clock.restart()) / 1000.0;
        half = 0.5;
        auto pa = pb.ok() ? eval::perplexity(**after, text, po, before->get()) : Result<eval::PerplexityResult>(pb.status());
        // The "after" pass also runs the base model for the KL divergence: its own time is what
        // remains after the "before" pass's time is taken off (the same model, the same tokens).
        const double afterS = std::max(1e-3, double(clock.elapsed()) / 1000.0 - beforeS);
        if (!pa.ok()) {
            // A text shorter than one chunk is left out; anything else is an error.
            if (pa.message().find("the text is") == std::string::npos)
                error = QString::fromStdString(pa.message());
            continue;
        }
        QVariantMap m;
        m.insert("before", pb->ppl);
        m.insert("after", pa->ppl);
        m.insert("kl", pa->mean_kl);
        m.insert("top1", pa->top1_agree);
        m.insert("chunks", pa->n_chunks);
        // Prompt processing speed (tokens evaluated per second), the figure quantizing changes most.
        const double evaluated = double(pa->n_chunks) * double(pa->n_ctx);
        m.insert("beforeTps", beforeS > 0 ? evaluated / beforeS : 0.0);
        m.insert("afterTps", evaluated / afterS);
        result.insert(QFileInfo(q.texts[i]).completeBaseName().section(QLatin1Char('-'), -1), m);  // "en", "zh"
    }
}

void ModelBuildJob::embeddingQuality(const Quality& q, QVariantMap* result, QString* error) {
    auto cpu = create_backend("cpu", 0, BackendOptions{q.threads});
    if (!cpu.ok()) return void(*error = QString::fromStdString(cpu.message()));
    auto before = embed::TextEmbedder::open(q.before.toStdString(), **cpu);
    if (!before.ok()) return void(*error = QString::fromStdString(before.message()));
    auto after = embed::TextEmbedder::open(q.after.toStdString(), **cpu);
    if (!after.ok()) return void(*error = QString::fromStdString(after.message()));
    result->insert("embedding", true);
    const int nTexts = int(q.texts.size());
    for (int i = 0; i < nTexts && !cancel_.load(); ++i) {
        QFile f(q.texts[i]);
        if (!f.open(QIODevice::ReadOnly)) return void(*error = tr("cannot read %1").arg(q.texts[i]));
        const std::string text = f.readAll().toStdString();
        embed::AgreementOptions ao;
        ao.cancel = &cancel_;
        ao.progress = [&](int done, int total) { report(QStringLiteral("quality"), (double(i) + double(done) / double(total)) / double(nTexts)); };
        auto a = embed::embedding_agreement(**before, **after, text, ao);
        if (!a.ok()) {
            if (!cancel_.load()) *error = QString::fromStdString(a.message());
            return;
        }
        QVariantMap m;
        m.insert("cosine", a->mean_cosine);
        m.insert("minCosine", a->min_cosine);
        m.insert("passages", a->passages);
        m.insert("beforeTps", a->before_s > 0 ? double(a->tokens) / a->before_s : 0.0);
        m.insert("afterTps", a->after_s > 0 ? double(a->tokens) / a->after_s : 0.0);
        result->insert(QFileInfo(q.texts[i]).completeBaseName().section(QLatin1Char('-'), -1), m);  // "en", "zh"
    }
}

}  // namespace hearth::app
