#include "app/worker/diffusion_worker.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>

#include "app/settings/device_key.h"
#include "app/worker/latent_preview.h"
#include "engine/backend/backend.h"
#include "engine/diffusion/pipeline.h"
#include "engine/diffusion/pipeline_on_device.h"
#include "engine/util/png_file.h"

namespace hearth::app {

DiffusionWorker::DiffusionWorker() = default;
DiffusionWorker::~DiffusionWorker() {
    pipeline_.reset();  // before the backend it runs on
    backend_.reset();
}

void DiffusionWorker::requestStop(quint64 requestId) {
    std::lock_guard<std::mutex> lock(stopMutex_);
    if (requestId > stopUpTo_.load()) stopUpTo_.store(requestId);
    if (running_ && running_ <= requestId) cancel_.store(true);
}

void DiffusionWorker::unload() {
    pipeline_.reset();
    backend_.reset();
    openDir_.clear();
    openConfig_.clear();
    openDevice_.clear();
    fallback_.clear();
    openThreads_ = -1;
}

namespace {
QString qs(const std::string& s) { return QString::fromStdString(s); }
QString deviceLabel(const DeviceInfo& d) { return qs(device_label(d)); }
}  // namespace

void DiffusionWorker::reportOpened(const QString& key, const std::string& fallback) {
    // The plan of a tiny run fits wherever the weights did: its weights are what the pipeline holds.
    diffusion::DiffuseOptions tiny;
    tiny.width = tiny.height = 64;
    auto plan = pipeline_->plan_memory(tiny);
    const uint64_t pipelineBytes = plan.ok() ? plan->weights : 0;
    DiffusionDevice d;
    d.key = key;
    d.backend = qs(backend_->device().backend);
    d.name = qs(backend_->device().name);
    d.label = deviceLabel(backend_->device());
    d.fallback = qs(fallback);
    d.freeBytes = backend_->memory_free() + pipelineBytes;
    d.opened = true;
    emit deviceReported(d);
}

void DiffusionWorker::probeDevice(const QString& deviceKey) {
    if (pipeline_ && openDevice_ == deviceKey) {
        reportOpened(deviceKey, fallback_);
        return;
    }
    if (pipeline_) unload();  // the setting changed: the next run opens on the new device
    const DeviceChoice c = parseDeviceKey(deviceKey);
    DiffusionDevice d;
    d.key = deviceKey;
    if (auto dev = pick_device(list_devices(), c.backend, c.index)) {
        d.backend = qs(dev->backend);
        d.name = qs(dev->name);
        d.label = deviceLabel(*dev);
        d.freeBytes = dev->memory_free;
    }
    emit deviceReported(d);  // an empty backend: the device is not there (the run will say why)
}

void DiffusionWorker::unloadUnless(const QString& modelDir) {
    if (pipeline_ && openDir_ != modelDir) unload();
}

void DiffusionWorker::generate(const DiffusionRequest& req) {
    {
        std::lock_guard<std::mutex> lock(stopMutex_);
        if (req.id <= stopUpTo_.load()) {  // stopped while it waited in the queue
            emit failed(req.id, QString(), true);
            return;
        }
        running_ = req.id;
        cancel_.store(false);
    }
    auto done = [this] {
        std::lock_guard<std::mutex> lock(stopMutex_);
        running_ = 0;
    };

    auto sampler = diffusion::sampler_from_name(req.sampler.toStdString());
    if (!sampler.ok()) {
        done();
        emit failed(req.id, QString::fromStdString(sampler.message()), false);
        return;
    }
    diffusion::DiffuseOptions o;
    o.prompt = req.prompt.toStdString();
    o.negative = req.negative.toStdString();
    o.width = req.width;
    o.height = req.height;
    o.steps = req.steps;
    o.guidance = float(req.guidance);
    o.sampler = *sampler;
    o.seed = req.seed;

    DeviceChoice choice = parseDeviceKey(req.device);
    bool reopen = !pipeline_ || openDir_ != req.modelDir || openConfig_ != req.configDir || openThreads_ != req.threads ||
                  openDevice_ != req.device;
    std::string fallback;
    if (!reopen && choice.backend == "auto" && backend_->device().backend != "cpu") {
        // The GPU auto chose holds the model but not this size: the CPU draws it, and says why.
        if (auto plan = pipeline_->plan_memory(o); !plan.ok()) {
            fallback = deviceLabel(backend_->device()).toStdString() + ": " + plan.message();
            choice = DeviceChoice{"cpu", 0};
            reopen = true;
        }
    }
    if (reopen) {
        emit opening(req.id);
        unload();
        auto opened = diffusion::open_pipeline_on_device(req.modelDir.toStdString(), req.configDir.toStdString(), choice.backend, choice.index,
                                                         BackendOptions{req.threads}, &o);
        if (!opened.ok()) {
            done();
            emit failed(req.id, qs(opened.message()), false);
            return;
        }
        backend_ = std::move(opened->backend);
        pipeline_ = std::move(opened->pipeline);
        openDir_ = req.modelDir;
        openConfig_ = req.configDir;
        openDevice_ = req.device;
        openThreads_ = req.threads;
        fallback_ = fallback.empty() ? opened->fallback : fallback;
        reportOpened(req.device, fallback_);
    }

    const int lw = req.width / 8, lh = req.height / 8;
    QElapsedTimer timer;
    timer.start();
    auto res = pipeline_->generate(o, [&](int step, int steps, const std::vector<float>& latents) {
        emit progress(req.id, step + 1, steps, latentPreview(latents, lw, lh));
        return !cancel_.load();
    }, &cancel_);
    const bool stopped = cancel_.load();
    if (!res.ok() || stopped) {
        done();
        emit failed(req.id, stopped ? QString() : QString::fromStdString(res.message()), stopped);
        return;
    }
    QDir().mkpath(QFileInfo(req.outPath).absolutePath());
    const std::vector<std::pair<std::string, std::string>> text = {
        {"prompt", o.prompt}, {"negative_prompt", o.negative}, {"seed", std::to_string(o.seed)},
        {"steps", std::to_string(o.steps)}, {"guidance", std::to_string(o.guidance)},
        {"sampler", diffusion::sampler_name(o.sampler)}, {"model", req.modelDir.toStdString()}, {"Software", "Hearth"}};
    const Status st = write_png_rgb(req.outPath.toStdString(), res->width, res->height, res->rgb, text);
    const double seconds = double(timer.elapsed()) / 1000.0;
    done();
    if (!st.ok()) {
        emit failed(req.id, QString::fromStdString(st.message()), false);
        return;
    }
    reportOpened(openDevice_, fallback_);  // the device's memory after the run, for the next memory check
    QStringList warnings;
    for (const std::string& w : res->warnings) warnings << QString::fromStdString(w);
    emit finished(req.id, req.outPath, seconds, warnings);
}

}  // namespace hearth::app
