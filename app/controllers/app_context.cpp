#include "app/controllers/app_context.h"

#include <QCoreApplication>
#include <QDir>
#include <QGuiApplication>
#include <QLibraryInfo>
#include <QLocale>
#include <QPalette>
#include <QQmlEngine>
#include <QStandardPaths>

#include "app/controllers/adapter_controller.h"
#include "app/controllers/api_server_controller.h"
#include "app/controllers/chat_controller.h"
#include "app/controllers/documents_controller.h"
#include "app/controllers/download_controller.h"
#include "app/controllers/image_controller.h"
#include "app/controllers/model_wizard.h"
#include "app/controllers/preview_image_provider.h"
#include "app/library/model_library.h"
#include "app/settings/app_settings.h"
#include "app/support/desktop_helper.h"
#include "app/support/log_file.h"
#include "app/support/offline_network.h"

namespace hearth::app {

AppContext::AppContext(const Options& options, QObject* parent) : QObject(parent) {
    dataDir_ = options.dataDir.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) : options.dataDir;
    QDir().mkpath(dataDir_);
    if (options.logToFile) installLogFile(QDir(dataDir_).filePath(QStringLiteral("logs")));
    settings_ = new AppSettings(options.settingsFile, this);

    const QString dbPath = QDir(dataDir_).filePath(QStringLiteral("hearth.db"));
    const Status st = store_.open(dbPath);
    if (!st.ok()) qWarning("conversation store: %s", st.message().c_str());
    else qInfo("conversation store: %s", qPrintable(dbPath));

    library_ = new ModelLibrary(settings_, this);
    library_->probeDevices();  // CUDA and Vulkan enumeration on a pool thread, never in the window's
    chat_ = new ChatController(&store_, settings_, library_, this);
    apiServer_ = new ApiServerController(settings_, chat_->worker(), this);
    // Downloads a person started go on where they stopped (the queue is in the database).
    downloads_ = new DownloadController(&store_, settings_, this);
    downloads_->restore();
    wizard_ = new ModelWizard(settings_, library_, downloads_, dataDir_, this);
    images_ = new ImageController(&store_, settings_, library_, chat_, dataDir_, this);
    desktop_ = new DesktopHelper(this);
    connect(settings_, &AppSettings::languageChanged, this, &AppContext::applyLanguage);
    applyLanguage();
}

AppContext::~AppContext() {
    delete images_;  // stops a running generation; it uses the chat controller and the store
    images_ = nullptr;
    delete apiServer_;  // listens to the worker, which goes with chat_
    apiServer_ = nullptr;
    delete chat_;  // stops the worker thread (and the API server with it) before the store closes
    chat_ = nullptr;
    delete wizard_;  // cancels a conversion or quality step and waits for it
    wizard_ = nullptr;
    delete downloads_;  // stops the running download (its .part files stay for the next start)
    downloads_ = nullptr;
}

QString AppContext::version() const { return QStringLiteral(HEARTH_VERSION); }
QString AppContext::logFile() const { return logFilePath(); }

namespace {
QUrl existingOrHome(QStandardPaths::StandardLocation location) {
    const QString dir = QStandardPaths::writableLocation(location);
    return QUrl::fromLocalFile(!dir.isEmpty() && QDir(dir).exists() ? dir : QDir::homePath());
}
}  // namespace

QUrl AppContext::documentsFolder() const { return existingOrHome(QStandardPaths::DocumentsLocation); }
QUrl AppContext::downloadsFolder() const { return existingOrHome(QStandardPaths::DownloadLocation); }

