// The main window: sidebar (conversations, search, pages) and the page stack. Window size,
// position and the last page are remembered in Settings.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Window
import Hearth
import "."

ApplicationWindow {
    id: window
    // Shown from Component.onCompleted once the remembered geometry is applied (set once, not bound:
    // a binding would snap the window back whenever another setting changes).
    visible: false
    minimumWidth: 720
    minimumHeight: 480
    width: 1100
    height: 720
    title: Chat.title.length > 0 ? qsTr("%1 — Hearth").arg(Chat.title) : qsTr("Hearth")
    color: Theme.window

    palette.window: Theme.window
    palette.windowText: Theme.text
    palette.base: Theme.surface
    palette.alternateBase: Theme.surfaceAlt
    palette.text: Theme.text
    palette.button: Theme.surfaceAlt
    palette.buttonText: Theme.text
    // The Basic style draws a highlighted row (a dropdown's current item, the file dialog's selected
    // file, a menu's hovered item) in highlightedText over `light`: both must contrast in each theme.
    palette.highlight: Theme.highlight
    palette.highlightedText: Theme.text
    palette.placeholderText: Theme.textMuted
    palette.mid: Theme.border
    palette.dark: Theme.accent          // Basic style: background of highlighted buttons, checked switches
    palette.brightText: Theme.accentText  // and their text
    palette.light: Theme.selection
    palette.midlight: Theme.surfaceAlt
    palette.toolTipBase: Theme.surface
    palette.toolTipText: Theme.text
    // Disabled controls (a model that cannot be used: its "Use" button, its row in the picker) look it.
    palette.disabled.buttonText: Theme.textMuted
    palette.disabled.windowText: Theme.textMuted
    palette.disabled.text: Theme.textMuted
    palette.disabled.brightText: Theme.textMuted
    font.pixelSize: Theme.fontSize

    // Qt 6.4's Qt Quick file dialog draws its path bar on a fixed white rectangle, so in the dark
    // theme its folder names (windowText) are light on white: give that bar the theme's surface
    // whenever a popup (the file or folder dialog) is shown.
    function themeFileDialogPathBar(item, depth) {
        if (!item || depth > 6) return
        if (String(item).startsWith("FolderBreadcrumbBar") && item.background) {
            item.background.color = Qt.binding(() => Theme.surface)
            return
        }
        for (let i = 0; i < item.children.length; ++i) themeFileDialogPathBar(item.children[i], depth + 1)
    }
    Connections {
        target: window.Overlay.overlay
        function onChildrenChanged() { window.themeFileDialogPathBar(window.Overlay.overlay, 0) }
    }

    // Links in rendered Markdown take the theme's link colour (AppContext::linkColor).
    Binding { target: App; property: "linkColor"; value: Theme.link }

    property string page: "chat"
    onPageChanged: Settings.lastPage = page

    function showPage(name) { page = name }

    Shortcut {
        sequence: "Ctrl+N"
        onActivated: { sidebar.switchTo(0); chatPage.focusComposer() }  // asks first while an answer is written
    }
    Shortcut {
        sequence: "Ctrl+F"
        onActivated: sidebar.focusSearch()
    }

    onClosing: Settings.windowGeometry = Qt.rect(window.x, window.y, window.width, window.height)

    Component.onCompleted: {
        const g = Settings.windowGeometry
        if (g.width >= minimumWidth && g.height >= minimumHeight) {
            width = g.width
            height = g.height
            x = g.x
            y = g.y
        } else {
            x = (Screen.width - width) / 2
            y = (Screen.height - height) / 2
        }
        page = Settings.lastPage
        visible = true
        Models.refresh()
        Chat.reopenLast()
    }

    ModelWizard { id: modelWizard }
    // "Send to Image" / "Write a prompt" on an answer: the Image tab takes over.
    Connections {
        target: Images
        function onPageRequested() { window.page = "image" }
    }
    Connections {
        target: Wizard
        function onChatRequested() { Chat.useModel(Wizard.resultPath); window.page = "chat" }
    }

    // The first start (no model, no default, no conversation) opens the wizard once the first
    // scan of the models folder has found nothing.
    property bool firstScanSeen: false
    Connections {
        target: Models
        function onScanningChanged() {
            if (Models.scanning || window.firstScanSeen) return
            window.firstScanSeen = true
            if (Models.list.count === 0 && Settings.defaultModel.length === 0 && Chat.conversations.count === 0
                    && Models.externalModels.length === 0)
                modelWizard.openAt("source")
        }
    }

    RowLayout {
        anchors.fill: parent
        spacing: 0

        Sidebar {
            id: sidebar
            Layout.fillHeight: true
            Layout.preferredWidth: 270
            currentPage: window.page
            onPageRequested: (name) => window.page = name
        }

        Rectangle { Layout.fillHeight: true; width: 1; color: Theme.border }

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: 0

            // Downloads go on while the person chats: a thin bar says how far, and opens the wizard.
            Rectangle {
                objectName: "downloadsIndicator"
                Layout.fillWidth: true
                visible: Downloads.activeCount > 0
                implicitHeight: visible ? indicatorRow.implicitHeight + 8 : 0
                color: Theme.surfaceAlt
                RowLayout {
                    id: indicatorRow
                    anchors.fill: parent
                    anchors.leftMargin: 12
                    anchors.rightMargin: 12
                    anchors.topMargin: 4
                    anchors.bottomMargin: 4
                    Label {
                        text: Downloads.activeCount === 1 ? qsTr("Downloading a model") : qsTr("Downloading %1 models").arg(Downloads.activeCount)
                        color: Theme.text
                    }
                    ProgressBar { Layout.fillWidth: true; from: 0; to: 1; value: Downloads.activeFraction }
                    Label { text: Math.round(Downloads.activeFraction * 100) + " %"; color: Theme.textMuted }
                    Button { text: qsTr("Show"); flat: true; onClicked: { Wizard.showDownloads(); modelWizard.open() } }
                }
            }

            ErrorBanner {
                Layout.fillWidth: true
                text: Chat.errorText.length > 0 ? Chat.errorText : Chat.storeError
                onDismissed: Chat.dismissError()
            }

            StackLayout {
                id: pages
                Layout.fillWidth: true
                Layout.fillHeight: true
                currentIndex: ["chat", "models", "image", "settings"].indexOf(window.page)
                // A hidden page keeps its control's active focus, so keys typed on the next page would
                // toggle a Switch or edit a field nobody sees: focus moves with the page (the chat's
                // composer, else the page itself, from which Tab reaches its first control).
                onCurrentIndexChanged: {
                    if (currentIndex === 0) chatPage.focusComposer()
                    else if (currentIndex > 0) children[currentIndex].forceActiveFocus()
                }

                ChatPage {
                    id: chatPage
                    onModelsRequested: window.page = "models"
                    onEmbeddingModelRequested: {
                        modelWizard.openAt("source")
                        Wizard.chooseRepo("sentence-transformers/all-MiniLM-L6-v2")
                    }
                }
                ModelsPage { onChatRequested: window.page = "chat"; onWizardRequested: modelWizard.openAt("") }
                ImagePage {}
                SettingsPage {}
            }

            ApiServerStatus { Layout.fillWidth: true }  // the local API server's address and load
        }
    }
}
