// The Image page. Image generation is not built yet (issue #15 builds it); the page says so
// plainly, and that it comes in a later version, instead of showing controls that do nothing.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "."

Item {
    ColumnLayout {
        anchors.centerIn: parent
        width: Math.min(parent.width - 60, 520)
        spacing: 12
        Label {
            Layout.fillWidth: true
            text: qsTr("Image generation")
            font.pixelSize: 20
            font.bold: true
            color: Theme.text
            horizontalAlignment: Text.AlignHCenter
        }
        Label {
            Layout.fillWidth: true
            wrapMode: Text.Wrap
            color: Theme.textMuted
            horizontalAlignment: Text.AlignHCenter
            text: qsTr("Coming in a later version of Hearth: turning a description into a picture here, on this computer, with Stable Diffusion models. This version cannot make pictures yet.")
        }
    }
}
