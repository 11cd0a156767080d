// The wizard's quality page: perplexity, KL divergence, size and speed before and after quantizing
// (skippable).
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth
import "."

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
