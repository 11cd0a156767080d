#include "app/controllers/model_wizard.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QThread>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>

#include "app/controllers/download_controller.h"
#include "app/library/model_file_info.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "app/support/desktop_helper.h"
#include "app/support/system_memory.h"
#include "app/worker/model_build_job.h"
#include "engine/hub/endpoint.h"
#include "engine/hub/repo_ref.h"

namespace hearth::app {

namespace {

// Sizes and counts as the rest of the app writes them (Desktop.formatBytes / formatCount).
QString bytesText(double b) { return formatBytesText(b); }
QString parametersText(uint64_t n) { return formatCountText(double(n)); }

// The repository's files an empty pattern list should start with: one GGUF model (Q4_K_M when
// offered, else the smallest; every part of a split set), or else a checkpoint's top-level configs,
// tokenizer and safetensors, and a sentence-transformers model's pooling config (the converter
// needs it to tell mean from CLS pooling).
std::vector<bool> preselect(const std::vector<hub::RepoFile>& files) {
    std::vector<bool> out(files.size(), false);
    static const QRegularExpression split(QStringLiteral("-\\d{5}-of-\\d{5}\\.gguf$"));
    auto setOf = [](const QString& p) { return QString(p).remove(split); };
    auto q4km = [&](size_t i) { return QString::fromStdString(files[i].path).contains(QLatin1String("Q4_K_M"), Qt::CaseInsensitive); };
    // Q4_K_M first; among equals, the smaller file.
    auto better = [&](size_t i, size_t j) { return q4km(i) != q4km(j) ? q4km(i) : files[i].size < files[j].size; };
    int pick = -1;
    for (size_t i = 0; i < files.size(); ++i) {
        const QString p = QString::fromStdString(files[i].path);
        if (!p.endsWith(QLatin1String(".gguf"), Qt::CaseInsensitive)) continue;
        if (p.contains(QLatin1String("mmproj"), Qt::CaseInsensitive)) continue;  // vision projectors are not models
        if (pick < 0 || better(i, size_t(pick))) pick = int(i);
    }
    if (pick >= 0) {
        const QString set = setOf(QString::fromStdString(files[size_t(pick)].path));
        for (size_t i = 0; i < files.size(); ++i)
            out[i] = setOf(QString::fromStdString(files[i].path)) == set;
        return out;
    }
    for (size_t i = 0; i < files.size(); ++i)
        for (const char* g : {"*.json", "*.safetensors", "*.jinja", "tokenizer.model", "1_Pooling/config.json"})
            if (hub::glob_match(g, files[i].path)) out[i] = true;
    return out;
}

// A converted F16 file is as large as the model: unlinking it is left to a pool thread.
void removeInBackground(const QString& path) {
    if (path.isEmpty()) return;
    (void)QtConcurrent::run([path] { QFile::remove(path); });
}

}  // namespace

ModelWizard::ModelWizard(AppSettings* settings, ModelLibrary* library, DownloadController* downloads,
                         const QString& dataDir, QObject* parent)
    : QObject(parent), settings_(settings), library_(library), downloads_(downloads), dataDir_(dataDir) {
    build_ = new ModelBuildJob(this);
    pool_.setMaxThreadCount(1);
    auto c = hub::builtin_catalog();
    if (c.ok()) catalog_ = std::move(*c);
    else qWarning("model catalog: %s", c.message().c_str());
    connect(downloads_, &DownloadController::jobFinished, this, &ModelWizard::onDownloadFinished);
    connect(downloads_, &DownloadController::jobFailed, this, &ModelWizard::onDownloadFailed);
    connect(downloads_, &DownloadController::jobsChanged, this, &ModelWizard::downloadChanged);
    connect(build_, &ModelBuildJob::progress, this, [this](const QString& stage, double f) {
        buildStage_ = stage;
        buildProgress_ = f;
        emit progressChanged();
    });
    connect(build_, &ModelBuildJob::buildFinished, this, &ModelWizard::onBuildFinished);
    connect(build_, &ModelBuildJob::qualityFinished, this, &ModelWizard::onQualityFinished);
    // The Done page names the model as Models does (general.name), known once the scan has read it.
    connect(library_, &ModelLibrary::scanningChanged, this, [this] {
        if (!resultPath_.isEmpty() && !library_->scanning()) emit stateChanged();
    });
    connect(library_, &ModelLibrary::imported, this, [this](const QString& path) {
        if (!awaitingImport_) return;
        awaitingImport_ = false;
        busy_ = false;
        finishWithModel(path);
    });
    connect(library_, &ModelLibrary::importFailed, this, [this](const QString& message, const QString& details) {
        if (!awaitingImport_) return;
        awaitingImport_ = false;
        busy_ = false;
        setError(details.isEmpty() ? message : message + QLatin1Char('\n') + details);
    });
}

ModelWizard::~ModelWizard() { pool_.waitForDone(); }

void ModelWizard::setUiLanguage(const QString& language) {
    if (language == uiLanguage_) return;
    uiLanguage_ = language;
    emit catalogChanged();
}

QVariantList ModelWizard::catalog() const {
    QVariantList out;
    const bool zh = uiLanguage_.startsWith(QLatin1String("zh"));
    const SystemMemory mem = readSystemMemory();  // once for the whole list
    for (const hub::CatalogEntry& e : catalog_.models) {
        QVariantMap m;
        m.insert("id", QString::fromStdString(e.id));
        m.insert("name", QString::fromStdString(e.name));
        m.insert("description", QString::fromStdString(zh ? e.description_zh : e.description_en));
        m.insert("parameters", parametersText(e.parameters));
        m.insert("context", int(e.context_length));
        m.insert("license", QString::fromStdString(e.license_id.empty() ? e.license_name : e.license_id));
        m.insert("gated", e.gated);
        m.insert("architecture", QString::fromStdString(e.architecture));
        const hub::CatalogQuant* q = e.find_quant("Q4_K_M");
        if (!q && !e.quants.empty()) q = &e.quants.front();
        m.insert("size", q ? bytesText(double(q->size_bytes)) : QString());
        bool fits = true;
        m.insert("fitText", q ? fitFor(double(q->size_bytes), &fits, mem) : QString());
        m.insert("fits", fits);
        out << m;
    }
    return out;
}

QString ModelWizard::kindOf(const QString& path) {
    if (path.endsWith(QLatin1String(".gguf"), Qt::CaseInsensitive)) return QStringLiteral("gguf");
    if (path.endsWith(QLatin1String(".safetensors"), Qt::CaseInsensitive)) return QStringLiteral("safetensors");
    if (path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive) || path.endsWith(QLatin1String(".jinja")) ||
        path.endsWith(QLatin1String("tokenizer.model")))
        return QStringLiteral("config");
    return QStringLiteral("other");
}

