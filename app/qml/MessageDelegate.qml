// One message: Markdown prose, code blocks with a Copy button, a collapsible reasoning block,
// and the actions Copy / Regenerate (last answer) / Edit and resend (questions). Messages that the
// sliding window dropped from the model's context are dimmed and say so.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth
import "."

Item {
    id: root
    required property int index
    required property var messageId
    required property string role
    required property string content
    required property var blocks
    required property string answer
    required property bool inContext
    required property bool streaming
    property bool isLast: false
    property bool editing: false
    readonly property bool isUser: role === "user"

    implicitHeight: column.implicitHeight
    opacity: inContext ? 1.0 : 0.55

    ColumnLayout {
        id: column
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.leftMargin: root.isUser ? Math.max(60, parent.width * 0.18) : 20
        anchors.rightMargin: root.isUser ? 20 : Math.max(40, parent.width * 0.08)
        spacing: 4

        Label {
            text: root.isUser ? qsTr("You") : (root.role === "assistant" ? qsTr("Assistant") : qsTr("System"))
            color: Theme.textMuted
            font.pixelSize: Theme.fontSize - 2
            font.bold: true
            Layout.alignment: root.isUser ? Qt.AlignRight : Qt.AlignLeft
        }

        Label {
            visible: !root.inContext
            text: qsTr("Outside the context window: the model no longer sees this message.")
            color: Theme.warning
            font.pixelSize: Theme.fontSize - 3
            font.italic: true
            Layout.alignment: root.isUser ? Qt.AlignRight : Qt.AlignLeft
        }

        Rectangle {
            id: bubble
            visible: !root.editing
            Layout.alignment: root.isUser ? Qt.AlignRight : Qt.AlignLeft
            Layout.fillWidth: !root.isUser
            Layout.preferredWidth: root.isUser ? Math.min(bubbleContent.implicitWidth + 24, column.width) : -1
            implicitHeight: bubbleContent.implicitHeight + 20
            radius: 12
            color: root.isUser ? Theme.userBubble : Theme.surface
            border.color: root.isUser ? "transparent" : Theme.border

            ColumnLayout {
                id: bubbleContent
                anchors.left: parent.left
                anchors.right: parent.right
                anchors.top: parent.top
                anchors.margins: 12
                anchors.topMargin: 10
                spacing: 8

                // A user's text is shown as typed (no Markdown surprises with * or #).
                TextEdit {
                    visible: root.isUser
                    Layout.fillWidth: true
                    Layout.maximumWidth: column.width - 24
                    text: root.content
                    textFormat: TextEdit.PlainText
                    wrapMode: TextEdit.Wrap
                    readOnly: true
                    selectByMouse: true
                    color: Theme.text
                    selectionColor: Theme.accent
                    font.pixelSize: Theme.fontSize
                }

                Repeater {
                    model: root.isUser ? [] : root.blocks
                    delegate: Loader {
                        required property var modelData
                        Layout.fillWidth: true
                        sourceComponent: modelData.kind === "code" ? codeBlock
                                       : modelData.kind === "think" ? thinkBlock : textBlock
                        property var block: modelData
                    }
                }

                Label {
                    visible: !root.isUser && root.streaming && root.content.length === 0
                    text: qsTr("…")
                    color: Theme.textMuted
                    font.pixelSize: Theme.fontSize + 4
                }
            }
        }

        // Edit-and-resend
        ColumnLayout {
            visible: root.editing
            Layout.fillWidth: true
            TextArea {
                id: editField
                Layout.fillWidth: true
                wrapMode: TextEdit.Wrap
                selectByMouse: true
            }
            RowLayout {
                Layout.alignment: Qt.AlignRight
                Button { text: qsTr("Cancel"); onClicked: root.editing = false }
                Button {
                    text: qsTr("Send")
                    highlighted: true
                    onClicked: { root.editing = false; Chat.editAndResend(root.messageId, editField.text) }
                }
            }
        }

        RowLayout {
            Layout.alignment: root.isUser ? Qt.AlignRight : Qt.AlignLeft
            spacing: 2
            visible: !root.streaming && !root.editing
            ToolButton {
                text: qsTr("Copy")
                font.pixelSize: Theme.fontSize - 2
                onClicked: Desktop.copyText(root.isUser ? root.content : root.answer)
            }
            ToolButton {
                visible: root.isUser && !Chat.generating
                text: qsTr("Edit")
                font.pixelSize: Theme.fontSize - 2
                onClicked: { editField.text = root.content; root.editing = true; editField.forceActiveFocus() }
            }
            ToolButton {
                visible: root.role === "assistant" && root.isLast && !Chat.generating
                text: qsTr("Regenerate")
                font.pixelSize: Theme.fontSize - 2
                onClicked: Chat.regenerate()
            }
        }
    }

    Component {
        id: textBlock
        TextEdit {
            objectName: "textBlock"
            text: block.text
            textFormat: TextEdit.MarkdownText
            wrapMode: TextEdit.Wrap
            readOnly: true
            selectByMouse: true
            color: Theme.text
            selectionColor: Theme.accent
            font.pixelSize: Theme.fontSize
            onLinkActivated: (link) => Desktop.copyText(link)  // links are never opened: offline by design
        }
    }

    Component {
        id: codeBlock
        Rectangle {
            radius: 6
            color: Theme.codeBackground
            border.color: Theme.border
            implicitHeight: codeColumn.implicitHeight + 8
            ColumnLayout {
                id: codeColumn
                anchors.left: parent.left
                anchors.right: parent.right
                anchors.top: parent.top
                anchors.margins: 4
                spacing: 0
                RowLayout {
                    Layout.fillWidth: true
                    Label {
                        Layout.fillWidth: true
                        leftPadding: 6
                        text: block.language.length > 0 ? block.language : qsTr("code")
                        color: Theme.textMuted
                        font.pixelSize: Theme.fontSize - 3
                    }
                    ToolButton {
                        id: copyCode
                        objectName: "copyCodeButton"
                        text: copied.running ? qsTr("Copied") : qsTr("Copy code")
                        font.pixelSize: Theme.fontSize - 3
                        onClicked: { Desktop.copyText(block.text); copied.restart() }
                        Timer { id: copied; interval: 1500 }
                    }
                }
                ScrollView {
                    Layout.fillWidth: true
                    implicitHeight: code.implicitHeight + (ScrollBar.horizontal.visible ? 12 : 0)
                    ScrollBar.vertical.policy: ScrollBar.AlwaysOff
                    TextEdit {
                        id: code
                        text: block.text
                        textFormat: TextEdit.PlainText
                        readOnly: true
                        selectByMouse: true
                        font.family: Theme.monoFamily
                        font.pixelSize: Theme.fontSize - 1
                        color: Theme.text
                        selectionColor: Theme.accent
                        padding: 6
                    }
                }
            }
        }
    }

    Component {
        id: thinkBlock
        Rectangle {
            id: think
            property bool expanded: block.open  // open while the model is still reasoning
            radius: 6
            color: Theme.surfaceAlt
            implicitHeight: thinkColumn.implicitHeight + 8
            ColumnLayout {
                id: thinkColumn
                anchors.left: parent.left
                anchors.right: parent.right
                anchors.top: parent.top
                anchors.margins: 4
                ToolButton {
                    objectName: "thinkToggle"
                    text: (think.expanded ? "▾ " : "▸ ") + (block.open ? qsTr("Thinking…") : qsTr("Reasoning"))
                    font.pixelSize: Theme.fontSize - 2
                    onClicked: think.expanded = !think.expanded
                }
                TextEdit {
                    visible: think.expanded
                    Layout.fillWidth: true
                    leftPadding: 10
                    rightPadding: 10
                    bottomPadding: 6
                    text: block.text
                    textFormat: TextEdit.PlainText
                    wrapMode: TextEdit.Wrap
                    readOnly: true
                    selectByMouse: true
                    color: Theme.textMuted
                    font.pixelSize: Theme.fontSize - 1
                    font.italic: true
                }
            }
        }
    }
}
