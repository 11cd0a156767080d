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
        text: Wizard.resultEmbedding
              ? qsTr("How much did quantizing cost? Hearth can embed each passage of a few kilobytes of English and Chinese text with the model before and after, and compare the two vectors (a cosine of 1 means unchanged). It takes a minute; you can skip it.")
              : qsTr("How much did quantizing cost? Hearth can measure perplexity (lower is better) before and after on a few kilobytes of English and Chinese text, and how far the answers' probabilities moved (KL divergence). It takes a few minutes; you can skip it.")
    }
    ProgressBar {
        Layout.fillWidth: true
        visible: Wizard.busy
        from: 0
        to: 1
        value: Wizard.buildProgress
    }
    // An embedding model's figure: the cosine of its vectors before and after, per text.
    GridLayout {
        objectName: "embeddingQuality"
        visible: Wizard.quality.embedding === true
        columns: 4
        columnSpacing: 16
        Label { text: ""; color: Theme.text }
        Label { text: qsTr("Mean cosine"); font.bold: true; color: Theme.text }
        Label { text: qsTr("Lowest"); font.bold: true; color: Theme.text }
        Label { text: qsTr("Passages"); font.bold: true; color: Theme.text }
        Label { text: qsTr("English"); color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label { text: Wizard.quality.embedding === true && Wizard.quality.en ? Wizard.quality.en.cosine.toFixed(5) : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label { text: Wizard.quality.embedding === true && Wizard.quality.en ? Wizard.quality.en.minCosine.toFixed(5) : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label { text: Wizard.quality.embedding === true && Wizard.quality.en ? String(Wizard.quality.en.passages) : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label { text: qsTr("Chinese"); color: Theme.text; visible: Wizard.quality.zh !== undefined }
        Label { text: Wizard.quality.embedding === true && Wizard.quality.zh ? Wizard.quality.zh.cosine.toFixed(5) : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
        Label { text: Wizard.quality.embedding === true && Wizard.quality.zh ? Wizard.quality.zh.minCosine.toFixed(5) : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
        Label { text: Wizard.quality.embedding === true && Wizard.quality.zh ? String(Wizard.quality.zh.passages) : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
        Label { text: qsTr("Size"); color: Theme.text }
        Label { text: Desktop.formatBytes(Wizard.quality.beforeBytes || 0) + " → " + Desktop.formatBytes(Wizard.quality.afterBytes || 0); color: Theme.text; Layout.columnSpan: 3 }
    }
    GridLayout {
        visible: Wizard.quality.embedding !== true && (Wizard.quality.en !== undefined || Wizard.quality.zh !== undefined)
        columns: 5
        columnSpacing: 16
        Label { text: ""; color: Theme.text }
        Label { text: qsTr("Before"); font.bold: true; color: Theme.text }
        Label { text: qsTr("After"); font.bold: true; color: Theme.text }
        Label { text: qsTr("KL divergence"); font.bold: true; color: Theme.text }
        Label { text: qsTr("Same top token"); font.bold: true; color: Theme.text }
        Label { text: qsTr("English"); color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label { text: Wizard.quality.embedding !== true && Wizard.quality.en ? Wizard.quality.en.before.toFixed(3) : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label { text: Wizard.quality.embedding !== true && Wizard.quality.en ? Wizard.quality.en.after.toFixed(3) : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label { text: Wizard.quality.embedding !== true && Wizard.quality.en ? Wizard.quality.en.kl.toFixed(4) : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label { text: Wizard.quality.embedding !== true && Wizard.quality.en ? (Wizard.quality.en.top1 * 100).toFixed(1) + " %" : ""; color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label { text: qsTr("Chinese"); color: Theme.text; visible: Wizard.quality.zh !== undefined }
        Label { text: Wizard.quality.embedding !== true && Wizard.quality.zh ? Wizard.quality.zh.before.toFixed(3) : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
        Label { text: Wizard.quality.embedding !== true && Wizard.quality.zh ? Wizard.quality.zh.after.toFixed(3) : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
        Label { text: Wizard.quality.embedding !== true && Wizard.quality.zh ? Wizard.quality.zh.kl.toFixed(4) : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
        Label { text: Wizard.quality.embedding !== true && Wizard.quality.zh ? (Wizard.quality.zh.top1 * 100).toFixed(1) + " %" : ""; color: Theme.text; visible: Wizard.quality.zh !== undefined }
        Label { text: qsTr("Size"); color: Theme.text }
        Label { text: Desktop.formatBytes(Wizard.quality.beforeBytes || 0); color: Theme.text }
        Label { text: Desktop.formatBytes(Wizard.quality.afterBytes || 0); color: Theme.text }
        Item { Layout.columnSpan: 2 }
        Label { text: qsTr("Speed (CPU)"); color: Theme.text; visible: Wizard.quality.en !== undefined }
        Label {
            visible: Wizard.quality.en !== undefined
            color: Theme.text
            text: Wizard.quality.embedding !== true && Wizard.quality.en ? qsTr("%1 tok/s").arg(Math.round(Wizard.quality.en.beforeTps)) : ""
        }
        Label {
            visible: Wizard.quality.en !== undefined
            color: Theme.text
            text: Wizard.quality.embedding !== true && Wizard.quality.en ? qsTr("%1 tok/s").arg(Math.round(Wizard.quality.en.afterTps)) : ""
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
