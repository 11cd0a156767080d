// The Models page: the .gguf models in the models folder (and ones used where they are), their
// metadata and whether they fit this machine's memory; Import…, Use for this conversation, Delete.
// Below them, the image models (Stable Diffusion folders in diffusers' layout and single-file
// checkpoints, listed by `Images`): "Add folder…" and "Add checkpoint…" register one where it is; a
// checkpoint without CLIP's tokenizer/ beside it is asked for the diffusers folder of its model.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth
import "."

Item {
    id: page
    signal chatRequested()
    signal wizardRequested()

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 16
        spacing: 10

        // "Add folder…" refused a folder (not a diffusion pipeline): Images' own message.
        ErrorBanner {
            Layout.fillWidth: true
            radius: Theme.radius
            text: Images.errorText
            onDismissed: Images.dismissError()
        }

        RowLayout {
            Layout.fillWidth: true
            ColumnLayout {
                Layout.fillWidth: true
                spacing: 2
                Label { text: qsTr("Models"); font.pixelSize: 20; font.bold: true; color: Theme.text }
                Label {
                    Layout.fillWidth: true
                    text: qsTr("Folder: %1").arg(Models.folder)
                    color: Theme.textMuted
                    elide: Text.ElideMiddle
                    font.pixelSize: Theme.fontSize - 2
                }
            }
            Button {
                text: qsTr("Refresh")
                enabled: !Models.scanning
                onClicked: { Models.refresh(); Images.refreshModels() }
            }
            Button {
                objectName: "importButton"
                text: qsTr("Import…")
                enabled: !Models.importing
                onClicked: importDialog.open()
            }
            Button {
                objectName: "addImageFolderButton"
                text: qsTr("Add folder…")
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Add an image model: a Stable Diffusion folder in diffusers' layout (with model_index.json)")
                onClicked: imageFolderDialog.open()
            }
            Button {
                objectName: "addImageFileButton"
                text: qsTr("Add checkpoint…")
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Add an image model from one file: a Stable Diffusion 1.x or 2.x checkpoint (.safetensors)")
                onClicked: imageFileDialog.open()
            }
            Button {
                objectName: "getModelsButton"
                text: qsTr("Get models…")
                highlighted: true
                onClicked: page.wizardRequested()
            }
        }

        Rectangle {
            Layout.fillWidth: true
            visible: Models.importing
            implicitHeight: visible ? importRow.implicitHeight + 12 : 0
            radius: Theme.radius
            color: Theme.surfaceAlt
            RowLayout {
                id: importRow
                anchors.fill: parent
                anchors.margins: 6
                Label { text: qsTr("Importing %1").arg(Models.importName); color: Theme.text }
                ProgressBar { Layout.fillWidth: true; from: 0; to: 1; value: Models.importProgress }
                Label { text: Math.round(Models.importProgress * 100) + " %"; color: Theme.textMuted }
                Button { text: qsTr("Cancel"); onClicked: Models.cancelImport() }
            }
        }

        ListView {
            id: list
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            spacing: 8
            model: Models.list
            ScrollBar.vertical: ScrollBar {}

            footer: ColumnLayout {
                width: ListView.view.width
                spacing: 8
                visible: Images.models.length > 0
                Label {
                    Layout.topMargin: 14
                    text: qsTr("Image models")
                    font.pixelSize: 16
                    font.bold: true
                    color: Theme.text
                }
                Repeater {
                    model: Images.models
                    delegate: Rectangle {
                        id: imageCard
                        required property var modelData
                        readonly property bool active: Images.modelPath === modelData.path
                        objectName: "imageModelCard"
                        Layout.fillWidth: true
                        implicitHeight: imageCardColumn.implicitHeight + 20
                        radius: Theme.radius
                        color: Theme.surface
                        border.color: active ? Theme.accent : Theme.border
                        ColumnLayout {
                            id: imageCardColumn
                            anchors.left: parent.left
                            anchors.right: parent.right
                            anchors.top: parent.top
                            anchors.margins: 10
                            spacing: 4
                            RowLayout {
                                Layout.fillWidth: true
                                Label {
                                    Layout.fillWidth: true
                                    text: imageCard.modelData.name + (imageCard.active ? "  ✓" : "")
                                    font.bold: true
                                    color: Theme.text
                                    elide: Text.ElideRight
                                }
                                Button {
                                    text: qsTr("Use in Image")
                                    enabled: imageCard.modelData.usable
                                    onClicked: { Images.modelPath = imageCard.modelData.path; window.page = "image" }
                                }
                                Button {
                                    text: qsTr("Remove from list")
                                    visible: !Models.isInFolder(imageCard.modelData.path)  // added where it was, not in the models folder
                                    onClicked: Images.forgetModelFolder(imageCard.modelData.path)
                                }
                            }
                            Label {
                                Layout.fillWidth: true
                                wrapMode: Text.Wrap
                                color: imageCard.modelData.usable ? Theme.textMuted : (Theme.dark ? Theme.warning : Theme.errorText)
                                text: imageCard.modelData.usable
                                      ? [qsTr("Image model"), imageCard.modelData.kind,
                                         imageCard.modelData.singleFile ? qsTr("single file") : "",
                                         qsTr("weights %1").arg(Desktop.formatBytes(imageCard.modelData.bytes))].filter(s => s.length > 0).join("  ·  ")
                                      : qsTr("Cannot be used: %1").arg(imageCard.modelData.error)
                            }
                            Label {
                                Layout.fillWidth: true
                                text: imageCard.modelData.path
                                elide: Text.ElideMiddle
                                color: Theme.textMuted
                                font.pixelSize: Theme.fontSize - 3
                            }
                            Label {
                                Layout.fillWidth: true
                                visible: imageCard.modelData.singleFile && imageCard.modelData.configDir.length > 0
                                text: qsTr("Configs and tokenizer from %1").arg(imageCard.modelData.configDir)
                                elide: Text.ElideMiddle
                                color: Theme.textMuted
                                font.pixelSize: Theme.fontSize - 3
                            }
                        }
                    }
                }
            }

            Label {
                anchors.centerIn: parent
                width: Math.min(parent.width - 40, 520)
                visible: list.count === 0 && !Models.scanning
                wrapMode: Text.Wrap
                horizontalAlignment: Text.AlignHCenter
                color: Theme.textMuted
                text: qsTr("No models yet. Choose Get models… to download one from the catalog or a Hugging Face hub, or Import… to add a .gguf file you have. Models run entirely on this computer.")
            }

            delegate: Rectangle {
                id: card
                required property string path
                required property string name
                required property string fileName
                required property string architecture
                required property string parameters
                required property string quantization
                required property double fileSize
                required property int contextLength
                required property string error
                required property bool think
                required property int expertCount   // a mixture of experts (0: dense)
                required property int expertsUsed
                required property int parts
                required property double memory
                required property bool fits
                required property bool usable
                required property bool embedding  // a text embedding model: listed, served by the API, never chatted with
                required property string problemText
                property bool showDetails: false
                readonly property bool active: Chat.modelPath === path
                width: ListView.view.width
                implicitHeight: cardColumn.implicitHeight + 20
                radius: Theme.radius
                color: Theme.surface
                border.color: active ? Theme.accent : Theme.border

                ColumnLayout {
                    id: cardColumn
                    anchors.left: parent.left
                    anchors.right: parent.right
                    anchors.top: parent.top
                    anchors.margins: 10
                    spacing: 4
                    RowLayout {
                        Layout.fillWidth: true
                        Label {
                            Layout.fillWidth: true
                            text: card.name + (card.active ? "  ✓" : "")
                            font.bold: true
                            color: Theme.text
                            elide: Text.ElideRight
                        }
                        Button {
                            text: qsTr("Use for this conversation")
                            visible: !card.embedding
                            enabled: card.usable && !Chat.generating
                            onClicked: { Chat.useModel(card.path); page.chatRequested() }
                        }
                        Button { text: qsTr("Delete…"); onClicked: deleteDialog.openFor(card.path, card.name) }
                    }
                    Label {
                        Layout.fillWidth: true
                        visible: card.architecture.length > 0
                        wrapMode: Text.Wrap
                        color: Theme.textMuted
                        text: [card.architecture,
                               qsTr("%1 parameters").arg(card.parameters),
                               card.expertCount > 0 ? qsTr("%1 of %2 experts per token").arg(card.expertsUsed).arg(card.expertCount) : "",
                               card.quantization,
                               Desktop.formatBytes(card.fileSize),
                               qsTr("context %1").arg(card.contextLength),
                               card.parts > 1 ? qsTr("%1 files").arg(card.parts) : "",
                               card.think ? qsTr("reasoning") : ""].filter(s => s.length > 0).join("  ·  ")
                    }
                    Label {
                        Layout.fillWidth: true
                        visible: card.usable
                        wrapMode: Text.Wrap
                        color: card.fits ? Theme.ok : Theme.warning
                        text: card.fits
                              ? qsTr("Needs about %1 of memory at a %2-token context.").arg(Desktop.formatBytes(card.memory)).arg(Settings.contextLength)
                              : qsTr("Will not fit: needs about %1 at a %2-token context, more than the free memory. Lower the context length or choose a smaller quantization.").arg(Desktop.formatBytes(card.memory)).arg(Settings.contextLength)
                    }
                    // A model the engine cannot load: a plain reason, and the engine's own words
                    // behind "Details" (for a bug report or a search).
                    Label {
                        objectName: "embeddingModel"
                        Layout.fillWidth: true
                        visible: card.embedding
                        wrapMode: Text.Wrap
                        color: Theme.textMuted
                        text: card.problemText
                    }
                    RowLayout {
                        Layout.fillWidth: true
                        visible: !card.usable && !card.embedding
                        spacing: 8
                        Label {
                            objectName: "cannotBeUsed"
                            Layout.fillWidth: true
                            wrapMode: Text.Wrap
                            color: Theme.dark ? Theme.warning : Theme.errorText
                            text: qsTr("Cannot be used. %1").arg(card.problemText)
                        }
                        Button {
                            flat: true
                            text: card.showDetails ? qsTr("Hide details") : qsTr("Details")
                            onClicked: card.showDetails = !card.showDetails
                        }
                    }
                    TextArea {
                        Layout.fillWidth: true
                        visible: !card.usable && !card.embedding && card.showDetails
                        readOnly: true
                        selectByMouse: true
                        wrapMode: Text.Wrap
                        font.family: Theme.monoFamily
                        font.pixelSize: Theme.fontSize - 2
                        color: Theme.textMuted
                        text: card.error
                        background: Rectangle { color: Theme.codeBackground; radius: 4 }
                    }
                    Label {
                        Layout.fillWidth: true
                        text: card.path
                        elide: Text.ElideMiddle
                        color: Theme.textMuted
                        font.pixelSize: Theme.fontSize - 3
                    }
                }
            }
        }
    }

    FolderDialog {
        id: imageFolderDialog
        objectName: "imageFolderDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("Add an image model folder")
        onAccepted: Images.addModelFolder(selectedFolder)
    }

    // "Add checkpoint…": the file, then (when no tokenizer/ is beside it) the folder of its model.
    FileDialog {
        id: imageFileDialog
        objectName: "imageFileDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("Add a Stable Diffusion checkpoint")
        nameFilters: [qsTr("Checkpoints (*.safetensors)"), qsTr("All files (*)")]
        onAccepted: {
            if (Images.checkpointNeedsConfigFolder(selectedFile)) imageConfigChoice.openFor(selectedFile)
            else Images.addCheckpointFile(selectedFile, "")
        }
    }
    Dialog {
        id: imageConfigChoice
        objectName: "imageConfigChoice"
        property url file
        function openFor(f) { file = f; open() }
        title: qsTr("Which model is it?")
        modal: true
        width: 480
        anchors.centerIn: Overlay.overlay
        ColumnLayout {
            spacing: 10
            width: imageConfigChoice.availableWidth
            Label {
                Layout.fillWidth: true
                wrapMode: Text.Wrap
                text: qsTr("A checkpoint file carries no tokenizer or configs. Pick the diffusers folder of the same model (for example stable-diffusion-v1-5 for an SD 1.5 fine-tune): its configs, tokenizer and scheduler are used with the file's weights.")
            }
            RowLayout {
                Layout.alignment: Qt.AlignRight
                Button { text: qsTr("Cancel"); onClicked: imageConfigChoice.close() }
                Button {
                    text: qsTr("Choose folder…")
                    highlighted: true
                    onClicked: { imageConfigChoice.close(); imageConfigDialog.open() }
                }
            }
        }
    }
    FolderDialog {
        id: imageConfigDialog
        objectName: "imageConfigDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("The diffusers folder of the checkpoint's model")
        onAccepted: Images.addCheckpointFile(imageConfigChoice.file, selectedFolder)
    }
    Connections {
        target: Images
        function onModelAdded() { window.page = "image" }  // an added folder or checkpoint is shown
    }

    FileDialog {
        id: importDialog
        objectName: "importDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("Import a GGUF model")
        nameFilters: [qsTr("GGUF models (*.gguf)"), qsTr("All files (*)")]
        onAccepted: importChoice.openFor(selectedFile)
    }

    Dialog {
        id: importChoice
        objectName: "importChoiceDialog"
        property url file
        function openFor(f) { file = f; open() }
        title: qsTr("Import model")
        modal: true
        width: 480
        anchors.centerIn: Overlay.overlay
        ColumnLayout {
            spacing: 10
            width: importChoice.availableWidth
            Label {
                Layout.fillWidth: true
                wrapMode: Text.Wrap
                text: qsTr("Copy the file into Hearth's models folder, or use it where it is? Copying a large model takes a while and needs the disk space twice.")
            }
            RowLayout {
                Layout.alignment: Qt.AlignRight
                Button { text: qsTr("Cancel"); onClicked: importChoice.close() }
                Button { text: qsTr("Use where it is"); onClicked: { importChoice.close(); Models.importModel(importChoice.file, false) } }
                Button { text: qsTr("Copy into folder"); highlighted: true; onClicked: { importChoice.close(); Models.importModel(importChoice.file, true) } }
            }
        }
    }

    Dialog {
        id: deleteDialog
        objectName: "deleteModelDialog"
        property string path
        property string name
        function openFor(p, n) { path = p; name = n; open() }
        title: qsTr("Delete model?")
        modal: true
        anchors.centerIn: Overlay.overlay
        width: 440
        // Our own buttons, not standardButtons: Qt 6.4 leaves those in the old language after a live switch.
        footer: DialogButtonBox {
            Button { text: qsTr("Delete"); highlighted: true; DialogButtonBox.buttonRole: DialogButtonBox.AcceptRole }
            Button { text: qsTr("Cancel"); DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
        }
        Label {
            width: deleteDialog.availableWidth
            wrapMode: Text.Wrap
            text: Models.isInFolder(deleteDialog.path)
                  ? qsTr("“%1” will be deleted from the models folder.").arg(deleteDialog.name)
                  : qsTr("“%1” will be removed from the list; the file itself stays where it is.").arg(deleteDialog.name)
        }
        onAccepted: {
            if (Chat.modelPath === path) Chat.unloadModel()
            Models.deleteModel(path)
        }
    }

    Connections {
        target: Models
        function onImportFailed(message, details) { importError.show(message, details) }
        function onErrorOccurred(message) { importError.show(message, "") }
    }

    Dialog {
        id: importError
        objectName: "importErrorDialog"
        property string message
        property string details
        property bool showDetails: false
        function show(m, d) { message = m; details = d; showDetails = false; open() }
        title: qsTr("Import failed")
        modal: true
        anchors.centerIn: Overlay.overlay
        width: 480
        footer: DialogButtonBox {
            Button { text: qsTr("OK"); highlighted: true; DialogButtonBox.buttonRole: DialogButtonBox.AcceptRole }
        }
        ColumnLayout {
            width: importError.availableWidth
            spacing: 8
            Label { Layout.fillWidth: true; wrapMode: Text.Wrap; text: importError.message }
            Button {
                visible: importError.details.length > 0
                flat: true
                text: importError.showDetails ? qsTr("Hide details") : qsTr("Details")
                onClicked: importError.showDetails = !importError.showDetails
            }
            TextArea {
                Layout.fillWidth: true
                visible: importError.showDetails
                readOnly: true
                selectByMouse: true
                wrapMode: Text.Wrap
                font.family: Theme.monoFamily
                font.pixelSize: Theme.fontSize - 2
                text: importError.details
                background: Rectangle { color: Theme.codeBackground; radius: 4 }
            }
        }
    }
}
