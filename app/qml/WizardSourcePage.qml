// The wizard's first page: the catalog (descriptions in the UI language), a pasted hub repository or
// URL, or a local .gguf file or checkpoint folder.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth
import "."

ColumnLayout {
    spacing: 8
    Label {
        Layout.fillWidth: true
        wrapMode: Text.Wrap
        color: Theme.text
        text: qsTr("Choose a model from the catalog, paste a repository of a Hugging Face hub (or a mirror), or use a file or checkpoint folder on this computer.")
    }
    RowLayout {
        Layout.fillWidth: true
        TextField {
            id: repoField
            objectName: "repoField"
            Layout.fillWidth: true
            placeholderText: qsTr("Repository or address, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF")
            onAccepted: if (text.trim().length > 0) Wizard.chooseRepo(text)
        }
        Button {
            objectName: "repoNext"
            text: qsTr("Show files")
            enabled: repoField.text.trim().length > 0 && !Wizard.busy
            onClicked: Wizard.chooseRepo(repoField.text)
        }
        Button { text: qsTr("File…"); onClicked: localFileDialog.open() }
        Button { text: qsTr("Folder…"); onClicked: localFolderDialog.open() }
    }
    Label { text: qsTr("Catalog"); font.bold: true; color: Theme.text }
    ListView {
        id: catalogList
        objectName: "catalogList"
        Layout.fillWidth: true
        Layout.fillHeight: true
        clip: true
        spacing: 6
        model: Wizard.catalog
        ScrollBar.vertical: ScrollBar {}
        delegate: Rectangle {
            id: entry
            required property var modelData
            width: ListView.view.width
            implicitHeight: entryColumn.implicitHeight + 12
            radius: Theme.radius
            color: Theme.surface
            border.color: Theme.border
            ColumnLayout {
                id: entryColumn
                anchors.left: parent.left
                anchors.right: parent.right
                anchors.top: parent.top
                anchors.margins: 6
                spacing: 2
                RowLayout {
                    Layout.fillWidth: true
                    Label {
                        Layout.fillWidth: true
                        text: entry.modelData.name
                        font.bold: true
                        color: Theme.text
                        elide: Text.ElideRight
                    }
                    Label {
                        text: [qsTr("%1 parameters").arg(entry.modelData.parameters), entry.modelData.license,
                               qsTr("Q4_K_M %1").arg(entry.modelData.size)].join("  ·  ")
                        color: Theme.textMuted
                        font.pixelSize: Theme.fontSize - 2
                    }
                    Button {
                        text: qsTr("Choose")
                        enabled: !Wizard.busy
                        onClicked: Wizard.chooseCatalog(entry.modelData.id, "Q4_K_M")
                    }
                }
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Theme.text
                    text: entry.modelData.description
                }
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    font.pixelSize: Theme.fontSize - 2
                    color: entry.modelData.fits ? Theme.ok : Theme.warning
                    text: entry.modelData.fitText + (entry.modelData.gated ? "  ·  " + qsTr("the original needs an accepted licence and a token") : "")
                }
            }
        }
    }

    FileDialog {
        id: localFileDialog
        objectName: "wizardFileDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("Choose a GGUF model")
        nameFilters: [qsTr("GGUF models (*.gguf)"), qsTr("All files (*)")]
        onAccepted: Wizard.chooseLocal(selectedFile)
    }
    FolderDialog {
        id: localFolderDialog
        objectName: "wizardFolderDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("Choose a checkpoint folder (config.json and .safetensors)")
        onAccepted: Wizard.chooseLocal(selectedFolder)
    }
}
