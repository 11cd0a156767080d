// One message: Markdown prose, code blocks with a Copy button, a collapsible reasoning block,
// and the actions Copy / Regenerate (last answer) / Edit and resend (questions) / Send to Image and
// Write a prompt (answers). Messages that the
// sliding window dropped from the model's context are dimmed and say so. An answer that did not end
// normally says how it ended; a regenerated one switches between its alternatives (‹ 1/2 ›). A
// question answered from the conversation's documents lists the passages the model was given.
// The blocks come from the row's MessageBlockModel: while an answer streams only its last block's
// delegate changes, so earlier paragraphs and code blocks are not rebuilt or re-parsed.
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
    required property var blocks        // MessageBlockModel
    required property string answer
    required property bool inContext
    required property bool streaming
    required property string status     // "" | "streaming" | "stopped" | "length" | "interrupted" | "error"
    required property int altIndex
    required property int altCount
    required property var sources       // a question answered from documents: the passages it was given
    property bool isLast: false
    property bool editing: false
    readonly property bool isUser: role === "user"
    // How an answer ended, when not normally (empty otherwise).
    readonly property string endNote: {
        if (role !== "assistant" || streaming) return ""
        switch (status) {
        case "stopped": return qsTr("Stopped")
        case "length": return qsTr("Cut off at the length limit")
        case "interrupted": return qsTr("Interrupted — the app closed while writing this answer")
        case "error": return qsTr("Stopped by an error")
        default: return ""
        }
    }
    readonly property bool canRegenerate: role === "assistant" && isLast && !Chat.generating
    // A question left without an answer (the model failed to load, or failed before writing
    // anything): without this the only way to ask again was to edit and resend it.
    readonly property bool canRetry: isUser && isLast && !Chat.generating && Chat.modelState !== "loading"

    function showAlternative(delta) {
        Chat.showAlternative(root.messageId, delta)
    }

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
                    text: root.isUser ? root.content : ""  // an answer's text is in its blocks
                    textFormat: TextEdit.PlainText
                    wrapMode: TextEdit.Wrap
                    readOnly: true
                    selectByMouse: true
                    color: Theme.text
                    selectionColor: Theme.accent
                    font.pixelSize: Theme.fontSize
                }

                Repeater {
                    model: root.isUser ? null : root.blocks
                    // The loaded block reads these by name (the Loader is its context object).
                    delegate: Loader {
                        required property string kind
                        required property string body
                        required property string language
                        required property bool open
                        Layout.fillWidth: true
                        // A block that starts while the answer streams is built between frames (a code
                        // block's controls take several ms); history is built at once, so scrolling
                        // never shows a message without its height.
                        asynchronous: root.streaming
                        sourceComponent: kind === "code" ? codeBlock : kind === "think" ? thinkBlock : textBlock
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

        // The passages from the documents that were given to the model with this question: [1] name,
        // line — the numbers the answer cites. Collapsed to one line until opened.
        ColumnLayout {
            id: sourcesBox
            objectName: "sources"
            property bool open: false
            visible: root.isUser && !root.editing && root.sources !== undefined && root.sources.length > 0
            Layout.alignment: Qt.AlignRight
            Layout.maximumWidth: column.width - 24
            spacing: 2
            ToolButton {
                objectName: "sourcesToggle"
                Layout.alignment: Qt.AlignRight
                font.pixelSize: Theme.fontSize - 3
                readonly property int n: root.sources ? root.sources.length : 0
                text: (sourcesBox.open ? "▾ " : "▸ ") + (n === 1 ? qsTr("Answered from 1 passage of your documents")
                                                               : qsTr("Answered from %1 passages of your documents").arg(n))
                onClicked: sourcesBox.open = !sourcesBox.open
            }
            Repeater {
                model: sourcesBox.open ? root.sources : []
                delegate: Rectangle {
                    required property var modelData
                    required property int index
                    Layout.fillWidth: true
                    Layout.preferredWidth: column.width * 0.7
                    implicitHeight: passageColumn.implicitHeight + 12
                    radius: 6
                    color: Theme.surface
                    border.color: Theme.border
                    ColumnLayout {
                        id: passageColumn
                        anchors.fill: parent
                        anchors.margins: 6
                        spacing: 2
                        Label {
                            Layout.fillWidth: true
                            elide: Text.ElideRight
                            font.pixelSize: Theme.fontSize - 3
                            font.bold: true
                            color: Theme.textMuted
                            text: {
                                let t = "[" + (index + 1) + "] " + modelData.name
                                if (modelData.line > 0) t += qsTr(", line %1").arg(modelData.line)
                                if (modelData.heading.length > 0) t += " · " + modelData.heading
                                return t + "  (" + Number(modelData.score).toFixed(2) + ")"
                            }
                        }
                        Label {
                            Layout.fillWidth: true
                            wrapMode: Text.Wrap
                            maximumLineCount: 6
                            elide: Text.ElideRight
                            textFormat: Text.PlainText
                            font.pixelSize: Theme.fontSize - 3
                            color: Theme.text
                            text: modelData.text
                        }
                    }
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
                color: Theme.text
                // The Basic style draws a TextArea without a frame: on the page it looked like text
                // with nowhere to type. A border (accent while focused) shows the box.
                background: Rectangle {
                    color: Theme.surface
                    radius: 6
                    border.width: editField.activeFocus ? 2 : 1
                    border.color: editField.activeFocus ? Theme.accent : Theme.border
                }
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

        // How the answer ended, when it did not end normally.
        RowLayout {
            objectName: "endNote"
            visible: root.endNote.length > 0 && !root.editing
            spacing: 6
            Label {
                text: root.endNote
                color: Theme.textMuted
                font.pixelSize: Theme.fontSize - 3
                font.italic: true
            }
            ToolButton {
                visible: root.canRegenerate
                text: qsTr("Regenerate")
                font.pixelSize: Theme.fontSize - 3
                onClicked: Chat.regenerate()
            }
        }

        RowLayout {
            Layout.alignment: root.isUser ? Qt.AlignRight : Qt.AlignLeft
            spacing: 2
            visible: !root.streaming && !root.editing
            // ‹ 1/2 ›: the answers Regenerate produced for this turn.
            RowLayout {
                objectName: "alternatives"
                visible: root.role === "assistant" && root.altCount > 1
                spacing: 0
                ToolButton {
                    objectName: "previousAlternative"
                    text: "‹"
                    enabled: root.altIndex > 0 && !Chat.generating
                    font.pixelSize: Theme.fontSize
                    onClicked: root.showAlternative(-1)
                    ToolTip.visible: hovered
                    ToolTip.text: qsTr("Previous answer")
                    ToolTip.delay: 600
                }
                Label {
                    text: qsTr("%1/%2").arg(root.altIndex + 1).arg(root.altCount)
                    color: Theme.textMuted
                    font.pixelSize: Theme.fontSize - 2
                }
                ToolButton {
                    objectName: "nextAlternative"
                    text: "›"
                    enabled: root.altIndex < root.altCount - 1 && !Chat.generating
                    font.pixelSize: Theme.fontSize
                    onClicked: root.showAlternative(1)
                    ToolTip.visible: hovered
                    ToolTip.text: qsTr("Next answer")
                    ToolTip.delay: 600
                }
            }
            ToolButton {
                text: qsTr("Copy")
                font.pixelSize: Theme.fontSize - 2
                onClicked: Desktop.copyText(root.isUser ? root.content : root.answer)
            }
            // The hand-off to the Image tab: the answer as the prompt, or a prompt the loaded model
            // writes from it (English, translated if need be), shown there for editing.
            ToolButton {
                objectName: "sendToImageButton"
                visible: root.role === "assistant"
                text: qsTr("Send to Image")
                font.pixelSize: Theme.fontSize - 2
                onClicked: Images.sendToImage(root.answer)
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Use this answer as the prompt of the Image tab")
                ToolTip.delay: 600
            }
            ToolButton {
                objectName: "writePromptButton"
                visible: root.role === "assistant"
                enabled: Chat.modelState === "ready" && !Images.writingPrompt
                text: qsTr("Write a prompt")
                font.pixelSize: Theme.fontSize - 2
                onClicked: Images.writePrompt(root.answer)
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Ask the chat model to turn this answer into a short English image prompt")
                ToolTip.delay: 600
            }
            ToolButton {
                visible: root.isUser && !Chat.generating
                text: qsTr("Edit")
                font.pixelSize: Theme.fontSize - 2
                onClicked: { editField.text = root.content; root.editing = true; editField.forceActiveFocus() }
            }
            ToolButton {
                objectName: "retryButton"
                visible: root.canRetry
                text: qsTr("Answer")
                font.pixelSize: Theme.fontSize - 2
                onClicked: Chat.regenerate()  // answers a trailing question
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Ask the model to answer this question")
                ToolTip.delay: 600
            }
            ToolButton {
                visible: root.canRegenerate && root.endNote.length === 0  // else it sits by the note
                text: qsTr("Regenerate")
                font.pixelSize: Theme.fontSize - 2
                onClicked: Chat.regenerate()
            }
        }
    }

    Component {
        id: textBlock
        TextEdit {
            id: prose
            objectName: "textBlock"
            text: body
            textFormat: TextEdit.MarkdownText
            wrapMode: TextEdit.Wrap
            readOnly: true
            selectByMouse: true
            color: Theme.text
            selectionColor: Theme.accent
            font.pixelSize: Theme.fontSize
            onLinkActivated: (link) => Desktop.copyText(link)  // links are never opened: offline by design
            // Links take their colour when the Markdown is parsed: parse again when the theme changes it.
            Connections {
                target: App
                function onLinkColorChanged() { prose.text = ""; prose.text = Qt.binding(() => body) }
            }
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
                        text: language.length > 0 ? language : qsTr("code")
                        color: Theme.textMuted
                        font.pixelSize: Theme.fontSize - 3
                    }
                    ToolButton {
                        id: copyCode
                        objectName: "copyCodeButton"
                        text: copied.running ? qsTr("Copied") : qsTr("Copy code")
                        font.pixelSize: Theme.fontSize - 3
                        onClicked: { Desktop.copyText(body); copied.restart() }
                        Timer { id: copied; interval: 1500 }
                    }
                }
                ScrollView {
                    Layout.fillWidth: true
                    implicitHeight: code.implicitHeight + (ScrollBar.horizontal.visible ? 12 : 0)
                    ScrollBar.vertical.policy: ScrollBar.AlwaysOff
                    TextEdit {
                        id: code
                        text: body
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
            property bool expanded: open  // open while the model is still reasoning
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
                    text: (think.expanded ? "▾ " : "▸ ") + (open ? qsTr("Thinking…") : qsTr("Reasoning"))
                    font.pixelSize: Theme.fontSize - 2
                    onClicked: think.expanded = !think.expanded
                }
                TextEdit {
                    visible: think.expanded
                    Layout.fillWidth: true
                    leftPadding: 10
                    rightPadding: 10
                    bottomPadding: 6
                    text: body
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
