import QtQuick