QVariantList ModelWizard::files() const {
    QVariantList out;
    for (size_t i = 0; i < listing_.size(); ++i) {
        QVariantMap m;
        const QString p = QString::fromStdString(listing_[i].path);
        m.insert("path", p);
        m.insert("size", double(listing_[i].size));
        m.insert("sizeText", bytesText(double(listing_[i].size)));
        m.insert("checked", bool(checked_[i]));
        m.insert("kind", kindOf(p));
        out << m;
    }
    return out;
}

QVariantList ModelWizard::quants() const {
    QVariantList out;
    const hub::CatalogEntry* e = catalogId_.isEmpty() ? nullptr : catalog_.find(catalogId_.toStdString());
    if (!e || repo_ != QString::fromStdString(e->gguf_repo)) return out;
    for (const hub::CatalogQuant& q : e->quants) {
        // Sizes from the listing when it has the files (exact), else the catalog's approximate one.
        uint64_t listed = 0;
        for (const hub::RepoFile& f : listing_)
            for (const std::string& g : q.files)
                if (hub::glob_match(g, f.path)) listed += f.size;
        QVariantMap m;
        m.insert("name", QString::fromStdString(q.name));
        const double size = listed ? double(listed) : double(q.size_bytes);
        m.insert("size", size);
        m.insert("sizeText", bytesText(size));
        bool fits = true;
        m.insert("fitText", fitFor(size, &fits));
        m.insert("fits", fits);
        m.insert("available", listed > 0);
        out << m;
    }
    return out;
}

double ModelWizard::selectedBytes() const {
    double b = 0;
    for (size_t i = 0; i < listing_.size(); ++i)
        if (checked_[i]) b += double(listing_[i].size);
    return b;
}

bool ModelWizard::needsConversion() const {
    bool gguf = false, st = false;
    for (size_t i = 0; i < listing_.size(); ++i) {
        if (!checked_[i]) continue;
        const QString k = kindOf(QString::fromStdString(listing_[i].path));
        gguf |= k == QLatin1String("gguf");
        st |= k == QLatin1String("safetensors");
    }
    return st && !gguf;
}

