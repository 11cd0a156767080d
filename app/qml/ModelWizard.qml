// The "Get models" wizard: Source → Files and quantization → Download → Convert and quantize →
// Quality → Done. All logic is Wizard (ModelWizard) and Downloads (DownloadController); this file
// only shows their state and forwards clicks. Closing it leaves a download running in the queue.
import QtQuick
import QtQuick.Controls
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

            WizardSourcePage {}
            WizardFilesPage {}
            WizardDownloadPage {}
            WizardConvertPage {}
            WizardQualityPage {}
            WizardDonePage { onCloseRequested: dialog.close() }
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
}
