# `cpack -G DEB` (run in the build folder) builds hearth_<version>_<arch>.deb: the app, hearth-cli,
# the menu entry, metainfo and icon. Library dependencies come from dpkg-shlibdeps; the QML modules,
# the file dialog's folder model (Qt.labs.folderlistmodel: without it Import… crashes), Qt's own
# translations (dialog buttons), the SVG icon plugin, the Qt 6 input-method plugin for Fcitx 5 (IBus support is built into Qt) and
# a CJK font are listed by hand because no binary links them.
set(CPACK_PACKAGE_NAME hearth)
set(CPACK_PACKAGE_VENDOR "Hearth")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Private, offline AI chat on your own computer")
set(CPACK_PACKAGE_DESCRIPTION "Hearth runs large language models (GGUF) entirely on this computer, with a Qt desktop app.\nNothing you type leaves the machine.")
set(CPACK_PACKAGE_CONTACT "Hearth developers <hearth@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "qml6-module-qtquick, qml6-module-qtquick-controls, qml6-module-qtquick-layouts, qml6-module-qtquick-window, qml6-module-qtquick-dialogs, qml6-module-qtquick-templates, qml6-module-qtqml-workerscript, qml6-module-qt-labs-folderlistmodel, qt6-qpa-plugins, libqt6svg6, qt6-translations-l10n, fcitx5-frontend-qt6, fonts-noto-cjk")
set(CPACK_GENERATOR DEB)
include(CPack)