// The fit estimate before a file exists: the weights are about the file's size, the context's cache
// and one batch's scratch add a quarter for the default context (what the Models page's estimate
// gives for the catalog's dense models at 4096 tokens, within a few percent), at most 2 GiB: the
// cache grows with the layers and KV heads, not with the experts, so for a mixture of experts
// (Qwen3-30B-A3B: 18.6 GB of weights, 0.4 GB of cache at 4096 tokens) a quarter would claim 4.7 GB
// more and call a fitting model too large. Compared with free memory.
QString ModelWizard::fitFor(double bytes, bool* fits) const { return fitFor(bytes, fits, readSystemMemory()); }

QString ModelWizard::fitFor(double bytes, bool* fits, const SystemMemory& mem) const {
    const double need = bytes + std::min(bytes * 0.25, 2.0 * 1024 * 1024 * 1024);
    *fits = mem.availableBytes == 0 || need <= double(mem.availableBytes);
    if (mem.availableBytes == 0) return tr("Needs about %1 of memory").arg(bytesText(need));
    return *fits ? tr("Fits: needs about %1 of memory; %2 free").arg(bytesText(need), bytesText(double(mem.availableBytes)))
                 : tr("Too large for this computer: needs about %1 of memory; %2 free").arg(bytesText(need), bytesText(double(mem.availableBytes)));
}

QString ModelWizard::fitText() const {
    bool f = true;
    const double b = selectedBytes();
    if (b <= 0) return {};
    // A checkpoint's memory is that of the model it becomes (Q4_K_M is about 30% of BF16).
    return fitFor(needsConversion() ? b * 0.3 : b, &f);
}

bool ModelWizard::fits() const {
    bool f = true;
    const double b = selectedBytes();
    if (b > 0) (void)fitFor(needsConversion() ? b * 0.3 : b, &f);
    return f;
}

QStringList ModelWizard::presets() const {
    return {QStringLiteral("Q4_K_M"), QStringLiteral("Q5_K_M"), QStringLiteral("Q6_K"), QStringLiteral("Q8_0"), QStringLiteral("Q4_0")};
}

QString ModelWizard::resultName() const { return resultPath_.isEmpty() ? QString() : library_->displayName(resultPath_); }

bool ModelWizard::resultEmbedding() const {
    return !resultPath_.isEmpty() && library_->info(resultPath_).value(QStringLiteral("embedding")).toBool();
}

void ModelWizard::useForEmbeddings() {
    if (!resultPath_.isEmpty()) settings_->setApiEmbeddingModel(resultPath_);
}

QVariantMap ModelWizard::download() const { return downloadId_ ? downloads_->job(downloadId_) : QVariantMap(); }

void ModelWizard::setPage(const QString& p) {
    if (p == page_) return;
    page_ = p;
    emit pageChanged();
}

void ModelWizard::setError(const QString& error, const QString& advice) {
    error_ = error;
    advice_ = advice.isEmpty() && !error.isEmpty() ? DownloadController::advice(error) : advice;
    emit stateChanged();
}

void ModelWizard::reset() {
    ++listToken_;
    if (build_->running()) build_->cancel();
    removeInBackground(intermediate_);
    intermediate_.clear();
    busy_ = false;
    awaitingImport_ = false;
    error_.clear();
    advice_.clear();
    repo_.clear(), revision_.clear(), endpoint_.clear(), sourceLabel_.clear(), catalogId_.clear(), quant_.clear();
    listing_.clear();
    checked_.clear();
    downloadId_ = 0;
    buildInput_.clear();
    buildFromCheckpoint_ = false;
    buildStage_.clear();
    buildProgress_ = 0;
    qualityBefore_.clear();
    quality_.clear();
    resultPath_.clear();
    emit stateChanged();
    emit filesChanged();
    emit progressChanged();
    emit downloadChanged();
    setPage(QStringLiteral("source"));
}

void ModelWizard::back() {
    if (busy_) return;
    setError({});
    if (page_ == QLatin1String("files") || page_ == QLatin1String("convert")) setPage(QStringLiteral("source"));
}

void ModelWizard::chooseCatalog(const QString& id, const QString& quant) {
    const hub::CatalogEntry* e = catalog_.find(id.toStdString());
    if (!e) return setError(tr("There is no model '%1' in the catalog.").arg(id));
    const hub::CatalogQuant* q = e->find_quant(quant.toStdString());
    if (!q) q = e->quants.empty() ? nullptr : &e->quants.front();
    if (!q) return setError(tr("The catalog offers no file of %1.").arg(QString::fromStdString(e->name)));
    catalogId_ = QString::fromStdString(e->id);
    quant_ = QString::fromStdString(q->name);
    QStringList patterns;
    for (const std::string& g : q->files) patterns << QString::fromStdString(g);
    listRepo(settings_->effectiveHubEndpoint(), QString::fromStdString(e->gguf_repo), QStringLiteral("main"), patterns,
             QString::fromStdString(e->name));
}

