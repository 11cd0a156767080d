// AppSettings: the user's preferences (sampling, context length, threads, device, models folder,
// language, theme) and the remembered window state, kept in QSettings and exposed to QML as
// properties. Values are validated on the way in (a hand-edited config cannot set top_p to 7).
#pragma once

#include <QObject>
#include <QRect>
#include <QSettings>
#include <QString>

#include "app/chat/sampling_presets.h"

namespace hearth::app {

class AppSettings : public QObject {
    Q_OBJECT
    // Sampling
    Q_PROPERTY(double temperature READ temperature WRITE setTemperature NOTIFY changed)
    Q_PROPERTY(int topK READ topK WRITE setTopK NOTIFY changed)
    Q_PROPERTY(double topP READ topP WRITE setTopP NOTIFY changed)
    Q_PROPERTY(double minP READ minP WRITE setMinP NOTIFY changed)
    Q_PROPERTY(double repeatPenalty READ repeatPenalty WRITE setRepeatPenalty NOTIFY changed)
    Q_PROPERTY(qint64 seed READ seed WRITE setSeed NOTIFY changed)
    Q_PROPERTY(int maxNewTokens READ maxNewTokens WRITE setMaxNewTokens NOTIFY changed)
    Q_PROPERTY(bool recommendedSampling READ recommendedSampling WRITE setRecommendedSampling NOTIFY changed)
    // Engine
    Q_PROPERTY(int contextLength READ contextLength WRITE setContextLength NOTIFY changed)
    Q_PROPERTY(int threads READ threads WRITE setThreads NOTIFY changed)
    Q_PROPERTY(QString device READ device WRITE setDevice NOTIFY changed)
    Q_PROPERTY(int gpuLayers READ gpuLayers WRITE setGpuLayers NOTIFY changed)
    Q_PROPERTY(QString modelsFolder READ modelsFolder WRITE setModelsFolder NOTIFY modelsFolderChanged)
    // Appearance
    Q_PROPERTY(QString language READ language WRITE setLanguage NOTIFY languageChanged)
    Q_PROPERTY(QString theme READ theme WRITE setTheme NOTIFY themeChanged)
    // Remembered state
    Q_PROPERTY(QString lastPage READ lastPage WRITE setLastPage NOTIFY changed)
    Q_PROPERTY(qint64 lastConversationId READ lastConversationId WRITE setLastConversationId NOTIFY changed)
    Q_PROPERTY(QRect windowGeometry READ windowGeometry WRITE setWindowGeometry NOTIFY changed)
    Q_PROPERTY(QString defaultModel READ defaultModel WRITE setDefaultModel NOTIFY changed)
    Q_PROPERTY(int maxThreads READ maxThreads CONSTANT)
    // Hub (model downloads): the endpoint chosen here, HF_ENDPOINT when it is set (it wins, and
    // Settings says so), the one in use, and whether an access token is kept. The token itself is
    // readable from C++ only (hubToken), never from QML, and shown masked.
    Q_PROPERTY(QString hubEndpoint READ hubEndpoint WRITE setHubEndpoint NOTIFY hubChanged)
    Q_PROPERTY(QString environmentHubEndpoint READ environmentHubEndpoint CONSTANT)
    Q_PROPERTY(QString effectiveHubEndpoint READ effectiveHubEndpoint NOTIFY hubChanged)
    Q_PROPERTY(bool hasHubToken READ hasHubToken NOTIFY hubChanged)
    Q_PROPERTY(QString maskedHubToken READ maskedHubToken NOTIFY hubChanged)
    // Local API server (issue #16): off by default, loopback only (no host setting on purpose), a
    // port and an optional bearer key that scripts must send.
    Q_PROPERTY(bool apiServerEnabled READ apiServerEnabled WRITE setApiServerEnabled NOTIFY apiServerChanged)
    Q_PROPERTY(int apiServerPort READ apiServerPort WRITE setApiServerPort NOTIFY apiServerChanged)
    Q_PROPERTY(QString apiServerKey READ apiServerKey WRITE setApiServerKey NOTIFY apiServerChanged)
    // The embedding model (a .gguf path) the server answers /v1/embeddings with; "" = the chat model's own.
    Q_PROPERTY(QString apiEmbeddingModel READ apiEmbeddingModel WRITE setApiEmbeddingModel NOTIFY apiServerChanged)

public:
    // `fileName` empty: the platform's default (~/.config/Hearth/Hearth.conf).
    explicit AppSettings(const QString& fileName = {}, QObject* parent = nullptr);

