// The chat page: header (title, model, Think, adapters, system prompt), the message list, the
// composer (Enter sends, Shift+Enter adds a line, Esc stops) and the status line.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth
import "."

Item {
    id: page
    signal modelsRequested()
    signal embeddingModelRequested()  // from the Documents bar: the wizard on an embedding model
    function focusComposer() { composer.forceActiveFocus() }

    Shortcut {
        sequence: "Esc"
        enabled: Chat.generating
        onActivated: Chat.stop()
    }

    ColumnLayout {
        anchors.fill: parent
        spacing: 0

        // ---- header
        Rectangle {
            Layout.fillWidth: true
            implicitHeight: header.implicitHeight + 16
            color: Theme.window
            RowLayout {
                id: header
                anchors.fill: parent
                anchors.margins: 8
                anchors.leftMargin: 16
                spacing: 10
                Label {
                    Layout.fillWidth: true
                    text: Chat.title.length > 0 ? Chat.title : qsTr("New conversation")
                    font.pixelSize: 17
                    font.bold: true
                    elide: Text.ElideRight
                    color: Theme.text
                    textFormat: Text.PlainText
                }
                ComboBox {
                    id: modelBox
                    objectName: "modelBox"
                    Layout.preferredWidth: 240
                    model: Models.list
                    // Name · quantization · file: two copies of one model can be told apart; a model
                    // that cannot be used is listed, greyed out, and cannot be picked.
                    textRole: "label"
                    valueRole: "path"
                    popup.width: Math.max(width, 480)  // room for name · quantization · file
                    popup.x: width - popup.width        // opens leftwards: the box sits at the window's right
                    delegate: ItemDelegate {
                        required property int index
                        required property string label
                        required property bool usable
                        required property bool embedding
                        width: ListView.view.width
                        text: usable ? label : embedding ? qsTr("%1 (embedding model: for the API)").arg(label)
                                                         : qsTr("%1 (cannot be used)").arg(label)
                        enabled: usable
                        highlighted: modelBox.highlightedIndex === index
                    }
                    displayText: Chat.modelName.length > 0 ? Chat.modelName
                               : (Chat.conversationModel.length > 0 ? Models.displayName(Chat.conversationModel)
                                                                   : qsTr("Choose a model…"))
                    onActivated: Chat.useModel(currentValue)
                    enabled: !Chat.generating
                    ToolTip.visible: hovered && Chat.backendDescription.length > 0
                    ToolTip.text: Chat.backendDescription
                }
                Switch {
                    objectName: "thinkSwitch"
                    visible: Chat.thinkAvailable
                    text: qsTr("Think")
                    checked: Chat.think
                    onToggled: Chat.think = checked
                    ToolTip.visible: hovered
                    ToolTip.text: qsTr("Let the model reason before it answers")
                    ToolTip.delay: 600
                }
                ToolButton {
                    objectName: "adaptersButton"
                    text: Adapters.activeCount > 0 ? qsTr("Adapters (%1)…").arg(Adapters.activeCount) : qsTr("Adapters…")
                    onClicked: adaptersDialog.open()
                    ToolTip.visible: hovered
                    ToolTip.text: qsTr("LoRA adapters for this conversation")
                    ToolTip.delay: 600
                }
                ToolButton {
                    id: documentsButton
                    objectName: "documentsButton"
                    checkable: true
                    text: Documents.items.length > 0 ? qsTr("Documents (%1)").arg(Documents.items.length) : qsTr("Documents")
                    ToolTip.visible: hovered
                    ToolTip.text: qsTr("Answer from your own files: PDF, Word, PowerPoint, EPUB, text, Markdown, HTML, code")
                    ToolTip.delay: 600
                }
                ToolButton {
                    text: qsTr("System prompt")
                    checkable: true
                    checked: systemBox.visible
                    onClicked: systemBox.visible = !systemBox.visible
                }
            }
        }

        Rectangle {
            id: systemBox
            visible: false
            Layout.fillWidth: true
            Layout.leftMargin: 16
            Layout.rightMargin: 16
            implicitHeight: 110
            radius: Theme.radius
            color: Theme.surface
            border.color: Theme.border
            ScrollView {
                anchors.fill: parent
                anchors.margins: 6
                TextArea {
                    id: systemField
                    placeholderText: qsTr("System prompt for this conversation, e.g. “You are a concise assistant.”")
                    text: Chat.systemPrompt
                    wrapMode: TextEdit.Wrap
                    selectByMouse: true
                    onEditingFinished: Chat.systemPrompt = text
                    background: null
                }
            }
        }

        // ---- loading
        Rectangle {
            Layout.fillWidth: true
            visible: Chat.modelState === "loading"
            implicitHeight: visible ? loadRow.implicitHeight + 12 : 0
            color: Theme.surfaceAlt
            RowLayout {
                id: loadRow
                anchors.fill: parent
                anchors.margins: 6
                anchors.leftMargin: 16
                Label { text: qsTr("Loading model…"); color: Theme.text }
                ProgressBar {
                    Layout.fillWidth: true
                    from: 0; to: 1
                    value: Chat.loadProgress
                }
                Button { text: qsTr("Cancel"); onClicked: Chat.cancelLoad() }
            }
        }

        // ---- messages
        ListView {
            id: messages
            objectName: "messageList"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: Chat.messages
            spacing: 14
            topMargin: 16
            bottomMargin: 16
            ScrollBar.vertical: ScrollBar {}
            // Follow the answer as it streams, unless the user scrolled up to read.
            property bool follow: true
            onMovementEnded: follow = atYEnd
            onCountChanged: if (follow) Qt.callLater(positionViewAtEnd)
            onContentHeightChanged: if (follow && !moving) Qt.callLater(positionViewAtEnd)

            delegate: MessageDelegate {
                width: ListView.view.width
                isLast: index === ListView.view.count - 1
            }

            Column {
                anchors.centerIn: parent
                visible: messages.count === 0
                spacing: 12
                width: Math.min(parent.width - 40, 460)
                Image {
                    anchors.horizontalCenter: parent.horizontalCenter
                    source: "qrc:/icons/hearth.svg"
                    sourceSize.width: 72
                    sourceSize.height: 72
                    opacity: 0.85
                }
                Label {
                    width: parent.width
                    horizontalAlignment: Text.AlignHCenter
                    wrapMode: Text.Wrap
                    color: Theme.textMuted
                    text: Models.list.count === 0
                          ? qsTr("No model yet. Import a .gguf file on the Models page to start chatting. Everything stays on this computer.")
                          : qsTr("Ask anything. Your conversations stay on this computer.")
                }
                Button {
                    anchors.horizontalCenter: parent.horizontalCenter
                    visible: Models.list.count === 0
                    text: qsTr("Go to Models")
                    onClicked: page.modelsRequested()
                }
            }
        }

        // ---- the conversation's documents
        DocumentsBar {
            objectName: "documentsBar"
            Layout.fillWidth: true
            Layout.leftMargin: 16
            Layout.rightMargin: 16
            Layout.bottomMargin: 4
            visible: documentsButton.checked || Documents.items.length > 0
            onEmbeddingModelRequested: page.embeddingModelRequested()
        }

        // ---- composer
        Rectangle {
            Layout.fillWidth: true
            Layout.leftMargin: 16
            Layout.rightMargin: 16
            Layout.bottomMargin: 6
            implicitHeight: Math.min(Math.max(composer.implicitHeight + 16, 52), 220)
            radius: 12
            color: Theme.surface
            border.color: composer.activeFocus ? Theme.accent : Theme.border

            RowLayout {
                anchors.fill: parent
                anchors.margins: 6
                spacing: 6
                ScrollView {
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    TextArea {
                        id: composer
                        objectName: "composer"
                        placeholderText: qsTr("Message (Enter to send, Shift+Enter for a new line)")
                        wrapMode: TextEdit.Wrap
                        selectByMouse: true
                        background: null
                        focus: true
                        Keys.onPressed: (event) => {
                            if ((event.key === Qt.Key_Return || event.key === Qt.Key_Enter)
                                    && !(event.modifiers & Qt.ShiftModifier) && !inputMethodComposing) {
                                event.accepted = true
                                page.sendNow()
                            }
                        }
                    }
                }
                Button {
                    id: sendButton
                    objectName: "sendButton"
                    Layout.alignment: Qt.AlignBottom
                    text: Chat.generating ? qsTr("Stop") : qsTr("Send")
                    highlighted: true
                    enabled: Chat.generating || (composer.text.trim().length > 0 && Chat.modelState !== "loading")
                    onClicked: Chat.generating ? Chat.stop() : page.sendNow()
                    ToolTip.visible: hovered
                    ToolTip.text: Chat.generating ? qsTr("Stop generating (Esc)") : qsTr("Send (Enter)")
                    ToolTip.delay: 600
                }
            }
        }

        // ---- status line
        Label {
            objectName: "statusLine"
            Layout.fillWidth: true
            Layout.leftMargin: 18
            Layout.rightMargin: 18
            Layout.bottomMargin: 6
            color: Theme.textMuted
            font.pixelSize: Theme.fontSize - 2
            elide: Text.ElideRight
            text: {
                if (Chat.modelState === "loading") return qsTr("Loading %1…").arg(Models.displayName(Chat.conversationModel))
                if (Chat.modelState !== "ready") return qsTr("No model loaded")
                let parts = [Chat.modelName]
                const s = Chat.stats
                if (s.promptTps !== undefined && s.promptTokens > 0)
                    parts.push(qsTr("prompt %1 tok/s").arg(Number(s.promptTps).toFixed(1)))
                if (s.genTps !== undefined && s.generated > 0)
                    parts.push(qsTr("generation %1 tok/s").arg(Number(s.genTps).toFixed(1)))
                if (s.nCtx !== undefined)
                    parts.push(qsTr("context %1 / %2").arg(s.ctxUsed !== undefined ? s.ctxUsed : 0).arg(s.nCtx))
                if (Adapters.summary.length > 0) parts.push(qsTr("adapters: %1").arg(Adapters.summary))
                if (Documents.searchableCount > 0) parts.push(qsTr("documents: %1").arg(Documents.searchableCount))
                if (Chat.searchingDocuments) parts.push(qsTr("searching your documents…"))
                else if (Chat.generating) parts.push(qsTr("generating…"))
                return parts.join("  ·  ")
            }
        }
    }

    AdaptersDialog { id: adaptersDialog }

    function sendNow() {
        if (Chat.generating) return
        if (Chat.send(composer.text)) {
            composer.text = ""
            messages.follow = true
        }
    }
}
