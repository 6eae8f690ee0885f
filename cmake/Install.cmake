# Installs the library, public headers, a CMake package (find_package(BlazeDB))
# and a pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS blazedb EXPORT BlazeDBTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/blaze DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT BlazeDBTargets NAMESPACE BlazeDB:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/BlazeDB)

configure_package_config_file(cmake/BlazeDBConfig.cmake.in
  ${PROJECT_BINARY_DIR}/BlazeDBConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/BlazeDB)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/BlazeDBConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/BlazeDBConfig.cmake ${PROJECT_BINARY_DIR}/BlazeDBConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/BlazeDB)

configure_file(cmake/blazedb.pc.in ${PROJECT_BINARY_DIR}/blazedb.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/blazedb.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
