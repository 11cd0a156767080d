// The wizard's files page: the repository's listing with the chosen files checked, the catalog's
// quantizations with their sizes, and the memory estimate for what is chosen.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth
import "."

ColumnLayout {
    spacing: 8
    Label {
        Layout.fillWidth: true
        text: qsTr("%1 on %2").arg(Wizard.repo).arg(Wizard.endpoint)
        color: Theme.text
        font.bold: true
        elide: Text.ElideMiddle
    }
    Flow {
        Layout.fillWidth: true
        visible: Wizard.quants.length > 0
        spacing: 6
        Repeater {
            model: Wizard.quants
            delegate: Button {
                required property var modelData
                objectName: "quant_" + modelData.name
                checkable: true
                checked: Wizard.quant === modelData.name
                enabled: modelData.available
                text: modelData.name + " · " + modelData.sizeText
                onClicked: Wizard.selectQuant(modelData.name)
                ToolTip.visible: hovered
                ToolTip.text: modelData.fitText
            }
        }
    }
    ListView {
        id: fileList
        objectName: "fileList"
        Layout.fillWidth: true
        Layout.fillHeight: true
        clip: true
        model: Wizard.files
        ScrollBar.vertical: ScrollBar {}
        delegate: CheckDelegate {
            required property int index
            required property var modelData
            width: ListView.view.width
            checked: modelData.checked
            text: modelData.path + "   " + modelData.sizeText
            onToggled: Wizard.setFileChecked(index, checked)
        }
    }
    Label {
        Layout.fillWidth: true
        wrapMode: Text.Wrap
        color: Wizard.fits ? Theme.ok : Theme.warning
        text: qsTr("Selected: %1.").arg(Desktop.formatBytes(Wizard.selectedBytes)) + " " + Wizard.fitText
    }
    Label {
        Layout.fillWidth: true
        visible: Wizard.needsConversion
        wrapMode: Text.Wrap
        color: Theme.textMuted
        text: qsTr("This is a safetensors checkpoint: after the download Hearth converts it to GGUF and quantizes it.")
    }
    RowLayout {
        Layout.alignment: Qt.AlignRight
        Button { text: qsTr("Back"); onClicked: Wizard.back() }
        Button {
            objectName: "downloadButton"
            text: qsTr("Download")
            highlighted: true
            enabled: Wizard.selectedBytes > 0
            onClicked: Wizard.startDownload()
        }
    }
}
