// DiffusionWorker: lives in its own QThread (ImageController owns it) and runs the engine's Stable
// Diffusion pipeline, so the window never waits on a UNet step. It runs on the device of the app's
// device setting, as the chat does ("auto", "cpu", "vulkan:N", "cuda:N"; opened here through
// engine/diffusion/pipeline_on_device.h, so "auto" falls back to the CPU, saying why, when the GPU
// cannot hold the model or the size). Devices are probed and opened on this thread, never the UI's.
// The pipeline is opened once and kept while the same model and device are asked for; another
// model replaces it. Each step
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
#include <string>

namespace hearth {
class Backend;
namespace diffusion {
class Pipeline;
}
}  // namespace hearth

namespace hearth::app {

struct DiffusionRequest {
    quint64 id = 0;
    QString modelDir;       // the diffusers folder, or a single-file checkpoint
    QString configDir;      // a checkpoint's diffusers folder for its configs and tokenizer ("" : its family's)
    QString prompt, negative;
    int width = 512, height = 512, steps = 20;
    double guidance = 7.5;
    QString sampler = QStringLiteral("euler");  // euler | euler_a | ddim | lcm
    quint64 seed = 0;
    QString outPath;        // where the PNG goes
    int threads = 0;        // 0: the engine's choice
    QString device = QStringLiteral("auto");  // the settings' key: auto | cpu | vulkan:N | cuda:N
};

// Which device draws (or, before the first run, would draw), for the page and the memory check.
struct DiffusionDevice {
    QString key;           // the setting it answers
    QString backend;       // "cpu", "vulkan", "cuda", "reference"
    QString name;          // the device's name
    QString label;         // "Vulkan: <name>", "CPU: <processor>": the start of the chat's backend description there
    QString fallback;      // auto only: the GPU passed over and why (the engine's words)
    quint64 freeBytes = 0; // what the pipeline may use there: free now plus what the open pipeline holds
    bool opened = false;   // from an opened pipeline (else from a listing, before the first run)
    bool onGpu() const { return backend == QLatin1String("vulkan") || backend == QLatin1String("cuda"); }
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
    // Lists the devices (slow: a Vulkan instance, the CUDA driver) and reports the one `deviceKey`
    // would draw on; when a pipeline is open on another device setting, it is closed.
    void probeDevice(const QString& deviceKey);

signals:
    void opening(quint64 requestId);  // the pipeline is being opened (first run with this model)
    void progress(quint64 requestId, int step, int steps, const QImage& preview);
    // seconds: the whole run, opening excluded; warnings: the engine's (e.g. the prompt was cut).
    void finished(quint64 requestId, const QString& file, double seconds, const QStringList& warnings);
    void failed(quint64 requestId, const QString& message, bool stopped);
    void deviceReported(const hearth::app::DiffusionDevice& device);

private:
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<diffusion::Pipeline> pipeline_;
    void reportOpened(const QString& key, const std::string& fallback);  // deviceReported from the open pipeline
    QString openDir_, openConfig_, openDevice_;
    std::string fallback_;  // auto's passed-over GPU and why, while the pipeline is open
    int openThreads_ = -1;
    std::mutex stopMutex_;
    std::atomic<bool> cancel_{false};
    std::atomic<quint64> stopUpTo_{0};
    quint64 running_ = 0;  // under stopMutex_
};

}  // namespace hearth::app

Q_DECLARE_METATYPE(hearth::app::DiffusionDevice)
