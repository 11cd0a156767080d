#include "app/worker/diffusion_worker.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>

#include "app/worker/latent_preview.h"
#include "engine/backend/backend.h"
#include "engine/diffusion/pipeline.h"
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
    openThreads_ = -1;
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
    if (!pipeline_ || openDir_ != req.modelDir || openThreads_ != req.threads) {
        emit opening(req.id);
        pipeline_.reset();
        backend_.reset();
        openDir_.clear();
        auto be = create_backend("cpu", 0, BackendOptions{req.threads});
        if (!be.ok()) {
            done();
            emit failed(req.id, QString::fromStdString(be.message()), false);
            return;
        }
        backend_ = std::move(*be);
        auto pipe = diffusion::Pipeline::open(req.modelDir.toStdString(), *backend_);
        if (!pipe.ok()) {
            backend_.reset();
            done();
            emit failed(req.id, QString::fromStdString(pipe.message()), false);
            return;
        }
        pipeline_ = std::move(*pipe);
        openDir_ = req.modelDir;
        openThreads_ = req.threads;
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
    QStringList warnings;
    for (const std::string& w : res->warnings) warnings << QString::fromStdString(w);
    emit finished(req.id, req.outPath, seconds, warnings);
}

}  // namespace hearth::app
