// The sidebar: New chat, search, the conversations (newest first) with rename / export / delete,
// and the page buttons.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth
import "."

Rectangle {
    id: sidebar
    color: Theme.sidebar
    property string currentPage: "chat"
    signal pageRequested(string name)

    function focusSearch() {
        search.forceActiveFocus()
        search.selectAll()
    }

    // Opens conversation `id` (0: a new one). While an answer is being written, asks first:
    // switching stops it.
    function switchTo(id) {
        if (Chat.generating && (id === 0 || id !== Chat.conversationId)) {
            switchDialog.openFor(id)
            return
        }
        doSwitch(id)
    }
    // Stops the answer first and switches once it has ended, so its last words are saved in its
    // own conversation before the list shows another one.
    property var pendingSwitch: null
    function doSwitch(id) {
        if (Chat.generating) {
            pendingSwitch = id
            Chat.stop()
            return
        }
        if (id === 0) Chat.newConversation()
        else Chat.openConversation(id)
        sidebar.pageRequested("chat")
    }
    Connections {
        target: Chat
        function onGeneratingChanged() {
            if (Chat.generating || sidebar.pendingSwitch === null) return
            const id = sidebar.pendingSwitch
            sidebar.pendingSwitch = null
            sidebar.doSwitch(id)
        }
    }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 10
        spacing: 8

        RowLayout {
            Layout.fillWidth: true
            Image {
                source: "qrc:/icons/hearth.svg"
                sourceSize.width: 28
                sourceSize.height: 28
            }
            Label {
                text: qsTr("Hearth")
                font.pixelSize: 20
                font.bold: true
                color: Theme.text
                Layout.fillWidth: true
            }
        }

        Button {
            objectName: "newChatButton"
            Layout.fillWidth: true
            text: qsTr("New chat")
            icon.name: "document-new"
            onClicked: sidebar.switchTo(0)
            ToolTip.visible: hovered
            ToolTip.text: qsTr("Ctrl+N")
            ToolTip.delay: 600
        }

        TextField {
            id: search
            objectName: "searchField"
            Layout.fillWidth: true
            placeholderText: qsTr("Search conversations (Ctrl+F)")
            selectByMouse: true
            onTextChanged: searchDelay.restart()
            Keys.onEscapePressed: text = ""
            Timer {
                id: searchDelay
                interval: 200
                onTriggered: Chat.searchQuery = search.text
            }
        }

        ListView {
            id: list
            objectName: "conversationList"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: Chat.conversations
            spacing: 2
            ScrollBar.vertical: ScrollBar {}

            Label {
                anchors.centerIn: parent
                width: parent.width - 20
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.Wrap
                visible: list.count === 0
                color: Theme.textMuted
                text: Chat.searchQuery.length > 0 ? qsTr("No conversation matches.") : qsTr("No conversations yet.")
            }

            delegate: ItemDelegate {
                id: row
                required property int index
                required property var conversationId
                required property string title
                required property string snippet
                width: ListView.view.width
                highlighted: conversationId === Chat.conversationId
                onClicked: sidebar.switchTo(conversationId)
                background: Rectangle {
                    radius: Theme.radius
                    color: row.highlighted ? Theme.selection : (row.hovered ? Theme.surfaceAlt : "transparent")
                }
                rightPadding: 34  // room for the ⋯ button
                contentItem: ColumnLayout {
                    spacing: 2
                    Label {
                        Layout.fillWidth: true
                        text: row.title.length > 0 ? row.title : qsTr("New conversation")
                        elide: Text.ElideRight
                        color: Theme.text
                        textFormat: Text.PlainText
                    }
                    Label {
                        Layout.fillWidth: true
                        visible: row.snippet.length > 0
                        text: row.snippet
                        elide: Text.ElideRight
                        color: Theme.textMuted
                        font.pixelSize: Theme.fontSize - 2
                        textFormat: Text.PlainText
                    }
                }
                TapHandler {
                    acceptedButtons: Qt.RightButton
                    onTapped: menu.popupFor(row.conversationId, row.title)
                }
                ToolButton {
                    anchors.right: parent.right
                    anchors.verticalCenter: parent.verticalCenter
                    visible: row.hovered || row.highlighted
                    flat: true
                    background: null
                    text: "⋯"
                    Accessible.name: qsTr("Conversation actions")
                    onClicked: menu.popupFor(row.conversationId, row.title)
                }
            }
        }

        Rectangle { Layout.fillWidth: true; height: 1; color: Theme.border }

        Repeater {
            model: [
                { name: "chat", label: qsTr("Chat") },
                { name: "models", label: qsTr("Models") },
                { name: "image", label: qsTr("Image") },
                { name: "settings", label: qsTr("Settings") }
            ]
            delegate: ItemDelegate {
                required property var modelData
                objectName: "nav_" + modelData.name
                Layout.fillWidth: true
                text: modelData.label
                palette.highlightedText: Theme.text
                highlighted: sidebar.currentPage === modelData.name
                onClicked: sidebar.pageRequested(modelData.name)
                background: Rectangle {
                    radius: Theme.radius
                    color: parent.highlighted ? Theme.selection : (parent.hovered ? Theme.surfaceAlt : "transparent")
                }
            }
        }
    }

    Menu {
        id: menu
        property var targetId: 0
        property string targetTitle: ""
        function popupFor(id, title) { targetId = id; targetTitle = title; popup() }
        MenuItem { text: qsTr("Rename…"); onTriggered: renameDialog.openFor(menu.targetId, menu.targetTitle) }
        MenuItem { text: qsTr("Export as Markdown…"); onTriggered: exportDialog.start(menu.targetId, "markdown") }
        MenuItem { text: qsTr("Export as JSON…"); onTriggered: exportDialog.start(menu.targetId, "json") }
        MenuSeparator {}
        MenuItem { text: qsTr("Delete…"); onTriggered: deleteDialog.openFor(menu.targetId, menu.targetTitle) }
    }

    Dialog {
        id: renameDialog
        objectName: "renameDialog"
        property var targetId: 0
        function openFor(id, title) { targetId = id; nameField.text = title; open(); nameField.forceActiveFocus() }
        title: qsTr("Rename conversation")
        modal: true
        anchors.centerIn: Overlay.overlay
        width: 400
        // Our own buttons, not standardButtons: Qt 6.4 leaves those in the old language after a live switch.
        footer: DialogButtonBox {
            Button { text: qsTr("Rename"); highlighted: true; DialogButtonBox.buttonRole: DialogButtonBox.AcceptRole }
            Button { text: qsTr("Cancel"); DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
        }
        TextField {
            id: nameField
            width: renameDialog.availableWidth  // inside the dialog's padding, never past its edge
            selectByMouse: true
            onAccepted: renameDialog.accept()
        }
        onAccepted: Chat.renameConversation(targetId, nameField.text)
    }

    Dialog {
        id: deleteDialog
        objectName: "deleteConversationDialog"
        property var targetId: 0
        property string targetTitle: ""
        function openFor(id, title) { targetId = id; targetTitle = title; open() }
        title: qsTr("Delete conversation?")
        modal: true
        anchors.centerIn: Overlay.overlay
        width: 420
        footer: DialogButtonBox {
            Button { text: qsTr("Delete"); highlighted: true; DialogButtonBox.buttonRole: DialogButtonBox.AcceptRole }
            Button { text: qsTr("Cancel"); DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
        }
        Label {
            width: deleteDialog.availableWidth
            wrapMode: Text.Wrap
            text: qsTr("“%1” and all its messages will be deleted. This cannot be undone.").arg(deleteDialog.targetTitle)
        }
        onAccepted: Chat.deleteConversation(targetId)
    }

    Dialog {
        id: switchDialog
        objectName: "switchConversationDialog"
        property var targetId: 0
        function openFor(id) { targetId = id; open() }
        title: qsTr("Stop the answer?")
        modal: true
        anchors.centerIn: Overlay.overlay
        width: 440
        Label {
            width: switchDialog.availableWidth
            wrapMode: Text.Wrap
            text: qsTr("An answer is being written in this conversation. Stop it and switch? What was written so far is kept.")
        }
        footer: DialogButtonBox {
            Button { text: qsTr("Stop and switch"); highlighted: true; DialogButtonBox.buttonRole: DialogButtonBox.AcceptRole }
            Button { text: qsTr("Keep writing"); DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
        }
        onAccepted: sidebar.doSwitch(targetId)
    }

    FileDialog {
        id: exportDialog
        objectName: "exportDialog"
        property var targetId: 0
        property string format: "markdown"
        function start(id, fmt) {
            targetId = id
            format = fmt
            // In Documents (or home) with a suggested name: the dialog's name field starts filled in.
            currentFolder = App.documentsFolder()
            currentFile = currentFolder + "/" + Chat.suggestedExportName(id, fmt)
            open()
        }
        title: format === "json" ? qsTr("Export as JSON") : qsTr("Export as Markdown")
        fileMode: FileDialog.SaveFile
        acceptLabel: qsTr("Save")
        defaultSuffix: format === "json" ? "json" : "md"
        nameFilters: format === "json" ? [qsTr("JSON files (*.json)")] : [qsTr("Markdown files (*.md)")]
        onAccepted: Chat.exportConversation(targetId, selectedFile, format)
    }
}
