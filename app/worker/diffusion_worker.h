// DiffusionWorker: lives in its own QThread (ImageController owns it) and runs the engine's Stable
// Diffusion pipeline on the CPU backend, so the window never waits on a UNet step. The pipeline is
// opened once and kept while the same model is asked for; another model replaces it. Each step
// sends a cheap latent preview (latent_preview.h); the finished image is written as a PNG (with the
// prompt and settings in its text chunks) before `finished` is emitted, so the UI thread never
// encodes or writes it. A stopped or failed run writes no file.
//
// Requests carry increasing ids; requestStop(id) stops that request and every earlier one, so a
// Stop that arrives while its request still waits in the queue is not lost (as InferenceWorker).
#pragma once

#include <QImage>
#include <QObject>
#include <QString>
#include <QStringList>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace hearth {
class Backend;
namespace diffusion {
class Pipeline;
}
}  // namespace hearth

namespace hearth::app {

struct DiffusionRequest {
    quint64 id = 0;
    QString modelDir;       // the diffusers folder
    QString prompt, negative;
    int width = 512, height = 512, steps = 20;
    double guidance = 7.5;
    QString sampler = QStringLiteral("euler");  // euler | euler_a | ddim | lcm
    quint64 seed = 0;
    QString outPath;        // where the PNG goes
    int threads = 0;        // 0: the engine's choice
};

class DiffusionWorker : public QObject {
    Q_OBJECT
public:
    DiffusionWorker();
    ~DiffusionWorker() override;

    // Thread-safe, from the main thread.
    void requestStop(quint64 requestId);

    // Run on the worker's thread (queue them with QMetaObject::invokeMethod).
    void generate(const DiffusionRequest& req);
    void unload();  // closes the pipeline (frees its weights)
    void unloadUnless(const QString& modelDir);  // closes it when it is another model's

signals:
    void opening(quint64 requestId);  // the pipeline is being opened (first run with this model)
    void progress(quint64 requestId, int step, int steps, const QImage& preview);
    // seconds: the whole run, opening excluded; warnings: the engine's (e.g. the prompt was cut).
    void finished(quint64 requestId, const QString& file, double seconds, const QStringList& warnings);
    void failed(quint64 requestId, const QString& message, bool stopped);

private:
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<diffusion::Pipeline> pipeline_;
    QString openDir_;
    int openThreads_ = -1;
    std::mutex stopMutex_;
    std::atomic<bool> cancel_{false};
    std::atomic<quint64> stopUpTo_{0};
    quint64 running_ = 0;  // under stopMutex_
};

}  // namespace hearth::app
