// On the chat page: type a question, press Enter, the answer streams in; Esc stops it.
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
        anchors.fill: parent
        source: "qrc:/qml/ChatPage.qml"
    }

    TestCase {
        name: "ChatPage"
        when: windowShown

        function findByName(item, name) {
            if (!item) return null
            if (item.objectName === name) return item
            const kids = item.children
            for (let i = 0; i < kids.length; ++i) {
                const found = findByName(kids[i], name)
                if (found) return found
            }
            if (item.contentItem && item.contentItem !== item) {
                const found = findByName(item.contentItem, name)
                if (found) return found
            }
            return null
        }

        function test_typeEnterStreamEscStops() {
            verify(loader.status === Loader.Ready, "ChatPage.qml loaded")
            const page = loader.item
            Chat.newConversation()
            const composer = findByName(page, "composer")
            verify(composer !== null, "composer found")
            mouseClick(composer)
            composer.forceActiveFocus()
            tryVerify(() => composer.activeFocus, 2000)

            keyClick(Qt.Key_H); keyClick(Qt.Key_I)
            keyClick(Qt.Key_Return, Qt.ShiftModifier)   // Shift+Enter: a new line, not a send
            compare(Chat.messages.count, 0)
            keyClick(Qt.Key_T); keyClick(Qt.Key_H); keyClick(Qt.Key_E); keyClick(Qt.Key_R); keyClick(Qt.Key_E)
            compare(composer.text, "hi\nthere")
            keyClick(Qt.Key_Return)                      // Enter sends
            compare(composer.text, "", "the composer is cleared after sending")
            verify(Chat.messages.count >= 1)
            compare(Chat.messages.data(Chat.messages.index(0, 0), 259 /* ContentRole */), "hi\nthere")

            // The model loads on the worker (it may already have), then the answer streams in.
            tryVerify(() => Chat.generating, 60000, "generation starts")
            compare(Chat.messages.count, 2)
            const list = findByName(page, "messageList")
            verify(list !== null)
            tryVerify(() => Chat.messages.count === 2 && list.count === 2, 5000)
            let firstLength = 0
            tryVerify(() => {
                const idx = Chat.messages.index(1, 0)
                firstLength = Chat.messages.data(idx, 259 /* ContentRole */).length
                return firstLength > 0
            }, 30000, "text arrives")
            tryVerify(() => Chat.messages.data(Chat.messages.index(1, 0), 259).length > firstLength, 30000,
                      "and keeps arriving")

            keyClick(Qt.Key_Escape)                      // Esc stops
            tryVerify(() => !Chat.generating, 10000, "Esc stopped the answer")
            const stopped = Chat.messages.data(Chat.messages.index(1, 0), 259)
            verify(stopped.length > 0, "the partial answer stays")
            wait(300)
            compare(Chat.messages.data(Chat.messages.index(1, 0), 259), stopped, "nothing arrives after the stop")
            const status = findByName(page, "statusLine")
            verify(status.text.indexOf("tok/s") >= 0, "the status line shows speeds: " + status.text)
        }
    }
}
