// The Image page: a picture from a description with a Stable Diffusion model, on this computer.
// Left, the form (model, prompt, negative prompt, size, steps, guidance, sampler, seed) with
// Generate / Stop; right, the picture (the live preview while it is made, then the result, or the
// gallery image chosen below) with its actions, and the gallery. All logic is in `Images`
// (ImageController); this file only lays it out.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth
import "."

Item {
    id: page
    signal modelsRequested()

    readonly property var samplers: [
        { key: "euler", label: qsTr("Euler") },
        { key: "euler_a", label: qsTr("Euler a") },
        { key: "ddim", label: qsTr("DDIM") },
        { key: "lcm", label: qsTr("LCM") }
    ]
    readonly property bool hasModels: Images.models.length > 0

    ColumnLayout {
        anchors.fill: parent
        spacing: 0

        ErrorBanner {
            Layout.fillWidth: true
            text: Images.errorText
            onDismissed: Images.dismissError()
        }

        // The chat model and the image model may not fit in memory together: say so, offer room.
        Rectangle {
            objectName: "memoryWarning"
            Layout.fillWidth: true
            color: Theme.surfaceAlt
            clip: true
            implicitHeight: Images.memoryWarning.length > 0 ? memoryRow.implicitHeight + 16 : 0
            RowLayout {
                id: memoryRow
                visible: Images.memoryWarning.length > 0
                anchors.fill: parent
                anchors.margins: 8
                Label {
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    color: Theme.warning
                    text: Images.memoryWarning
                }
                Button {
                    objectName: "unloadChatButton"
                    text: qsTr("Unload the chat model for this run")
                    onClicked: Images.unloadChatForRun()
                }
            }
        }

        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: 0

            // ---- the form ----
            ScrollView {
                id: formScroll
                objectName: "imageForm"
                // Fixed sizes, not a share of page.width: with Qt 6.4 a binding to the width of a page the
                // StackLayout had hidden left the form 0 wide after going there from the Chat page. In a
                // narrow window the layout shrinks the form towards its minimum.
                Layout.preferredWidth: 340
                Layout.minimumWidth: 240
                Layout.fillHeight: true
                contentWidth: availableWidth
                clip: true

                ColumnLayout {
                    width: formScroll.availableWidth - 8
                    x: 16
                    spacing: 8

                    Label {
                        Layout.topMargin: 14
                        text: qsTr("Image")
                        font.pixelSize: 20
                        font.bold: true
                        color: Theme.text
                    }

                    Label { text: qsTr("Model"); color: Theme.textMuted }
                    ComboBox {
                        id: modelBox
                        objectName: "imageModelBox"
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        visible: page.hasModels
                        model: Images.models
                        textRole: "name"
                        valueRole: "path"
                        enabled: !Images.running
                        currentIndex: {
                            const list = Images.models
                            for (let i = 0; i < list.length; ++i) if (list[i].path === Images.modelPath) return i
                            return -1
                        }
                        onActivated: (i) => Images.modelPath = Images.models[i].path
                        displayText: currentIndex >= 0 ? Images.models[currentIndex].name + "  ·  " + Images.models[currentIndex].kind : qsTr("Choose a model")
                    }
                    Label {
                        objectName: "noImageModel"
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        visible: !page.hasModels
                        wrapMode: Text.Wrap
                        color: Theme.textMuted
                        text: qsTr("No image model yet. On the Models page, choose Add folder… for a Stable Diffusion folder in diffusers' layout (SD 1.5, SD 2.x or SD-Turbo), or Add checkpoint… for a single .safetensors file.")
                    }
                    Button {
                        visible: !page.hasModels
                        text: qsTr("Go to Models")
                        onClicked: window.page = "models"
                    }

                    RowLayout {
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        Label { Layout.fillWidth: true; text: qsTr("Prompt (English works best)"); color: Theme.textMuted; elide: Text.ElideRight }
                        BusyIndicator {
                            visible: Images.writingPrompt
                            running: visible
                            implicitWidth: 20
                            implicitHeight: 20
                        }
                        Label {
                            visible: Images.writingPrompt
                            text: qsTr("The chat model is writing a prompt…")
                            color: Theme.textMuted
                            font.pixelSize: Theme.fontSize - 2
                        }
                    }
                    TextArea {
                        id: promptField
                        objectName: "promptField"
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        Layout.preferredHeight: Math.max(90, implicitHeight)
                        wrapMode: TextEdit.Wrap
                        placeholderText: qsTr("e.g. a lighthouse on a cliff at dusk, oil painting")
                        text: Images.prompt
                        onTextChanged: if (text !== Images.prompt) Images.prompt = text
                        readOnly: Images.writingPrompt
                    }
                    Label {
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        text: qsTr("Negative prompt (used when guidance is above 1)")
                        color: Theme.textMuted
                        wrapMode: Text.Wrap
                    }
                    TextArea {
                        objectName: "negativeField"
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        Layout.preferredHeight: Math.max(50, implicitHeight)
                        wrapMode: TextEdit.Wrap
                        placeholderText: qsTr("What to avoid, e.g. blurry, text")
                        text: Images.negative
                        onTextChanged: if (text !== Images.negative) Images.negative = text
                    }

                    GridLayout {
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        columns: 2
                        columnSpacing: 10
                        rowSpacing: 6
                        Label { text: qsTr("Width"); color: Theme.textMuted }
                        SpinBox {
                            objectName: "widthBox"
                            Layout.fillWidth: true
                            from: 64; to: 2048; stepSize: 64; editable: true
                            value: Images.width
                            onValueModified: Images.width = value
                        }
                        Label { text: qsTr("Height"); color: Theme.textMuted }
                        SpinBox {
                            objectName: "heightBox"
                            Layout.fillWidth: true
                            from: 64; to: 2048; stepSize: 64; editable: true
                            value: Images.height
                            onValueModified: Images.height = value
                        }
                        Label {
                            Layout.columnSpan: 2
                            Layout.fillWidth: true
                            wrapMode: Text.Wrap
                            color: Theme.textMuted
                            font.pixelSize: Theme.fontSize - 3
                            text: qsTr("Sizes are multiples of 8 pixels (the arrows step by 64). SD 1.5 is made for 512×512, SD 2.x for 768×768, SD-Turbo for 512×512.")
                        }
                        Label { text: qsTr("Steps"); color: Theme.textMuted }
                        SpinBox {
                            objectName: "stepsBox"
                            Layout.fillWidth: true
                            from: 1; to: 150; editable: true
                            value: Images.steps
                            onValueModified: Images.steps = value
                        }
                        Label { text: qsTr("Guidance"); color: Theme.textMuted }
                        DecimalSpin {
                            objectName: "guidanceBox"
                            Layout.fillWidth: true
                            decimals: 1
                            realFrom: 0; realTo: 30; realStep: 0.5
                            realValue: Images.guidance
                            onRealModified: (v) => Images.guidance = v
                        }
                        Label { text: qsTr("Sampler"); color: Theme.textMuted }
                        ComboBox {
                            objectName: "samplerBox"
                            Layout.fillWidth: true
                            model: page.samplers
                            textRole: "label"
                            valueRole: "key"
                            currentIndex: page.samplers.findIndex(s => s.key === Images.sampler)
                            onActivated: (i) => Images.sampler = page.samplers[i].key
                        }
                        Label { text: qsTr("Seed"); color: Theme.textMuted }
                        RowLayout {
                            Layout.fillWidth: true
                            CheckBox {
                                objectName: "randomSeedBox"
                                text: qsTr("Random")
                                checked: Images.randomSeed
                                onToggled: Images.randomSeed = checked
                            }
                            TextField {
                                objectName: "seedField"
                                Layout.fillWidth: true
                                enabled: !Images.randomSeed
                                text: Images.seed
                                validator: RegularExpressionValidator { regularExpression: /[0-9]{0,20}/ }
                                onTextEdited: Images.seed = text
                            }
                        }
                    }

                    RowLayout {
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        Layout.topMargin: 6
                        Button {
                            objectName: "generateButton"
                            Layout.fillWidth: true
                            text: qsTr("Generate")
                            highlighted: true
                            enabled: !Images.running && !Images.writingPrompt && page.hasModels
                            opacity: enabled ? 1 : 0.5  // the Basic style keeps a highlighted button's colour when disabled
                            onClicked: Images.generate()
                        }
                        Button {
                            objectName: "stopButton"
                            text: qsTr("Stop")
                            enabled: Images.running
                            onClicked: Images.stop()
                        }
                    }
                    // Which device draws (the Settings' choice, as for the chat), and why auto passed over a GPU.
                    Label {
                        objectName: "deviceLabel"
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        visible: text.length > 0
                        text: Images.deviceText
                        wrapMode: Text.Wrap
                        color: Theme.textMuted
                        font.pixelSize: Theme.fontSize - 2
                    }
                    Label {
                        objectName: "deviceNote"
                        Layout.fillWidth: true
                        Layout.rightMargin: 16
                        visible: text.length > 0
                        text: Images.deviceNote
                        wrapMode: Text.Wrap
                        // The engine's reason can be long (a GPU's memory report): a few lines, all of it on hover.
                        maximumLineCount: 4
                        elide: Text.ElideRight
                        color: Theme.warning
                        font.pixelSize: Theme.fontSize - 2
                        HoverHandler { id: noteHover }
                        ToolTip.visible: noteHover.hovered && truncated
                        ToolTip.text: Images.deviceNote
                        ToolTip.delay: 400
                    }
                    Item { Layout.preferredHeight: 12 }
                }
            }

            Rectangle { Layout.fillHeight: true; width: 1; color: Theme.border }

            // ---- the picture and the gallery ----
            ColumnLayout {
                Layout.fillWidth: true
                Layout.fillHeight: true
                Layout.minimumWidth: 0
                Layout.preferredWidth: 0  // the space left by the form, whatever its children ask for
                Layout.margins: 16
                spacing: 8

                Rectangle {
                    id: stage
                    objectName: "imageStage"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    Layout.minimumHeight: 120
                    radius: Theme.radius
                    color: Theme.surface
                    border.color: Theme.border

                    readonly property bool showPreview: Images.running && Images.previewSerial > 0
                    Image {
                        id: shown
                        objectName: "shownImage"
                        anchors.fill: parent
                        anchors.margins: 10
                        fillMode: Image.PreserveAspectFit
                        asynchronous: !stage.showPreview
                        cache: false
                        smooth: !stage.showPreview  // the preview's 8×8 blocks stay crisp
                        source: stage.showPreview ? "image://hearthpreview/" + Images.previewSerial
                                : (Images.currentImageFile.length > 0 ? Desktop.pathToUrl(Images.currentImageFile) : "")
                    }
                    Label {
                        anchors.centerIn: parent
                        width: Math.min(parent.width - 40, 440)
                        visible: shown.source.toString().length === 0
                        wrapMode: Text.Wrap
                        horizontalAlignment: Text.AlignHCenter
                        color: Theme.textMuted
                        text: Images.running ? (Images.opening ? qsTr("Opening the model…") : qsTr("Starting…"))
                                             : qsTr("Describe a picture and choose Generate. It is made on this computer; nothing leaves it.")
                    }
                    // Progress over the picture while it is made.
                    Rectangle {
                        anchors.left: parent.left
                        anchors.right: parent.right
                        anchors.bottom: parent.bottom
                        anchors.margins: 10
                        visible: Images.running
                        implicitHeight: progressRow.implicitHeight + 12
                        radius: Theme.radius
                        color: Theme.surfaceAlt
                        opacity: 0.92
                        RowLayout {
                            id: progressRow
                            anchors.fill: parent
                            anchors.margins: 6
                            Label {
                                objectName: "stepLabel"
                                text: Images.opening ? qsTr("Opening the model…") : qsTr("Step %1 of %2").arg(Images.step).arg(Images.totalSteps)
                                color: Theme.text
                            }
                            ProgressBar {
                                Layout.fillWidth: true
                                from: 0; to: Math.max(1, Images.totalSteps)
                                value: Images.step
                                indeterminate: Images.opening
                            }
                        }
                    }
                }

                // Actions on the picture shown (a Flow: they wrap in a narrow window).
                Flow {
                    objectName: "imageActions"
                    Layout.fillWidth: true
                    visible: Images.currentImageId > 0 && !Images.running
                    spacing: 4
                    ToolButton { text: qsTr("Open"); onClicked: Images.openImage(Images.currentImageId) }
                    ToolButton { text: qsTr("Copy"); onClicked: Images.copyImage(Images.currentImageId) }
                    ToolButton { text: qsTr("Save as…"); onClicked: saveDialog.openFor(Images.currentImageId) }
                    ToolButton {
                        objectName: "reuseButton"
                        text: qsTr("Use these settings again")
                        onClicked: Images.reuseSettings(Images.currentImageId)
                    }
                    ToolButton { text: qsTr("Delete…"); onClicked: deleteDialog.openFor(Images.currentImageId) }
                }
                // What made the picture shown.
                Label {
                    objectName: "imageSettings"
                    Layout.fillWidth: true
                    visible: Images.currentImageId > 0 && !Images.running
                    wrapMode: Text.Wrap
                    color: Theme.textMuted
                    font.pixelSize: Theme.fontSize - 2
                    text: Images.currentImageSummary
                }

                Label {
                    text: Images.gallery.count > 0 ? qsTr("Gallery (%1)").arg(Images.gallery.count) : qsTr("Gallery")
                    font.bold: true
                    color: Theme.text
                }
                GridView {
                    id: grid
                    objectName: "gallery"
                    Layout.fillWidth: true
                    Layout.preferredHeight: 2 * cellHeight + 4
                    clip: true
                    cellWidth: 116
                    cellHeight: 116
                    model: Images.gallery
                    ScrollBar.vertical: ScrollBar {}
                    Label {
                        anchors.centerIn: parent
                        visible: grid.count === 0
                        color: Theme.textMuted
                        text: qsTr("The pictures you make are kept here.")
                    }
                    delegate: Rectangle {
                        id: thumb
                        required property var imageId
                        required property url url
                        required property string prompt
                        required property string seed
                        required property int imageWidth
                        required property int imageHeight
                        width: 110
                        height: 110
                        radius: 6
                        color: Theme.surfaceAlt
                        border.width: Images.currentImageId === imageId ? 2 : 1
                        border.color: Images.currentImageId === imageId ? Theme.accent : Theme.border
                        Image {
                            anchors.fill: parent
                            anchors.margins: 4
                            source: thumb.url
                            sourceSize: Qt.size(204, 204)
                            fillMode: Image.PreserveAspectFit
                            asynchronous: true
                        }
                        MouseArea {
                            id: thumbMouse
                            anchors.fill: parent
                            hoverEnabled: true
                            onClicked: Images.showImage(thumb.imageId)
                            onDoubleClicked: Images.openImage(thumb.imageId)
                        }
                        ToolTip.visible: thumbMouse.containsMouse
                        ToolTip.delay: 600
                        ToolTip.text: qsTr("%1\n%2×%3, seed %4").arg(thumb.prompt).arg(thumb.imageWidth).arg(thumb.imageHeight).arg(thumb.seed)
                    }
                }
            }
        }
    }

    FileDialog {
        id: saveDialog
        objectName: "saveImageDialog"
        property var imageId: 0
        function openFor(id) {
            imageId = id
            currentFolder = App.documentsFolder()
            currentFile = currentFolder + "/" + Images.suggestedFileName(id)
            open()
        }
        title: qsTr("Save image as")
        fileMode: FileDialog.SaveFile
        acceptLabel: qsTr("Save")
        defaultSuffix: "png"
        nameFilters: [qsTr("PNG images (*.png)")]
        onAccepted: Images.saveImageAs(imageId, selectedFile)
    }

    Dialog {
        id: deleteDialog
        objectName: "deleteImageDialog"
        property var imageId: 0
        function openFor(id) { imageId = id; open() }
        title: qsTr("Delete image?")
        modal: true
        anchors.centerIn: Overlay.overlay
        width: 400
        // Our own buttons, not standardButtons: Qt 6.4 leaves those in the old language after a live switch.
        footer: DialogButtonBox {
            Button { text: qsTr("Delete"); highlighted: true; DialogButtonBox.buttonRole: DialogButtonBox.AcceptRole }
            Button { text: qsTr("Cancel"); DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
        }
        Label {
            width: deleteDialog.availableWidth
            wrapMode: Text.Wrap
            text: qsTr("The picture's file and its place in the gallery will be deleted.")
        }
        onAccepted: Images.deleteImage(imageId)
    }
}
