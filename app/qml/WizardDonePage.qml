// The wizard's last page: the model is in Models; Start chatting makes it the one in use.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth
import "."

ColumnLayout {
    signal closeRequested()
    spacing: 10
    Label {
        Layout.fillWidth: true
        wrapMode: Text.Wrap
        font.pixelSize: 18
        font.bold: true
        color: Theme.ok
        text: qsTr("%1 is ready in Models.").arg(Wizard.resultName)
    }
    Label {
        Layout.fillWidth: true
        elide: Text.ElideMiddle
        color: Theme.textMuted
        text: Wizard.resultPath
    }
    RowLayout {
        Button {
            objectName: "startChattingButton"
            visible: !Wizard.resultEmbedding
            text: qsTr("Start chatting")
            highlighted: true
            onClicked: { Wizard.startChatting(); closeRequested() }
        }
        // An embedding model does not chat: it serves the local API's /v1/embeddings.
        Button {
            objectName: "useForEmbeddingsButton"
            visible: Wizard.resultEmbedding
            text: qsTr("Use for the local API's embeddings")
            highlighted: true
            onClicked: { Wizard.useForEmbeddings(); closeRequested() }
        }
        Button { text: qsTr("Get another model"); onClicked: Wizard.reset() }
    }
    Item { Layout.fillHeight: true }
}
