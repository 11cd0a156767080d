// The Adapters dialog of the conversation shown: add a LoRA adapter (a PEFT folder or a .gguf
// file), switch each on or off, set its scale (0–2), remove it, and save the model merged with the
// adapters in use. The logic is Adapters (AdapterController): every change is checked against the
// loaded model before it shows here; a refused one says why under the list.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth
import "."

Dialog {
    id: dialog
    objectName: "adaptersDialog"
    title: qsTr("Adapters for this conversation")
    modal: true
    anchors.centerIn: Overlay.overlay
    width: Math.min(640, Overlay.overlay ? Overlay.overlay.width - 40 : 640)
    onOpened: Adapters.dismissMessage()

    // Our own buttons, not standardButtons: Qt 6.4 leaves those in the old language after a live switch.
    footer: DialogButtonBox {
        Button { text: qsTr("Close"); DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
    }

    ColumnLayout {
        width: dialog.availableWidth
        spacing: 10

        Label {
            Layout.fillWidth: true
            wrapMode: Text.Wrap
            color: Theme.textMuted
            text: Chat.modelState === "ready"
                  ? qsTr("LoRA adapters change how %1 answers in this conversation. Each is checked against the model before it is used.").arg(Chat.modelName)
                  : qsTr("No model is loaded: adapters are checked against the model when it loads and answers.")
        }

        ListView {
            id: list
            objectName: "adapterList"
            Layout.fillWidth: true
            Layout.preferredHeight: Math.min(Math.max(contentHeight, 64), 280)
            clip: true
            spacing: 6
            model: Adapters.list
            ScrollBar.vertical: ScrollBar {}

            Label {
                anchors.centerIn: parent
                width: parent.width - 20
                visible: list.count === 0
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.Wrap
                color: Theme.textMuted
                text: qsTr("No adapters yet. Add a PEFT folder (adapter_config.json and adapter_model.safetensors) or a GGUF adapter.")
            }

            delegate: Rectangle {
                id: row
                required property int index
                required property string name
                required property string path
                required property real adapterScale
                required property bool switchedOn
                required property bool missing
                width: ListView.view.width
                implicitHeight: rowLayout.implicitHeight + 12
                radius: Theme.radius
                color: Theme.surface  // not surfaceAlt: the slider's empty track is drawn in that colour
                border.color: Theme.border

                RowLayout {
                    id: rowLayout
                    anchors.fill: parent
                    anchors.margins: 6
                    spacing: 8
                    Switch {
                        id: onSwitch
                        objectName: "adapterSwitch"
                        checked: row.switchedOn
                        enabled: !Adapters.checking
                        onToggled: if (!Adapters.setEnabled(row.index, checked)) checked = Qt.binding(() => row.switchedOn)
                        Connections {  // shows what was applied once the model has answered (a refusal puts it back)
                            target: Adapters
                            function onChangeChecked(error) { onSwitch.checked = Qt.binding(() => row.switchedOn) }
                        }
                        ToolTip.visible: hovered
                        ToolTip.text: checked ? qsTr("On: used in answers") : qsTr("Off: not used")
                        ToolTip.delay: 600
                    }
                    ColumnLayout {
                        Layout.fillWidth: true
                        spacing: 0
                        RowLayout {
                            spacing: 6
                            Label {
                                text: row.name
                                font.bold: true
                                color: Theme.text
                                elide: Text.ElideRight
                                Layout.maximumWidth: 220
                                textFormat: Text.PlainText
                            }
                            Label {
                                visible: row.missing
                                text: qsTr("missing")
                                color: Theme.warning
                                font.bold: true
                            }
                        }
                        Label {
                            Layout.fillWidth: true
                            text: row.path
                            color: Theme.textMuted
                            font.pixelSize: Theme.fontSize - 3
                            elide: Text.ElideMiddle
                            textFormat: Text.PlainText
                        }
                    }
                    Slider {
                        id: scaleSlider
                        objectName: "adapterScale"
                        Layout.preferredWidth: 150
                        from: 0; to: 2; stepSize: 0.05
                        value: row.adapterScale
                        enabled: !Adapters.checking
                        // Applied when let go (or on each key press): one check per change, not per pixel.
                        onPressedChanged: if (!pressed) apply()
                        Keys.onReleased: apply()
                        function apply() {
                            if (Math.abs(value - row.adapterScale) < 0.001) return
                            if (!Adapters.setScale(row.index, value)) value = Qt.binding(() => row.adapterScale)
                        }
                        Connections {  // a refused change puts the slider back
                            target: Adapters
                            function onChangeChecked(error) { scaleSlider.value = Qt.binding(() => row.adapterScale) }
                        }
                        ToolTip.visible: hovered
                        ToolTip.text: qsTr("Scale: how strongly the adapter changes the model (1 = as trained)")
                        ToolTip.delay: 600
                    }
                    Label {
                        objectName: "adapterScaleValue"
                        text: "×" + scaleSlider.value.toFixed(2)
                        color: Theme.text
                        font.family: Theme.monoFamily
                        Layout.preferredWidth: implicitWidth
                    }
                    ToolButton {
                        text: qsTr("Remove")
                        enabled: !Adapters.checking
                        onClicked: Adapters.remove(row.index)
                    }
                }
            }
        }

        RowLayout {
            Layout.fillWidth: true
            visible: Adapters.checking
            BusyIndicator { running: Adapters.checking; implicitWidth: 28; implicitHeight: 28 }
            Label { text: qsTr("Checking the adapters against the model…"); color: Theme.text }
        }

        Label {
            objectName: "adapterMessage"
            Layout.fillWidth: true
            visible: Adapters.message.length > 0
            text: Adapters.message
            wrapMode: Text.Wrap
            color: Theme.errorText
            textFormat: Text.PlainText
            padding: 6
            background: Rectangle { color: Theme.error; radius: Theme.radius }
        }

        RowLayout {
            Layout.fillWidth: true
            spacing: 8
            Button {
                text: qsTr("Add file…")
                enabled: !Adapters.checking
                onClicked: adapterFileDialog.open()
            }
            Button {
                text: qsTr("Add folder…")
                enabled: !Adapters.checking
                onClicked: adapterFolderDialog.open()
            }
            Item { Layout.fillWidth: true }
            Button {
                objectName: "saveMergedButton"
                text: qsTr("Save merged model…")
                enabled: Adapters.activeCount > 0 && !Adapters.merging && !Adapters.checking
                onClicked: mergeOutputDialog.start()
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Write a copy of the model with the adapters in use built in")
                ToolTip.delay: 600
            }
        }

        // ---- merging
        RowLayout {
            Layout.fillWidth: true
            visible: Adapters.merging
            ProgressBar {
                Layout.fillWidth: true
                from: 0; to: 1
                value: Adapters.mergeProgress
            }
            Button { text: qsTr("Cancel"); onClicked: Adapters.cancelMerge() }
        }
        Label {
            objectName: "mergeMessage"
            Layout.fillWidth: true
            visible: Adapters.mergeMessage.length > 0
            text: Adapters.mergeMessage
            wrapMode: Text.Wrap
            color: Adapters.mergeFailed ? Theme.warning : Theme.textMuted
            textFormat: Text.PlainText
        }
    }

    FileDialog {
        id: adapterFileDialog
        objectName: "adapterFileDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("Add a GGUF adapter")
        nameFilters: [qsTr("GGUF adapters (*.gguf)"), qsTr("All files (*)")]
        onAccepted: Adapters.add(selectedFile)
    }

    FolderDialog {
        id: adapterFolderDialog
        objectName: "adapterFolderDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("Add a PEFT adapter folder")
        onAccepted: Adapters.add(selectedFolder)
    }

    FileDialog {
        id: mergeOutputDialog
        objectName: "mergeOutputDialog"
        function start() {
            currentFolder = Desktop.pathToUrl(Settings.modelsFolder)
            currentFile = currentFolder + "/" + Adapters.suggestedMergedName()
            open()
        }
        title: qsTr("Save merged model")
        fileMode: FileDialog.SaveFile
        acceptLabel: qsTr("Save")
        defaultSuffix: "gguf"
        nameFilters: [qsTr("GGUF models (*.gguf)")]
        onAccepted: Adapters.saveMerged(selectedFile)
    }
}
