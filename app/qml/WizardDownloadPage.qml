// The wizard's download page: its own download (progress, speed, time left; pause, resume, cancel)
// and the whole queue of Downloads.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth
import "."

ColumnLayout {
    id: page
    function duration(s) {
        if (s === undefined || s < 0) return "—"
        s = Math.round(s)
        const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60
        return (h > 0 ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0")
    }
    spacing: 8
    readonly property var job: Wizard.download
    Label { text: page.job.label || ""; font.bold: true; color: Theme.text }
    ProgressBar {
        visible: Wizard.downloadId > 0
        objectName: "downloadProgress"
        Layout.fillWidth: true
        from: 0
        to: 1
        value: page.job.fraction || 0
    }
    Label {
        Layout.fillWidth: true
        visible: Wizard.downloadId > 0
        color: Theme.text
        text: qsTr("%1 of %2").arg(Desktop.formatBytes(page.job.doneBytes || 0)).arg(Desktop.formatBytes(page.job.totalBytes || 0))
              + (page.job.state === "running" && page.job.speed > 0  // the engine's speed needs a second of samples
                 ? "  ·  " + qsTr("%1/s").arg(Desktop.formatBytes(page.job.speed || 0)) + "  ·  " + qsTr("%1 left").arg(page.duration(page.job.eta))
                 : "")
    }
    Label {
        Layout.fillWidth: true
        color: Theme.textMuted
        elide: Text.ElideMiddle
        text: page.job.state === "paused" ? qsTr("Paused. The downloaded part is kept.")
            : page.job.state === "queued" ? qsTr("Waiting for another download to finish.")
            : page.job.state === "failed" ? qsTr("Stopped.")
            : page.job.state === "cancelled" ? qsTr("Cancelled.")
            : page.job.current ? qsTr("Downloading %1").arg(page.job.current) : ""
    }
    RowLayout {
        Button {
            objectName: "pauseButton"
            text: qsTr("Pause")
            visible: page.job.state === "running" || page.job.state === "queued"
            onClicked: Wizard.pauseDownload()
        }
        Button {
            objectName: "resumeButton"
            text: qsTr("Resume")
            highlighted: true
            visible: page.job.state === "paused" || page.job.state === "failed"
            onClicked: Wizard.resumeDownload()
        }
        Button {
            text: qsTr("Get another model")
            onClicked: Wizard.reset()  // this download goes on in the queue
        }
        Button {
            objectName: "cancelDownloadButton"
            text: qsTr("Cancel download")
            visible: Wizard.downloadId > 0 && page.job.state !== "done" && page.job.state !== "cancelled"
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