void ModelWizard::chooseCatalogSource(const QString& id) {
    const hub::CatalogEntry* e = catalog_.find(id.toStdString());
    if (!e) return setError(tr("There is no model '%1' in the catalog.").arg(id));
    catalogId_ = QString::fromStdString(e->id);
    quant_.clear();
    listRepo(settings_->effectiveHubEndpoint(), QString::fromStdString(e->source_repo), QStringLiteral("main"),
             {QStringLiteral("*.json"), QStringLiteral("*.safetensors"), QStringLiteral("*.jinja"), QStringLiteral("1_Pooling/config.json")},
             QString::fromStdString(e->name));
}

void ModelWizard::chooseRepo(const QString& text) {
    auto ref = hub::parse_repo_ref(text.trimmed().toStdString());
    if (!ref.ok())
        return setError(QString::fromStdString(ref.message()),
                        tr("Paste a repository id such as Qwen/Qwen2.5-1.5B-Instruct-GGUF, or its address on the hub or a mirror."));
    catalogId_.clear();
    quant_.clear();
    QStringList patterns;
    if (!ref->path.empty()) patterns << QString::fromStdString(ref->folder ? ref->path + "/**" : ref->path);
    listRepo(ref->endpoint.empty() ? settings_->effectiveHubEndpoint() : QString::fromStdString(ref->endpoint),
             QString::fromStdString(ref->repo), ref->revision.empty() ? QStringLiteral("main") : QString::fromStdString(ref->revision),
             patterns, QString::fromStdString(ref->repo));
}

void ModelWizard::listRepo(const QString& endpoint, const QString& repo, const QString& revision, const QStringList& patterns,
                           const QString& label) {
    endpoint_ = endpoint;
    repo_ = repo;
    revision_ = revision;
    sourceLabel_ = label;
    listing_.clear();
    checked_.clear();
    busy_ = true;
    setError({});
    emit filesChanged();
    hub::HubOptions o;
    o.endpoint = endpoint.toStdString();
    o.revision = revision.toStdString();
    o.token = settings_->hubToken().toStdString();
    const quint64 token = ++listToken_;
    (void)QtConcurrent::run(&pool_, [this, o, repo = repo.toStdString(), token, patterns] {
        Status st = hub::check_endpoint(o.endpoint);
        if (st.ok()) st = hub::check_repo_id(repo);
        std::vector<hub::RepoFile> files;
        if (st.ok()) {
            auto r = hub::list_repo_files(o, repo);
            if (r.ok()) files = std::move(*r);
            else st = r.status();
        }
        const QString error = st.ok() ? QString() : QString::fromStdString(st.message());
        QMetaObject::invokeMethod(this, [this, token, error, files, patterns] { onListed(token, error, files, patterns); },
                                  Qt::QueuedConnection);
    });
}

void ModelWizard::onListed(quint64 token, const QString& error, const std::vector<hub::RepoFile>& files, const QStringList& patterns) {
    if (token != listToken_) return;  // the person chose something else meanwhile
    busy_ = false;
    if (!error.isEmpty()) {
        setError(error);
        return;
    }
    listing_ = files;
    checked_.assign(files.size(), false);
    if (patterns.isEmpty()) {
        checked_ = preselect(files);
    } else {
        for (size_t i = 0; i < files.size(); ++i)
            for (const QString& p : patterns)
                if (hub::glob_match(p.toStdString(), files[i].path)) checked_[i] = true;
    }
    if (files.empty()) setError(tr("%1 has no files.").arg(repo_), tr("Check the repository name and revision."));
    else if (std::none_of(checked_.begin(), checked_.end(), [](bool b) { return b; }) && !patterns.isEmpty())
        setError(tr("No file of %1 matches %2.").arg(repo_, patterns.join(QStringLiteral(", "))),
                 tr("Choose the files below yourself."));
    else setError({});
    emit filesChanged();
    setPage(QStringLiteral("files"));
}

void ModelWizard::setFileChecked(int index, bool checked) {
    if (index < 0 || size_t(index) >= checked_.size() || checked_[size_t(index)] == checked) return;
    checked_[size_t(index)] = checked;
    emit filesChanged();
}

