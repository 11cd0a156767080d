// The wizard's convert page: a checkpoint converted and quantized, or a GGUF quantized further
// (preset, optional importance data), with progress and cancel.
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
        text: Wizard.buildFromCheckpoint
              ? qsTr("Convert the checkpoint %1 to GGUF and quantize it.").arg(Wizard.buildInput)
              : qsTr("Quantize %1 further, or add it as it is.").arg(Wizard.buildInput)
    }
    RowLayout {
        Label { text: qsTr("Quantization"); color: Theme.text }
        ComboBox {
            id: presetBox
            objectName: "presetBox"
            model: Wizard.presets
            enabled: !Wizard.busy
        }
        Label {
            Layout.fillWidth: true
            wrapMode: Text.Wrap
            color: Theme.textMuted
            font.pixelSize: Theme.fontSize - 2
            text: qsTr("Q4_K_M is the usual choice; Q8_0 is nearly lossless and twice the size.")
        }
    }
    RowLayout {
        Label { text: qsTr("Importance data (optional)"); color: Theme.text }
        Label {
            Layout.fillWidth: true
            elide: Text.ElideMiddle
            color: Theme.textMuted
            text: imatrixDialog.chosen.toString().length > 0 ? Desktop.urlToPath(imatrixDialog.chosen) : qsTr("none")
        }
        Button { text: qsTr("Choose…"); enabled: !Wizard.busy; onClicked: imatrixDialog.open() }
    }
    ProgressBar {
        Layout.fillWidth: true
        visible: Wizard.busy
        from: 0
        to: 1
        value: Wizard.buildProgress
    }
    Label {
        visible: Wizard.busy
        color: Theme.textMuted
        text: (Wizard.buildStage === "convert" ? qsTr("Converting…") : qsTr("Quantizing…")) + " " + Math.round(Wizard.buildProgress * 100) + " %"
    }
    RowLayout {
        Layout.alignment: Qt.AlignRight
        Button { text: qsTr("Back"); enabled: !Wizard.busy; onClicked: Wizard.back() }
        Button {
            text: qsTr("Add as it is")
            visible: !Wizard.buildFromCheckpoint
            enabled: !Wizard.busy
            onClicked: Wizard.addAsIs()
        }
        Button { text: qsTr("Cancel"); visible: Wizard.busy; onClicked: Wizard.cancelBuild() }
        Button {
            objectName: "buildButton"
            text: Wizard.buildFromCheckpoint ? qsTr("Convert and quantize") : qsTr("Quantize")
            highlighted: true
            enabled: !Wizard.busy
            onClicked: Wizard.startBuild(presetBox.currentText, imatrixDialog.chosen)
        }
    }
    Item { Layout.fillHeight: true }

    FileDialog {
        id: imatrixDialog
        objectName: "imatrixDialog"
        property url chosen
        currentFolder: App.downloadsFolder()
        title: qsTr("Choose importance data (imatrix)")
        nameFilters: [qsTr("Importance data (*.gguf *.dat)"), qsTr("All files (*)")]
        onAccepted: chosen = selectedFile
    }
}
