// A banner across the top of the page with the engine's (or the store's) own message.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth
import "."

Rectangle {
    id: banner
    property alias text: label.text
    signal dismissed()

    // Never hidden, only 0 high when empty: Qt 6.4's ColumnLayout leaves out for good an item that
    // was hidden when it first laid out and is shown before the first frame (a warning raised while
    // the window opens, such as a missing adapter of the reopened conversation, never appeared).
    readonly property bool shown: text.length > 0
    color: Theme.error
    clip: true
    implicitHeight: shown ? row.implicitHeight + 16 : 0

    RowLayout {
        id: row
        visible: banner.shown
        anchors.fill: parent
        anchors.margins: 8
        spacing: 8
        Label {
            text: "⚠"
            color: Theme.errorText
            font.pixelSize: 18
        }
        Label {
            id: label
            objectName: "errorText"
            Layout.fillWidth: true
            wrapMode: Text.Wrap
            color: Theme.errorText
            textFormat: Text.PlainText
        }
        ToolButton {
            text: qsTr("Copy")
            onClicked: Desktop.copyText(label.text)
        }
        ToolButton {
            text: "✕"
            Accessible.name: qsTr("Dismiss")
            onClicked: banner.dismissed()
        }
    }
}