void ModelWizard::selectQuant(const QString& name) {
    const hub::CatalogEntry* e = catalog_.find(catalogId_.toStdString());
    const hub::CatalogQuant* q = e ? e->find_quant(name.toStdString()) : nullptr;
    if (!q) return;
    quant_ = QString::fromStdString(q->name);
    for (size_t i = 0; i < listing_.size(); ++i) {
        checked_[i] = false;
        for (const std::string& g : q->files)
            if (hub::glob_match(g, listing_[i].path)) checked_[i] = true;
    }
    emit filesChanged();
}

void ModelWizard::startDownload() {
    std::vector<hub::RepoFile> chosen;
    for (size_t i = 0; i < listing_.size(); ++i)
        if (checked_[i]) chosen.push_back(listing_[i]);
    if (chosen.empty()) return setError(tr("Choose at least one file."));
    // GGUF files go straight into the models folder; a checkpoint to convert goes to the app's
    // data folder (the models folder lists .gguf files only), one folder per repository.
    const QString dest = needsConversion()
                             ? QDir(dataDir_).filePath(QStringLiteral("checkpoints/") + QString(repo_).replace(QLatin1Char('/'), QStringLiteral("--")))
                             : settings_->modelsFolder();
    QString label = sourceLabel_;
    if (!quant_.isEmpty()) label += QStringLiteral(" · ") + quant_;
    QString err;
    const qint64 id = downloads_->enqueue(label, repo_, revision_, endpoint_, chosen, dest, &err);
    if (!id) return setError(err);
    downloadId_ = id;
    setError({});
    emit downloadChanged();
    setPage(QStringLiteral("download"));
}

void ModelWizard::showDownloads() {
    if (busy_ || page_ == QLatin1String("convert") || page_ == QLatin1String("quality")) return;  // a step is running
    setPage(QStringLiteral("download"));
}

void ModelWizard::pauseDownload() {
    if (downloadId_) downloads_->pause(downloadId_);
}
void ModelWizard::resumeDownload() {
    setError({});
    if (downloadId_) downloads_->resume(downloadId_);
}
void ModelWizard::cancelDownload() {
    if (downloadId_) downloads_->cancel(downloadId_);
    setPage(QStringLiteral("files"));
}

void ModelWizard::onDownloadFinished(qint64 id, const QString& destination, const QStringList& paths) {
    if (id != downloadId_) {
        // Another download of the queue (one a restart resumed, or an earlier wizard's): its model
        // shows in Models once it is complete.
        library_->refresh();
        return;
    }
    QStringList ggufs;
    for (const QString& p : paths)
        if (p.endsWith(QLatin1String(".gguf"), Qt::CaseInsensitive) && !p.contains(QLatin1String("mmproj"), Qt::CaseInsensitive)) ggufs << p;
    ggufs.sort();  // the first part of a split model comes first
    if (!ggufs.isEmpty()) {
        const QString model = ggufs.first();
        if (QFileInfo(model).absolutePath() != QDir(settings_->modelsFolder()).absolutePath()) {
            // In a subfolder of the repository: the Models page lists it where it is.
            awaitingImport_ = true;
            busy_ = true;
            emit stateChanged();
            library_->importPath(model, false);
            return;
        }
        finishWithModel(model);
        return;
    }
    buildInput_ = destination;
    buildFromCheckpoint_ = true;
    emit stateChanged();
    setPage(QStringLiteral("convert"));
}

void ModelWizard::onDownloadFailed(qint64 id, const QString& message) {
    if (id == downloadId_) setError(message);
}

void ModelWizard::chooseLocal(const QUrl& url) { chooseLocalPath(url.toLocalFile()); }

void ModelWizard::chooseLocalPath(const QString& path) {
    const QFileInfo fi(path);
    catalogId_.clear();
    quant_.clear();
    if (fi.isDir()) {
        if (!QFileInfo::exists(QDir(path).filePath(QStringLiteral("config.json"))))
            return setError(tr("%1 has no config.json: it is not a Hugging Face checkpoint folder.").arg(path),
                            tr("Choose the folder that holds config.json and the .safetensors files, or a .gguf file."));
        buildFromCheckpoint_ = true;
    } else if (fi.isFile() && path.endsWith(QLatin1String(".gguf"), Qt::CaseInsensitive)) {
        buildFromCheckpoint_ = false;
    } else {
        return setError(tr("%1 is neither a .gguf file nor a checkpoint folder.").arg(path));
    }
    buildInput_ = fi.absoluteFilePath();
    sourceLabel_ = fi.fileName();
    setError({});
    emit stateChanged();
    setPage(QStringLiteral("convert"));
}

