// The Settings page after live switches: the language, theme and device boxes show the saved value
// in the new language (they showed "System" after a switch, and "自动" stayed in English); the
// context length offers 512 and 2048, warns above the model's trained context, and "Reload now"
// reloads the model with the new context.
import QtQuick
import QtQuick.Controls
import QtTest
import Hearth

Item {
    id: root
    width: 900
    height: 1400

    Loader {
        id: loader
        anchors.fill: parent
        source: "qrc:/qml/SettingsPage.qml"
    }

    TestCase {
        name: "SettingsPage"
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

        // What ComboBox does when the user picks row i in its popup.
        function pick(box, i) {
            box.currentIndex = i
            box.activated(i)
        }

        function cleanup() {
            Settings.language = "en"
            Settings.theme = "system"
            Settings.device = "auto"
            Settings.contextLength = 512
        }

        function test_liveLanguageAndThemeSwitch() {
            verify(loader.status === Loader.Ready, "SettingsPage.qml loaded")
            const page = loader.item
            const language = findByName(page, "languageBox")
            const theme = findByName(page, "themeBox")
            const device = findByName(page, "deviceBox")
            const layers = findByName(page, "gpuLayersSpin")
            verify(language && theme && device && layers)
            Settings.device = "auto"
            Settings.gpuLayers = -1
            compare(language.displayText, "English")
            compare(device.displayText, "Automatic")
            compare(layers.displayText, "Automatic")

            pick(theme, 2)
            compare(Settings.theme, "dark")
            compare(theme.displayText, "Dark")

            pick(language, 2)
            compare(Settings.language, "zh_CN")
            tryCompare(App, "uiLanguage", "zh_CN")
            compare(language.currentIndex, 2)
            compare(language.displayText, "简体中文")
            compare(theme.currentIndex, 2)
            compare(theme.displayText, "深色")
            tryCompare(device, "displayText", "自动")
            tryCompare(layers, "displayText", "自动")

            pick(language, 1)
            compare(Settings.language, "en")
            tryCompare(App, "uiLanguage", "en")
            compare(language.currentIndex, 1)
            compare(language.displayText, "English")
            compare(theme.currentIndex, 2)
            compare(theme.displayText, "Dark")
            tryCompare(device, "displayText", "Automatic")
            tryCompare(layers, "displayText", "Automatic")

            // A change made elsewhere (not through the box) shows too.
            Settings.theme = "light"
            compare(theme.currentIndex, 1)
            compare(theme.displayText, "Light")
        }

        function test_contextLengthWarningAndReload() {
            const page = loader.item
            const ctx = findByName(page, "contextBox")
            verify(ctx.model.indexOf(512) >= 0 && ctx.model.indexOf(2048) >= 0, "512 and 2048 are offered")
            const warning = findByName(page, "contextWarning")
            const reloadRow = findByName(page, "reloadRow")
            const reload = findByName(page, "reloadButton")
            verify(warning && reloadRow && reload)

            Settings.contextLength = 512
            Chat.loadModel(tinyModelPath)
            tryCompare(Chat, "modelState", "ready", 60000)
            compare(Chat.stats.nCtx, 512)
            compare(Chat.stats.nCtxTrain, 4096)
            verify(!warning.visible && !reloadRow.visible)

            pick(ctx, ctx.model.indexOf(2048))
            compare(Settings.contextLength, 2048)
            verify(!warning.visible, "2048 is within the trained 4096")
            verify(reloadRow.visible, "the loaded model still has 512: offer a reload")
            mouseClick(reload)
            tryCompare(Chat, "modelState", "ready", 60000)
            tryVerify(() => Chat.stats.nCtx === 2048, 60000, "reloaded with the new context")
            verify(!reloadRow.visible)

            pick(ctx, ctx.model.indexOf(8192))
            verify(warning.visible, "8192 is above the trained context")
            verify(warning.text.indexOf("4096") >= 0, warning.text)
            verify(reloadRow.visible, "a reload would give 4096, not the loaded 2048")
            Chat.unloadModel()
        }
    }
}
