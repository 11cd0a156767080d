// Settings: sampling, context length, threads, compute device, models folder, language, theme,
// the local API server, and diagnostics. Everything is saved at once (QSettings).
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth
import "."

Item {
    id: page

    // The model the context warning is about: the loaded one, else this conversation's.
    readonly property var contextModelInfo: Models.list.count >= 0 ? Models.info(Chat.modelState === "ready" ? Chat.modelPath : Chat.conversationModel) : ({})
    readonly property string contextModelName: Chat.modelState === "ready" ? Chat.modelName : (contextModelInfo.name || "")
    readonly property int trainedContext: Chat.modelState === "ready" && Chat.stats.nCtxTrain !== undefined
                                          ? Chat.stats.nCtxTrain : (contextModelInfo.contextLength || 0)
    // The context a reload would give (the setting, clamped to the training context) differs from the loaded one.
    readonly property bool reloadNeeded: Chat.modelState === "ready" && Chat.stats.nCtx !== undefined
                                         && Chat.stats.nCtx !== (trainedContext > 0 ? Math.min(Settings.contextLength, trainedContext) : Settings.contextLength)

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
            Switch { objectName: "recommendedSwitch"; checked: Settings.recommendedSampling; onToggled: Settings.recommendedSampling = checked }
            Item { width: 1; height: 1 }
            Button { text: qsTr("Reset sampling to defaults"); onClicked: Settings.resetSampling() }

            SectionTitle { text: qsTr("Engine") }
            FieldLabel { text: qsTr("Context length (tokens the model can see at once)") }
            ComboBox {
                id: ctxBox
                objectName: "contextBox"
                model: [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072]
                onActivated: (i) => Settings.contextLength = model[i]
                Binding on currentIndex { value: Math.max(0, ctxBox.model.indexOf(Settings.contextLength)) }
            }
            // The session never goes past what the model was trained on (Session::open clamps to it).
            Label {
                objectName: "contextWarning"
                Layout.columnSpan: 2
                Layout.fillWidth: true
                visible: page.trainedContext > 0 && Settings.contextLength > page.trainedContext
                wrapMode: Text.Wrap
                color: Theme.warning
                text: qsTr("%1 was trained on %2 tokens: it will use %2, not %3. A longer context than a model was trained on only makes its answers worse.")
                      .arg(page.contextModelName).arg(page.trainedContext).arg(Settings.contextLength)
            }
            // The loaded model keeps the context it was loaded with until it is loaded again.
            RowLayout {
                objectName: "reloadRow"
                Layout.columnSpan: 2
                Layout.fillWidth: true
                visible: page.reloadNeeded
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Theme.text
                    text: qsTr("The loaded model still uses a context of %1 tokens.").arg(Chat.stats.nCtx !== undefined ? Chat.stats.nCtx : 0)
                }
                Button {
                    objectName: "reloadButton"
                    text: Chat.generating ? qsTr("Reload after this answer") : qsTr("Reload now")
                    highlighted: true
                    onClicked: Chat.reloadModel()
                }
            }
            FieldLabel { text: qsTr("CPU threads (0 = automatic)") }
            SpinBox { from: 0; to: Settings.maxThreads; editable: true; value: Settings.threads; onValueModified: Settings.threads = value }
            FieldLabel { text: qsTr("Compute device") }
            ComboBox {
                id: deviceBox
                objectName: "deviceBox"
                Layout.fillWidth: true
                // Probed on a pool thread at start-up (Automatic and CPU until it is done).
                model: Models.devices
                textRole: "label"
                valueRole: "key"
                // From the setting and the current list (Qt 6.4 keeps a stale currentText when a
                // same-length model changes, as it does on a language switch).
                displayText: {
                    const d = Models.devices.find(d => d.key === Settings.device)
                    return d ? d.label : Models.devices[0].label
                }
                onActivated: (i) => Settings.device = Models.devices[i].key
                Binding on currentIndex { value: Math.max(0, Models.devices.findIndex(d => d.key === Settings.device)) }
            }
            FieldLabel { text: qsTr("Layers on the GPU") }
            SpinBox {
                objectName: "gpuLayersSpin"
                // -1 = as many as fit in the GPU's free memory; the rest run on the CPU.
                from: -1; to: 999; editable: true
                value: Settings.gpuLayers
                enabled: Settings.device !== "cpu"
                id: layersSpin
                textFromValue: (v, locale) => v < 0 ? qsTr("Automatic") : Number(v).toLocaleString(locale, "f", 0)
                valueFromText: (text, locale) => text === qsTr("Automatic") ? -1 : Number.fromLocaleString(locale, text)
                onValueModified: Settings.gpuLayers = value
                // Qt 6.4's SpinBox keeps the text it made until its value changes, so "Automatic"
                // stayed "自动" after a switch back to English: make the text again in the new language.
                Connections {
                    target: App
                    function onUiLanguageChanged() {
                        layersSpin.value = layersSpin.value === layersSpin.from ? layersSpin.from + 1 : layersSpin.from
                        layersSpin.value = Qt.binding(() => Settings.gpuLayers)
                    }
                }
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
            // The models are the setting's keys, not translated labels: a live language switch then
            // never resets the boxes, and the shown text comes from the setting itself.
            ComboBox {
                id: languageBox
                objectName: "languageBox"
                readonly property var keys: ["system", "en", "zh_CN"]
                // Language names are shown in their own language.
                function label(key) { return key === "en" ? "English" : key === "zh_CN" ? "简体中文" : qsTr("System") }
                model: keys
                displayText: label(Settings.language)
                delegate: ItemDelegate {
                    required property int index
                    required property string modelData
                    width: ListView.view.width
                    text: languageBox.label(modelData)
                    highlighted: languageBox.highlightedIndex === index
                }
                onActivated: (i) => Settings.language = keys[i]
                Binding on currentIndex { value: Math.max(0, languageBox.keys.indexOf(Settings.language)) }
            }
            FieldLabel { text: qsTr("Theme") }
            ComboBox {
                id: themeBox
                objectName: "themeBox"
                readonly property var keys: ["system", "light", "dark"]
                function label(key) { return key === "light" ? qsTr("Light") : key === "dark" ? qsTr("Dark") : qsTr("System") }
                model: keys
                displayText: label(Settings.theme)
                delegate: ItemDelegate {
                    required property int index
                    required property string modelData
                    width: ListView.view.width
                    text: themeBox.label(modelData)
                    highlighted: themeBox.highlightedIndex === index
                }
                onActivated: (i) => Settings.theme = keys[i]
                Binding on currentIndex { value: Math.max(0, themeBox.keys.indexOf(Settings.theme)) }
            }

            // Model downloads (Get models…): where the hub is, and the access token for gated or
            // private repositories. HF_ENDPOINT, when set, wins over the choice here, and says so.
            SectionTitle { text: qsTr("Model downloads") }
            FieldLabel { text: qsTr("Hub endpoint") }
            ColumnLayout {
                Layout.fillWidth: true
                spacing: 4
                ComboBox {
                    id: endpointBox
                    objectName: "hubEndpointBox"
                    Layout.fillWidth: true
                    editable: true
                    enabled: Settings.environmentHubEndpoint.length === 0
                    model: ["https://huggingface.co", "https://hf-mirror.com"]
                    Component.onCompleted: editText = Settings.hubEndpoint
                    Connections { target: Settings; function onHubChanged() { endpointBox.editText = Settings.hubEndpoint } }
                    onActivated: (i) => Settings.hubEndpoint = model[i]
                    onAccepted: Settings.hubEndpoint = editText
                }
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    font.pixelSize: Theme.fontSize - 2
                    color: Settings.environmentHubEndpoint.length > 0 ? Theme.warning : Theme.textMuted
                    text: Settings.environmentHubEndpoint.length > 0
                          ? qsTr("HF_ENDPOINT is set, so downloads use %1.").arg(Settings.environmentHubEndpoint)
                          : qsTr("hf-mirror.com is a mirror that is often faster from mainland China.")
                }
            }
            FieldLabel { text: qsTr("Access token (for gated or private models)") }
            RowLayout {
                Layout.fillWidth: true
                TextField {
                    id: tokenField
                    objectName: "hubTokenField"
                    Layout.fillWidth: true
                    echoMode: TextInput.Password
                    placeholderText: Settings.hasHubToken ? Settings.maskedHubToken : qsTr("hf_…")
                    onAccepted: { Settings.setHubToken(text); text = "" }
                }
                Button {
                    text: qsTr("Save")
                    enabled: tokenField.text.length > 0
                    onClicked: { Settings.setHubToken(tokenField.text); tokenField.text = "" }
                }
                Button {
                    text: qsTr("Remove")
                    enabled: Settings.hasHubToken
                    onClicked: Settings.setHubToken("")
                }
            }

            // The local API server (issue #16): the loaded model for other programs on this computer,
            // beside the chat. Loopback only, so there is deliberately no host field.
            SectionTitle { text: qsTr("Local API server") }
            Label {
                Layout.columnSpan: 2
                Layout.fillWidth: true
                wrapMode: Text.Wrap
                color: Theme.textMuted
                text: qsTr("Lets editors, scripts and agents on this computer use the loaded model through an OpenAI-compatible API while you chat. It listens on 127.0.0.1 only: other computers cannot connect.")
            }
            FieldLabel { text: qsTr("Serve the loaded model") }
            Switch {
                objectName: "apiServerSwitch"
                checked: Settings.apiServerEnabled
                onToggled: Settings.apiServerEnabled = checked
            }
            FieldLabel { text: qsTr("Port") }
            SpinBox {
                objectName: "apiServerPortBox"
                from: 1024
                to: 65535
                editable: true
                value: Settings.apiServerPort
                textFromValue: (v) => String(v)  // "8080", never "8,080"
                valueFromText: (t) => { const v = parseInt(t); return isNaN(v) ? value : v }
                onValueModified: Settings.apiServerPort = value
            }
            FieldLabel { text: qsTr("API key (optional: clients then send it as a bearer token)") }
            RowLayout {
                Layout.fillWidth: true
                TextField {
                    id: apiKeyField
                    objectName: "apiServerKeyField"
                    Layout.fillWidth: true
                    echoMode: showApiKey.checked ? TextInput.Normal : TextInput.Password
                    text: Settings.apiServerKey
                    placeholderText: qsTr("No key: any program on this computer may connect")
                    onEditingFinished: Settings.apiServerKey = text
                }
                CheckBox { id: showApiKey; text: qsTr("Show") }
            }
            FieldLabel { text: qsTr("Embedding model (for the chat's Documents and /v1/embeddings)") }
            ComboBox {
                id: embeddingBox
                objectName: "apiEmbeddingModelBox"
                Layout.fillWidth: true
                // "The chat model's own" first, then the embedding models in the library (import or
                // download one on the Models page); re-read whenever the library's list changes.
                readonly property var choices: { Models.list.count; return [{ path: "", label: qsTr("The chat model's own vectors") }].concat(Models.embeddingModels()) }
                model: choices
                textRole: "label"
                valueRole: "path"
                // From the choices themselves: a new list (a rescan, another language) keeps the setting shown.
                currentIndex: Math.max(0, choices.findIndex(c => c.path === Settings.apiEmbeddingModel))
                onActivated: Settings.apiEmbeddingModel = currentValue
            }
            FieldLabel { text: qsTr("Address for clients") }
            RowLayout {
                Layout.fillWidth: true
                TextField {
                    objectName: "apiServerAddress"
                    Layout.fillWidth: true
                    readOnly: true
                    selectByMouse: true
                    text: ApiServer.address
                }
                Button {
                    objectName: "apiServerCopy"
                    text: addressCopied.running ? qsTr("Copied") : qsTr("Copy")
                    onClicked: { Desktop.copyText(ApiServer.address); addressCopied.restart() }
                    Timer { id: addressCopied; interval: 1500 }
                }
            }
            Item { width: 1; height: 1 }
            Label {
                objectName: "apiServerStatus"
                Layout.fillWidth: true
                wrapMode: Text.Wrap
                color: Settings.apiServerEnabled && ApiServer.errorText.length > 0 ? Theme.warning : Theme.textMuted
                text: !Settings.apiServerEnabled ? qsTr("Off.")
                      : ApiServer.errorText.length > 0 ? ApiServer.errorText
                      : ApiServer.waiting ? qsTr("No model is loaded: the server starts when one is.")
                      : ApiServer.running && Settings.apiEmbeddingModel.length > 0
                        ? qsTr("Serving %1, up to %2 answers at once, and embeddings from %3.").arg(Chat.modelName).arg(ApiServer.parallel).arg(Models.displayName(Settings.apiEmbeddingModel))
                      : ApiServer.running ? qsTr("Serving %1, up to %2 answers at once.").arg(Chat.modelName).arg(ApiServer.parallel)
                      : qsTr("Starting…")
            }

            SectionTitle { text: qsTr("Privacy and support") }
            Label {
                objectName: "privacyText"
                Layout.columnSpan: 2
                Layout.fillWidth: true
                wrapMode: Text.Wrap
                color: Theme.text
                text: qsTr("Hearth connects only to the hub endpoint (and the download host it redirects to), and only for downloads you start. Conversations are stored in %1.").arg(App.dataDir)
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
        objectName: "modelsFolderDialog"
        currentFolder: Desktop.pathToUrl(Settings.modelsFolder)
        title: qsTr("Choose the models folder")
        onAccepted: Settings.modelsFolder = Desktop.urlToPath(selectedFolder)
    }
}
