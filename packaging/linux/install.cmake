# Desktop integration files for Linux: the menu entry, AppStream metainfo and the icon (the one
# SVG in resources/icons, installed under the app id so the .desktop entry finds it).
include(GNUInstallDirs)
set(HEARTH_APP_ID io.github.hearth.Hearth)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/linux/${HEARTH_APP_ID}.desktop
        DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/linux/${HEARTH_APP_ID}.metainfo.xml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/hearth.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps RENAME ${HEARTH_APP_ID}.svg)
