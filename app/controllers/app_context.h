// AppContext: builds the app's objects in the right order (settings, log file, store, model
// library, chat controller, downloads queue, model wizard, language) and exposes them to QML as
// singletons of the `Hearth` module: Chat, Adapters, Models, Downloads, Wizard, Images, Settings, Desktop, App, ApiServer. main.cpp, the Qt Quick tests and the screenshot test all go
// through here, so they run the same wiring.
#pragma once

#include <QColor>
#include <QObject>
#include <QString>
#include <QTranslator>
#include <QUrl>
#include <memory>

#include "app/store/chat_store.h"

class QQmlEngine;

namespace hearth::app {

class ApiServerController;
class AppSettings;
class ChatController;
class DesktopHelper;
class DownloadController;
class ImageController;
class ModelLibrary;
class ModelWizard;

class AppContext : public QObject {
    Q_OBJECT
    Q_PROPERTY(QString version READ version CONSTANT)
    Q_PROPERTY(QString dataDir READ dataDir CONSTANT)
    Q_PROPERTY(QString logFile READ logFile CONSTANT)
    Q_PROPERTY(QString uiLanguage READ uiLanguage NOTIFY uiLanguageChanged)
    // The colour of links in rendered Markdown (the window binds it to the theme). Qt's Markdown
    // reader colours links from the application palette when it parses, so the setter puts it
    // there; text that is already parsed re-renders on linkColorChanged.
    Q_PROPERTY(QColor linkColor READ linkColor WRITE setLinkColor NOTIFY linkColorChanged)
public:
    struct Options {
        QString dataDir;        // empty: QStandardPaths::AppDataLocation
        QString settingsFile;   // empty: the platform's QSettings location
        bool logToFile = true;
    };
    explicit AppContext(const Options& options, QObject* parent = nullptr);
    ~AppContext() override;

    void registerQml(QQmlEngine* engine);
    QString version() const;
    QString dataDir() const { return dataDir_; }
    QString logFile() const;
    QString uiLanguage() const { return uiLanguage_; }  // "en" | "zh_CN" (after resolving "system")
    QColor linkColor() const;
    void setLinkColor(const QColor& color);
    // Where file dialogs start: Documents (exports) or Downloads (imports) when the folder exists,
    // else the home folder (never "/", where a Qt Quick file dialog opens without a folder).
    Q_INVOKABLE QUrl documentsFolder() const;
    Q_INVOKABLE QUrl downloadsFolder() const;

    AppSettings* settings() const { return settings_; }
    ChatStore* store() { return &store_; }
    ModelLibrary* library() const { return library_; }
    ChatController* chat() const { return chat_; }
    ApiServerController* apiServer() const { return apiServer_; }
    DownloadController* downloads() const { return downloads_; }
    ModelWizard* wizard() const { return wizard_; }
    ImageController* images() const { return images_; }

    // Installs the translator for settings().language() and retranslates the engine's bindings.
    void applyLanguage();

signals:
    void uiLanguageChanged();
    void linkColorChanged();

private:
    QString dataDir_;
    AppSettings* settings_ = nullptr;
    ChatStore store_;
    ModelLibrary* library_ = nullptr;
    ChatController* chat_ = nullptr;
    ApiServerController* apiServer_ = nullptr;  // talks to chat_'s worker
    DownloadController* downloads_ = nullptr;
    ModelWizard* wizard_ = nullptr;
    ImageController* images_ = nullptr;
    DesktopHelper* desktop_ = nullptr;
    QQmlEngine* engine_ = nullptr;
    std::unique_ptr<QTranslator> appTranslator_, qtTranslator_;
    QString uiLanguage_ = QStringLiteral("en");
};

}  // namespace hearth::app
