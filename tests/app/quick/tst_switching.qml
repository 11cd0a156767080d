// Switching conversation while an answer is being written asks first ("Stop it and switch?"):
// "Keep writing" leaves the answer running, "Stop and switch" stops it and switches. A new
// conversation does not show the previous one's context use.
import QtQuick
import QtQuick.Controls
import QtTest
import Hearth

Item {
    id: root
    width: 900
    height: 700

    Loader {
        id: loader
        width: 280
        height: parent.height
        source: "qrc:/qml/Sidebar.qml"
    }

    // The answer as the list last showed it in its own conversation (every streamed piece).
    QtObject {
        id: finalAnswer
        property var conversation: 0
        property string text
    }
    Connections {
        target: Chat.messages
        function onDataChanged() {
            if (Chat.conversationId === finalAnswer.conversation && Chat.messages.count >= 2)
                finalAnswer.text = Chat.messages.data(Chat.messages.index(1, 0), 259 /* ContentRole */)
        }
    }

    TestCase {
        name: "Switching"
        when: windowShown

        // Items, and the popups a page declares (they sit in `data`, not `children`).
        function findByName(item, name) {
            if (!item) return null
            if (item.objectName === name) return item
            const kids = item.data !== undefined ? item.data : item.children
            for (let i = 0; kids && i < kids.length; ++i) {
                const found = findByName(kids[i], name)
                if (found) return found
            }
            if (item.contentItem && item.contentItem !== item) {
                const found = findByName(item.contentItem, name)
                if (found) return found
            }
            return null
        }
        function findButton(item, text) {
            if (!item) return null
            if (item.text === text && item.clicked !== undefined) return item
            const kids = item.children
            for (let i = 0; kids && i < kids.length; ++i) {
                const found = findButton(kids[i], text)
                if (found) return found
            }
            if (item.contentItem && item.contentItem !== item) return findButton(item.contentItem, text)
            return null
        }

        function test_askBeforeStoppingAnAnswer() {
            verify(loader.status === Loader.Ready, "Sidebar.qml loaded")
            const sidebar = loader.item
            const newChat = findByName(sidebar, "newChatButton")
            const dialog = findByName(sidebar, "switchConversationDialog")
            verify(newChat && dialog)

            Chat.newConversation()
            verify(Chat.send("Tell me a long story"))
            tryVerify(() => Chat.generating, 60000, "generation starts")
            tryVerify(() => Chat.stats.ctxUsed > 0, 30000, "the context use is known")
            const conversation = Chat.conversationId
            verify(conversation > 0)
            finalAnswer.conversation = conversation
            tryVerify(() => finalAnswer.text.length > 0, 30000, "text arrives")

            // New chat during the answer: asked, nothing stops yet.
            mouseClick(newChat)
            tryVerify(() => dialog.opened, 5000, "the dialog asks first")
            verify(Chat.generating)
            compare(Chat.conversationId, conversation)
            mouseClick(findButton(dialog.footer, "Keep writing"))
            tryVerify(() => !dialog.visible, 5000)
            verify(Chat.generating, "Keep writing leaves the answer running")
            compare(Chat.conversationId, conversation)

            // Asked again; this time stop and switch.
            mouseClick(newChat)
            tryVerify(() => dialog.opened, 5000)
            mouseClick(findButton(dialog.footer, "Stop and switch"))
            tryVerify(() => !Chat.generating, 10000, "the answer stopped")
            tryCompare(Chat, "conversationId", 0, 5000, "a new conversation")
            compare(Chat.stats.ctxUsed, 0, "the new conversation does not show the old one's context use")

            // Without an answer running, switching does not ask; the stopped answer was saved whole
            // in its own conversation (the switch waited for it to end).
            verify(finalAnswer.text.length > 0)
            sidebar.switchTo(conversation)
            compare(Chat.conversationId, conversation)
            verify(!dialog.visible)
            compare(Chat.messages.data(Chat.messages.index(1, 0), 259 /* ContentRole */), finalAnswer.text)
        }
    }
}