void AppContext::registerQml(QQmlEngine* engine) {
    engine_ = engine;
    static OfflineNetworkFactory offline;  // outlives every engine
    engine->setNetworkAccessManagerFactory(&offline);
    qmlRegisterUncreatableType<ConversationListModel>("Hearth", 1, 0, "ConversationListModel", QStringLiteral("owned by Chat"));
    qmlRegisterUncreatableType<MessageListModel>("Hearth", 1, 0, "MessageListModel", QStringLiteral("owned by Chat"));
    qmlRegisterUncreatableType<ModelFileListModel>("Hearth", 1, 0, "ModelFileListModel", QStringLiteral("owned by Models"));
    qmlRegisterUncreatableType<AdapterListModel>("Hearth", 1, 0, "AdapterListModel", QStringLiteral("owned by Adapters"));
    qmlRegisterUncreatableType<GalleryListModel>("Hearth", 1, 0, "GalleryListModel", QStringLiteral("owned by Images"));
    qmlRegisterSingletonInstance("Hearth", 1, 0, "Chat", chat_);
    qmlRegisterSingletonInstance("Hearth", 1, 0, "Adapters", chat_->adapters());
    qmlRegisterSingletonInstance("Hearth", 1, 0, "Documents", chat_->documents());
    qmlRegisterSingletonInstance("Hearth", 1, 0, "Models", library_);
    qmlRegisterSingletonInstance("Hearth", 1, 0, "Downloads", downloads_);
    qmlRegisterSingletonInstance("Hearth", 1, 0, "Wizard", wizard_);
    qmlRegisterSingletonInstance("Hearth", 1, 0, "Images", images_);
    engine->addImageProvider(QStringLiteral("hearthpreview"), new PreviewImageProvider(images_));  // the engine owns it
    qmlRegisterSingletonInstance("Hearth", 1, 0, "Settings", settings_);
    qmlRegisterSingletonInstance("Hearth", 1, 0, "Desktop", desktop_);
    qmlRegisterSingletonInstance("Hearth", 1, 0, "App", this);
    qmlRegisterSingletonInstance("Hearth", 1, 0, "ApiServer", apiServer_);
}

void AppContext::applyLanguage() {
    QString lang = settings_->language();
    if (lang == QLatin1String("system"))
        lang = QLocale::system().name().startsWith(QLatin1String("zh")) ? QStringLiteral("zh_CN") : QStringLiteral("en");
    if (appTranslator_) QCoreApplication::removeTranslator(appTranslator_.get());
    if (qtTranslator_) QCoreApplication::removeTranslator(qtTranslator_.get());
    appTranslator_.reset();
    qtTranslator_.reset();
    if (lang != QLatin1String("en")) {
        auto t = std::make_unique<QTranslator>();
        if (t->load(QStringLiteral(":/i18n/hearth_%1.qm").arg(lang))) {
            QCoreApplication::installTranslator(t.get());
            appTranslator_ = std::move(t);
        } else {
            qWarning("no translation for %s", qPrintable(lang));
        }
        // Qt's own strings (file dialog buttons, from qt6-translations-l10n): qt_zh_CN pulls in
        // qtbase and qtdeclarative; qtbase_zh_CN alone when only that catalogue is installed.
        auto qt = std::make_unique<QTranslator>();
        const QString qtDir = QLibraryInfo::path(QLibraryInfo::TranslationsPath);
        if (qt->load(QStringLiteral("qt_%1").arg(lang), qtDir) || qt->load(QStringLiteral("qtbase_%1").arg(lang), qtDir)) {
            QCoreApplication::installTranslator(qt.get());
            qtTranslator_ = std::move(qt);
        } else {
            qWarning("Qt's own %s translations are not installed (qt6-translations-l10n)", qPrintable(lang));
        }
    }
    if (uiLanguage_ != lang) {
        uiLanguage_ = lang;
        emit uiLanguageChanged();
    }
    // Texts made in C++: problem sentences and device labels, the image page's warning and summary,
    // the conversation store's error.
    library_->retranslate();
    images_->retranslate();
    chat_->retranslate();
    wizard_->setUiLanguage(lang);  // the catalog's descriptions
    if (engine_) engine_->retranslate();
}

QColor AppContext::linkColor() const { return QGuiApplication::palette().color(QPalette::Link); }

void AppContext::setLinkColor(const QColor& color) {
    if (!color.isValid() || color == linkColor()) return;
    QPalette p = QGuiApplication::palette();
    p.setColor(QPalette::Link, color);
    p.setColor(QPalette::LinkVisited, color);
    QGuiApplication::setPalette(p);
    emit linkColorChanged();
}

}  // namespace hearth::app
