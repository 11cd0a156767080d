// The conversation's documents (PDF, Word, PowerPoint, EPUB, text, Markdown, HTML, code), above the composer: one chip per file (indexing progress, its
// passage count, or why it failed), each with a switch (searched or not) and ×, and "Add documents…".
// Questions are answered from the passages found in the switched-on documents; what each answer was
// given shows under its question.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth
import "."

ColumnLayout {
    id: bar
    spacing: 4
    // "Get all-MiniLM-L6-v2…": the model wizard, opened on that repository (Main.qml).
    signal embeddingModelRequested()

    Flow {
        Layout.fillWidth: true
        spacing: 6
        Repeater {
            model: Documents.items
            delegate: Rectangle {
                id: chip
                required property var modelData
                objectName: "documentChip"
                height: 30
                width: chipRow.implicitWidth + 12
                radius: 15
                color: Theme.surface
                border.color: modelData.state === "failed" ? Theme.warning : Theme.border
                opacity: modelData.enabled ? 1.0 : 0.6
                RowLayout {
                    id: chipRow
                    anchors.verticalCenter: parent.verticalCenter
                    anchors.left: parent.left
                    anchors.leftMargin: 6
                    spacing: 4
                    CheckBox {
                        objectName: "documentEnabled"
                        checked: chip.modelData.enabled
                        visible: chip.modelData.state !== "failed"
                        enabled: chip.modelData.state === "ready"
                        padding: 0
                        onToggled: Documents.setEnabled(chip.modelData.id, checked)
                        ToolTip.visible: hovered
                        ToolTip.text: qsTr("Search this document when answering")
                        ToolTip.delay: 600
                    }
                    Label {
                        text: chip.modelData.name
                        elide: Text.ElideMiddle
                        Layout.maximumWidth: 220
                        color: Theme.text
                        font.pixelSize: Theme.fontSize - 2
                    }
                    Label {
                        objectName: "documentState"
                        color: chip.modelData.state === "failed" || chip.modelData.file.length > 0 ? Theme.warning : Theme.textMuted
                        font.pixelSize: Theme.fontSize - 3
                        text: chip.modelData.state === "indexing"
                              ? qsTr("indexing %1%").arg(Math.round(chip.modelData.progress * 100))
                              : chip.modelData.state === "failed" ? qsTr("failed")
                              : chip.modelData.file === "changed" ? qsTr("changed since indexed")
                              : chip.modelData.file === "missing" ? qsTr("file gone (passages kept)")
                              : chip.modelData.passages === 1 ? qsTr("1 passage")
                              : qsTr("%1 passages").arg(chip.modelData.passages)
                        ToolTip.visible: stateArea.containsMouse && chip.modelData.error.length > 0
                        ToolTip.text: chip.modelData.error
                        MouseArea { id: stateArea; anchors.fill: parent; hoverEnabled: true }
                    }
                    ToolButton {
                        objectName: "documentReindex"
                        visible: chip.modelData.state === "ready" && chip.modelData.file === "changed"
                        text: qsTr("Re-index")
                        font.pixelSize: Theme.fontSize - 3
                        onClicked: Documents.retry(chip.modelData.id)
                    }
                    ToolButton {
                        visible: chip.modelData.state === "failed"
                        text: qsTr("Retry")
                        font.pixelSize: Theme.fontSize - 3
                        onClicked: Documents.retry(chip.modelData.id)
                    }
                    ToolButton {
                        objectName: "documentRemove"
                        text: "×"
                        implicitWidth: 24
                        onClicked: Documents.remove(chip.modelData.id)
                        ToolTip.visible: hovered
                        ToolTip.text: qsTr("Remove from this conversation (the file itself stays)")
                        ToolTip.delay: 600
                    }
                }
            }
        }
        Button {
            objectName: "addDocumentsButton"
            height: 30
            text: qsTr("Add documents…")
            onClicked: documentDialog.open()
        }
        Button {
            objectName: "getEmbeddingModelButton"
            height: 30
            visible: Documents.embeddingModelName.length === 0
            text: qsTr("Get an embedding model…")
            ToolTip.visible: hovered
            ToolTip.text: qsTr("Opens the model wizard on sentence-transformers/all-MiniLM-L6-v2 (about 90 MB)")
            ToolTip.delay: 600
            onClicked: bar.embeddingModelRequested()
        }
    }

    Label {
        objectName: "documentsNote"
        Layout.fillWidth: true
        wrapMode: Text.Wrap
        font.pixelSize: Theme.fontSize - 3
        color: Documents.message.length > 0 ? Theme.warning : Theme.textMuted
        text: Documents.message.length > 0 ? Documents.message
              : Documents.embeddingModelName.length === 0
                ? qsTr("Documents are searched with an embedding model: get one in the model wizard first.")
                : Documents.items.length === 0
                  ? qsTr("Add PDF, Word, PowerPoint, EPUB, text, Markdown, HTML or source files: each question is answered from the passages most like it. Nothing leaves this computer.")
                  : qsTr("Answers use the passages most like each question, found with %1.").arg(Documents.embeddingModelName)
    }

    FileDialog {
        id: documentDialog
        objectName: "documentDialog"
        title: qsTr("Add documents to this conversation")
        fileMode: FileDialog.OpenFiles
        currentFolder: App.documentsFolder()
        nameFilters: Documents.nameFilters()
        onAccepted: Documents.add(selectedFiles)
    }
}