    double temperature() const;
    int topK() const;
    double topP() const;
    double minP() const;
    double repeatPenalty() const;
    qint64 seed() const;
    int maxNewTokens() const;
    bool recommendedSampling() const;
    int contextLength() const;
    int threads() const;
    QString device() const;     // "auto" | "cpu" | "vulkan:N" | "cuda:N"
    int gpuLayers() const;      // layers on a GPU device, the rest on the CPU; -1 = as many as fit
    QString modelsFolder() const;
    QString language() const;   // "system" | "en" | "zh_CN"
    QString theme() const;      // "system" | "light" | "dark"
    QString lastPage() const;   // "chat" | "models" | "image" | "settings"
    qint64 lastConversationId() const;
    QRect windowGeometry() const;  // null when never saved
    QString defaultModel() const;  // model for new conversations
    int maxThreads() const;
    QString hubEndpoint() const;             // "https://huggingface.co" unless changed; no trailing slash
    QString environmentHubEndpoint() const;  // HF_ENDPOINT, "" when unset
    QString effectiveHubEndpoint() const;    // HF_ENDPOINT when set, else hubEndpoint()
    QString hubToken() const;                // Settings' token, else HF_TOKEN, else ""
    bool hasHubToken() const { return !hubToken().isEmpty(); }
    QString maskedHubToken() const;          // "hf_…wxyz": enough to recognise, not to use
    void setHubEndpoint(const QString& v);   // http(s)://host[:port][/path]; anything else is ignored
    Q_INVOKABLE void setHubToken(const QString& token);  // "" removes it
    static QString defaultHubEndpoint() { return QStringLiteral("https://huggingface.co"); }
    bool apiServerEnabled() const;
    int apiServerPort() const;      // 1024..65535, 8080 unless changed
    QString apiServerKey() const;   // "" = no key
    QString apiEmbeddingModel() const;
    void setApiServerEnabled(bool v);
    void setApiServerPort(int v);   // out of range: ignored
    void setApiServerKey(const QString& v);
    void setApiEmbeddingModel(const QString& path);

    void setTemperature(double v);
    void setTopK(int v);
    void setTopP(double v);
    void setMinP(double v);
    void setRepeatPenalty(double v);
    void setSeed(qint64 v);
    void setMaxNewTokens(int v);
    void setRecommendedSampling(bool v);
    void setContextLength(int v);
    void setThreads(int v);
    void setDevice(const QString& v);
    void setGpuLayers(int v);
    void setModelsFolder(const QString& v);
    void setLanguage(const QString& v);
    void setTheme(const QString& v);
    void setLastPage(const QString& v);
    void setLastConversationId(qint64 v);
    void setWindowGeometry(const QRect& v);
    void setDefaultModel(const QString& v);

    // "auto", "cpu", "vulkan:N" or "cuda:N" (ModelLibrary::devices lists the ones present).
    static bool isValidDeviceKey(const QString& key);

    SamplingValues sampling() const;
    Q_INVOKABLE void resetSampling();
    static QString defaultModelsFolder();
    QSettings& raw() { return s_; }

signals:
    void changed();
    void modelsFolderChanged();
    void languageChanged();
    void themeChanged();
    void hubChanged();
    void apiServerChanged();

private:
    void put(const char* key, const QVariant& v);
    mutable QSettings s_;
};

}  // namespace hearth::app
