// ModelBuildJob: the wizard's "Convert and quantize" and "Quality" steps off the UI thread, through
// the engine's one implementation of each (convert_hf_to_gguf, quantize_model, eval::perplexity).
// One step at a time runs on a pool thread; progress comes back as queued signals and cancel()
// reaches into the engine through its cancel flag or progress callback. The engine writes OUT.part
// and renames it at the end, so a cancelled or failed step leaves no half-written model.
#pragma once

#include <QFuture>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVariantMap>
#include <atomic>

namespace hearth::app {

class ModelBuildJob : public QObject {
    Q_OBJECT
public:
    struct Build {
        QString hfDir;          // a Hugging Face checkpoint to convert first; empty: start from sourceGguf
        QString convertedPath;  // where the conversion goes (F16, or Q8_0 when that is the preset)
        QString sourceGguf;     // the GGUF to quantize when hfDir is empty
        QString preset;         // "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "Q4_0"
        QString imatrixPath;    // optional importance data (llama.cpp's GGUF imatrix)
        QString outPath;        // the quantized model (in the models folder)
        int threads = 1;
    };
    struct Quality {
        QString before, after;  // the unquantized source and the quantized model
        QStringList texts;      // the text files to score (English, Chinese)
        int nCtx = 256;
        int threads = 1;
    };

    explicit ModelBuildJob(QObject* parent = nullptr);
    ~ModelBuildJob() override;  // cancels a running step and waits for it

    bool startBuild(const Build& b);      // false while a step runs
    bool startQuality(const Quality& q);  // false while a step runs
    void cancel();
    bool running() const { return running_; }

signals:
    // stage: "convert" | "quantize" | "quality"; fraction of that stage in [0, 1].
    void progress(const QString& stage, double fraction);
    // error empty: outPath written (the source the quantizer read is `source`).
    void buildFinished(const QString& outPath, const QString& source, const QString& error, bool cancelled);
    // result: {en: {before, after, kl, top1, beforeTps, afterTps}, zh: {...}, beforeBytes, afterBytes}; a text the models
    // cannot score (too short for one chunk) is left out.
    void qualityFinished(const QVariantMap& result, const QString& error, bool cancelled);

private:
    void report(const QString& stage, double fraction);
    // The quality step's two kinds, on the pool thread: perplexity and KL divergence for a language
    // model; for an embedding model, the cosine between its vectors before and after per passage.
    void perplexityQuality(const Quality& q, QVariantMap* result, QString* error);
    void embeddingQuality(const Quality& q, QVariantMap* result, QString* error);

    QFuture<void> future_;
    std::atomic<bool> cancel_{false};
    std::atomic<qint64> lastReportMs_{0};
    bool running_ = false;  // main thread only
};

}  // namespace hearth::app