void ModelWizard::addAsIs() {
    if (buildFromCheckpoint_ || buildInput_.isEmpty()) return;
    awaitingImport_ = true;
    busy_ = true;
    setError({});
    library_->importPath(buildInput_, true);
}

void ModelWizard::startBuild(const QString& preset, const QUrl& imatrix) {
    if (build_->running() || buildInput_.isEmpty()) return;
    ModelBuildJob::Build b;
    QString name;
    if (buildFromCheckpoint_) {
        b.hfDir = buildInput_;
        name = QFileInfo(buildInput_).fileName().section(QStringLiteral("--"), -1);
        QDir().mkpath(QDir(dataDir_).filePath(QStringLiteral("work")));
        b.convertedPath = QDir(dataDir_).filePath(QStringLiteral("work/%1-F16.gguf").arg(name));
        intermediate_ = b.convertedPath;
    } else {
        b.sourceGguf = buildInput_;
        name = QFileInfo(buildInput_).completeBaseName();
        static const QRegularExpression quantTail(QStringLiteral("[-_.](F16|BF16|F32|Q\\d[_A-Z0-9]*)$"), QRegularExpression::CaseInsensitiveOption);
        name.remove(quantTail);
    }
    b.preset = preset;
    b.imatrixPath = localFilePath(imatrix);
    QDir().mkpath(settings_->modelsFolder());
    b.outPath = QDir(settings_->modelsFolder()).filePath(QStringLiteral("%1-%2.gguf").arg(name, preset));
    b.threads = std::max(1, QThread::idealThreadCount());
    if (!build_->startBuild(b)) return;
    busy_ = true;
    buildStage_ = buildFromCheckpoint_ ? QStringLiteral("convert") : QStringLiteral("quantize");
    buildProgress_ = 0;
    setError({});
    emit progressChanged();
}

void ModelWizard::cancelBuild() { build_->cancel(); }

void ModelWizard::onBuildFinished(const QString& outPath, const QString& source, const QString& error, bool cancelled) {
    busy_ = false;
    if (cancelled) {
        removeInBackground(intermediate_);
        intermediate_.clear();
        buildProgress_ = 0;
        emit progressChanged();
        setError({});
        return;
    }
    if (!error.isEmpty()) {
        setError(error, tr("Nothing was added. Check the message, then try again (another quantization, or free disk space)."));
        return;
    }
    resultPath_ = outPath;
    qualityBefore_ = source;
    quality_.clear();
    library_->refresh();
    emit stateChanged();
    setPage(qualityBefore_.isEmpty() ? QStringLiteral("done") : QStringLiteral("quality"));
}

QStringList ModelWizard::qualityTexts() const {
    return {QStringLiteral(":/eval/quality-en.txt"), QStringLiteral(":/eval/quality-zh.txt")};
}

void ModelWizard::runQuality() {
    if (qualityBefore_.isEmpty() || resultPath_.isEmpty() || build_->running()) return;
    ModelBuildJob::Quality q;
    q.before = qualityBefore_;
    q.after = resultPath_;
    q.texts = qualityTexts();
    q.threads = std::max(1, QThread::idealThreadCount());
    if (!build_->startQuality(q)) return;
    busy_ = true;
    buildStage_ = QStringLiteral("quality");
    buildProgress_ = 0;
    setError({});
    emit progressChanged();
}

void ModelWizard::onQualityFinished(const QVariantMap& result, const QString& error, bool cancelled) {
    busy_ = false;
    if (!cancelled) quality_ = result;
    if (!error.isEmpty() && !cancelled)
        setError(error, tr("The model was made and is in Models; only the quality figure could not be computed."));
    else emit stateChanged();
}

void ModelWizard::skipQuality() {
    if (build_->running()) build_->cancel();
    finishWithModel(resultPath_);
}

void ModelWizard::finishWithModel(const QString& path) {
    if (intermediate_ != path) removeInBackground(intermediate_);
    intermediate_.clear();
    resultPath_ = path;
    library_->refresh();
    setError({});
    setPage(QStringLiteral("done"));
}

void ModelWizard::startChatting() {
    if (!resultPath_.isEmpty()) settings_->setDefaultModel(resultPath_);
    emit chatRequested();
}

}  // namespace hearth::app
