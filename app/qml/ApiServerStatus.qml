// The status line of the local API server: its address and how many requests it is answering
// (the chat's included), from the worker's reports (ApiServerController). Shown only while it listens.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth
import "."

Rectangle {
    id: bar
    objectName: "apiServerStatusLine"
    visible: ApiServer.running
    implicitHeight: visible ? statusRow.implicitHeight + 6 : 0
    color: Theme.surfaceAlt

    RowLayout {
        id: statusRow
        anchors.fill: parent
        anchors.leftMargin: 12
        anchors.rightMargin: 12
        anchors.topMargin: 3
        anchors.bottomMargin: 3
        spacing: 8
        Rectangle {
            width: 8
            height: 8
            radius: 4
            color: ApiServer.activeRequests > 0 ? Theme.accent : Theme.textMuted
        }
        Label {
            objectName: "apiServerStatusText"
            Layout.fillWidth: true
            elide: Text.ElideRight
            color: Theme.textMuted
            font.pixelSize: Theme.fontSize - 1
            text: ApiServer.activeRequests === 1 ? qsTr("API server at %1 · 1 active request").arg(ApiServer.address)
                  : qsTr("API server at %1 · %2 active requests").arg(ApiServer.address).arg(ApiServer.activeRequests)
        }
    }
}
