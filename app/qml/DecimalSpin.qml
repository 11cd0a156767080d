// A SpinBox for decimal values (QML's SpinBox is integer): `value` is scaled by 10^decimals.
import QtQuick
import QtQuick.Controls

SpinBox {
    id: spin
    property int decimals: 2
    property real realValue: 0
    property real realFrom: 0
    property real realTo: 1
    property real realStep: 0.05
    signal realModified(real v)
    readonly property real factor: Math.pow(10, decimals)

    from: Math.round(realFrom * factor)
    to: Math.round(realTo * factor)
    stepSize: Math.max(1, Math.round(realStep * factor))
    value: Math.round(realValue * factor)
    editable: true
    validator: DoubleValidator { bottom: spin.realFrom; top: spin.realTo; decimals: spin.decimals }
    textFromValue: (v, locale) => Number(v / factor).toLocaleString(locale, 'f', decimals)
    valueFromText: (text, locale) => Math.round(Number.fromLocaleString(locale, text) * factor)
    onValueModified: realModified(value / factor)
}
