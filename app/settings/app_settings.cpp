#include "app/settings/app_settings.h"

#include <QDir>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QThread>
#include <QUrl>
#include <algorithm>

namespace hearth::app {

namespace {
const QStringList kLanguages = {QStringLiteral("system"), QStringLiteral("en"), QStringLiteral("zh_CN")};
const QStringList kThemes = {QStringLiteral("system"), QStringLiteral("light"), QStringLiteral("dark")};
const QStringList kPages = {QStringLiteral("chat"), QStringLiteral("models"), QStringLiteral("image"),
                            QStringLiteral("settings")};
}  // namespace

bool AppSettings::isValidDeviceKey(const QString& key) {
    if (key == QLatin1String("auto") || key == QLatin1String("cpu")) return true;
    static const QRegularExpression re(QStringLiteral("^(vulkan|cuda):([0-9]{1,2})$"));
    return re.match(key).hasMatch();
}

AppSettings::AppSettings(const QString& fileName, QObject* parent)
    : QObject(parent), s_(fileName.isEmpty() ? QSettings() : QSettings(fileName, QSettings::IniFormat)) {}

void AppSettings::put(const char* key, const QVariant& v) {
    const QString k = QString::fromLatin1(key);
    if (s_.value(k) == v) return;
    s_.setValue(k, v);
    emit changed();
}

double AppSettings::temperature() const { return std::clamp(s_.value("sampling/temperature", 0.8).toDouble(), 0.0, 2.0); }
int AppSettings::topK() const { return std::clamp(s_.value("sampling/top_k", 40).toInt(), 0, 1000); }
double AppSettings::topP() const { return std::clamp(s_.value("sampling/top_p", 0.95).toDouble(), 0.0, 1.0); }
double AppSettings::minP() const { return std::clamp(s_.value("sampling/min_p", 0.05).toDouble(), 0.0, 1.0); }
double AppSettings::repeatPenalty() const { return std::clamp(s_.value("sampling/repeat_penalty", 1.1).toDouble(), 1.0, 2.0); }
qint64 AppSettings::seed() const { return std::max<qint64>(-1, s_.value("sampling/seed", -1).toLongLong()); }
int AppSettings::maxNewTokens() const { return std::clamp(s_.value("sampling/max_new_tokens", 1024).toInt(), -1, 1 << 20); }
bool AppSettings::recommendedSampling() const { return s_.value("sampling/recommended", true).toBool(); }
int AppSettings::contextLength() const { return std::clamp(s_.value("engine/context_length", 4096).toInt(), 256, 1 << 20); }
int AppSettings::threads() const { return std::clamp(s_.value("engine/threads", 0).toInt(), 0, maxThreads()); }
QString AppSettings::device() const {
    const QString d = s_.value("engine/device", "auto").toString();
    return isValidDeviceKey(d) ? d : QStringLiteral("auto");
}
int AppSettings::gpuLayers() const { return std::clamp(s_.value("engine/gpu_layers", -1).toInt(), -1, 1000); }
QString AppSettings::modelsFolder() const {
    const QString f = s_.value("engine/models_folder").toString();
    return f.isEmpty() ? defaultModelsFolder() : f;
}
QString AppSettings::language() const {
    const QString l = s_.value("ui/language", "system").toString();
    return kLanguages.contains(l) ? l : QStringLiteral("system");
}
QString AppSettings::theme() const {
    const QString t = s_.value("ui/theme", "system").toString();
    return kThemes.contains(t) ? t : QStringLiteral("system");
}
QString AppSettings::lastPage() const {
    const QString p = s_.value("ui/last_page", "chat").toString();
    return kPages.contains(p) ? p : QStringLiteral("chat");
}
qint64 AppSettings::lastConversationId() const { return s_.value("ui/last_conversation", 0).toLongLong(); }
QRect AppSettings::windowGeometry() const { return s_.value("ui/window_geometry").toRect(); }
QString AppSettings::defaultModel() const { return s_.value("engine/default_model").toString(); }
int AppSettings::maxThreads() const { return std::max(1, QThread::idealThreadCount()); }

void AppSettings::setTemperature(double v) { put("sampling/temperature", std::clamp(v, 0.0, 2.0)); }
void AppSettings::setTopK(int v) { put("sampling/top_k", std::clamp(v, 0, 1000)); }
void AppSettings::setTopP(double v) { put("sampling/top_p", std::clamp(v, 0.0, 1.0)); }
void AppSettings::setMinP(double v) { put("sampling/min_p", std::clamp(v, 0.0, 1.0)); }
void AppSettings::setRepeatPenalty(double v) { put("sampling/repeat_penalty", std::clamp(v, 1.0, 2.0)); }
void AppSettings::setSeed(qint64 v) { put("sampling/seed", std::max<qint64>(-1, v)); }
void AppSettings::setMaxNewTokens(int v) { put("sampling/max_new_tokens", std::clamp(v, -1, 1 << 20)); }
void AppSettings::setRecommendedSampling(bool v) { put("sampling/recommended", v); }
void AppSettings::setContextLength(int v) { put("engine/context_length", std::clamp(v, 256, 1 << 20)); }
void AppSettings::setThreads(int v) { put("engine/threads", std::clamp(v, 0, maxThreads())); }
void AppSettings::setDevice(const QString& v) { put("engine/device", isValidDeviceKey(v) ? v : QStringLiteral("auto")); }
void AppSettings::setGpuLayers(int v) { put("engine/gpu_layers", std::clamp(v, -1, 1000)); }
void AppSettings::setModelsFolder(const QString& v) {
    const QString cleaned = v.isEmpty() ? QString() : QDir::cleanPath(v);
    if (s_.value("engine/models_folder").toString() == cleaned) return;
    s_.setValue("engine/models_folder", cleaned);
    emit modelsFolderChanged();
    emit changed();
}
void AppSettings::setLanguage(const QString& v) {
    if (!kLanguages.contains(v) || language() == v) return;
    s_.setValue("ui/language", v);
    emit languageChanged();
    emit changed();
}
void AppSettings::setTheme(const QString& v) {
    if (!kThemes.contains(v) || theme() == v) return;
    s_.setValue("ui/theme", v);
    emit themeChanged();
    emit changed();
}
void AppSettings::setLastPage(const QString& v) {
    if (kPages.contains(v)) put("ui/last_page", v);
}
void AppSettings::setLastConversationId(qint64 v) { put("ui/last_conversation", v); }
void AppSettings::setWindowGeometry(const QRect& v) { put("ui/window_geometry", v); }
void AppSettings::setDefaultModel(const QString& v) { put("engine/default_model", v); }

SamplingValues AppSettings::sampling() const {
    SamplingValues v;
    v.temperature = temperature();
    v.topK = topK();
    v.topP = topP();
    v.minP = minP();
    v.repeatPenalty = repeatPenalty();
    v.seed = seed();
    v.maxNewTokens = maxNewTokens();
    return v;
}

void AppSettings::resetSampling() {
    s_.remove("sampling");
    emit changed();
}

namespace {
QString withoutTrailingSlash(QString s) {
    s = s.trimmed();
    while (s.endsWith(QLatin1Char('/'))) s.chop(1);
    return s;
}
bool isHubEndpoint(const QString& s) {
    const QUrl u(s, QUrl::StrictMode);
    return u.isValid() && (u.scheme() == QLatin1String("https") || u.scheme() == QLatin1String("http")) &&
           !u.host().isEmpty() && !u.hasQuery() && !u.hasFragment() && u.userInfo().isEmpty();
}
}  // namespace

QString AppSettings::hubEndpoint() const {
    const QString e = withoutTrailingSlash(s_.value("hub/endpoint").toString());
    return isHubEndpoint(e) ? e : defaultHubEndpoint();
}
QString AppSettings::environmentHubEndpoint() const { return withoutTrailingSlash(qEnvironmentVariable("HF_ENDPOINT")); }
QString AppSettings::effectiveHubEndpoint() const {
    const QString env = environmentHubEndpoint();
    return env.isEmpty() ? hubEndpoint() : env;
}
QString AppSettings::hubToken() const {
    const QString t = s_.value("hub/token").toString().trimmed();
    return t.isEmpty() ? qEnvironmentVariable("HF_TOKEN").trimmed() : t;
}
QString AppSettings::maskedHubToken() const {
    const QString t = hubToken();
    if (t.isEmpty()) return {};
    if (t.size() <= 8) return QString(t.size(), QChar(0x2022));
    return t.left(3) + QString(6, QChar(0x2022)) + t.right(4);
}
void AppSettings::setHubEndpoint(const QString& v) {
    const QString e = withoutTrailingSlash(v);
    if (!isHubEndpoint(e) || e == hubEndpoint()) return;
    s_.setValue(QStringLiteral("hub/endpoint"), e);
    emit hubChanged();
}
void AppSettings::setHubToken(const QString& token) {
    const QString t = token.trimmed();
    if (t == s_.value("hub/token").toString()) return;
    if (t.isEmpty()) s_.remove(QStringLiteral("hub/token"));
    else s_.setValue(QStringLiteral("hub/token"), t);
    emit hubChanged();
}

bool AppSettings::apiServerEnabled() const { return s_.value("api_server/enabled", false).toBool(); }
int AppSettings::apiServerPort() const {
    const int p = s_.value("api_server/port", 8080).toInt();
    return p >= 1024 && p <= 65535 ? p : 8080;
}
QString AppSettings::apiServerKey() const { return s_.value("api_server/key").toString().trimmed(); }
void AppSettings::setApiServerEnabled(bool v) {
    if (v == apiServerEnabled()) return;
    s_.setValue(QStringLiteral("api_server/enabled"), v);
    emit apiServerChanged();
}
void AppSettings::setApiServerPort(int v) {
    // Below 1024 needs privileges on Linux and macOS: refused here rather than failing to listen.
    if (v < 1024 || v > 65535 || v == apiServerPort()) return;
    s_.setValue(QStringLiteral("api_server/port"), v);
    emit apiServerChanged();
}
void AppSettings::setApiServerKey(const QString& v) {
    const QString k = v.trimmed();
    if (k == apiServerKey()) return;
    if (k.isEmpty()) s_.remove(QStringLiteral("api_server/key"));
    else s_.setValue(QStringLiteral("api_server/key"), k);
    emit apiServerChanged();
}

QString AppSettings::apiEmbeddingModel() const { return s_.value("api_server/embedding_model").toString(); }
void AppSettings::setApiEmbeddingModel(const QString& path) {
    if (path == apiEmbeddingModel()) return;
    if (path.isEmpty()) s_.remove(QStringLiteral("api_server/embedding_model"));
    else s_.setValue(QStringLiteral("api_server/embedding_model"), path);
    emit apiServerChanged();
}

QString AppSettings::defaultModelsFolder() {
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath(QStringLiteral("models"));
}

}  // namespace hearth::app
