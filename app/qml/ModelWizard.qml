// The "Get models" wizard: Source → Files and quantization → Download → Convert and quantize →
// Quality → Done. All logic is Wizard (ModelWizard) and Downloads (DownloadController); this file
// only shows their state and forwards clicks. Closing it leaves a download running in the queue.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth
import "."

Dialog {
    id: dialog
    objectName: "modelWizard"
    title: qsTr("Get models")
    modal: true
    anchors.centerIn: Overlay.overlay
    width: Math.min(900, Overlay.overlay ? Overlay.overlay.width - 40 : 900)
    height: Math.min(640, Overlay.overlay ? Overlay.overlay.height - 40 : 640)

    // Opens on a page (tests and the downloads indicator); "" keeps the wizard where it is.
    function openAt(pageName) {
        if (pageName === "source") Wizard.reset()
        open()
    }

    readonly property var pageNames: ["source", "files", "download", "convert", "quality", "done"]
    function stepTitle(name) {
        return name === "source" ? qsTr("Source")
             : name === "files" ? qsTr("Files")
             : name === "download" ? qsTr("Download")
             : name === "convert" ? qsTr("Convert and quantize")
             : name === "quality" ? qsTr("Quality")
             : qsTr("Done")
    }
    function duration(s) {
        if (s === undefined || s < 0) return "—"
        s = Math.round(s)
        const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60
        return (h > 0 ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0")
    }

    footer: DialogButtonBox {
        Button { text: qsTr("Close"); DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
    }

    ColumnLayout {
        anchors.fill: parent
        spacing: 10

        // Where the person is in the journey.
        RowLayout {
            Layout.fillWidth: true
            spacing: 4
            Repeater {
                model: dialog.pageNames
                delegate: Label {
                    required property int index
                    required property string modelData
                    readonly property bool current: Wizard.page === modelData
                    text: (index + 1) + ". " + dialog.stepTitle(modelData) + (index < 5 ? "  ›" : "")
                    color: current ? Theme.accent : Theme.textMuted
                    font.bold: current
                }
            }
        }

        StackLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            currentIndex: dialog.pageNames.indexOf(Wizard.page)

            // ---- 1. Source ----
            ColumnLayout {
                spacing: 8
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Theme.text
                    text: qsTr("Choose a model from the catalog, paste a repository of a Hugging Face hub (or a mirror), or use a file or checkpoint folder on this computer.")
                }
                RowLayout {
                    Layout.fillWidth: true
                    TextField {
                        id: repoField
                        objectName: "repoField"
                        Layout.fillWidth: true
                        placeholderText: qsTr("Repository or address, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF")
                        onAccepted: if (text.trim().length > 0) Wizard.chooseRepo(text)
                    }
                    Button {
                        objectName: "repoNext"
                        text: qsTr("Show files")
                        enabled: repoField.text.trim().length > 0 && !Wizard.busy
                        onClicked: Wizard.chooseRepo(repoField.text)
                    }
                    Button { text: qsTr("File…"); onClicked: localFileDialog.open() }
                    Button { text: qsTr("Folder…"); onClicked: localFolderDialog.open() }
                }
                Label { text: qsTr("Catalog"); font.bold: true; color: Theme.text }
                ListView {
                    id: catalogList
                    objectName: "catalogList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    spacing: 6
                    model: Wizard.catalog
                    ScrollBar.vertical: ScrollBar {}
                    delegate: Rectangle {
                        id: entry
                        required property var modelData
                        width: ListView.view.width
                        implicitHeight: entryColumn.implicitHeight + 12
                        radius: Theme.radius
                        color: Theme.surface
                        border.color: Theme.border
                        ColumnLayout {
                            id: entryColumn
                            anchors.left: parent.left
                            anchors.right: parent.right
                            anchors.top: parent.top
                            anchors.margins: 6
                            spacing: 2
                            RowLayout {
                                Layout.fillWidth: true
                                Label {
                                    Layout.fillWidth: true
                                    text: entry.modelData.name
                                    font.bold: true
                                    color: Theme.text
                                    elide: Text.ElideRight
                                }
                                Label {
                                    text: [qsTr("%1 parameters").arg(entry.modelData.parameters), entry.modelData.license,
                                           qsTr("Q4_K_M %1").arg(entry.modelData.size)].join("  ·  ")
                                    color: Theme.textMuted
                                    font.pixelSize: Theme.fontSize - 2
                                }
                                Button {
                                    text: qsTr("Choose")
                                    enabled: !Wizard.busy
                                    onClicked: Wizard.chooseCatalog(entry.modelData.id, "Q4_K_M")
                                }
                            }
                            Label {
                                Layout.fillWidth: true
                                wrapMode: Text.Wrap
                                color: Theme.text
                                text: entry.modelData.description
                            }
                            Label {
                                Layout.fillWidth: true
                                wrapMode: Text.Wrap
                                font.pixelSize: Theme.fontSize - 2
                                color: entry.modelData.fits ? Theme.ok : Theme.warning
                                text: entry.modelData.fitText + (entry.modelData.gated ? "  ·  " + qsTr("the original needs an accepted licence and a token") : "")
                            }
                        }
                    }
                }
            }

            // ---- 2. Files and quantization ----
            ColumnLayout {
                spacing: 8
                Label {
                    Layout.fillWidth: true
                    text: qsTr("%1 on %2").arg(Wizard.repo).arg(Wizard.endpoint)
                    color: Theme.text
                    font.bold: true
                    elide: Text.ElideMiddle
                }
                Flow {
                    Layout.fillWidth: true
                    visible: Wizard.quants.length > 0
                    spacing: 6
                    Repeater {
                        model: Wizard.quants
                        delegate: Button {
                            required property var modelData
                            objectName: "quant_" + modelData.name
                            checkable: true
                            checked: Wizard.quant === modelData.name
                            enabled: modelData.available
                            text: modelData.name + " · " + modelData.sizeText
                            onClicked: Wizard.selectQuant(modelData.name)
                            ToolTip.visible: hovered
                            ToolTip.text: modelData.fitText
                        }
                    }
                }
                ListView {
                    id: fileList
                    objectName: "fileList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: Wizard.files
                    ScrollBar.vertical: ScrollBar {}
                    delegate: CheckDelegate {
                        required property int index
                        required property var modelData
                        width: ListView.view.width
                        checked: modelData.checked
                        text: modelData.path + "   " + modelData.sizeText
                        onToggled: Wizard.setFileChecked(index, checked)
                    }
                }
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Wizard.fits ? Theme.ok : Theme.warning
                    text: qsTr("Selected: %1.").arg(Desktop.formatBytes(Wizard.selectedBytes)) + " " + Wizard.fitText
                }
                Label {
                    Layout.fillWidth: true
                    visible: Wizard.needsConversion
                    wrapMode: Text.Wrap
                    color: Theme.textMuted
                    text: qsTr("This is a safetensors checkpoint: after the download Hearth converts it to GGUF and quantizes it.")
                }
                RowLayout {
                    Layout.alignment: Qt.AlignRight
                    Button { text: qsTr("Back"); onClicked: Wizard.back() }
                    Button {
                        objectName: "downloadButton"
                        text: qsTr("Download")
                        highlighted: true
                        enabled: Wizard.selectedBytes > 0
                        onClicked: Wizard.startDownload()
                    }
                }
            }

            // ---- 3. Download ----
            ColumnLayout {
                spacing: 8
                readonly property var job: Wizard.download
                Label { text: parent.job.label || ""; font.bold: true; color: Theme.text }
                ProgressBar {
                    visible: Wizard.downloadId > 0
                    objectName: "downloadProgress"
                    Layout.fillWidth: true
                    from: 0
                    to: 1
                    value: parent.job.fraction || 0
                }
                Label {
                    Layout.fillWidth: true
                    visible: Wizard.downloadId > 0
                    color: Theme.text
                    text: qsTr("%1 of %2").arg(Desktop.formatBytes(parent.job.doneBytes || 0)).arg(Desktop.formatBytes(parent.job.totalBytes || 0))
                          + (parent.job.state === "running" && parent.job.speed > 0  // the engine's speed needs a second of samples
                             ? "  ·  " + qsTr("%1/s").arg(Desktop.formatBytes(parent.job.speed || 0)) + "  ·  " + qsTr("%1 left").arg(dialog.duration(parent.job.eta))
                             : "")
                }
                Label {
                    Layout.fillWidth: true
                    color: Theme.textMuted
                    elide: Text.ElideMiddle
                    text: parent.job.state === "paused" ? qsTr("Paused. The downloaded part is kept.")
                        : parent.job.state === "queued" ? qsTr("Waiting for another download to finish.")
                        : parent.job.state === "failed" ? qsTr("Stopped.")
                        : parent.job.state === "cancelled" ? qsTr("Cancelled.")
                        : parent.job.current ? qsTr("Downloading %1").arg(parent.job.current) : ""
                }
                RowLayout {
                    Button {
                        objectName: "pauseButton"
                        text: qsTr("Pause")
                        visible: parent.parent.job.state === "running" || parent.parent.job.state === "queued"
                        onClicked: Wizard.pauseDownload()
                    }
                    Button {
                        objectName: "resumeButton"
                        text: qsTr("Resume")
                        highlighted: true
                        visible: parent.parent.job.state === "paused" || parent.parent.job.state === "failed"
                        onClicked: Wizard.resumeDownload()
                    }
                    Button {
                        text: qsTr("Get another model")
                        onClicked: Wizard.reset()  // this download goes on in the queue
                    }
                    Button {
                        objectName: "cancelDownloadButton"
                        text: qsTr("Cancel download")
                        visible: Wizard.downloadId > 0 && parent.parent.job.state !== "done" && parent.parent.job.state !== "cancelled"
                        onClicked: Wizard.cancelDownload()
                    }
                }
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Theme.textMuted
                    text: qsTr("You can close this window and chat meanwhile: the download goes on, and continues after Hearth restarts.")
                }
                // The whole queue (downloads of earlier visits, ones a restart resumed).
                Label {
                    visible: queueList.count > 0
                    text: qsTr("All downloads")
                    font.bold: true
                    color: Theme.text
                }
                ListView {
                    id: queueList
                    objectName: "queueList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    spacing: 4
                    model: Downloads.jobs
                    ScrollBar.vertical: ScrollBar {}
                    delegate: Rectangle {
                        id: queued
                        required property var modelData
                        readonly property string state: modelData.state
                        width: ListView.view.width
                        implicitHeight: queuedRow.implicitHeight + 8
                        radius: Theme.radius
                        color: Theme.surface
                        border.color: Theme.border
                        RowLayout {
                            id: queuedRow
                            anchors.fill: parent
                            anchors.margins: 4
                            Label {
                                Layout.fillWidth: true
                                elide: Text.ElideRight
                                color: Theme.text
                                text: queued.modelData.label
                            }
                            Label {
                                color: queued.state === "failed" ? Theme.warning : Theme.textMuted
                                text: (queued.state === "running" ? qsTr("downloading")
                                     : queued.state === "queued" ? qsTr("waiting")
                                     : queued.state === "paused" ? qsTr("paused")
                                     : queued.state === "failed" ? qsTr("stopped")
                                     : queued.state === "done" ? qsTr("complete")
                                     : qsTr("cancelled"))
                                      + "  ·  " + Math.round(queued.modelData.fraction * 100) + " %"
                                ToolTip.visible: queued.state === "failed" && hovered
                                ToolTip.text: queued.modelData.error + "\n" + queued.modelData.advice
                                HoverHandler { id: hoverState }
                                readonly property bool hovered: hoverState.hovered
                            }
                            Button {
                                flat: true
                                visible: queued.state === "running" || queued.state === "queued"
                                text: qsTr("Pause")
                                onClicked: Downloads.pause(queued.modelData.id)
                            }
                            Button {
                                flat: true
                                visible: queued.state === "paused" || queued.state === "failed"
                                text: qsTr("Resume")
                                onClicked: Downloads.resume(queued.modelData.id)
                            }
                            Button {
                                flat: true
                                visible: queued.state !== "done" && queued.state !== "cancelled"
                                text: qsTr("Cancel")
                                onClicked: Downloads.cancel(queued.modelData.id)
                            }
                            Button {
                                flat: true
                                visible: queued.state === "done" || queued.state === "cancelled" || queued.state === "failed"
                                text: qsTr("Remove from list")
                                onClicked: Downloads.forget(queued.modelData.id)
                            }
                        }
                    }
                }
            }

            // ---- 4. Convert and quantize ----
            ColumnLayout {
                spacing: 8
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Theme.text
                    text: Wizard.buildFromCheckpoint
                          ? qsTr("Convert the checkpoint %1 to GGUF and quantize it.").arg(Wizard.buildInput)
                          : qsTr("Quantize %1 further, or add it as it is.").arg(Wizard.buildInput)
                }
                RowLayout {
                    Label { text: qsTr("Quantization"); color: Theme.text }
                    ComboBox {
                        id: presetBox
                        objectName: "presetBox"
                        model: Wizard.presets
                        enabled: !Wizard.busy
                    }
                    Label {
                        Layout.fillWidth: true
                        wrapMode: Text.Wrap
                        color: Theme.textMuted
                        font.pixelSize: Theme.fontSize - 2
                        text: qsTr("Q4_K_M is the usual choice; Q8_0 is nearly lossless and twice the size.")
                    }
                }
                RowLayout {
                    Label { text: qsTr("Importance data (optional)"); color: Theme.text }
                    Label {
                        Layout.fillWidth: true
                        elide: Text.ElideMiddle
                        color: Theme.textMuted
                        text: imatrixDialog.chosen.toString().length > 0 ? Desktop.urlToPath(imatrixDialog.chosen) : qsTr("none")
                    }
                    Button { text: qsTr("Choose…"); enabled: !Wizard.busy; onClicked: imatrixDialog.open() }
                }
                ProgressBar {
                    Layout.fillWidth: true
                    visible: Wizard.busy
                    from: 0
                    to: 1
                    value: Wizard.buildProgress
                }
                Label {
                    visible: Wizard.busy
                    color: Theme.textMuted
                    text: (Wizard.buildStage === "convert" ? qsTr("Converting…") : qsTr("Quantizing…")) + " " + Math.round(Wizard.buildProgress * 100) + " %"
                }
                RowLayout {
                    Layout.alignment: Qt.AlignRight
                    Button { text: qsTr("Back"); enabled: !Wizard.busy; onClicked: Wizard.back() }
                    Button {
                        text: qsTr("Add as it is")
                        visible: !Wizard.buildFromCheckpoint
                        enabled: !Wizard.busy
                        onClicked: Wizard.addAsIs()
                    }
                    Button { text: qsTr("Cancel"); visible: Wizard.busy; onClicked: Wizard.cancelBuild() }
                    Button {
                        objectName: "buildButton"
                        text: Wizard.buildFromCheckpoint ? qsTr("Convert and quantize") : qsTr("Quantize")
                        highlighted: true
                        enabled: !Wizard.busy
                        onClicked: Wizard.startBuild(presetBox.currentText, imatrixDialog.chosen)
                    }
                }
                Item { Layout.fillHeight: true }
            }

            // ---- 5. Quality ----
            ColumnLayout {
                spacing: 8
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Theme.text
                    text: qsTr("How much did quantizing cost? Hearth can measure perplexity (lower is better) before and after on a few kilobytes of English and Chinese text, and how far the answers' probabilities moved (KL divergence). It takes a few minutes; you can skip it.")
                }
                ProgressBar {
                    Layout.fillWidth: true
                    visible: Wizard.busy
                    from: 0
                    to: 1
                    value: Wizard.buildProgress
                }
                GridLayout {
                    visible: Wizard.quality.en !== undefined || Wizard.quality.zh !== undefined
                    columns: 5
                    columnSpacing: 16
                    Label { text: ""; color: Theme.text }
                    Label { text: qsTr("Before"); font.bold: true; color: Theme.text }
                    Label { text: qsTr("After"); font.bold: true; color: Theme.text }
                    Label { text: qsTr("KL divergence"); font.bold: true; color: Theme.text }
                    Label { text: qsTr("Same top token"); font.bold: true; color: Theme.text }
                    Label { text: qsTr("English"); color: Theme.text; visible: Wizard.quality.en !== undefined }
                    Label { text: Wizard.quality.en ? Wizard.quality.en.before.toFixed(3) : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
                    Label { text: Wizard.quality.en ? Wizard.quality.en.after.toFixed(3) : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
                    Label { text: Wizard.quality.en ? Wizard.quality.en.kl.toFixed(4) : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
                    Label { text: Wizard.quality.en ? (Wizard.quality.en.top1 * 100).toFixed(1) + " %" : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
                    Label { text: qsTr("Chinese"); color: Theme.text; visible: Wizard.quality.zh !== undefined }
                    Label { text: Wizard.quality.zh ? Wizard.quality.zh.before.toFixed(3) : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
                    Label { text: Wizard.quality.zh ? Wizard.quality.zh.after.toFixed(3) : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
                    Label { text: Wizard.quality.zh ? Wizard.quality.zh.kl.toFixed(4) : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
                    Label { text: Wizard.quality.zh ? (Wizard.quality.zh.top1 * 100).toFixed(1) + " %" : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
                    Label { text: qsTr("Size"); color: Theme.text }
                    Label { text: Desktop.formatBytes(Wizard.quality.beforeBytes || 0); color: Theme.text }
                    Label { text: Desktop.formatBytes(Wizard.quality.afterBytes || 0); color: Theme.text }
                    Item { Layout.columnSpan: 2 }
                    Label { text: qsTr("Speed (CPU)"); color: Theme.text; visible: Wizard.quality.en !== undefined }
                    Label {
                        visible: Wizard.quality.en !== undefined
                        color: Theme.text
                        text: Wizard.quality.en ? qsTr("%1 tok/s").arg(Math.round(Wizard.quality.en.beforeTps)) : ""
                    }
                    Label {
                        visible: Wizard.quality.en !== undefined
                        color: Theme.text
                        text: Wizard.quality.en ? qsTr("%1 tok/s").arg(Math.round(Wizard.quality.en.afterTps)) : ""
                    }
                    Item { Layout.columnSpan: 2; visible: Wizard.quality.en !== undefined }
                }
                RowLayout {
                    Layout.alignment: Qt.AlignRight
                    Button {
                        objectName: "runQualityButton"
                        text: qsTr("Measure")
                        enabled: !Wizard.busy && Wizard.qualityPossible
                        onClicked: Wizard.runQuality()
                    }
                    Button {
                        objectName: "skipQualityButton"
                        text: Wizard.quality.beforeBytes !== undefined ? qsTr("Continue") : qsTr("Skip")
                        highlighted: true
                        onClicked: Wizard.skipQuality()
                    }
                }
                Item { Layout.fillHeight: true }
            }

            // ---- 6. Done ----
            ColumnLayout {
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
                        text: qsTr("Start chatting")
                        highlighted: true
                        onClicked: { Wizard.startChatting(); dialog.close() }
                    }
                    Button { text: qsTr("Get another model"); onClicked: Wizard.reset() }
                }
                Item { Layout.fillHeight: true }
            }
        }

        // What went wrong, and what to do about it (every step).
        Rectangle {
            objectName: "wizardError"
            Layout.fillWidth: true
            visible: Wizard.error.length > 0
            implicitHeight: visible ? errorColumn.implicitHeight + 16 : 0
            radius: Theme.radius
            color: Theme.error
            ColumnLayout {
                id: errorColumn
                anchors.fill: parent
                anchors.margins: 8
                spacing: 4
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Theme.errorText
                    text: Wizard.error
                }
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Theme.errorText
                    font.bold: true
                    text: Wizard.advice
                }
            }
        }
        BusyIndicator {
            Layout.alignment: Qt.AlignHCenter
            visible: Wizard.busy && (Wizard.page === "source" || Wizard.page === "files")
            running: visible
        }
    }

    FileDialog {
        id: localFileDialog
        objectName: "wizardFileDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("Choose a GGUF model")
        nameFilters: [qsTr("GGUF models (*.gguf)"), qsTr("All files (*)")]
        onAccepted: Wizard.chooseLocal(selectedFile)
    }
    FolderDialog {
        id: localFolderDialog
        objectName: "wizardFolderDialog"
        currentFolder: App.downloadsFolder()
        title: qsTr("Choose a checkpoint folder (config.json and .safetensors)")
        onAccepted: Wizard.chooseLocal(selectedFolder)
    }
    FileDialog {
        id: imatrixDialog
        objectName: "imatrixDialog"
        property url chosen
        currentFolder: App.downloadsFolder()
        title: qsTr("Choose importance data (imatrix)")
        nameFilters: [qsTr("Importance data (*.gguf *.dat)"), qsTr("All files (*)")]
        onAccepted: chosen = selectedFile
    }
}
