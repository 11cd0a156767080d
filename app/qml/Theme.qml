// Colours and sizes for the light and dark themes. "system" follows the desktop palette: Qt 6.4 has
// no QStyleHints::colorScheme, so a dark window colour in the system palette means a dark desktop.
pragma Singleton
import QtQuick
import Hearth

QtObject {
    id: theme

    readonly property SystemPalette system: SystemPalette { colorGroup: SystemPalette.Active }
    readonly property bool systemDark: {
        const c = system.window
        return (0.299 * c.r + 0.587 * c.g + 0.114 * c.b) < 0.5
    }
    readonly property bool dark: Settings.theme === "dark" || (Settings.theme === "system" && systemDark)

    readonly property color window: dark ? "#1c1b22" : "#f7f5f2"
    readonly property color sidebar: dark ? "#15141a" : "#eeebe6"
    readonly property color surface: dark ? "#26252d" : "#ffffff"
    readonly property color surfaceAlt: dark ? "#2f2e37" : "#f1eee9"
    readonly property color userBubble: dark ? "#3a3350" : "#e7e1f5"
    readonly property color codeBackground: dark ? "#111016" : "#f3f1ee"
    readonly property color border: dark ? "#3a3942" : "#dcd8d1"
    readonly property color text: dark ? "#ece9f1" : "#1f1d24"
    readonly property color textMuted: dark ? "#a19fab" : "#6b6874"
    readonly property color accent: dark ? "#ff9a4d" : "#d4621b"
    // Text on accent-coloured buttons: white on the light theme's deep orange, near-black on the dark
    // theme's light orange (white on #ff9a4d is 2.2:1, below any readable contrast).
    readonly property color accentText: dark ? "#1c1b22" : "#ffffff"
    readonly property color selection: dark ? "#3d3550" : "#e4dcf2"
    // Selected text and focus frames (palette.highlight): dark enough under light text in the dark
    // theme, light enough under dark text in the light theme (palette.highlightedText is Theme.text).
    readonly property color highlight: dark ? "#a8551b" : "#f2b285"
    readonly property color error: dark ? "#5a2226" : "#fbe3e3"
    readonly property color errorText: dark ? "#ffd7d7" : "#7d1d1d"
    readonly property color warning: dark ? "#e0b050" : "#9a6400"
    readonly property color ok: dark ? "#7fcf8f" : "#2e7d32"
    readonly property color link: dark ? "#8ab4f8" : "#1a5fb4"  // links in answers: readable on either surface

    readonly property int radius: 8
    readonly property int spacing: 10
    readonly property int fontSize: 14
    readonly property string monoFamily: "monospace"
}
