// Settings: sampling, context length, threads, compute device, models folder, language, theme,
// and diagnostics. Everything is saved at once (QSettings).
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth
import "."

Item {
    id: page

    component SectionTitle: Label {
        font.pixelSize: 16
        font.bold: true
        color: Theme.text
        Layout.topMargin: 14
        Layout.columnSpan: 2
    }
    component FieldLabel: Label {
        color: Theme.text
        Layout.preferredWidth: 220
        wrapMode: Text.Wrap
    }

    ScrollView {
        id: scroll
        anchors.fill: parent
        contentWidth: availableWidth

        GridLayout {
            width: Math.min(scroll.availableWidth - 40, 760)
            x: 20
            columns: 2
            columnSpacing: 16
            rowSpacing: 8

            Label {
                text: qsTr("Settings")
                font.pixelSize: 20
                font.bold: true
                color: Theme.text
                Layout.columnSpan: 2
                Layout.topMargin: 16
            }

            SectionTitle { text: qsTr("Sampling") }
            FieldLabel { text: qsTr("Temperature (0 = always the most likely word)") }
            DecimalSpin { realValue: Settings.temperature; realFrom: 0; realTo: 2; realStep: 0.05; onRealModified: (v) => Settings.temperature = v }
            FieldLabel { text: qsTr("Top-k (0 = off)") }
            SpinBox { from: 0; to: 1000; editable: true; value: Settings.topK; onValueModified: Settings.topK = value }
            FieldLabel { text: qsTr("Top-p (1 = off)") }
            DecimalSpin { realValue: Settings.topP; realFrom: 0; realTo: 1; realStep: 0.01; onRealModified: (v) => Settings.topP = v }
            FieldLabel { text: qsTr("Min-p (0 = off)") }
            DecimalSpin { realValue: Settings.minP; realFrom: 0; realTo: 1; realStep: 0.01; onRealModified: (v) => Settings.minP = v }
            FieldLabel { text: qsTr("Repeat penalty (1 = off)") }
            DecimalSpin { realValue: Settings.repeatPenalty; realFrom: 1; realTo: 2; realStep: 0.01; onRealModified: (v) => Settings.repeatPenalty = v }
            FieldLabel { text: qsTr("Seed (-1 = random each time)") }
            SpinBox { from: -1; to: 2147483647; editable: true; value: Settings.seed; onValueModified: Settings.seed = value }
            FieldLabel { text: qsTr("Maximum answer length in tokens (-1 = until the model stops)") }
            SpinBox { from: -1; to: 1048576; stepSize: 128; editable: true; value: Settings.maxNewTokens; onValueModified: Settings.maxNewTokens = value }
            FieldLabel { text: qsTr("Use the recommended sampling of known model families (DeepSeek-R1 distills: temperature 0.6, top-p 0.95)") }
            Switch { checked: Settings.recommendedSampling; onToggled: Settings.recommendedSampling = checked }
            Item { width: 1; height: 1 }
            Button { text: qsTr("Reset sampling to defaults"); onClicked: Settings.resetSampling() }

            SectionTitle { text: qsTr("Engine") }
            FieldLabel { text: qsTr("Context length (tokens the model can see at once)") }
            ComboBox {
                id: ctxBox
                model: [1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072]
                currentIndex: Math.max(0, model.indexOf(Settings.contextLength))
                onActivated: Settings.contextLength = model[currentIndex]
            }
            FieldLabel { text: qsTr("CPU threads (0 = automatic)") }
            SpinBox { from: 0; to: Settings.maxThreads; editable: true; value: Settings.threads; onValueModified: Settings.threads = value }
            FieldLabel { text: qsTr("Compute device") }
            ComboBox {
                id: deviceBox
                Layout.fillWidth: true
                readonly property var devices: Models.computeDevices()
                model: devices.map(d => d.label)
                currentIndex: Math.max(0, devices.findIndex(d => d.key === Settings.device))
                onActivated: Settings.device = devices[currentIndex].key
            }
            FieldLabel { text: qsTr("Layers on the GPU") }
            SpinBox {
                // -1 = as many as fit in the GPU's free memory; the rest run on the CPU.
                from: -1; to: 999; editable: true
                value: Settings.gpuLayers
                enabled: Settings.device !== "cpu"
                textFromValue: (v, locale) => v < 0 ? qsTr("Automatic") : Number(v).toLocaleString(locale, "f", 0)
                valueFromText: (text, locale) => text === qsTr("Automatic") ? -1 : Number.fromLocaleString(locale, text)
                onValueModified: Settings.gpuLayers = value
            }
            FieldLabel { text: qsTr("Models folder") }
            RowLayout {
                Layout.fillWidth: true
                TextField {
                    id: folderField
                    Layout.fillWidth: true
                    text: Settings.modelsFolder
                    selectByMouse: true
                    onEditingFinished: Settings.modelsFolder = text
                }
                Button { text: qsTr("Choose…"); onClicked: folderDialog.open() }
            }
            Label {
                Layout.columnSpan: 2
                Layout.fillWidth: true
                wrapMode: Text.Wrap
                color: Theme.textMuted
                font.pixelSize: Theme.fontSize - 2
                text: qsTr("Context length, threads, device and GPU layers apply the next time a model is loaded.")
            }

            SectionTitle { text: qsTr("Appearance") }
            FieldLabel { text: qsTr("Language") }
            ComboBox {
                objectName: "languageBox"
                // Language names are shown in their own language.
                model: [qsTr("System"), "English", "简体中文"]
                readonly property var keys: ["system", "en", "zh_CN"]
                currentIndex: Math.max(0, keys.indexOf(Settings.language))
                onActivated: Settings.language = keys[currentIndex]
            }
            FieldLabel { text: qsTr("Theme") }
            ComboBox {
                model: [qsTr("System"), qsTr("Light"), qsTr("Dark")]
                readonly property var keys: ["system", "light", "dark"]
                currentIndex: Math.max(0, keys.indexOf(Settings.theme))
                onActivated: Settings.theme = keys[currentIndex]
            }

            SectionTitle { text: qsTr("Privacy and support") }
            Label {
                Layout.columnSpan: 2
                Layout.fillWidth: true
                wrapMode: Text.Wrap
                color: Theme.text
                text: qsTr("Hearth makes no network connections. Conversations are stored in %1.").arg(App.dataDir)
            }
            FieldLabel { text: qsTr("Log file") }
            Label {
                Layout.fillWidth: true
                text: App.logFile
                elide: Text.ElideMiddle
                color: Theme.textMuted
            }
            FieldLabel { text: qsTr("Diagnostics (versions, devices, model, settings — never conversation text)") }
            Button {
                text: copiedTimer.running ? qsTr("Copied") : qsTr("Copy diagnostics")
                onClicked: { Desktop.copyText(Chat.diagnostics()); copiedTimer.restart() }
                Timer { id: copiedTimer; interval: 1500 }
            }
            FieldLabel { text: qsTr("Version") }
            Label { text: "Hearth " + App.version; color: Theme.textMuted }
            Item { Layout.columnSpan: 2; height: 20 }
        }
    }

    FolderDialog {
        id: folderDialog
        title: qsTr("Choose the models folder")
        onAccepted: Settings.modelsFolder = Desktop.urlToPath(selectedFolder)
    }
}
